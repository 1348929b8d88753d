"""Every sample of a channel: where its image bytes are and what its label is, checked up front.

Only record headers (not images) are read here, so indexing is quick even for large files. Corrupt
records are skipped and counted, as SageMaker's sibling algorithms do, and reported once.
"""

from __future__ import annotations

import ast
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path, PurePosixPath

import numpy as np

from roost.algorithm.channel import Channel, ChannelKind
from roost.errors import UserError
from roost.formats.image_list import read_list
from roost.formats.recordio import RecordIOError, RecordReader, scan_offsets, unpack
from roost.formats.recordio.header import IR_SIZE

log = logging.getLogger("roost.algorithm")


class Source(IntEnum):
    RECORD = 0  # an IRHeader record: header, labels, image bytes
    FRAME = 1  # a bare RecordIO frame holding image bytes (augmented manifest)
    FILE = 2  # a whole image file


@dataclass
class SampleIndex:
    channel: str
    files: list[str]
    sources: list[Source]
    file_of: np.ndarray  # int32, per sample
    offset_of: np.ndarray  # int64 byte offset of the record (-1 for a whole file)
    ids: np.ndarray  # int64 record id or .lst index, for messages
    labels: np.ndarray  # float32: (n,) class ids, or (n, num_classes) multi-hot
    class_names: list[str] | None = None
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def describe(self, i: int) -> str:
        where = self.files[self.file_of[i]]
        if self.sources[self.file_of[i]] == Source.FILE:
            return where
        return f"record id {self.ids[i]} (byte offset {self.offset_of[i]}) of {where}"


class _Builder:
    """Collects samples while checking labels against num_classes and multi_label."""

    def __init__(self, channel: Channel, num_classes: int, multi_label: bool) -> None:
        self.channel = channel
        self.num_classes = num_classes
        self.multi_label = multi_label
        self.files: list[str] = []
        self.sources: list[Source] = []
        self.file_of: list[int] = []
        self.offsets: list[int] = []
        self.ids: list[int] = []
        self.labels: list[np.ndarray | float] = []
        self.skipped: list[str] = []

    def add_file(self, path: Path, source: Source) -> int:
        self.files.append(str(path))
        self.sources.append(source)
        return len(self.files) - 1

    def add(self, file: int, offset: int, sample_id: int, label: np.ndarray | float, what: str) -> None:
        self.labels.append(self._checked(label, what))
        self.file_of.append(file)
        self.offsets.append(offset)
        self.ids.append(sample_id)

    def _checked(self, label: np.ndarray | float, what: str) -> np.ndarray | float:
        k = self.num_classes
        if self.multi_label:
            vector = np.atleast_1d(np.asarray(label, dtype=np.float32))
            if vector.shape != (k,) or not np.isin(vector, (0.0, 1.0)).all():
                raise UserError(
                    f"ClientError: {what} has the label {vector.tolist()}, but multi_label=1 needs a "
                    f"multi-hot vector of num_classes={k} zeros and ones"
                )
            return vector
        if isinstance(label, np.ndarray):
            raise UserError(
                f"ClientError: {what} carries {label.size} labels, but multi_label is 0: pack single "
                "labels (im2rec without --pack-label) or set multi_label=1"
            )
        if not math.isfinite(label) or label != int(label) or not 0 <= label < k:
            raise UserError(
                f"ClientError: {what} has the label {label:g}, outside 0 .. {k - 1} (num_classes={k}): "
                "labels must be class ids counted from 0; check num_classes"
            )
        return float(label)

    def build(self, class_names: list[str] | None) -> SampleIndex:
        labels = np.asarray(self.labels, dtype=np.float32)
        if self.multi_label:
            labels = labels.reshape(len(self.ids), self.num_classes)
        return SampleIndex(
            channel=self.channel.name,
            files=self.files,
            sources=self.sources,
            file_of=np.asarray(self.file_of, dtype=np.int32),
            offset_of=np.asarray(self.offsets, dtype=np.int64),
            ids=np.asarray(self.ids, dtype=np.int64),
            labels=labels,
            class_names=class_names,
            skipped=self.skipped,
        )


def index_channel(channel: Channel, num_classes: int, multi_label: bool) -> SampleIndex:
    """Index every sample of a channel; labels outside num_classes are a ClientError."""
    builder = _Builder(channel, num_classes, multi_label)
    if channel.kind == ChannelKind.RECORDS:
        names = _index_records(builder)
    elif channel.kind == ChannelKind.MANIFEST:
        _index_manifest(builder)
        names = None
    else:
        names = _index_images(builder)
    if builder.skipped:
        log.warning(
            "Skipped %d unreadable or corrupt samples in the '%s' channel; the first: %s",
            len(builder.skipped),
            channel.name,
            builder.skipped[0],
        )
    if not builder.ids:
        raise UserError(f"ClientError: the '{channel.name}' channel ({channel.root}) holds no usable images")
    return builder.build(names)


