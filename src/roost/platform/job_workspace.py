"""The platform's side of the job directory: lay it out for a request, read the outcome, pack the model.

The layout itself is the algorithm's contract (`roost.algorithm.job_directory`), used here, not copied.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import IO

from roost.algorithm.job_directory import FAILURE_LIMIT
from roost.algorithm.job_directory import JobDirectory as Contract
from roost.atomic_file import write_atomically
from roost.errors import UserError
from roost.platform.request import CreateTrainingJobRequest
from roost.platform.storage import Storage


class JobDirectory(Contract):
    """One job's directory, with what the platform does to it."""

    def lay_out(self, request: CreateTrainingJobRequest, storage: Storage) -> None:
        """Write the three config files and put every channel's files under input/data/<channel>/."""
        self.config.mkdir(parents=True, exist_ok=True)
        self.model.mkdir(parents=True, exist_ok=True)
        (self.output / "data").mkdir(parents=True, exist_ok=True)
        mode = request.AlgorithmSpecification.TrainingInputMode
        input_config = {}
        for channel in request.InputDataConfig:
            source = channel.DataSource.S3DataSource
            assert source is not None  # parse_request refuses channels without one
            entry = {
                "TrainingInputMode": channel.InputMode or mode,
                "S3DistributionType": source.S3DataDistributionType,
                "RecordWrapperType": channel.RecordWrapperType,
            }
            if channel.ContentType is not None:
                entry = {"ContentType": channel.ContentType, **entry}
            input_config[channel.ChannelName] = entry
            target = self.data / channel.ChannelName
            target.mkdir(parents=True, exist_ok=True)
            for file in storage.channel_files(source.S3Uri):
                storage.fetch(file, target / file.relative)
        hosts = [f"algo-{i + 1}" for i in range(request.ResourceConfig.InstanceCount)]
        # All hosts are this machine, so the loopback interface is the one they talk over.
        resource_config = {"current_host": "algo-1", "hosts": hosts, "network_interface_name": "lo"}
        _write_json(self.hyperparameters_file, request.HyperParameters)
        _write_json(self.input_data_config_file, input_config)
        _write_json(self.resource_config_file, resource_config)

    def failure_reason(self) -> str | None:
        """What the algorithm wrote to output/failure, cut to the 1024 characters SageMaker shows."""
        try:
            text = self.failure_file.read_text(errors="replace").strip()
        except OSError:
            return None
        return text[:FAILURE_LIMIT] or None

    def has_model(self) -> bool:
        """Whether model/ holds weights: a symbol alone is no model anyone can use."""
        return self.model.is_dir() and any(p.stat().st_size > 0 for p in self.model.rglob("*.params"))

    def package_model(self, destination: Path) -> None:
        """model/ as a flat model.tar.gz (no leading folder, as SageMaker makes it), written atomically."""

        def pack(out: IO[bytes]) -> None:
            with tarfile.open(fileobj=out, mode="w:gz") as archive:
                for path in sorted(self.model.rglob("*")):
                    if path.is_file():
                        archive.add(path, arcname=path.relative_to(self.model).as_posix())

        write_atomically(destination, pack)


def _write_json(path: Path, value: object) -> None:
    # O_NOFOLLOW: a link in the job directory (a channel's file, say) is refused, never written through.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror} (a link is never written through)") from None
    with os.fdopen(descriptor, "w") as out:
        out.write(json.dumps(value, indent=2) + "\n")
