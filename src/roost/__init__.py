"""roost: SageMaker's built-in Image Classification algorithm and training-job platform, locally."""

__version__ = "0.1.0"
