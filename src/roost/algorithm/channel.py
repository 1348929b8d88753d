"""Channels: which files make up the `train` and `validation` inputs, by content type (docs/algorithm.md
§2.1).

- `application/x-recordio`: one or more `.rec` files of IRHeader records (im2rec's output);
- `application/x-recordio` with RecordWrapperType `RecordIO`: an augmented manifest, streamed as
  alternating frames of image bytes and label text;
- `application/x-image` (also `image/jpeg`, `image/png`): image files plus exactly one `.lst` in the
  companion channel `<name>_lst`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from roost.algorithm.job_directory import ChannelConfig, JobDirectory
from roost.errors import UserError

log = logging.getLogger("roost.algorithm")

RECORDIO_TYPES = ("application/x-recordio",)
IMAGE_TYPES = ("application/x-image", "image/jpeg", "image/png")


class ChannelKind(Enum):
    RECORDS = "records"  # IRHeader records in .rec files
    MANIFEST = "manifest"  # augmented manifest: alternating image and label frames
    IMAGES = "images"  # image files listed by a .lst


@dataclass(frozen=True)
class Channel:
    name: str
    kind: ChannelKind
    root: Path
    files: list[Path]  # the .rec files, the manifest streams, or the one .lst
    label_format: str = "multi-hot"  # augmented manifests: "multi-hot" or "class-id"


def _media_type(content_type: str | None) -> tuple[str | None, dict[str, str]]:
    if content_type is None:
        return None, {}
    media, *params = (part.strip() for part in content_type.split(";"))
    options = dict(p.split("=", 1) for p in params if "=" in p)
    return media.lower(), {k.strip().lower(): v.strip() for k, v in options.items()}


def _files(folder: Path, suffix: str | None = None) -> list[Path]:
    found = (p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))
    return [p for p in found if suffix is None or p.suffix.lower() == suffix]


def resolve_channel(job: JobDirectory, name: str, config: ChannelConfig | None) -> Channel:
    """The files of channel `name`; a missing or empty channel is a ClientError."""
    root = job.channel(name)
    if config is None and not root.exists():
        raise UserError(
            f"ClientError: the '{name}' channel is missing. The image classification algorithm needs a "
            "'train' and a 'validation' channel"
        )
    if not root.is_dir():
        raise UserError(f"ClientError: no data for the '{name}' channel: {root} does not exist")
    media, options = _media_type(config.content_type if config else None)
    wrapped = config is not None and config.record_wrapper.lower() == "recordio"
    if media in IMAGE_TYPES or (media is None and not wrapped and not _files(root, ".rec")):
        return _image_channel(job, name, root)
    if media not in (*RECORDIO_TYPES, None):
        raise UserError(
            f"ClientError: the content type '{config.content_type if config else ''}' of the '{name}' "
            f"channel is not supported: use one of {', '.join(RECORDIO_TYPES + IMAGE_TYPES)}"
        )
    if wrapped:
        streams = _files(root)
        if not streams:
            raise UserError(f"ClientError: the '{name}' channel ({root}) is empty")
        label_format = options.get("label-format", "multi-hot")
        if label_format not in ("multi-hot", "class-id"):
            raise UserError(
                f"ClientError: label-format '{label_format}' of the '{name}' channel is not supported: "
                "use label-format=multi-hot or label-format=class-id"
            )
        return Channel(name, ChannelKind.MANIFEST, root, streams, label_format)
    log.info("Searching for .rec files in %s.", root)
    records = _files(root, ".rec")
    if not records:
        raise UserError(
            f"ClientError: no .rec files found in the '{name}' channel ({root}). Pack images with "
            "`roost im2rec` or declare the channel's ContentType as application/x-image"
        )
    return Channel(name, ChannelKind.RECORDS, root, records)


def _image_channel(job: JobDirectory, name: str, root: Path) -> Channel:
    lst_root = job.channel(f"{name}_lst")
    log.info("Searching for .lst files in %s.", lst_root)
    lists = _files(lst_root, ".lst") if lst_root.is_dir() else []
    if len(lists) != 1:
        found = "none" if not lists else ", ".join(p.name for p in lists)
        raise UserError(
            f"ClientError: the '{name}_lst' channel must hold exactly one .lst file for the image files of "
            f"the '{name}' channel; found {found} in {lst_root}"
        )
    return Channel(name, ChannelKind.IMAGES, root, lists)
