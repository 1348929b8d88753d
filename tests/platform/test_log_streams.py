from pathlib import Path

import pytest

from roost.platform.log_streams import LogStreams
from roost.platform.store import Store


@pytest.fixture
def log_streams(tmp_path: Path) -> LogStreams:
    return LogStreams(Store(tmp_path / "roost.db"))


def test_log_events_keep_their_order_and_tabs(log_streams: LogStreams):
    writer = log_streams.writer("job", 1.0)
    writer.append([(1000, "a\tb"), (1001, "c")], 1002)
    events = log_streams.events(["job/algo-1-1"], limit=10)
    assert [e.message for e in events] == ["a\tb", "c"]
    assert log_streams.events(["job/algo-1-1"], after_id=events[0].id, limit=10)[0].message == "c"
    assert log_streams.streams("job/")[0].stored_bytes == 4


def test_the_tail_is_the_last_events_oldest_first_across_streams(log_streams: LogStreams):
    first, second = log_streams.writer("job", 1.0), log_streams.writer("job", 2.0)
    first.append([(1000 + i, f"first {i}") for i in range(5)], 1100)
    second.append([(2000 + i, f"second {i}") for i in range(3)], 2100)
    log_streams.writer("job-2", 1.0).append([(3000, "another job")], 3100)
    names = [s.name for s in log_streams.streams("job/")]
    assert names == ["job/algo-1-1", "job/algo-1-2"]
    assert [e.message for e in log_streams.tail(names, 4)] == ["first 4", "second 0", "second 1", "second 2"]
    assert log_streams.count(names) == 8
    assert log_streams.tail([], 4) == [] and log_streams.count([]) == 0


def test_streams_page_in_either_order_by_name_or_last_event(log_streams: LogStreams):
    for name, last in (("a", 3000), ("b", 1000), ("c", 2000)):
        log_streams.writer(name, 1.0).append([(last, "x")], last)
    by_time = log_streams.streams(by_last_event=True, descending=True)
    assert [s.job_name for s in by_time] == ["a", "c", "b"]
    assert [s.job_name for s in log_streams.streams(offset=1, limit=1)] == ["b"]


def test_events_in_a_time_window_that_contain_a_phrase(log_streams: LogStreams):
    log_streams.writer("job", 1.0).append(
        [(1000, "Epoch[0] Validation-accuracy=0.5"), (2000, "Epoch[1] Batch"), (3000, "Epoch[1] Validation")],
        3000,
    )
    found = log_streams.events(["job/algo-1-1"], start_ms=1000, end_ms=3000, containing="Epoch", limit=10)
    assert [e.timestamp for e in found] == [1000, 2000]
    assert [e.timestamp for e in log_streams.events(["job/algo-1-1"], containing="Valid", limit=10)] == [
        1000,
        3000,
    ]


def test_other_resources_write_to_log_groups_of_their_own(log_streams: LogStreams):
    group = "/aws/sagemaker/Endpoints/birds"
    assert not log_streams.group_exists(group)
    log_streams.writer("birds", 1.0, group=group, name="AllTraffic/i-1").append([(1000, "ready")], 1000)
    log_streams.writer("birds", 1.0).append([(1000, "training")], 1000)
    assert log_streams.group_exists(group)
    assert [s.name for s in log_streams.streams(group=group)] == ["AllTraffic/i-1"]
    assert [s.name for s in log_streams.streams()] == ["birds/algo-1-1"]
    assert log_streams.exists("AllTraffic/i-1", group) and not log_streams.exists("AllTraffic/i-1")


def test_a_state_directory_from_before_log_groups_keeps_its_streams(tmp_path: Path):
    store = Store(tmp_path / "roost.db")
    with store.write() as db:
        db.execute(
            "CREATE TABLE log_streams (name TEXT PRIMARY KEY, job_name TEXT NOT NULL, creation_time INTEGER "
            "NOT NULL, first_event_timestamp INTEGER, last_event_timestamp INTEGER, last_ingestion_time "
            "INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "INSERT INTO log_streams (name, job_name, creation_time) VALUES ('old/algo-1-1', 'old', 1)"
        )
    assert [s.name for s in LogStreams(store).streams()] == ["old/algo-1-1"]
