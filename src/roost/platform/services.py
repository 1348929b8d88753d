"""The platform as the front doors see it: every resource kind, over one store and one storage.

The API, the console and the CLI call operations on these objects and nothing below them, so that a
button, a command and an API call that do the same thing go through the same code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.platform.endpoint_configs import EndpointConfigs
from roost.platform.endpoints import Endpoints
from roost.platform.log_streams import LogStreams
from roost.platform.metrics import Metrics
from roost.platform.models import Models
from roost.platform.multipart_uploads import MultipartUploads
from roost.platform.object_store import ObjectStore
from roost.platform.storage import Storage
from roost.platform.tags import Tags
from roost.platform.training_jobs import TrainingJobs
from roost.platform.transform_jobs import TransformJobs
from roost.platform.tuning_driver import TuningDriver
from roost.platform.tuning_jobs import TuningJobs


@dataclass
class Platform:
    training_jobs: TrainingJobs
    log_streams: LogStreams
    tags: Tags
    metrics: Metrics
    # S3 on the data root; None when s3:// URIs go to an S3-compatible endpoint, which clients use directly.
    objects: ObjectStore | None
    uploads: MultipartUploads | None
    models: Models
    endpoint_configs: EndpointConfigs
    endpoints: Endpoints
    transform_jobs: TransformJobs
    tuning_jobs: TuningJobs
    tuning_driver: TuningDriver

    @classmethod
    def open(
        cls,
        state_dir: Path,
        storage: Storage,
        *,
        endpoint_options: Mapping[str, Any] | None = None,
        **queue_options: Any,
    ) -> Platform:
        """The platform kept under `state_dir` (roost.db, jobs/<name>/, endpoints/<name>/), not yet running
        anything. `endpoint_options` go to Endpoints (restarts, startup timeout, the serving command)."""
        training_jobs = TrainingJobs.open(state_dir, storage, **queue_options)
        store, tags = training_jobs.store, training_jobs.tags
        objects = ObjectStore(storage.data_root, store) if storage.local else None
        models = Models(store, storage, tags)
        endpoint_configs = EndpointConfigs(store, models, tags)
        endpoints = Endpoints(
            store,
            storage,
            models,
            endpoint_configs,
            tags,
            training_jobs.log_streams,
            state_dir / "endpoints",
            **(endpoint_options or {}),
        )
        tuning_jobs = TuningJobs(training_jobs)
        return cls(
            training_jobs=training_jobs,
            log_streams=training_jobs.log_streams,
            tags=tags,
            metrics=training_jobs.metrics,
            objects=objects,
            uploads=MultipartUploads(objects, store, state_dir / "s3-uploads") if objects else None,
            models=models,
            endpoint_configs=endpoint_configs,
            endpoints=endpoints,
            transform_jobs=TransformJobs(
                store, storage, models, tags, training_jobs.log_streams, state_dir / "transform-jobs"
            ),
            tuning_jobs=tuning_jobs,
            tuning_driver=TuningDriver(tuning_jobs),
        )

    def start(self) -> None:
        """Give a final state to what a previous server left running, deploy again the endpoints that were
        serving, then start working the queue."""
        self.training_jobs.queue.recover()
        self.transform_jobs.queue.recover()
        self.endpoints.recover()
        self.training_jobs.queue.start()
        self.transform_jobs.queue.start()
        self.endpoints.start()
        self.tuning_driver.start()

    def close(self) -> None:
        """Stop everything that runs (jobs end Stopped, keeping their model so far; endpoints' processes
        end, the endpoints stay InService for the next server).

        Tuning first, so that it starts no trial in place of the ones the queue stops."""
        self.tuning_driver.close()
        self.endpoints.close()
        self.transform_jobs.queue.close()
        self.training_jobs.queue.close()
