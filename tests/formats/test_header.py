import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from roost.formats.recordio import IRHeader, RecordIOError, pack, pack_img, unpack, unpack_img


def test_scalar_label_overwrites_flag():
    record = pack(IRHeader(5, 3.0, 7, 0), b"img")
    assert record[:24].hex() == "00000000" + "00004040" + "0700000000000000" + "0000000000000000"
    header, payload = unpack(record)
    assert header == IRHeader(0, 3.0, 7, 0) and payload == b"img"


def test_array_label_layout_from_the_spec():
    record = pack(IRHeader(123, [1, 0, 1], 7, 0), b"")
    assert record.hex() == (
        "03000000"
        + "00000000"
        + "0700000000000000"
        + "0000000000000000"
        + "0000803f"
        + "00000000"
        + "0000803f"
    )
    header, payload = unpack(record)
    assert header.flag == 3 and header.label.tolist() == [1.0, 0.0, 1.0] and payload == b""


@given(
    st.one_of(
        st.floats(width=32, allow_nan=False),
        st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=20),
    ),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=64),
)
def test_round_trip(label, rid, payload):
    header, rest = unpack(pack(IRHeader(0, label, rid, 0), payload))
    assert header.id == rid and rest == payload
    if isinstance(label, list):
        assert header.flag == len(label) and header.label.tolist() == label
    else:
        assert header.flag == 0 and header.label == label


def test_short_records_are_errors():
    with pytest.raises(RecordIOError, match="too short"):
        unpack(b"\0" * 10)
    with pytest.raises(RecordIOError, match="4 labels"):
        unpack(pack(IRHeader(0, [1, 2, 3, 4], 1, 0), b"")[:30])


def test_image_round_trip_png_is_lossless():
    image = (np.arange(5 * 7 * 3) % 256).astype(np.uint8).reshape(5, 7, 3)
    header, decoded = unpack_img(pack_img(IRHeader(0, 2.0, 9, 0), image, quality=3, img_fmt=".png"))
    assert header.label == 2.0 and np.array_equal(decoded, image)


def test_undecodable_image_names_the_record():
    with pytest.raises(RecordIOError, match="record id 4"):
        unpack_img(pack(IRHeader(0, 1.0, 4, 0), b"not an image"))


def test_a_plain_tuple_is_a_header_as_mxnet_takes_it():
    assert pack((0, 1.0, 2, 0), b"x") == pack(IRHeader(0, 1.0, 2, 0), b"x")
    header, payload = unpack(pack((0, [1.0, 2.0], 7, 0), b"x"))
    assert (header.flag, list(header.label), header.id, payload) == (2, [1.0, 2.0], 7, b"x")
