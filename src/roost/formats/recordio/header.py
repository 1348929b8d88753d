"""MXNet's image-record payload: a 24-byte `IRHeader`, optional float32 labels, then the encoded image.

Matches `mxnet.recordio.pack/unpack`: a scalar label lives in the header with flag 0; an array label
sets flag to its length and follows the header as little-endian float32 values. The caller's flag is
always overwritten, as MXNet does.
"""

from __future__ import annotations

import numbers
import struct
from typing import NamedTuple

import numpy as np

from roost.formats.recordio.errors import RecordIOError

_IR = struct.Struct("<IfQQ")
IR_SIZE = _IR.size  # 24


class IRHeader(NamedTuple):
    flag: int
    label: float | np.ndarray
    id: int
    id2: int = 0


def pack(header: IRHeader | tuple, payload: bytes) -> bytes:
    """Header, labels and payload as one record (what `RecordWriter.write` takes).

    `header` may be a plain `(flag, label, id, id2)` tuple, as `mx.recordio.pack` takes."""
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        head = _IR.pack(0, float(header.label), header.id, header.id2)
        return head + bytes(payload)
    labels = np.asarray(header.label, dtype="<f4").ravel()
    head = _IR.pack(labels.size, 0.0, header.id, header.id2)
    return head + labels.tobytes() + bytes(payload)


def unpack(record: bytes | memoryview) -> tuple[IRHeader, bytes]:
    """Split a record into its header (label array when flag > 0) and the remaining payload."""
    if len(record) < IR_SIZE:
        raise RecordIOError(
            f"record of {len(record)} bytes is too short for an image record header (24 bytes)"
        )
    flag, label, rid, id2 = _IR.unpack_from(record)
    rest = IR_SIZE
    if flag > 0:
        end = rest + 4 * flag
        if end > len(record):
            raise RecordIOError(
                f"image record header says {flag} labels but the record has only {len(record) - rest} "
                "bytes after its header"
            )
        labels = np.frombuffer(record, dtype="<f4", count=flag, offset=rest).astype(np.float32)
        return IRHeader(flag, labels, rid, id2), bytes(record[end:])
    return IRHeader(flag, label, rid, id2), bytes(record[rest:])


def pack_img(header: IRHeader, image: np.ndarray, quality: int = 95, img_fmt: str = ".jpg") -> bytes:
    """Encode a BGR/gray image with OpenCV (JPEG quality or PNG compression level) and pack it."""
    import cv2

    fmt = img_fmt.lower()
    if fmt in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    elif fmt == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, quality]
    else:
        raise ValueError(f"unsupported image encoding {img_fmt!r}: use '.jpg' or '.png'")
    ok, encoded = cv2.imencode(fmt, image, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode an image of shape {image.shape} as {fmt}")
    return pack(header, encoded.tobytes())


def unpack_img(record: bytes, iscolor: int = -1) -> tuple[IRHeader, np.ndarray]:
    """Unpack and decode with OpenCV (`iscolor` as cv2.imdecode's flag: -1 unchanged, 0 gray, 1 BGR)."""
    import cv2

    header, payload = unpack(record)
    image = cv2.imdecode(np.frombuffer(payload, dtype=np.uint8), iscolor)
    if image is None:
        raise RecordIOError(f"record id {header.id}: the image bytes could not be decoded")
    return header, image