def _index_records(builder: _Builder) -> list[str] | None:
    for path in builder.channel.files:
        file = builder.add_file(path, Source.RECORD)
        with RecordReader(path, index=False) as reader:
            for offset in scan_offsets(path, builder.skipped):
                try:
                    head = reader.read_head_at(offset, IR_SIZE)
                    flag = int.from_bytes(head[:4], "little") if len(head) == IR_SIZE else 0
                    header, _ = unpack(reader.read_head_at(offset, IR_SIZE + 4 * flag) if flag else head)
                except RecordIOError as error:
                    builder.skipped.append(f"{path}: byte offset {offset}: {error}")
                    continue
                what = f"record id {header.id} (byte offset {offset}) of {path}"
                builder.add(file, offset, header.id, header.label, what)
    return _names_from_lists(builder)


def _parse_label_text(
    text: str, label_format: str, num_classes: int, multi_label: bool
) -> np.ndarray | float:
    """A manifest label: "3", "[1, 0, 1]" (multi-hot) or "[0, 2]" (class ids, label-format=class-id)."""
    values = np.atleast_1d(np.asarray(ast.literal_eval(text.strip()), dtype=np.float32)).ravel()
    if not multi_label:
        return float(values[0]) if values.size == 1 else values
    if label_format == "class-id":
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"class ids {values.tolist()} outside 0 .. {num_classes - 1}")
        hot = np.zeros(num_classes, dtype=np.float32)
        hot[values.astype(int)] = 1.0
        return hot
    return values


def _index_manifest(builder: _Builder) -> None:
    for path in builder.channel.files:
        file = builder.add_file(path, Source.FRAME)
        offsets = scan_offsets(path, builder.skipped)
        if len(offsets) % 2:
            builder.skipped.append(f"{path}: an image frame without its label frame at the end")
        with RecordReader(path, index=False) as reader:
            for n, (image_at, label_at) in enumerate(zip(offsets[::2], offsets[1::2], strict=False)):
                text = reader.read_at(label_at).decode("utf-8", errors="replace")
                try:
                    label = _parse_label_text(
                        text, builder.channel.label_format, builder.num_classes, builder.multi_label
                    )
                except (ValueError, SyntaxError, TypeError) as error:
                    builder.skipped.append(
                        f"{path}: label frame at byte offset {label_at}: {text!r}: {error}"
                    )
                    continue
                builder.add(
                    file, image_at, n, label, f"manifest entry {n} (byte offset {image_at}) of {path}"
                )


def _index_images(builder: _Builder) -> list[str] | None:
    (lst,) = builder.channel.files
    root = builder.channel.root
    entries = read_list(lst, builder.skipped)
    for entry in entries:
        path = root / entry.path
        if not _inside_channel(entry.path):
            builder.skipped.append(
                f"{entry.path}: listed in {lst.name} but outside the '{builder.channel.name}' channel: paths "
                "in a .lst are relative to the channel's folder, without '..'"
            )
            continue
        if not path.is_file():
            builder.skipped.append(
                f"{path}: listed in {lst.name} but not found in the '{builder.channel.name}' channel"
            )
            continue
        file = builder.add_file(path, Source.FILE)
        labels = entry.labels if builder.multi_label else entry.labels[0]
        builder.add(file, -1, entry.index, np.asarray(labels) if builder.multi_label else labels, str(path))
    if builder.multi_label:
        return None
    return _class_names((e.labels[0], e.path) for e in entries)


def _inside_channel(listed: str) -> bool:
    """Whether a .lst path stays in the channel's folder: relative, and no `..` (as S3 keys are)."""
    path = PurePosixPath(listed.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts


def _class_names(labelled_paths: Iterable[tuple[float, str]]) -> list[str] | None:
    """Class names from the folder of each labelled image, when every label has exactly one folder."""
    folders: dict[int, set[str]] = {}
    for label, path in labelled_paths:
        folders.setdefault(int(label), set()).add(os.path.dirname(path) or ".")
    if not folders or any(len(names) != 1 for names in folders.values()):
        return None
    if sorted(folders) != list(range(len(folders))):
        return None
    return [next(iter(folders[label])) for label in range(len(folders))]


def _names_from_lists(builder: _Builder) -> list[str] | None:
    """Class names from the `.lst` that im2rec leaves beside each `.rec`, if it matches the records."""
    if builder.multi_label:
        return None
    by_id = dict(zip(builder.ids, builder.labels, strict=True))
    labelled: list[tuple[float, str]] = []
    for path in builder.channel.files:
        lst = path.with_suffix(".lst")
        if not lst.is_file():
            return None
        for entry in read_list(lst, []):  # a list that does not parse names no classes
            if entry.index not in by_id or np.any(by_id[entry.index] != entry.labels[0]):
                return None  # a list that does not describe these records (it happens)
            labelled.append((entry.labels[0], entry.path))
    return _class_names(labelled) if len(labelled) == len(by_id) else None
