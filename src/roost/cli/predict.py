"""`roost predict`: the classes of photos by a trained model.tar.gz, as a table or as JSON lines."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import numpy as np

    from roost.inference.predictor import Predictor
    from roost.inference.preprocess import Preprocessor

HELP = "classify photos with a trained model (model.tar.gz or its folder): top classes, or JSON lines"
# What a folder is searched for (recursively); named files are read whatever their name.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
BATCH_SIZE = 16


def add_preprocessing_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with `roost serve`: how images are fitted to the model and how scores are read."""
    parser.add_argument(
        "--crop",
        action="store_true",
        help="prepare images as training's validation did (shorter side resized, centre crop) instead of "
        "squashing the whole image to the model's size as SageMaker's endpoint does",
    )
    parser.add_argument(
        "--resize",
        type=int,
        metavar="N",
        help="with --crop: the shorter side before cropping (default: the training job's resize when "
        "the artifact records it, else 256 for a 224 x 224 model, the workshop's im2rec --resize, and "
        "that ratio for other sizes)",
    )
    parser.add_argument(
        "--multi-label",
        action="store_true",
        help="a sigmoid per class instead of a softmax, for a model trained with multi_label=1 whose "
        "artifact does not say so (roost's artifacts do)",
    )


def load(args: argparse.Namespace) -> tuple[Predictor, Preprocessor]:
    """The model and the preparation its options ask for; says on stderr what was loaded."""
    from rich.markup import escape

    from roost.cli.terminal import console
    from roost.inference.predictor import Predictor
    from roost.inference.preprocess import Preprocessor

    predictor = Predictor.load(args.model, multi_label=True if args.multi_label else None)
    resize = args.resize if args.resize is not None or not args.crop else predictor.resize
    preprocessor = Preprocessor(predictor.image_shape, crop=args.crop, resize=resize)
    console.print(f"model {escape(str(args.model))}: {escape(predictor.description)}", soft_wrap=True)
    console.print(f"  images: {preprocessor.description}", soft_wrap=True)
    return predictor, preprocessor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", type=Path, help="model.tar.gz of a training job, or the folder it unpacks to"
    )
    parser.add_argument(
        "images",
        nargs="+",
        type=Path,
        metavar="IMAGE_OR_FOLDER",
        help=f"image files, or folders searched recursively for {', '.join(IMAGE_SUFFIXES)}",
    )
    parser.add_argument(
        "--top-k", type=int, default=5, metavar="N", help="classes shown per image (default: 5)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='JSON lines instead of tables: {"file": ..., "prediction": [one probability per class]}',
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help='write the JSON lines to FILE (as SageMaker batch transform writes {"prediction": [...]})',
    )
    add_preprocessing_arguments(parser)


def _image_files(arguments: list[Path]) -> tuple[list[Path], bool]:
    """The files to classify, in order, and whether a folder was among the arguments."""
    from roost.errors import UserError

    files: list[Path] = []
    folder_given = False
    for argument in arguments:
        if argument.is_dir():
            folder_given = True
            found = sorted(
                p for p in argument.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            if not found:
                raise UserError(f"{argument}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            files.extend(found)
        elif argument.is_file():
            files.append(argument)
        else:
            raise UserError(f"{argument}: no such image file or folder")
    return files, folder_given


def _prepare(preprocessor: Preprocessor, path: Path) -> np.ndarray:
    return preprocessor(path.read_bytes())


def _predictions(
    predictor: Predictor, preprocessor: Preprocessor, files: list[Path], failed: list[str]
) -> Iterator[tuple[Path, np.ndarray]]:
    """(file, probabilities) in order; images are decoded on threads while the previous batch runs."""
    import numpy as np

    from roost.cli.terminal import warn
    from roost.inference.preprocess import ImageError
    from roost.machine import available_cores

    chunks = [files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE)]
    with ThreadPoolExecutor(max_workers=available_cores()) as pool:

        def submit(chunk: list[Path]) -> list[Future[np.ndarray]]:
            return [pool.submit(_prepare, preprocessor, path) for path in chunk]

        pending = submit(chunks[0])
        for i, chunk in enumerate(chunks):
            current, pending = pending, submit(chunks[i + 1]) if i + 1 < len(chunks) else []
            ready: list[tuple[Path, np.ndarray]] = []
            for path, future in zip(chunk, current, strict=True):
                try:
                    ready.append((path, future.result()))
                except (ImageError, OSError) as error:
                    warn(f"{path}: skipped: {error}")
                    failed.append(str(path))
            if ready:
                probabilities = predictor.predict(np.stack([image for _, image in ready]))
                yield from zip((path for path, _ in ready), probabilities, strict=True)


def _table(predictor: Predictor, path: Path, probabilities: np.ndarray, k: int) -> object:
    from rich.table import Table

    from roost.inference.predictor import top_k

    table = Table(title=str(path), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("class")
    if predictor.class_names is not None:
        table.add_column("id", justify="right")
    table.add_column("probability", justify="right")
    for rank, (class_id, probability) in enumerate(top_k(probabilities, k), 1):
        cells = [str(rank), predictor.class_label(class_id)]
        if predictor.class_names is not None:
            cells.append(str(class_id))
        table.add_row(*cells, f"{probability:.2%}")
    return table


def _json_line(path: Path, probabilities: np.ndarray) -> str:
    return json.dumps({"file": str(path), "prediction": probabilities.tolist()}) + "\n"


def _write_lines(
    predictor: Predictor, preprocessor: Preprocessor, files: list[Path], out: TextIO, show_bar: bool
) -> tuple[Counter[int], list[str]]:
    """JSON lines for every image; the count of images per most probable class; the files skipped."""
    from roost.cli.terminal import progress_bar

    tally: Counter[int] = Counter()
    failed: list[str] = []
    with progress_bar("images", transient=not show_bar) as bar:
        task = bar.add_task("predicting", total=len(files), visible=show_bar)
        for path, probabilities in _predictions(predictor, preprocessor, files, failed):
            out.write(_json_line(path, probabilities))
            tally[int(probabilities.argmax())] += 1
            bar.advance(task)
        bar.update(task, completed=len(files))
    return tally, failed


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from roost.cli.terminal import console
    from roost.errors import UserError

    if args.top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {args.top_k}")
    files, folder_given = _image_files(args.images)
    predictor, preprocessor = load(args)
    if not (args.json or args.output or folder_given):
        failed: list[str] = []
        stdout = Console(highlight=False)
        for path, probabilities in _predictions(predictor, preprocessor, files, failed):
            stdout.print(_table(predictor, path, probabilities, min(args.top_k, predictor.num_classes)))
        return 1 if failed else 0
    with (
        open(args.output, "w", encoding="utf-8") if args.output else contextlib.nullcontext(sys.stdout) as out
    ):
        tally, failed = _write_lines(predictor, preprocessor, files, out, show_bar=folder_given)
    if folder_given:
        summary = Table(title="most probable class", title_justify="left")
        summary.add_column("class")
        summary.add_column("images", justify="right")
        for class_id, count in tally.most_common():
            summary.add_row(predictor.class_label(class_id), str(count))
        console.print(summary)
    done = len(files) - len(failed)
    where = f" to {args.output}" if args.output is not None else ""
    console.print(
        f"{done} of {len(files)} images predicted{where}" + (f", {len(failed)} skipped" if failed else ""),
        soft_wrap=True,
    )
    return 1 if failed else 0
