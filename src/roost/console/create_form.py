"""Create training job: SageMaker's form, whose fields become the CreateTrainingJob request the AWS CLI sends.

Create calls the same platform operation as the API's CreateTrainingJob; a refused request comes back on
the form with its error and everything typed. While the form is filled in, `check` answers with each
field's problem (the API's own words, from the same schema) and `channel_contents` with what a channel's
S3 URI holds, so that most mistakes are seen before Create.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from roost.console.job_page import not_found
from roost.console.pages import Call, render, whole_number
from roost.errors import UserError
from roost.platform.errors import JobNotFound
from roost.platform.instances import instance_mapping as mapping_in_words
from roost.platform.service_model import service
from roost.platform.services import Platform
from roost.platform.training_jobs import DEFAULT_ACCOUNT

ALGORITHM_IMAGE = "image-classification:1"
DEFAULT_ROLE = f"arn:aws:iam::{DEFAULT_ACCOUNT}:role/roost-console"
# The workshop's GPU types first, then CPU ones; every other TrainingInstanceType follows.
FIRST_INSTANCE_TYPES = (
    "ml.p2.xlarge",
    "ml.p3.2xlarge",
    "ml.p3.8xlarge",
    "ml.g4dn.xlarge",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
)
CHANNEL_CHOICES = {
    "ContentType": ("application/x-recordio", "application/x-image", "image/jpeg", "image/png"),
    "CompressionType": ("None", "Gzip"),
    "RecordWrapperType": ("None", "RecordIO"),
    "S3DataType": ("S3Prefix", "ManifestFile", "AugmentedManifestFile"),
    "S3DataDistributionType": ("FullyReplicated", "ShardedByS3Key"),
}
# Fields checked as they are typed, beside the hyperparameters: the form's id -> the request member.
CHECKED_MEMBERS = {
    "TrainingJobName": "trainingJobName",
    "RoleArn": "roleArn",
    "InstanceCount": "resourceConfig.instanceCount",
    "VolumeSizeInGB": "resourceConfig.volumeSizeInGB",
    "MaxRuntimeInSeconds": "stoppingCondition.maxRuntimeInSeconds",
}
# The members the form's fields write; a clone carries the others (Environment, VpcConfig, ...) unchanged.
FORM_MEMBERS = {
    "TrainingJobName",
    "RoleArn",
    "AlgorithmSpecification",
    "ResourceConfig",
    "StoppingCondition",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "CheckpointConfig",
    "Tags",
}
_CHANNEL_ROW = re.compile(r"^channel-(\d+)-(\w+)$")
_TAG_ROW = re.compile(r"^tag-(\d+)-(Key|Value)$")


@dataclass
class FormState:
    """The request being written: the CreateTrainingJob payload, and every hyperparameter field as typed."""

    request: dict[str, Any]
    hyperparameters: dict[str, str]
    channels: list[dict[str, str]] = field(default_factory=list)
    tags: list[dict[str, str]] = field(default_factory=list)

    @property
    def carried(self) -> dict[str, Any]:
        """The request's members that no field shows, kept as they are (falsy ones are defaults)."""
        return {k: v for k, v in self.request.items() if k not in FORM_MEMBERS and v}


def _channel_fields(channel: Mapping[str, Any]) -> dict[str, str]:
    source = channel.get("DataSource", {}).get("S3DataSource", {})
    return {
        "ChannelName": channel.get("ChannelName", ""),
        "ContentType": channel.get("ContentType", ""),
        "CompressionType": channel.get("CompressionType", "None"),
        "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        "S3DataType": source.get("S3DataType", "S3Prefix"),
        "S3DataDistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
        "S3Uri": source.get("S3Uri", ""),
    }


def _channel_request(fields: Mapping[str, str]) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": fields.get("ChannelName", "").strip(),
        "DataSource": {
            "S3DataSource": {
                "S3DataType": fields.get("S3DataType", "S3Prefix"),
                "S3DataDistributionType": fields.get("S3DataDistributionType", "FullyReplicated"),
                "S3Uri": fields.get("S3Uri", "").strip(),
            }
        },
        "CompressionType": fields.get("CompressionType", "None"),
        "RecordWrapperType": fields.get("RecordWrapperType", "None"),
    }
    if fields.get("ContentType"):
        channel["ContentType"] = fields["ContentType"]
    return channel


