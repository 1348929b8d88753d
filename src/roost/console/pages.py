"""How a console page is served: a handler over the platform and one request, rendered from a template.

Handlers are plain functions `(platform, call) -> Response`, run in a worker thread (they read SQLite and
the data root). Templates autoescape, so whatever users or jobs wrote (names, tags, log lines, failure
reasons) reaches the browser as text, never as markup.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from roost.platform.services import Platform


@dataclass(frozen=True)
class Call:
    """What a handler gets of a request: path parameters, query, and the form of a POST (already read)."""

    path: Mapping[str, str]
    query: QueryParams
    form: FormData | None


Handler = Callable[[Platform, Call], Response]


def _time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float | None) -> str:
    """'1 hour 2 minutes', '3 minutes 4 seconds', '5 seconds', as SageMaker's console words it."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(hours, "hour"), (minutes, "minute"), (secs, "second")]
    shown = [(n, unit) for n, unit in units if n][:2] or [(0, "second")]
    return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in shown)


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("roost.console", "templates"),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,  # a clone of an older request may lack members
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(time=_time, duration=_duration)
_ENVIRONMENT.globals.update(now=time.time)


def whole_number(text: str, default: int, *, least: int = 0, most: int = 2**62) -> int:
    """A query parameter as a whole number (ASCII digits) within [least, most]; `default` when it is none."""
    if not text.isascii() or not text.isdigit():
        return default
    return min(max(int(text), least), most)


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(_ENVIRONMENT.get_template(template).render(**context), status_code=status_code)


def same_origin(request: Request) -> bool:
    """Whether a POST comes from a page of this console (Origin, or Referer, names this host).

    Browsers send Origin with every cross-site POST, so a form on another site that posts here is refused;
    a request with neither header is refused too."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return False
    return urlsplit(sent).netloc == request.headers.get("host", request.url.netloc)
