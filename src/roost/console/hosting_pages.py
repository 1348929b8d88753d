"""Models and endpoints: their lists and pages, an endpoint made from a training job's model in one click,
and a photo sent to an endpoint (the Lab 3 check, in the browser).

"Create endpoint" makes the three resources SageMaker's console does (a model, an endpoint configuration,
an endpoint), each through the same platform operation as its API call. The photo goes from the browser
to the server's InvokeEndpoint path (`POST /endpoints/NAME/invocations`, as boto3's sagemaker-runtime
client sends it), so the console adds no second way to invoke.
"""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from roost.console.job_page import not_found
from roost.console.job_page import page as job_page
from roost.console.pages import Call, render
from roost.errors import UserError
from roost.platform.errors import JobNotFound
from roost.platform.lifecycle import EndpointStatus
from roost.platform.services import Platform
from roost.platform.store import JobQuery
from roost.platform.training_jobs import DEFAULT_REGION

ENDPOINT_INSTANCE_TYPE = "ml.m5.xlarge"
_NEWEST_FIRST = JobQuery(sort_by="CreationTime", descending=True, limit=1000)
_SETTLED = {str(EndpointStatus.IN_SERVICE), str(EndpointStatus.FAILED)}


def models(platform: Platform, call: Call) -> Response:
    return render("models.html", models=platform.models.list(_NEWEST_FIRST))


def model(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        found = platform.models.describe(name, DEFAULT_REGION)
    except UserError:
        return render("not_found.html", status_code=404, what="model", name=name)
    return render("model.html", model=found)


def endpoints(platform: Platform, call: Call) -> Response:
    return render("endpoints.html", endpoints=platform.endpoints.list(_NEWEST_FIRST))


def _endpoint_context(platform: Platform, name: str) -> dict[str, object] | None:
    try:
        endpoint = platform.endpoints.describe(name, DEFAULT_REGION)
    except UserError:
        return None
    return {"endpoint": endpoint, "settled": endpoint.status in _SETTLED}


def endpoint(platform: Platform, call: Call) -> Response:
    context = _endpoint_context(platform, call.path["name"])
    if context is None:
        return render("not_found.html", status_code=404, what="endpoint", name=call.path["name"])
    return render("endpoint.html", **context)


def endpoint_summary(platform: Platform, call: Call) -> Response:
    context = _endpoint_context(platform, call.path["name"])
    if context is None:
        return render("not_found.html", status_code=404, what="endpoint", name=call.path["name"])
    return render("_endpoint_summary.html", **context)


def _check_free(platform: Platform, name: str) -> None:
    """Refuse before creating anything when one of the three names is taken: nothing is left half-made."""
    for kind, resources in (
        ("model", platform.models),
        ("endpoint configuration", platform.endpoint_configs),
        ("endpoint", platform.endpoints),
    ):
        try:
            resources.describe(name, DEFAULT_REGION)
        except UserError:
            continue
        raise UserError(
            f"A {kind} named {name} exists already: the console names the model, endpoint configuration "
            "and endpoint after the job; delete it first (aws sagemaker delete-...), or clone the job"
        )


def create_endpoint(platform: Platform, call: Call) -> Response:
    """A model, an endpoint configuration and an endpoint named after the job, from its model.tar.gz."""
    name = call.path["name"]
    try:
        job = platform.training_jobs.describe(name)
    except JobNotFound:
        return not_found(name)
    request = job.request
    try:
        if not job.model_artifacts:
            raise UserError(f"Training job {name} has no model artifact yet: wait until it is Completed")
        _check_free(platform, name)
        platform.models.create(
            {
                "ModelName": name,
                "PrimaryContainer": {
                    "Image": request["AlgorithmSpecification"]["TrainingImage"],
                    "ModelDataUrl": job.model_artifacts,
                },
                "ExecutionRoleArn": request["RoleArn"],
            },
            DEFAULT_REGION,
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": name,
            "InitialInstanceCount": 1,
            "InstanceType": ENDPOINT_INSTANCE_TYPE,
        }
        platform.endpoint_configs.create(
            {"EndpointConfigName": name, "ProductionVariants": [variant]}, DEFAULT_REGION
        )
        platform.endpoints.create({"EndpointName": name, "EndpointConfigName": name}, DEFAULT_REGION)
    except UserError as error:
        return job_page(platform, call, error=str(error))
    return RedirectResponse(f"/endpoints/{name}", status_code=303)
