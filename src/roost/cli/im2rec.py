"""`roost im2rec`: MXNet's `tools/im2rec.py`, same options, same `.lst` files, same records."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roost.prep.pack import PackOptions, PackResult

HELP = "make .lst image lists from class folders, or pack them into .rec/.idx (MXNet im2rec's options)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument("prefix", help="prefix of input/output lst and rec files.")
    parser.add_argument("root", help="path to folder containing images.")
    lists = parser.add_argument_group("Options for creating image lists")
    lists.add_argument(
        "--list",
        action="store_true",
        help="create image list(s) by traversing root and write <prefix>.lst; otherwise read the "
        "<prefix>*.lst files and pack <name>.rec and <name>.idx for each",
    )
    lists.add_argument("--exts", nargs="+", default=[".jpeg", ".jpg", ".png"], help="image extensions")
    lists.add_argument("--chunks", type=int, default=1, help="number of chunks.")
    lists.add_argument("--train-ratio", type=float, default=1.0, help="ratio of images to use for training.")
    lists.add_argument("--test-ratio", type=float, default=0, help="ratio of images to use for testing.")
    lists.add_argument(
        "--recursive",
        action="store_true",
        help="walk subfolders and give each folder of images its own label (in sorted walk order); "
        "otherwise only images directly in root, all with label 0",
    )
    lists.add_argument(
        "--no-shuffle", dest="shuffle", action="store_false", help="keep walk order in the lists"
    )
    records = parser.add_argument_group("Options for creating database")
    records.add_argument("--pass-through", action="store_true", help="store the image files as they are")
    records.add_argument(
        "--resize", type=int, default=0, help="resize the shorter edge of each image to this size (0: keep)"
    )
    records.add_argument(
        "--center-crop", action="store_true", help="crop the centre square of each image first"
    )
    records.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100, or PNG compression 1-9")
    records.add_argument(
        "--num-thread", type=int, default=1, help="number of worker processes encoding images"
    )
    records.add_argument(
        "--color",
        type=int,
        default=1,
        choices=[-1, 0, 1],
        help="1: colour (alpha dropped), 0: grayscale, -1: unchanged (alpha kept)",
    )
    records.add_argument("--encoding", default=".jpg", choices=[".jpg", ".png"], help="image encoding")
    records.add_argument(
        "--pack-label", action="store_true", help="store all labels of multi-label lists in the records"
    )


def _make_lists(args: argparse.Namespace) -> int:
    from roost.cli.terminal import console
    from roost.errors import UserError
    from roost.formats.image_list import write_list
    from roost.prep.make_lists import list_images, split_lists

    if args.chunks < 1:
        raise UserError(f"--chunks must be at least 1, got {args.chunks}")
    if not (0 <= args.train_ratio <= 1 and 0 <= args.test_ratio <= 1):
        raise UserError("--train-ratio and --test-ratio must be between 0 and 1")
    listing = list_images(args.root, args.recursive, args.exts)
    for folder, label in listing.classes.items():
        print(folder, label)
    prefix = str(Path(args.prefix).absolute())
    lists = split_lists(
        prefix,
        listing.entries,
        shuffle=args.shuffle,
        chunks=args.chunks,
        train_ratio=args.train_ratio,
        test_ratio=args.test_ratio,
    )
    for name, entries in lists.items():
        write_list(name, entries)
        console.print(f"wrote {name} ({len(entries)} images)")
    return 0


def _pack(args: argparse.Namespace) -> int:
    from roost.cli.terminal import console
    from roost.errors import UserError
    from roost.prep.pack import PackOptions, lists_for_prefix

    root = Path(args.root).absolute()
    if not root.is_dir():
        raise UserError(f"image folder {root} does not exist (or is not a folder)")
    options = PackOptions(
        root=root,
        color=args.color,
        resize=args.resize,
        center_crop=args.center_crop,
        quality=args.quality,
        encoding=args.encoding,
        pass_through=args.pass_through,
        pack_label=args.pack_label,
    )
    for lst in lists_for_prefix(args.prefix):
        console.print(f"Creating .rec file from {lst} in {lst.parent}")
        result = pack_with_progress(lst, options, workers=args.num_thread)
        skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
        console.print(f"wrote {result.rec} and {result.idx.name} ({result.written} records{skipped})")
    return 0


def pack_with_progress(lst: Path, options: PackOptions, workers: int = 1) -> PackResult:
    """Pack one list with a progress bar, warning about each line and image left out."""
    from roost.cli.terminal import progress_callback, warn
    from roost.prep.pack import pack_list

    with progress_callback(f"packing {lst.name}", "images") as on_progress:
        result = pack_list(lst, options, workers, on_progress)
    for problem in result.list_problems:
        warn(problem)
    for skipped in result.skipped:
        warn(f"skipped {skipped}")
    return result


def run(args: argparse.Namespace) -> int:
    return _make_lists(args) if args.list else _pack(args)
