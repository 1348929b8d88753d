import struct

from hypothesis import given
from hypothesis import strategies as st

from roost.formats.recordio.framing import MAGIC, MAGIC_BYTES, encode
from roost.formats.recordio.reader import iter_records


def frames(data: bytes) -> list[bytes]:
    import io

    return [record for _, record in iter_records(io.BytesIO(data), "mem")]


def test_split_payload_matches_dmlc_bytes_from_the_spec():
    # Spec §3.1, checked against mxnet 1.9.1: the magic is dropped and the payload split around it.
    data = encode(b"ABCD" + MAGIC_BYTES + b"EFGHIJ")
    assert data.hex() == "0a23d7ce04000020" + b"ABCD".hex() + "0a23d7ce06000060" + b"EFGHIJ".hex() + "0000"


def test_whole_record_worked_example():
    header = struct.pack("<IfQQ", 0, 3.0, 7, 0)
    data = encode(header + bytes.fromhex("ffd8ffe058595a"))
    assert data[:8].hex() == "0a23d7ce1f000000"
    assert len(data) == 8 + 32 and data[-1] == 0


def test_unaligned_magic_is_not_split():
    payload = b"A" + MAGIC_BYTES + b"BCD"
    data = encode(payload)
    assert data.count(MAGIC_BYTES) == 2  # the header's and the payload's own unaligned one
    assert frames(data) == [payload]


def test_magic_in_the_unaligned_tail_is_not_split():
    payload = b"ABCDEF" + MAGIC_BYTES  # 10 bytes: the magic ends past floor(10/4)*4
    assert struct.unpack("<I", encode(payload)[4:8])[0] >> 29 == 0


def test_magic_at_start_and_end():
    payload = MAGIC_BYTES + b"1234" + MAGIC_BYTES
    data = encode(payload)
    flags = []
    pos = 0
    while pos < len(data):
        magic, word = struct.unpack_from("<II", data, pos)
        assert magic == MAGIC
        flags.append(word >> 29)
        pos += 8 + (((word & (2**29 - 1)) + 3) & ~3)
    assert flags == [1, 2, 3]
    assert frames(data) == [payload]


def test_empty_payload():
    assert encode(b"") == MAGIC_BYTES + b"\0\0\0\0"
    assert frames(encode(b"") * 3) == [b"", b"", b""]


payload_parts = st.lists(st.one_of(st.binary(max_size=9), st.just(MAGIC_BYTES)), max_size=12)


@given(st.lists(payload_parts.map(b"".join), max_size=6))
def test_round_trip_any_payloads(payloads):
    data = b"".join(encode(p) for p in payloads)
    assert len(data) % 4 == 0
    assert frames(data) == payloads
