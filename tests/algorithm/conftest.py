import pytest
from tiny_jobs import TINY, make_job


@pytest.fixture
def tiny_job(tmp_path):
    labels = [i % 4 for i in range(32)]
    return make_job(tmp_path / "job", dict(TINY), train=labels, validation=[i % 4 for i in range(12)])
