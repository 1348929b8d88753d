"""Tags on any SageMaker resource, keyed by its ARN, in a table of their own (AddTags, ListTags, DeleteTags).

Each resource kind registers how to tell whether one of its ARNs exists (`register("training-job", ...)`),
so tagging an ARN that names nothing is refused as SageMaker refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

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
_ALLOWED = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"  # botocore's TagKey/TagValue pattern (pydantic's regex has \p)
_RESOURCE = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:([a-z-]+)/.+$")


class Tag(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    Key: Annotated[str, Field(min_length=1, max_length=128, pattern=_ALLOWED)]
    Value: Annotated[str, Field(max_length=256, pattern=_ALLOWED)]


class _TagList(BaseModel):
    model_config = ConfigDict(strict=True)
    Tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)]


class _TagKeys(BaseModel):
    model_config = ConfigDict(strict=True)
    TagKeys: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=128, pattern=_ALLOWED)]],
        Field(min_length=1, max_length=MAX_TAGS),
    ]


def parse_model(model: type[BaseModel], payload: Mapping[str, Any]) -> Any:
    """`model` of `payload`; InvalidRequest in SageMaker's words when it does not fit."""
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as failure:
        raise InvalidRequest(validation_message(failure)) from None


def parse_tags(tags: Any) -> dict[str, str]:
    """A request's `Tags` member as {key: value}; InvalidRequest in SageMaker's words when malformed."""
    given: _TagList = parse_model(_TagList, {"Tags": tags})
    reserved = [t.Key for t in given.Tags if t.Key.lower().startswith("aws:")]
    if reserved:
        raise InvalidRequest(f"Tag keys beginning with 'aws:' are reserved for AWS use: {reserved[0]}")
    return {t.Key: t.Value for t in given.Tags}


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
        given: _TagKeys = parse_model(_TagKeys, {"TagKeys": keys})
        with self.store.write() as db:
            db.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in given.TagKeys])
