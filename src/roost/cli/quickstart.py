"""`roost quickstart`: the workshop end to end on a sample roost draws itself, in about two minutes.

Lab 1 (class folders of photos → `.lst` → `.rec`), Lab 2 (a training job with the workshop's
hyperparameters, scaled down in depth, image size and epochs to suit a laptop CPU), then the accuracy
plot. Everything lands in one folder; nothing is downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "run the workshop end to end on a built-in sample: pack, train, plot (about 2 minutes on 2 CPU cores)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("roost-quickstart"), help="where everything goes")
    parser.add_argument("--per-class", type=int, default=100, help="photos per class (4 classes)")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    parser.add_argument("-q", "--quiet", action="store_true", help="no log lines, only progress bars")


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from roost.cli.accuracy_plot import plot, read_curve
    from roost.cli.im2rec import pack_with_progress
    from roost.cli.terminal import console
    from roost.cli.train import train_in_foreground
    from roost.errors import UserError
    from roost.formats.image_list import write_list
    from roost.platform.foreground import build_request, default_job_name
    from roost.prep.make_lists import list_images, split_lists
    from roost.prep.pack import PackOptions
    from roost.prep.sample import CLASSES, write_sample

    if args.per_class < 8 or args.epochs < 1:
        raise UserError("--per-class must be at least 8 and --epochs at least 1")
    root = args.dir.absolute()
    photos, data = root / "photos", root / "data"
    data.mkdir(parents=True, exist_ok=True)

    console.rule("[bold]Lab 1[/bold]: photos in class folders → RecordIO")
    write_sample(photos, per_class=args.per_class, size=96)
    console.print(f"drew {args.per_class} photos of each of {', '.join(CLASSES)} in {escape(str(photos))}")
    console.print(f"$ roost im2rec --list --recursive --train-ratio 0.75 {data / 'sample'} {photos}")
    listing = list_images(photos, recursive=True)
    lists = split_lists(str(data / "sample"), listing.entries, train_ratio=0.75)
    for name, entries in lists.items():
        write_list(name, entries)
    train_count = len(lists[str(data / "sample_train.lst")])
    console.print(f"$ roost im2rec --resize 72 {data / 'sample'} {photos}")
    for name in lists:
        pack_with_progress(Path(name), PackOptions(root=photos, resize=72))

    console.rule("[bold]Lab 2[/bold]: a training job of the image-classification algorithm")
    hyperparameters = {
        "num_classes": str(len(CLASSES)),
        "num_training_samples": str(train_count),
        "epochs": str(args.epochs),
        "augmentation_type": "crop",
        "image_shape": "3,64,64",
        "resize": "72",
        "learning_rate": "0.1",
        "lr_scheduler_step": str(max(1, args.epochs * 2 // 3)),
        "lr_scheduler_factor": "0.1",
        "mini_batch_size": "24",
        "num_layers": "18",
        "optimizer": "sgd",
        "use_pretrained_model": "0",
        "top_k": "2",
    }
    console.print("hyperparameters: " + " ".join(f"{k}={v}" for k, v in hyperparameters.items()))
    request = build_request(
        channels={"train": str(data / "sample_train"), "validation": str(data / "sample_val")},
        output=str(root / "models"),
        hyperparameters=hyperparameters,
        job_name=default_job_name("quickstart"),
    )
    result = train_in_foreground(request, state_dir=root / "state", quiet=args.quiet)

    console.rule("[bold]Results[/bold]")
    chart = plot(read_curve(result.job_dir / "model"), root / "accuracy.png", title="roost quickstart")
    accuracy = result.final_metrics.get("validation:accuracy")
    if accuracy is not None:
        console.print(
            f"final validation accuracy: [bold]{accuracy:.3f}[/bold] (chance: {1 / len(CLASSES):.2f})"
        )
    console.print(f"[green]model:[/green] {escape(str(result.model_artifact))}")
    console.print(f"[green]plot:[/green]  {escape(str(chart))}")
    example = photos / CLASSES[0] / "0000.jpg"
    console.print(f"next: roost predict {escape(str(result.model_artifact))} {escape(str(example))}")
    return 0
