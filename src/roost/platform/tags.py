"""Tags on any SageMaker resource, keyed by its ARN, in a table of their own (AddTags, ListTags, DeleteTags).

Each resource kind registers how to tell whether one of its ARNs exists (`register("training-job", ...)`),
so tagging an ARN that names nothing is refused as SageMaker refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pydantic
from pydantic import BaseModel

from roost.platform.errors import InvalidRequest
from roost.platform.request import validation_message
from roost.platform.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
"""
MAX_TAGS = 50
_RESOURCE = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:([a-z-]+)/.+$")


def parse_model(model: type[BaseModel], payload: Mapping[str, Any]) -> Any:
    """`model` of `payload`; InvalidRequest in SageMaker's words when it does not fit."""
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None


def parse_tags(tags: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """A request's `Tags` member, already checked against botocore's TagList (api_shapes), as {key: value};
    InvalidRequest for the keys SageMaker reserves."""
    reserved = [t["Key"] for t in tags if t["Key"].lower().startswith("aws:")]
    if reserved:
        raise InvalidRequest(f"Tag keys beginning with 'aws:' are reserved for AWS use: {reserved[0]}")
    return {t["Key"]: t["Value"] for t in tags}


class Tags:
    """Every resource's tags, over the platform's store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._exists: dict[str, Callable[[str], bool]] = {}
        store.ensure_schema(_SCHEMA)

    def register(self, resource_type: str, exists: Callable[[str], bool]) -> None:
        """Let ARNs of `resource_type` (the part before the '/': "training-job") be tagged."""
        self._exists[resource_type] = exists

    def _check(self, arn: str) -> None:
        found = _RESOURCE.match(arn)
        exists = self._exists.get(found.group(1)) if found else None
        if exists is None or not exists(arn):
            raise InvalidRequest(f"Requested resource not found: {arn}")

    def add(self, arn: str, given: Mapping[str, str]) -> None:
        """Add or overwrite tags (`parse_tags` of a request's list); at most 50 per resource."""
        self._check(arn)
        with self.store.write() as db:
            keys = {row["key"] for row in db.execute("SELECT key FROM tags WHERE arn = ?", (arn,))}
            if len(keys | set(given)) > MAX_TAGS:
                raise InvalidRequest(
                    f"A resource can have at most {MAX_TAGS} tags: {arn} has {len(keys)}, and "
                    f"{len(set(given) - keys)} more were given. Delete some with DeleteTags first."
                )
            db.executemany(
                "INSERT INTO tags (arn, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
                [(arn, key, value) for key, value in given.items()],
            )

    def list(self, arn: str, after: str | None = None, limit: int = 50) -> list[dict[str, str]]:
        """A resource's tags in key order, from the first key after `after`."""
        self._check(arn)
        rows = self.store.read(
            "SELECT key, value FROM tags WHERE arn = ? AND key > ? ORDER BY key LIMIT ?",
            (arn, after or "", limit),
        )
        return [{"Key": row["key"], "Value": row["value"]} for row in rows]

    def delete(self, arn: str, keys: Sequence[str]) -> None:
        """Remove tags by key; keys the resource does not have are ignored, as SageMaker does."""
        self._check(arn)
        with self.store.write() as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])
