"""The job directory: the algorithm's whole contract, laid out like SageMaker's /opt/ml
(docs/architecture.md).

The platform writes `input/` and reads `model/` and `output/`; the algorithm does the opposite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roost.atomic_file import write_text_atomically
from roost.errors import UserError

FAILURE_LIMIT = 1024  # SageMaker shows this many characters of output/failure as FailureReason


@dataclass(frozen=True)
class ChannelConfig:
    """One entry of inputdataconfig.json."""

    name: str
    content_type: str | None = None
    input_mode: str = "File"
    distribution: str = "FullyReplicated"
    record_wrapper: str = "None"


@dataclass(frozen=True)
class JobDirectory:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "input" / "config"

    @property
    def hyperparameters_file(self) -> Path:
        return self.config / "hyperparameters.json"

    @property
    def input_data_config_file(self) -> Path:
        return self.config / "inputdataconfig.json"

    @property
    def resource_config_file(self) -> Path:
        return self.config / "resourceconfig.json"

    @property
    def data(self) -> Path:
        return self.root / "input" / "data"

    def channel(self, name: str) -> Path:
        return self.data / name

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def failure_file(self) -> Path:
        return self.output / "failure"

    # -- reading the platform's side ---------------------------------------------------------------
    def _json(self, path: Path, default: Any) -> Any:
        if not path.exists():
            return default
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(f"ClientError: {path} is not valid JSON: {error}") from None

    def hyperparameters(self) -> dict[str, Any]:
        raw = self._json(self.hyperparameters_file, {})
        if not isinstance(raw, dict):
            raise UserError(f"ClientError: {self.hyperparameters_file} must hold a JSON object")
        return raw

    def channels(self) -> dict[str, ChannelConfig]:
        """The channels named in inputdataconfig.json, or, without it, the folders under input/data."""
        raw = self._json(self.input_data_config_file, None)
        if raw is None:
            found = sorted(p.name for p in self.data.iterdir()) if self.data.is_dir() else []
            return {name: ChannelConfig(name) for name in found}
        return {
            name: ChannelConfig(
                name=name,
                content_type=entry.get("ContentType"),
                input_mode=entry.get("TrainingInputMode", "File"),
                distribution=entry.get("S3DistributionType", "FullyReplicated"),
                record_wrapper=entry.get("RecordWrapperType", "None"),
            )
            for name, entry in raw.items()
        }

    def hosts(self) -> tuple[str, list[str]]:
        """(current host, all hosts), algo-1 alone when there is no resourceconfig.json."""
        raw = self._json(self.resource_config_file, {})
        hosts = list(raw.get("hosts", ["algo-1"]))
        return raw.get("current_host", hosts[0]), hosts

    # -- writing the algorithm's side --------------------------------------------------------------
    def write_failure(self, reason: str) -> None:
        write_text_atomically(self.failure_file, reason)
