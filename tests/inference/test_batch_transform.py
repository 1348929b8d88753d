"""`roost algorithm transform --ml-dir DIR`: one answer per input file, the endpoint's answers and errors."""

import json
import shutil

import numpy as np
import pytest
from endpoint_helpers import encode, reference

from photos import photo
from roost.algorithm.job_directory import JobDirectory
from roost.inference.batch_transform import run


def _job(tmp_path, tiny_model, files: dict[str, bytes], **config) -> JobDirectory:
    job = JobDirectory(tmp_path / "ml")
    job.model.mkdir(parents=True)
    shutil.copy(tiny_model.archive, job.model / "model.tar.gz")
    for name, content in files.items():
        (job.data / name).parent.mkdir(parents=True, exist_ok=True)
        (job.data / name).write_bytes(content)
    job.config.mkdir(parents=True)
    (job.config / "transform.json").write_text(json.dumps({"ContentType": "application/x-image", **config}))
    return job


def test_every_file_gets_the_endpoints_answer(tmp_path, tiny_model):
    images = {"a.png": encode(photo(40, 30, 1)), "sub/b.jpg": encode(photo(50, 50, 2), ".jpg")}
    job = _job(tmp_path, tiny_model, images, Accept="application/jsonlines")
    assert run(job.root) == 0
    out = job.output / "data"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a.png.out",
        "sub",
        "sub/b.jpg.out",
    ]
    for name, content in images.items():
        answer = json.loads((out / f"{name}.out").read_text())["prediction"]
        expected = reference(tiny_model.network, content, tiny_model.image_shape)
        np.testing.assert_allclose(answer, expected, atol=1e-4)


@pytest.mark.parametrize(
    ("files", "config", "reason"),
    [
        ({"notes.txt": b"not an image"}, {}, "Loading image data failed with exception"),
        ({"a.png": encode(photo(8, 8, 0))}, {"ContentType": "text/csv"}, "Invalid content type 'text/csv'"),
        ({"a.png": encode(photo(8, 8, 0))}, {"Accept": "text/csv"}, "Invalid accept type 'text/csv'"),
    ],
    ids=["not-an-image", "content-type", "accept"],
)
def test_what_the_endpoint_refuses_fails_the_job_with_the_reason(tmp_path, tiny_model, files, config, reason):
    job = _job(tmp_path, tiny_model, files, **config)
    assert run(job.root) == 1
    assert reason in job.failure_file.read_text()
    assert not list(job.output.rglob("*.out"))
