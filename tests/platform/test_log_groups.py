"""Log streams belong to a log group: the training jobs' one, or an endpoint's, or the transform jobs'."""

import sqlite3

from roost.platform.log_stream import LOG_GROUP, LogStreamWriter
from roost.platform.store import Store


def test_streams_are_listed_by_group(tmp_path):
    store = Store(tmp_path / "roost.db")
    LogStreamWriter(store, "job", 100.0).write("training")
    LogStreamWriter(
        store, "birds", 100.0, group="/aws/sagemaker/Endpoints/birds", name="AllTraffic/i-1"
    ).write("up")
    assert [s["name"] for s in store.streams()] == ["job/algo-1-100"]
    assert [s["name"] for s in store.streams(log_group="/aws/sagemaker/Endpoints/birds")] == [
        "AllTraffic/i-1"
    ]
    assert store.stream_exists("AllTraffic/i-1", "/aws/sagemaker/Endpoints/birds")
    assert not store.stream_exists("AllTraffic/i-1")
    assert store.log_group_exists(LOG_GROUP) and store.log_group_exists("/aws/sagemaker/Endpoints/birds")
    assert not store.log_group_exists("/aws/sagemaker/Endpoints/other")


def test_a_state_directory_from_before_log_groups_keeps_its_streams(tmp_path):
    with sqlite3.connect(tmp_path / "roost.db") as db:
        db.execute(
            "CREATE TABLE log_streams (name TEXT PRIMARY KEY, job_name TEXT NOT NULL, creation_time INTEGER "
            "NOT NULL, first_event_timestamp INTEGER, last_event_timestamp INTEGER, last_ingestion_time "
            "INTEGER, stored_bytes INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "INSERT INTO log_streams (name, job_name, creation_time) VALUES ('old/algo-1-1', 'old', 1)"
        )
    store = Store(tmp_path / "roost.db")
    assert [s["name"] for s in store.streams()] == ["old/algo-1-1"]
