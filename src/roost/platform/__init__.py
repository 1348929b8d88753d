"""The platform: resources and their lifecycle, the store, the job queue and the executor that runs the
algorithm, log streams, metrics and storage (docs/architecture.md).

The platform knows the algorithm only through its entry point and the job directory.
"""
