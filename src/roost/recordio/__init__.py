"""MXNet RecordIO, byte-compatible with dmlc-core and `mxnet.recordio`: framing, image headers, `.idx`."""

from roost.recordio.errors import RecordIOError
from roost.recordio.framing import MAGIC, MAX_RECORD_BYTES
from roost.recordio.header import IRHeader, pack, pack_img, unpack, unpack_img
from roost.recordio.index import index_path_for, read_index
from roost.recordio.reader import RecordReader, iter_records, scan_offsets
from roost.recordio.writer import RecordWriter

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
