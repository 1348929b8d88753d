"""The console's pages as data: one line per route. A new page is a handler, a template and a line here.

`roost server` mounts `routes(platform)` beside the AWS API (api/app.py). POSTs that change state are
refused unless they come from the console's own pages (pages.same_origin).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from roost.console import create_form, hosting_pages, job_list, job_page, log_viewer, tuning_pages
from roost.console.pages import Call, Handler, same_origin
from roost.platform.services import Platform


@dataclass(frozen=True)
class Page:
    path: str
    handler: Handler
    method: str = "GET"


PAGES = [
    Page("/", job_list.page),
    Page("/training-jobs/table", job_list.table),
    Page("/create-training-job", create_form.blank_form),
    Page("/create-training-job", create_form.create, "POST"),
    Page("/create-training-job/check", create_form.check, "POST"),
    Page("/create-training-job/channel-contents", create_form.channel_contents),
    Page("/create-training-job/instance", create_form.instance_mapping),
    Page("/jobs/{name}", job_page.page),
    Page("/jobs/{name}/summary", job_page.summary),
    Page("/jobs/{name}/accuracy", job_page.accuracy),
    Page("/jobs/{name}/model.tar.gz", job_page.model_artifact),
    Page("/jobs/{name}/stop", job_page.stop, "POST"),
    Page("/jobs/{name}/clone", create_form.clone_form),
    Page("/jobs/{name}/logs", log_viewer.streams),
    Page("/logs/stream", log_viewer.stream),
    Page("/logs/events", log_viewer.events),
    Page("/jobs/{name}/create-endpoint", hosting_pages.create_endpoint, "POST"),
    Page("/models", hosting_pages.models),
    Page("/models/{name}", hosting_pages.model),
    Page("/endpoints", hosting_pages.endpoints),
    Page("/endpoints/{name}", hosting_pages.endpoint),
    Page("/endpoints/{name}/summary", hosting_pages.endpoint_summary),
    Page("/hyper-parameter-tuning-jobs", tuning_pages.job_list),
    Page("/hyper-parameter-tuning-jobs/{name}", tuning_pages.job_page),
    Page("/hyper-parameter-tuning-jobs/{name}/objectives", tuning_pages.objectives),
]
# Reading a form is not a state change: the check runs on every keystroke and needs no origin proof.
_CHANGES_NOTHING = {"/create-training-job/check"}


def _endpoint(platform: Platform, page: Page) -> Route:
    async def endpoint(request: Request) -> Response:
        form = None
        if request.method == "POST":
            if page.path not in _CHANGES_NOTHING and not same_origin(request):
                return PlainTextResponse(
                    "Refused: this request did not come from a page of this console (its Origin header "
                    "names another site, or is missing). Use the console's own form.",
                    status_code=403,
                )
            form = await request.form()
        call = Call(path=request.path_params, query=request.query_params, form=form)
        return await run_in_threadpool(page.handler, platform, call)

    return Route(page.path, endpoint, methods=[page.method])


def routes(platform: Platform) -> list[BaseRoute]:
    """The console's routes over `platform`, its static files (htmx, uPlot, styles) under /static."""
    pages: list[BaseRoute] = [_endpoint(platform, page) for page in PAGES]
    return [*pages, Mount("/static", StaticFiles(packages=[("roost.console", "static")]), name="static")]
