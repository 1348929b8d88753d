"""The lifecycle of every platform resource: its statuses, which moves are allowed, which are final.

SageMaker's own status names (botocore's `TrainingJobStatus`, `SecondaryStatus`, `TransformJobStatus`,
`EndpointStatus`, `HyperParameterTuningJobStatus`). Training, transform and tuning jobs share one job
lifecycle; endpoints have theirs. The store applies a move in one transaction and refuses one that the
resource's lifecycle does not allow (docs/architecture.md, "Lifecycle").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum


class JobStatus(StrEnum):
    """TrainingJobStatus, TransformJobStatus and HyperParameterTuningJobStatus share these."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class SecondaryStatus(StrEnum):
    """A training job's finer status, recorded in SecondaryStatusTransitions."""

    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"


class EndpointStatus(StrEnum):
    CREATING = "Creating"
    IN_SERVICE = "InService"
    UPDATING = "Updating"
    DELETING = "Deleting"
    FAILED = "Failed"


class StopReason(Enum):
    """Why a running job was asked to end before it finished."""

    REQUESTED = "requested"  # StopTrainingJob (or StopTransformJob, a server shutting down)
    MAX_RUNTIME = "max_runtime"  # StoppingCondition.MaxRuntimeInSeconds passed


@dataclass(frozen=True)
class Lifecycle:
    """A resource's state machine: from each status, the statuses it may move to."""

    kind: str
    initial: StrEnum
    moves: Mapping[StrEnum, frozenset[StrEnum]]

    @property
    def terminal(self) -> frozenset[StrEnum]:
        """Statuses with no way out: the resource's work is over."""
        return frozenset(status for status, nexts in self.moves.items() if not nexts)

    def allows(self, current: str, new: str) -> bool:
        return new in self.moves.get(current, frozenset())  # type: ignore[call-overload]

    def into(self, status: StrEnum) -> tuple[str, ...]:
        """The statuses from which a move to `status` is allowed (a store update's `only_from`)."""
        return tuple(str(s) for s, nexts in self.moves.items() if status in nexts)

    def active(self) -> tuple[str, ...]:
        """Statuses of resources that still need the platform (a process, a watch)."""
        return tuple(str(status) for status, nexts in self.moves.items() if nexts)


_J = JobStatus
# A job moves within InProgress (its secondary status) and then ends; once Stopping it ends Stopped (or
# Failed, if it could not keep its model): a stop that arrived is never reported as Completed.
JOB = Lifecycle(
    kind="job",
    initial=_J.IN_PROGRESS,
    moves={
        _J.IN_PROGRESS: frozenset({_J.IN_PROGRESS, _J.COMPLETED, _J.FAILED, _J.STOPPING, _J.STOPPED}),
        _J.STOPPING: frozenset({_J.STOPPED, _J.FAILED}),
        _J.COMPLETED: frozenset(),
        _J.FAILED: frozenset(),
        _J.STOPPED: frozenset(),
    },
)

_E = EndpointStatus
# Deleting has no way out: the record goes once the endpoint's processes are gone.
ENDPOINT = Lifecycle(
    kind="endpoint",
    initial=_E.CREATING,
    moves={
        _E.CREATING: frozenset({_E.IN_SERVICE, _E.FAILED, _E.DELETING}),
        _E.IN_SERVICE: frozenset({_E.UPDATING, _E.FAILED, _E.DELETING}),
        _E.UPDATING: frozenset({_E.IN_SERVICE, _E.FAILED, _E.DELETING}),
        _E.FAILED: frozenset({_E.UPDATING, _E.DELETING}),
        _E.DELETING: frozenset(),
    },
)