def _number(text: str) -> int | str:
    # A number where the API takes one; anything else goes as typed, for the API to refuse in its words.
    return int(text) if text.isascii() and text.isdigit() else text


def state_from_request(platform: Platform, request: Mapping[str, Any]) -> FormState:
    """The form for a request (a stored job's, to clone it): the algorithm's defaults where it sets none."""
    hyperparameters = {f.name: f.default for f in platform.training_jobs.hyperparameter_fields()}
    hyperparameters.update(request.get("HyperParameters", {}))
    return FormState(
        request=dict(request),
        hyperparameters=hyperparameters,
        channels=[_channel_fields(c) for c in request.get("InputDataConfig", [])],
        tags=[{"Key": t.get("Key", ""), "Value": t.get("Value", "")} for t in request.get("Tags", [])],
    )


def _rows(form: FormData, pattern: re.Pattern[str]) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        match = pattern.match(key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [rows[i] for i in sorted(rows)]


def state_from_form(platform: Platform, form: FormData) -> FormState:
    """The CreateTrainingJob payload the form's fields make, as the AWS CLI would send it."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    # Every hp- field: the algorithm's, and the keys a cloned request had beyond them (`_...`, ignored by it).
    hyperparameters = {
        key.removeprefix("hp-"): value.strip()
        for key, value in form.multi_items()
        if key.startswith("hp-") and isinstance(value, str)
    }
    channels = _rows(form, _CHANNEL_ROW)
    tags = [t for t in _rows(form, _TAG_ROW) if t.get("Key", "").strip() or t.get("Value", "").strip()]
    try:
        carried = json.loads(text("carried") or "{}")
    except json.JSONDecodeError:
        carried = {}
    request: dict[str, Any] = {
        **(carried if isinstance(carried, dict) else {}),
        "TrainingJobName": text("TrainingJobName"),
        "RoleArn": text("RoleArn") or DEFAULT_ROLE,
        "AlgorithmSpecification": {
            "TrainingImage": text("TrainingImage"),
            "TrainingInputMode": text("TrainingInputMode"),
        },
        "ResourceConfig": {
            key: _number(text(key)) if key != "InstanceType" else text(key)
            for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
            if text(key)
        },
        "HyperParameters": {k: v for k, v in hyperparameters.items() if v},
        "InputDataConfig": [_channel_request(c) for c in channels],
        "OutputDataConfig": {"S3OutputPath": text("S3OutputPath")},
    }
    if text("MaxRuntimeInSeconds"):
        request["StoppingCondition"] = {"MaxRuntimeInSeconds": _number(text("MaxRuntimeInSeconds"))}
    if text("CheckpointS3Uri"):
        request["CheckpointConfig"] = {"S3Uri": text("CheckpointS3Uri")}
    if tags:
        request["Tags"] = [{"Key": t.get("Key", "").strip(), "Value": t.get("Value", "")} for t in tags]
    return FormState(request, hyperparameters, channels, tags)


def _instance_types(chosen: str) -> list[str]:
    known = service().shape_for("TrainingInstanceType").enum
    rest = sorted(t for t in known if t not in FIRST_INSTANCE_TYPES)
    types = [*FIRST_INSTANCE_TYPES, *rest]
    return types if not chosen or chosen in types else [chosen, *types]


def _render_form(
    platform: Platform, state: FormState, *, error: str | None = None, cloned_from: str = ""
) -> Response:
    resources = state.request.get("ResourceConfig", {})
    instance_type = str(resources.get("InstanceType", ""))
    count = resources.get("InstanceCount", 1)
    known = {f.name for f in platform.training_jobs.hyperparameter_fields()}
    return render(
        "create_form.html",
        extra_hyperparameters={k: v for k, v in state.hyperparameters.items() if k not in known},
        status_code=400 if error else 200,
        error=error,
        cloned_from=cloned_from,
        req=state.request,
        state=state,
        fields=platform.training_jobs.hyperparameter_fields(),
        name_pattern=service().shape_for("TrainingJobName").metadata["pattern"].strip("^$"),
        instance_types=_instance_types(instance_type),
        instance_mapping=mapping_in_words(instance_type, count if isinstance(count, int) else 1),
        channel_choices=CHANNEL_CHOICES,
        algorithm_image=ALGORITHM_IMAGE,
        default_role=DEFAULT_ROLE,
        carried=json.dumps(state.carried),
    )


def blank_form(platform: Platform, call: Call) -> Response:
    channel = {
        "ContentType": "application/x-recordio",
        "CompressionType": "None",
        "RecordWrapperType": "None",
    }
    request = {
        "AlgorithmSpecification": {"TrainingImage": ALGORITHM_IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.p2.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86_400},
        "InputDataConfig": [{"ChannelName": "train", **channel}, {"ChannelName": "validation", **channel}],
    }
    return _render_form(platform, state_from_request(platform, request))


def _clone_name(platform: Platform, name: str) -> str:
    """'<name>-Clone', numbered until the name is free; a clone of a clone does not grow the name."""
    stem = re.sub(r"-Clone\d*$", "", name)[:53]
    attempt = 1
    while True:
        candidate = f"{stem}-Clone" if attempt == 1 else f"{stem}-Clone{attempt}"
        try:
            platform.training_jobs.describe(candidate)
        except JobNotFound:
            return candidate
        attempt += 1


def clone_form(platform: Platform, call: Call) -> Response:
    name = call.path["name"]
    try:
        record = platform.training_jobs.describe(name)
    except JobNotFound:
        return not_found(name)
    # Tags as they are now (AddTags and DeleteTags change them after the job was created).
    tags = platform.training_jobs.tags.list(record.arn)
    state = state_from_request(platform, {**record.request, "Tags": tags})
    state.request["TrainingJobName"] = _clone_name(platform, record.name)
    return _render_form(platform, state, cloned_from=record.name)


def create(platform: Platform, call: Call) -> Response:
    assert call.form is not None
    state = state_from_form(platform, call.form)
    try:
        record = platform.training_jobs.create(state.request)
    except UserError as error:
        return _render_form(platform, state, error=str(error))
    return RedirectResponse(f"/jobs/{record.name}", status_code=303)


def check(platform: Platform, call: Call) -> Response:
    """Each checked field's problem (or none), as out-of-band fragments the form puts beside the fields."""
    assert call.form is not None
    state = state_from_form(platform, call.form)
    problems = platform.training_jobs.request_problems(state.request)
    shown = {field: problems.get(member, "") for field, member in CHECKED_MEMBERS.items()}
    name = state.request["TrainingJobName"]
    if not name:
        shown["TrainingJobName"] = ""  # not yet typed: the field's own rule line says what it takes
    elif not shown["TrainingJobName"]:
        try:
            existing = platform.training_jobs.describe(name)
            shown["TrainingJobName"] = (
                f"A training job named {existing.name} exists already: choose another name."
            )
        except JobNotFound:
            pass
    return render(
        "_form_problems.html",
        member_problems=shown,
        hyperparameter_problems=platform.training_jobs.hyperparameter_problems(
            state.request["HyperParameters"]
        ),
        fields=platform.training_jobs.hyperparameter_fields(),
    )


def channel_contents(platform: Platform, call: Call) -> Response:
    """What the S3 URI of channel row `channel` holds; for the train channel, an offer of its record count."""
    row = call.query.get("channel", "")
    uri = call.query.get(f"channel-{row}-S3Uri", "").strip()
    channel_name = call.query.get(f"channel-{row}-ChannelName", "").strip()
    if not uri:
        return render("_channel_contents.html", contents=None, problem=None, channel_name=channel_name)
    try:
        contents = platform.training_jobs.channel_contents(uri)
    except UserError as error:
        return render("_channel_contents.html", contents=None, problem=str(error), channel_name=channel_name)
    return render("_channel_contents.html", contents=contents, problem=None, channel_name=channel_name)


def instance_mapping(platform: Platform, call: Call) -> Response:
    instance_type = call.query.get("InstanceType", "")
    count = call.query.get("InstanceCount", "1")
    return render(
        "_instance_mapping.html",
        instance_mapping=mapping_in_words(instance_type, whole_number(count, 1, least=1)),
    )
