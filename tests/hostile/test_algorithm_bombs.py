"""Issue 9 #12: crafted files get clear errors, not tracebacks, and cheap bombs are refused before they
cost memory or disk."""

import io
import struct
import tarfile
from pathlib import Path

import pytest

from inference.endpoint_helpers import make_model
from roost.algorithm.model_artifact import MAX_METADATA_BYTES, open_model, params_bytes_limit
from roost.algorithm.mxnet_format import load_ndarray_list
from roost.algorithm.network import build_network
from roost.errors import UserError
from roost.formats.recordio import IRHeader, RecordWriter, pack
from roost.prep.inspection import inspect_rec


def _params_file(path: Path, shape: tuple[int, ...]) -> Path:
    data = struct.pack("<QQQ", 0x112, 0, 1)
    data += struct.pack("<IiI", 0xF993FAC9, 0, len(shape)) + struct.pack(f"<{len(shape)}q", *shape)
    data += struct.pack("<iii", 1, 0, 0)
    data += struct.pack("<QQ", 1, 14) + b"arg:fc1_weight"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("shape", [(2**40, 2**40), (2**62, 8), (0, 2**62)])
def test_params_with_crafted_shapes_are_refused_clearly(tmp_path, shape):
    with pytest.raises(UserError, match=r"cannot fit in a file of \d+ bytes"):
        load_ndarray_list(_params_file(tmp_path / "x.params", shape))


def test_inspecting_a_record_with_an_empty_image_reports_it(tmp_path):
    rec = tmp_path / "empty.rec"
    with RecordWriter(rec, rec.with_suffix(".idx")) as writer:
        writer.write_idx(0, pack(IRHeader(0, 1.0, 7, 0), b""))
    summary = inspect_rec(rec)
    assert (
        "record 0 (id 7) at byte offset 0: its image bytes do not decode: the image is empty"
        in summary.problem
    )


def _archive(path: Path, members: dict[str, int]) -> Path:
    """A model.tar.gz of members of the given sizes, all zeros: a few kB of gzip for many MB of files."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size in members.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    return path


def test_a_checkpoint_larger_than_the_network_is_refused_from_the_tar_header(tmp_path):
    network = build_network(20, 4, (3, 28, 28))
    limit = params_bytes_limit(network)
    archive = _archive(tmp_path / "model.tar.gz", {"image-classification-0001.params": 20 * limit})
    assert archive.stat().st_size < limit  # the bomb is small; what it expands to is not
    with pytest.raises(UserError, match="more than a model checkpoint can weigh"):
        open_model(archive, tmp_path / "work", limit)
    assert not any((tmp_path / "work").rglob("*.params"))  # nothing was written


def test_an_oversized_metadata_file_is_refused_from_the_tar_header(tmp_path):
    archive = _archive(tmp_path / "model.tar.gz", {"model-shapes.json": MAX_METADATA_BYTES + 1})
    with pytest.raises(UserError, match="more than a model file can weigh"):
        open_model(archive, tmp_path / "work")
    assert not any((tmp_path / "work").rglob("*.json"))


def test_only_the_latest_checkpoint_is_extracted(tmp_path):
    archive = make_model(tmp_path / "artifact", epochs=3).archive
    stored = open_model(archive, tmp_path / "work")
    assert stored.checkpoints == 3 and stored.epoch == 3
    assert [p.name for p in (tmp_path / "work/model").glob("*.params")] == [stored.params.name]
