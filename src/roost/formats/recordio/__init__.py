"""MXNet RecordIO, byte-compatible with dmlc-core and `mxnet.recordio`: framing, image headers, `.idx`."""

from roost.formats.recordio.errors import RecordIOError
from roost.formats.recordio.framing import MAGIC, MAX_RECORD_BYTES
from roost.formats.recordio.header import IRHeader, pack, pack_img, unpack, unpack_img
from roost.formats.recordio.index import index_path_for, read_index
from roost.formats.recordio.reader import RecordReader, iter_records, scan_offsets
from roost.formats.recordio.writer import RecordWriter

__all__ = [
    "MAGIC",
    "MAX_RECORD_BYTES",
    "IRHeader",
    "RecordIOError",
    "RecordReader",
    "RecordWriter",
    "index_path_for",
    "iter_records",
    "pack",
    "pack_img",
    "read_index",
    "scan_offsets",
    "unpack",
    "unpack_img",
]
