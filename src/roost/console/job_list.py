"""Training jobs: the list, with ListTrainingJobs' name search, status filter and sort, in pages.

The table is a fragment that htmx fetches again every few seconds, so statuses change without a reload.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.responses import Response

from roost.console.pages import Call, render, whole_number
from roost.platform.lifecycle import JobStatus
from roost.platform.services import Platform
from roost.platform.store import JobQuery, JobRecord

PAGE_SIZE = 20
MAX_PAGE = 10_000
SORT_KEYS = ("CreationTime", "Name", "Status")
STATUSES = tuple(str(s) for s in JobStatus)
_NAME_CONTAINS = re.compile(r"^[a-zA-Z0-9\-]{0,63}$")  # ListTrainingJobs' NameContains


@dataclass(frozen=True)
class Listing:
    """The list's filters, order and page, as the query string carries them."""

    name_contains: str = ""
    status: str = ""
    sort_by: str = "CreationTime"
    sort_order: str = "Descending"
    page: int = 1

    @classmethod
    def from_call(cls, call: Call) -> Listing:
        query = call.query
        return cls(
            name_contains=query.get("NameContains", "").strip(),
            status=query.get("StatusEquals", "") if query.get("StatusEquals") in STATUSES else "",
            sort_by=query.get("SortBy", "") if query.get("SortBy") in SORT_KEYS else "CreationTime",
            sort_order="Ascending" if query.get("SortOrder") == "Ascending" else "Descending",
            page=whole_number(query.get("page", ""), 1, least=1, most=MAX_PAGE),
        )

    def query_string(self, **changes: object) -> str:
        values = {
            "NameContains": self.name_contains,
            "StatusEquals": self.status,
            "SortBy": self.sort_by,
            "SortOrder": self.sort_order,
            "page": self.page,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def sorted_by(self, key: str) -> str:
        """The query string of a column header: sort by it, or flip the order when it is the sort already."""
        flipped = "Ascending" if self.sort_order == "Descending" else "Descending"
        return self.query_string(
            SortBy=key, SortOrder=flipped if key == self.sort_by else "Ascending", page=1
        )


def duration(record: JobRecord) -> float:
    """From creation to the end (or to now, while it runs), as SageMaker's list shows it."""
    end = record.training_end_time or (record.last_modified_time if record.finished else time.time())
    return end - record.creation_time


def validation_accuracy(record: JobRecord) -> float | None:
    values = [m["Value"] for m in record.final_metrics if m["MetricName"] == "validation:accuracy"]
    return values[0] if values else None


def _table_context(platform: Platform, listing: Listing) -> dict[str, object]:
    problem = None
    name_contains = listing.name_contains
    if not _NAME_CONTAINS.match(name_contains):
        problem = "The name search takes letters, digits and hyphens only (ListTrainingJobs' NameContains)."
        name_contains = ""
    records = platform.training_jobs.list(
        JobQuery(
            name_contains=name_contains or None,
            status=listing.status or None,
            sort_by=listing.sort_by,
            descending=listing.sort_order == "Descending",
            limit=listing.page * PAGE_SIZE + 1,
        )
    )
    shown = records[(listing.page - 1) * PAGE_SIZE : listing.page * PAGE_SIZE]
    return {
        "listing": listing,
        "jobs": shown,
        "has_next": len(records) > listing.page * PAGE_SIZE,
        "problem": problem,
        "duration": duration,
        "validation_accuracy": validation_accuracy,
    }


def page(platform: Platform, call: Call) -> Response:
    listing = Listing.from_call(call)
    return render("job_list.html", statuses=STATUSES, **_table_context(platform, listing))


def table(platform: Platform, call: Call) -> Response:
    return render("_job_table.html", **_table_context(platform, Listing.from_call(call)))
