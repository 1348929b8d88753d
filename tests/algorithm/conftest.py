import pytest
import torch
from tiny_jobs import TINY, make_job


@pytest.fixture(autouse=True)
def seeded_torch():
    # Random inputs in these tests are the same on every run: a tolerance that passes once always does.
    torch.manual_seed(0)


@pytest.fixture
def tiny_job(tmp_path):
    labels = [i % 4 for i in range(32)]
    return make_job(tmp_path / "job", dict(TINY), train=labels, validation=[i % 4 for i in range(12)])
