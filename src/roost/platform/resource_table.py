"""A table of named SageMaker resources (models, endpoint configurations, endpoints) in the store.

Each row: the name (unique regardless of case, as SageMaker's), its ARN, the request as sent, creation and
modification times, and, for resources that have one, a status. The List operations' filters, order and
pages are the same for every such resource, so they are written once here.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roost.platform.store import JobQuery, Store, list_sql
from roost.platform.tags import Tags, parse_tags

DEFAULT_ACCOUNT = "000000000000"
_ROLE_ACCOUNT = re.compile(r"::(\d{12}):")


def resource_arn(kind: str, name: str, region: str, role_arn: str | None = None) -> str:
    """SageMaker's ARN of a resource: the name lower-cased, the account taken from the role when given."""
    found = _ROLE_ACCOUNT.search(role_arn or "")
    account = found.group(1) if found else DEFAULT_ACCOUNT
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"


def account_of(arn: str) -> str:
    return arn.split(":")[4]


@dataclass
class Resource:
    name: str
    arn: str
    request: dict[str, Any]
    creation_time: float
    last_modified_time: float
    status: str | None = None
    failure_reason: str | None = None
    state: dict[str, Any] | None = None  # what the platform keeps beside the request (deployed variants)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    arn TEXT NOT NULL,
    request TEXT NOT NULL,
    creation_time REAL NOT NULL,
    last_modified_time REAL NOT NULL,
    status TEXT,
    failure_reason TEXT,
    state TEXT
);
CREATE INDEX IF NOT EXISTS {table}_by_creation ON {table} (creation_time, name);
"""


def _from_row(row: Any) -> Resource:
    return Resource(
        name=row["name"],
        arn=row["arn"],
        request=json.loads(row["request"]),
        creation_time=row["creation_time"],
        last_modified_time=row["last_modified_time"],
        status=row["status"],
        failure_reason=row["failure_reason"],
        state=json.loads(row["state"]) if row["state"] is not None else None,
    )


class ResourceTable:
    """One kind of resource in its own table of the platform's store."""

    def __init__(self, store: Store, table: str) -> None:
        self.store, self.table = store, table
        store.ensure_schema(_SCHEMA.format(table=table))

    def insert(self, resource: Resource) -> bool:
        """Store a new resource; False when one of that name exists already."""
        with self.store.write() as db:
            if db.execute(f"SELECT 1 FROM {self.table} WHERE name = ?", (resource.name,)).fetchall():
                return False
            db.execute(
                f"INSERT INTO {self.table} (name, arn, request, creation_time, last_modified_time, status, "
                "failure_reason, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    resource.name,
                    resource.arn,
                    json.dumps(resource.request),
                    resource.creation_time,
                    resource.last_modified_time,
                    resource.status,
                    resource.failure_reason,
                    json.dumps(resource.state) if resource.state is not None else None,
                ),
            )
        return True

    def has_arn(self, arn: str) -> bool:
        return bool(self.store.read(f"SELECT 1 FROM {self.table} WHERE arn = ?", (arn,)))

    def tagged(self, tags: Tags, raw: Mapping[str, Any], resource: Resource) -> bool:
        """Insert `resource` with the request's Tags (checked first: a bad tag stores nothing); False when
        one of that name exists already."""
        given = parse_tags(raw.get("Tags", []))
        if not self.insert(resource):
            return False
        if given:
            tags.add(resource.arn, given)
        return True

    def get(self, name: str) -> Resource | None:
        rows = self.store.read(f"SELECT * FROM {self.table} WHERE name = ?", (name,))
        return _from_row(rows[0]) if rows else None

    def delete(self, name: str) -> bool:
        with self.store.write() as db:
            return db.execute(f"DELETE FROM {self.table} WHERE name = ?", (name,)).rowcount > 0

    def change(self, name: str, only_from: tuple[str, ...] | None = None, **changes: Any) -> Resource | None:
        """Set columns (status, failure_reason, state, request) in one transaction, the modification
        time with them; None when the resource is gone or its status is not one of `only_from`."""
        with self.store.write() as db:
            rows = db.execute(f"SELECT * FROM {self.table} WHERE name = ?", (name,)).fetchall()
            if not rows or (only_from is not None and rows[0]["status"] not in only_from):
                return None
            values = {
                key: json.dumps(value) if key in ("request", "state") and value is not None else value
                for key, value in {"last_modified_time": time.time(), **changes}.items()
            }
            db.execute(
                f"UPDATE {self.table} SET {', '.join(f'{key} = ?' for key in values)} WHERE name = ?",
                [*values.values(), name],
            )
            updated = db.execute(f"SELECT * FROM {self.table} WHERE name = ?", (name,)).fetchall()
        return _from_row(updated[0])

    def with_status(self, statuses: tuple[str, ...]) -> list[Resource]:
        marks = ", ".join("?" for _ in statuses)
        rows = self.store.read(
            f"SELECT * FROM {self.table} WHERE status IN ({marks}) ORDER BY creation_time", statuses
        )
        return [_from_row(row) for row in rows]

    def query(self, query: JobQuery) -> list[Resource]:
        """The List operations' page: filters, order, and the position after the previous page."""
        return [_from_row(row) for row in self.store.read(*list_sql(self.table, query))]
