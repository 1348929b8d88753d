"""The image-classification algorithm: knows the job directory contract and nothing of the platform."""
