"""A real hyperparameter tuning job on birds8, against the workshop's fixed recipe (not a test).

Runs the platform in this process (the queue, the tuning driver, `roost algorithm train` per trial) over
../shared/data/birds8-im2rec: a Bayesian tuning job over learning_rate (0.001-0.5, log scale) and
mini_batch_size (8-64) on ResNet-18 at 3x112x112, resize 128, crop; then one training job with the fixed
recipe (learning_rate 0.1, mini_batch_size 24) for the same epochs. Reports each trial's values and
objective (validation:accuracy at its last epoch, as SageMaker takes it) and the best against the recipe.

    python bench/tuning.py                          # 8 trials x 30 epochs: about an hour on 2 cores
    python bench/tuning.py --trials 4 --epochs 3    # the short form, a few minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from roost.platform.services import Platform  # noqa: E402
from roost.platform.storage import Storage  # noqa: E402
from roost.platform.tuning_jobs import TuningJobRecord  # noqa: E402
from roost.platform.tuning_results import best, summaries  # noqa: E402
from workshop import tuning_request, workshop_request  # noqa: E402

SHARED = Path(os.environ.get("ROOST_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data" / "birds8-im2rec"
RECIPE = {
    "num_classes": "8",
    "num_training_samples": "360",
    "num_layers": "18",
    "image_shape": "3,112,112",
    "resize": "128",
    "augmentation_type": "crop",
}
FIXED = {"learning_rate": "0.1", "mini_batch_size": "24"}
RANGES = {
    "ContinuousParameterRanges": [
        {"Name": "learning_rate", "MinValue": "0.001", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
    ],
    "IntegerParameterRanges": [{"Name": "mini_batch_size", "MinValue": "8", "MaxValue": "64"}],
}


def _local(request: dict, scratch: Path) -> dict:
    """Point a workshop-shaped request at birds8's files and a scratch output folder."""
    for channel, name in zip(request["InputDataConfig"], ("train", "val"), strict=True):
        channel["DataSource"]["S3DataSource"]["S3Uri"] = str(DATA / f"birds8_{name}.rec")
    request["OutputDataConfig"]["S3OutputPath"] = str(scratch / "output")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 86_400}
    return request


def _trial_line(summary: dict) -> str:
    values = summary["TunedHyperParameters"]
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value")
    return (
        f"  {summary['TrainingJobName']}: learning_rate {float(values['learning_rate']):.4f}  "
        f"mini_batch_size {values['mini_batch_size']:>2}  {summary['TrainingJobStatus']:<9}  "
        f"validation:accuracy {objective}"
    )


def _tune(platform: Platform, name: str) -> TuningJobRecord:
    """Wait for the tuning job, printing each trial as it ends."""
    printed: set[str] = set()
    while True:
        record = platform.tuning_jobs.describe(name)
        for summary in summaries(platform.tuning_jobs, record):
            if summary["ObjectiveStatus"] != "Pending" and summary["TrainingJobName"] not in printed:
                print(_trial_line(summary), flush=True)
                printed.add(summary["TrainingJobName"])
        if record.status not in ("InProgress", "Stopping"):
            return record
        time.sleep(5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--parallel", type=int, default=1, help="MaxParallelTrainingJobs (and the queue's)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1, help="the tuning job's RandomSeed")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="roost-bench-tuning-"))
    (scratch / "output").mkdir()
    platform = Platform.open(
        scratch / "state", Storage(scratch, confined=False), max_concurrent=args.parallel
    )
    platform.start()
    started = time.time()
    try:
        definition = _local(workshop_request(epochs=args.epochs), scratch)
        request = tuning_request(
            "birds8-tuning", max_jobs=args.trials, max_parallel=args.parallel, ranges=RANGES
        )
        request["TrainingJobDefinition"].update(
            {k: definition[k] for k in ("InputDataConfig", "OutputDataConfig", "StoppingCondition")},
            StaticHyperParameters={**RECIPE, "epochs": str(args.epochs)},
        )
        request["HyperParameterTuningJobConfig"]["RandomSeed"] = args.seed
        platform.tuning_jobs.create(request, region="us-east-1")
        print(f"{os.cpu_count()} cores; {args.trials} trials x {args.epochs} epochs", flush=True)
        record = _tune(platform, "birds8-tuning")
        found = summaries(platform.tuning_jobs, record)
        print(f"tuning job {record.status} in {time.time() - started:.0f} s", flush=True)
        fixed = _local(workshop_request("birds8-fixed", epochs=args.epochs), scratch)
        fixed["HyperParameters"] = {**RECIPE, **FIXED, "epochs": str(args.epochs)}
        platform.training_jobs.create(fixed, region="us-east-1")
        while not (job := platform.training_jobs.describe("birds8-fixed")).finished:
            time.sleep(5)
        recipe = next(
            (m["Value"] for m in job.final_metrics if m["MetricName"] == "validation:accuracy"), None
        )
        winner = best(found, record.maximize)
        if winner is not None:
            print(
                f"best trial {winner['TrainingJobName']} ({winner['TunedHyperParameters']}): "
                f"{winner['FinalHyperParameterTuningJobObjectiveMetric']['Value']:.3f}"
            )
        print(f"fixed recipe (learning_rate 0.1, mini_batch_size 24): {recipe} ({job.status})")
    finally:
        platform.close()


if __name__ == "__main__":
    main()
