"""Training jobs: request validation, store, runner, log streams, metrics and storage (docs/architecture.md).

The platform knows the algorithm only through its entry point and the job directory.
"""
