"""SageMaker models: a name for the image-classification container and the `model.tar.gz` it serves.

CreateModel checks what it can without running anything: the shape, that the image is the algorithm's,
and that ModelDataUrl names a file under the data root (or the S3 store). Whether the file really is a
model is found out when an endpoint or a transform job loads it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from roost.platform.errors import InvalidRequest
from roost.platform.request import ALGORITHM_IMAGE
from roost.platform.resource_requests import RequestShape, ResourceName, not_found, parse
from roost.platform.resource_table import Resource, ResourceTable, resource_arn
from roost.platform.storage import Storage
from roost.platform.store import JobQuery, Store
from roost.platform.tags import Tags


class ContainerSpec(RequestShape):
    Image: Annotated[str, Field(max_length=255)] | None = None
    ModelDataUrl: Annotated[str, Field(max_length=1024)] | None = None
    Environment: Annotated[dict[str, str], Field(default_factory=dict, max_length=100)]
    Mode: str = "SingleModel"


class CreateModelRequest(RequestShape):
    ModelName: ResourceName
    PrimaryContainer: ContainerSpec | None = None
    Containers: Annotated[list[ContainerSpec], Field(max_length=15)] | None = None
    ExecutionRoleArn: str | None = None  # its pattern is botocore's shape's, checked before


def container(model: Resource) -> dict[str, Any]:
    """The one container of a stored model (PrimaryContainer, or the only one of Containers)."""
    return model.request.get("PrimaryContainer") or model.request["Containers"][0]


class Models:
    def __init__(self, store: Store, storage: Storage, tags: Tags) -> None:
        self.table = ResourceTable(store, "models")
        self.storage, self.tags = storage, tags
        tags.register("model", self.table.has_arn)

    def _container(self, request: CreateModelRequest) -> ContainerSpec:
        containers = request.Containers or []
        if (request.PrimaryContainer is None) == (not containers):
            raise InvalidRequest("Exactly one of PrimaryContainer or Containers must be specified.")
        if len(containers) > 1:
            raise InvalidRequest(
                f"Containers has {len(containers)} containers: roost hosts single-container models of the "
                "image-classification algorithm; give one container (or PrimaryContainer)"
            )
        return request.PrimaryContainer or containers[0]

    def _check_container(self, spec: ContainerSpec) -> None:
        if spec.Image is None or not ALGORITHM_IMAGE.match(spec.Image):
            raise InvalidRequest(
                f"Container image {spec.Image!r} is not the image-classification algorithm: roost hosts "
                "SageMaker's built-in Image Classification only; use "
                "'<account>.dkr.ecr.<region>.amazonaws.com/image-classification:1' or 'image-classification'"
            )
        if spec.Mode != "SingleModel":
            raise InvalidRequest(f"Container Mode '{spec.Mode}' is not supported by roost: use 'SingleModel'")
        if spec.ModelDataUrl is None:
            raise InvalidRequest(
                "The container has no ModelDataUrl: the image-classification algorithm serves a trained "
                "model; give the s3:// URI of a training job's model.tar.gz"
            )
        location = self.storage.resolve(spec.ModelDataUrl)
        if isinstance(location, Path) and not location.is_file():
            raise InvalidRequest(
                f"Could not find model data at {spec.ModelDataUrl}: '{location}' is not a file under the "
                f"data root {self.storage.data_root}"
            )

    def create(self, raw: Mapping[str, Any], region: str) -> Resource:
        request: CreateModelRequest = parse(CreateModelRequest, raw, "CreateModel")
        self._check_container(self._container(request))
        now = time.time()
        model = Resource(
            name=request.ModelName,
            arn=resource_arn("model", request.ModelName, region, request.ExecutionRoleArn),
            request=request.model_dump(mode="json", exclude_none=True),
            creation_time=now,
            last_modified_time=now,
        )
        if not self.table.tagged(self.tags, raw, model):
            raise InvalidRequest(f'Cannot create already existing model "{model.arn}".')
        return model

    def describe(self, name: str, region: str) -> Resource:
        model = self.table.get(name)
        if model is None:
            raise not_found("model", resource_arn("model", name, region))
        return model

    def list(self, query: JobQuery) -> list[Resource]:
        return self.table.query(query)

    def delete(self, name: str, region: str) -> None:
        if not self.table.delete(name):
            raise not_found("model", resource_arn("model", name, region))
