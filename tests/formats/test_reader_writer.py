import multiprocessing
import struct

import pytest

from roost.formats.recordio import MAGIC, RecordIOError, RecordReader, RecordWriter
from roost.formats.recordio.framing import MAGIC_BYTES

PAYLOADS = [b"", b"a", b"abcd" + MAGIC_BYTES + b"xyz", b"x" * 1000, MAGIC_BYTES * 3, b"tail"]


@pytest.fixture
def rec(tmp_path):
    path = tmp_path / "data.rec"
    with RecordWriter(path, tmp_path / "data.idx") as writer:
        for key, payload in enumerate(PAYLOADS):
            writer.write_idx(100 + key, payload)
    return path


def test_sequential_random_and_keyed_access(rec):
    with RecordReader(rec) as reader:
        assert len(reader) == len(PAYLOADS)
        assert list(reader) == PAYLOADS
        assert [reader[i] for i in reversed(range(len(reader)))] == PAYLOADS[::-1]
        assert reader.read_key(102) == PAYLOADS[2]
        assert reader.keys == [100 + i for i in range(len(PAYLOADS))]


def test_without_an_index(rec):
    rec.with_suffix(".idx").unlink()
    with RecordReader(rec) as reader:
        assert reader.keys is None
        assert len(reader) == len(PAYLOADS)
        assert reader[3] == PAYLOADS[3]
        with pytest.raises(RecordIOError, match="needs an index"):
            reader.read_key(100)


def test_index_false_ignores_an_index(rec):
    with RecordReader(rec, index=False) as reader:
        assert reader.keys is None and list(reader) == PAYLOADS


def _read_all(reader: RecordReader) -> list[bytes]:
    return [reader[i] for i in range(len(reader))]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_many_worker_processes_share_one_reader(rec, method):
    with RecordReader(rec) as reader:
        reader[0]  # the parent has a descriptor open before the workers start
        with multiprocessing.get_context(method).Pool(2) as pool:
            results = pool.map(_read_all, [reader] * 4)
        assert results == [PAYLOADS] * 4
        assert _read_all(reader) == PAYLOADS


def test_interrupted_write_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), RecordWriter(tmp_path / "x.rec", tmp_path / "x.idx") as writer:
        writer.write_idx(1, b"payload")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_partial_files_until_close(tmp_path):
    writer = RecordWriter(tmp_path / "x.rec", tmp_path / "x.idx")
    writer.write_idx(1, b"payload")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.idx.partial", "x.rec.partial"]
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.idx", "x.rec"]
    assert (tmp_path / "x.idx").read_text() == "1\t0\n"


def test_record_over_the_size_limit_names_file_and_offset(tmp_path, monkeypatch):
    import roost.formats.recordio.writer as writer_module

    assert writer_module.MAX_RECORD_BYTES == 2**29 - 1
    monkeypatch.setattr(writer_module, "MAX_RECORD_BYTES", 16)
    with RecordWriter(tmp_path / "x.rec") as writer:
        writer.write(b"12345678")
        with pytest.raises(RecordIOError, match=r"x\.rec: the record at byte offset 16 would be 17 bytes"):
            writer.write(b"x" * 17)


def test_truncated_file(rec):
    data = rec.read_bytes()
    rec.write_bytes(data[:-3])
    rec.with_suffix(".idx").unlink()
    with RecordReader(rec) as reader, pytest.raises(RecordIOError, match="truncated record at byte offset"):
        len(reader)
    with pytest.raises(RecordIOError, match=r"data\.rec: truncated record at byte offset \d+"):
        list(RecordReader(rec))
    rec.write_bytes(data[:5])
    with pytest.raises(RecordIOError, match="ends inside a record header"):
        list(RecordReader(rec))


def test_wrong_magic(tmp_path):
    path = tmp_path / "bad.rec"
    path.write_bytes(struct.pack("<II", MAGIC, 4) + b"abcd" + b"JPEG....")
    with pytest.raises(
        RecordIOError, match=r"bad\.rec: no RecordIO magic at byte offset 12 \(found 0x4745504a"
    ):
        list(RecordReader(path))


def test_index_pointing_past_the_end(rec):
    rec.with_suffix(".idx").write_text("1\t0\n2\t999999\n")
    with pytest.raises(RecordIOError, match=r"data\.idx: key 2 points at byte offset 999999, past the end"):
        RecordReader(rec)


def test_index_pointing_into_a_record(rec):
    rec.with_suffix(".idx").write_text("1\t0\n2\t9\n")
    with RecordReader(rec) as reader, pytest.raises(RecordIOError, match=r"index key 2.*byte offset 9"):
        reader.read_key(2)


def test_malformed_index_line(rec):
    rec.with_suffix(".idx").write_text("1\t0\nnot a line\n")
    with pytest.raises(RecordIOError, match=r"data\.idx, line 2"):
        RecordReader(rec)


def test_missing_file(tmp_path):
    with pytest.raises(RecordIOError, match="no such RecordIO file"):
        RecordReader(tmp_path / "nothing.rec")
