"""Training jobs: request validation, the job lifecycle, the job queue and the executor that runs the
algorithm, log streams, metrics and storage.

The platform knows the algorithm only through its entry point and the job directory.
"""
