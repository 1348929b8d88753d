from pathlib import Path

import pytest

from roost.platform.errors import JobExists
from roost.platform.store import JobQuery, JobRecord, Store


def record(name: str, created: float, status: str = "InProgress") -> JobRecord:
    return JobRecord(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name.lower()}",
        request={"TrainingJobName": name},
        status=status,
        secondary_status="Starting",
        creation_time=created,
        last_modified_time=created,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "roost.db")


def test_names_are_unique_regardless_of_case(store: Store):
    store.create(record("birds-1", 1.0))
    with pytest.raises(JobExists, match="a training job with this name already exists"):
        store.create(record("BIRDS-1", 2.0))


def test_a_transition_closes_the_previous_one_in_the_same_write(store: Store):
    store.create(record("birds-1", 1.0))
    store.transition("birds-1", status="InProgress", secondary="Training", message="go", at=5.0)
    done = store.transition(
        "birds-1",
        status="Completed",
        secondary="Completed",
        message="done",
        at=9.0,
        model_artifacts="s3://b/m",
    )
    assert done is not None
    again = store.get("birds-1")
    assert again == done
    assert [(t["Status"], t["StartTime"], t.get("EndTime")) for t in again.transitions] == [
        ("Training", 5.0, 9.0),
        ("Completed", 9.0, 9.0),
    ]
    assert again.model_artifacts == "s3://b/m"
    assert store.transition("birds-1", status="Stopping", secondary="Stopping", message="", at=10.0) is None


def test_queries_filter_sort_and_page_without_gaps_or_repeats(store: Store):
    for i in range(7):
        store.create(record(f"job-{i}", float(i), "Completed" if i % 2 else "InProgress"))
    seen, after = [], None
    while True:
        page = store.query(JobQuery(sort_by="CreationTime", descending=True, after=after, limit=3))
        if not page:
            break
        seen += [r.name for r in page]
        after = (page[-1].creation_time, page[-1].name)
    assert seen == [f"job-{i}" for i in reversed(range(7))]
    assert [r.name for r in store.query(JobQuery(status="Completed", sort_by="Name"))] == [
        "job-1",
        "job-3",
        "job-5",
    ]
    assert [r.name for r in store.query(JobQuery(name_contains="JOB-2"))] == ["job-2"]
    assert [r.name for r in store.query(JobQuery(created_after=4.0, created_before=6.0))] == ["job-5"]


def test_a_move_the_job_lifecycle_does_not_allow_is_refused(store: Store):
    store.create(record("birds-1", 1.0))
    assert store.transition("birds-1", status="Stopping", secondary="Stopping", message="", at=2.0)
    for status, secondary in (("InProgress", "Uploading"), ("Completed", "Completed")):
        assert store.transition("birds-1", status=status, secondary=secondary, message="", at=3.0) is None
    assert store.get("birds-1").status == "Stopping"
    assert store.transition("birds-1", status="Stopped", secondary="Stopped", message="", at=4.0)
    assert store.transition("no-such-job", status="Failed", secondary="Failed", message="", at=5.0) is None
