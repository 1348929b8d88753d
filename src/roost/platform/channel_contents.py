"""What a channel's S3 URI holds, before a job reads it: files, RecordIO records and their labels.

The console shows this beside each channel ("2 .rec files, 335 records, labels 0-3") so that a wrong path
or the wrong data is caught while the request is written, not when the job fails. Only record headers are
read (the `.idx`, where there is one, gives their positions), never the images.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from roost.formats.recordio import RecordIOError, RecordReader
from roost.formats.recordio.header import IR_SIZE, unpack
from roost.platform.storage import Storage


@dataclass
class ChannelContents:
    files: int = 0
    extensions: Counter[str] = field(default_factory=Counter)
    records: int = 0
    labels: set[float] = field(default_factory=set)
    label_widths: set[int] = field(default_factory=set)  # multi-label records: labels per record
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """In words: '2 .rec files, 335 records, labels 0-3' (and what else is there)."""
        kinds = ", ".join(
            f"{count} {extension or 'extensionless'} file{'s' if count > 1 else ''}"
            for extension, count in sorted(self.extensions.items())
        )
        parts = [kinds]
        if self.extensions.get(".rec"):
            parts.append(f"{self.records} record{'s' if self.records != 1 else ''}")
        if self.labels:
            low, high = min(self.labels), max(self.labels)
            parts.append(f"labels {low:g}-{high:g}" if low != high else f"label {low:g}")
        if self.label_widths:
            parts.append(f"multi-label ({', '.join(map(str, sorted(self.label_widths)))} labels per record)")
        return ", ".join(parts)


def _read_labels(path: Path, contents: ChannelContents) -> None:
    reader = RecordReader(path)
    for offset in reader.offsets:
        head = reader.read_head_at(offset, IR_SIZE)
        flag = int.from_bytes(head[:4], "little")  # > 0: that many float32 labels follow the header
        header, _ = unpack(reader.read_head_at(offset, IR_SIZE + 4 * flag) if flag > 0 else head)
        if header.flag > 0:
            contents.label_widths.add(header.flag)
        else:
            contents.labels.add(float(header.label))
        contents.records += 1


def channel_contents(storage: Storage, uri: str) -> ChannelContents:
    """The files under `uri` and, for local `.rec` files, their records and labels.

    Raises InvalidRequest in CreateTrainingJob's words when the URI is malformed or holds nothing."""
    contents = ChannelContents()
    for file in storage.channel_files(uri):
        contents.files += 1
        contents.extensions[Path(file.relative).suffix.lower()] += 1
        if isinstance(file.source, Path) and file.source.suffix.lower() == ".rec":
            try:
                _read_labels(file.source, contents)
            except RecordIOError as error:
                named = str(error) if str(file.source) in str(error) else f"{file.source}: {error}"
                contents.problems.append(named)
    return contents
