"""Drives tuning jobs: one thread that asks the search for trials, starts them, watches them, ends the job.

Each round, for every unfinished tuning job: report each running trial's objective by epoch (from its
CloudWatch metrics) to the search, and stop the trials the pruner gives up on through StopTrainingJob's path;
tell the search how finished trials ended; start trials up to MaxParallelTrainingJobs until
MaxNumberOfTrainingJobs have started; end the job when its last trial has ended. The search lives in
memory and is rebuilt from the stored trials when the driver starts, so a tuning job that was in progress
when a server stopped continues after it restarts (its lost trials count as failed).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time

from roost.errors import UserError
from roost.platform.lifecycle import JobStatus
from roost.platform.metrics import Metric, Metrics
from roost.platform.training_metrics import DIMENSION, NAMESPACE
from roost.platform.tuning_jobs import Trial, TuningJobRecord, TuningJobs, trial_name
from roost.platform.tuning_results import criteria_met, summaries
from roost.platform.tuning_search import FinishedTrial, Search, parse_ranges

log = logging.getLogger("roost.tuning")


def objective_curve(metrics: Metrics, job: str, metric: str) -> dict[int, float]:
    """A trial's objective by epoch, from its CloudWatch metrics: each value and its epoch number come from
    one log line, so they share a timestamp."""
    values = metrics.points(Metric.of(NAMESPACE, metric, {DIMENSION: job}), 0, math.inf)
    epochs = dict(metrics.points(Metric.of(NAMESPACE, f"{metric}:epoch", {DIMENSION: job}), 0, math.inf))
    return {int(epochs[at]): value for at, value in values if at in epochs}


def _ended(trial: Trial, metric: str, curve: dict[int, float]) -> FinishedTrial:
    assert trial.job is not None
    if trial.job.status == JobStatus.COMPLETED:
        state = "complete"
    elif trial.job.status == JobStatus.STOPPED and (trial.early_stopped or curve):
        state = "pruned"
    else:
        state = "fail"
    return FinishedTrial(trial.tuned, trial.objective(metric), dict(curve), state)


class TuningDriver:
    def __init__(self, tuning: TuningJobs, poll_s: float = 0.5) -> None:
        self.tuning, self.poll_s = tuning, poll_s
        self._searches: dict[str, Search] = {}
        self._wakeup = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.tuning.wake = self._wakeup.set
        self._thread = threading.Thread(target=self._loop, name="roost-tuning", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop driving; tuning jobs in progress stay so, for the next server to continue."""
        self._closing.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._closing.is_set():
            for record in self.tuning.unfinished():
                try:
                    self._step(record)
                except Exception:  # a bug: the job ends Failed with a reason instead of spinning
                    log.exception("tuning job %s failed inside the driver", record.name)
                    self._searches.pop(record.name, None)
                    self.tuning.move(
                        record.name,
                        JobStatus.FAILED,
                        "InternalServerError: the roost server could not drive this tuning job; see its log",
                    )
            self._wakeup.wait(self.poll_s)
            self._wakeup.clear()

    def _curve(self, trial: Trial, metric: str) -> dict[int, float]:
        return objective_curve(self.tuning.training_jobs.metrics, trial.name, metric)

    def _load(self, record: TuningJobRecord) -> Search:
        search = Search(record.config, parse_ranges(record.config["ParameterRanges"]))
        metric = record.objective["MetricName"]
        parents = (record.request.get("WarmStartConfig") or {}).get("ParentHyperParameterTuningJobs", [])
        if record.config["Strategy"] == "Grid":
            parents = []  # a grid learns nothing from results; its Nth trial must stay its Nth combination
        for parent in parents:
            for trial in self.tuning.trials(parent["HyperParameterTuningJobName"]):
                if trial.job is not None and trial.job.finished:
                    search.learn(_ended(trial, metric, self._curve(trial, metric)))
        for trial in self.tuning.trials(record.name):
            if trial.job is not None and trial.job.finished:
                search.learn(_ended(trial, metric, self._curve(trial, metric)))
            else:
                search.resume(trial.name, trial.params)
        self._searches[record.name] = search
        return search

    def _step(self, record: TuningJobRecord) -> None:
        search = self._searches.get(record.name) or self._load(record)
        metric = record.objective["MetricName"]
        trials = self.tuning.trials(record.name)
        for trial in trials:
            # A trial without a job: the server stopped between the trial's two writes.
            pending = trial.job is None and record.status == JobStatus.IN_PROGRESS
            if pending and not self._create_job(record, trial):
                return
            if trial.job is None or not search.is_live(trial.name):
                continue
            curve = self._curve(trial, metric)
            if trial.job.finished:
                search.finish(trial.name, _ended(trial, metric, curve))
            elif (
                search.should_stop(trial.name, curve)
                and trial.job.status == JobStatus.IN_PROGRESS
                and record.status == JobStatus.IN_PROGRESS
            ):
                log.info("tuning job %s stops trial %s early", record.name, trial.name)
                self.tuning.mark_early_stopped(trial.name)
                self._stop_trial(trial.name)
        running = [t for t in trials if t.job is not None and not t.job.finished]
        if record.status == JobStatus.STOPPING:
            for trial in running:
                self._stop_trial(trial.name)
            if not running:
                self._end(record, JobStatus.FAILED if record.failure_reason else JobStatus.STOPPED)
            return
        limit = record.config["ResourceLimits"].get("MaxRuntimeInSeconds")
        if limit is not None and time.time() > record.creation_time + limit:
            self.tuning.move(record.name, JobStatus.STOPPING)
            return
        started = len(trials)
        enough = criteria_met(record, summaries(self.tuning, record))
        while not enough and len(running) < record.max_parallel and started < record.max_jobs:
            started += 1
            name = trial_name(record.name, started)
            params = search.propose(name)
            trial = self.tuning.add_trial(name, record.name, started, params, search.hyperparameters(params))
            if not self._create_job(record, trial):
                return
            running.append(trial)
        if not running and (enough or started >= record.max_jobs):
            if any(t.objective_status(metric) == "Succeeded" for t in self.tuning.trials(record.name)):
                self._end(record, JobStatus.COMPLETED)
            else:
                self._end(
                    record,
                    JobStatus.FAILED,
                    "No training job of this tuning job ended with an objective metric: see the trials' "
                    "FailureReason (ListTrainingJobsForHyperParameterTuningJob)",
                )

    def _create_job(self, record: TuningJobRecord, trial: Trial) -> bool:
        """Create the trial's training job; False (and the tuning job stopping, with why) when it cannot."""
        try:
            trial.job = self.tuning.start_trial(record, trial)
        except UserError as error:
            self.tuning.move(
                record.name,
                JobStatus.STOPPING,
                f"ClientError: could not create the training job {trial.name}: {error}"[:1024],
            )
            return False
        return True

    def _stop_trial(self, name: str) -> None:
        with contextlib.suppress(UserError):  # it ended, or was stopping already
            self.tuning.training_jobs.stop(name)

    def _end(self, record: TuningJobRecord, status: JobStatus, reason: str | None = None) -> None:
        self.tuning.move(record.name, status, reason)
        self._searches.pop(record.name, None)
