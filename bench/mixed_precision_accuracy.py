"""Does mixed precision learn as well as float32? Best validation accuracy over seeds (not a test).

Runs `roost algorithm train` on ../shared/data/birds8-im2rec (360 / 120 photos, 8 species) with the
recipe of bench/train_job.py (ResNet-18, 3x112x112, resize 128, crop, batch 24, lr 0.1) for 30 epochs,
once per seed and precision, alternating precisions so that both see the same machine. Reports each
run's best and last validation accuracy and the mean of the bests per precision: one run says little,
because a curve swings 5-15 points from epoch to epoch.

    python bench/mixed_precision_accuracy.py                         # seeds 0 1 2, 30 epochs
    python bench/mixed_precision_accuracy.py --seeds 0 --epochs 4    # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from train_job import ACCURACY, DEFAULTS, SHARED, run_roost

PRECISIONS = ("float32", "float16")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, default=SHARED / "data" / "birds8-im2rec" / "birds8_train.rec")
    parser.add_argument("--val", type=Path, default=SHARED / "data" / "birds8-im2rec" / "birds8_val.rec")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    best: dict[str, list[float]] = {precision: [] for precision in PRECISIONS}
    print(f"{'precision':<10}{'seed':>5}{'best':>8}{'at epoch':>10}{'last':>8}{'minutes':>9}")
    for seed in args.seeds:
        for precision in PRECISIONS:
            hp = {**DEFAULTS, "epochs": str(args.epochs), "precision_dtype": precision}
            tic = time.time()
            log = run_roost(args.train, args.val, hp, seed=seed)
            minutes = (time.time() - tic) / 60
            curve = [float(accuracy) for _, accuracy in ACCURACY.findall(log)]
            top = max(curve)
            best[precision].append(top)
            print(
                f"{precision:<10}{seed:>5}{top:>8.3f}{curve.index(top):>10}{curve[-1]:>8.3f}{minutes:>9.1f}",
                flush=True,
            )
    means = {precision: statistics.mean(values) for precision, values in best.items()}
    for precision, mean in means.items():
        print(f"mean best validation accuracy, {precision}: {mean:.3f}")
    print(f"float16 - float32: {100 * (means['float16'] - means['float32']):+.1f} points")


if __name__ == "__main__":
    main()
