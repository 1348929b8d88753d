"""Endpoint configurations: which models an endpoint serves, as production variants, on how many
instances, with what share of the traffic."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from roost.platform.errors import InvalidRequest
from roost.platform.models import Models
from roost.platform.resource_requests import NAME_PATTERN, RequestShape, ResourceName, not_found, parse
from roost.platform.resource_table import Resource, ResourceTable, resource_arn
from roost.platform.store import JobQuery, Store
from roost.platform.tags import Tags


class VariantSpec(RequestShape):
    VariantName: Annotated[str, Field(max_length=63, pattern=NAME_PATTERN)]
    ModelName: ResourceName
    InitialInstanceCount: Annotated[int, Field(ge=1)] = 1
    InstanceType: str | None = None
    InitialVariantWeight: Annotated[float, Field(ge=0)] = 1.0
    # How long the container may take to answer its first /ping (botocore: 60 to 3600 s).
    ContainerStartupHealthCheckTimeoutInSeconds: Annotated[int, Field(ge=60, le=3600)] | None = None


class CreateEndpointConfigRequest(RequestShape):
    EndpointConfigName: ResourceName
    ProductionVariants: Annotated[list[VariantSpec], Field(min_length=1, max_length=10)]


class EndpointConfigs:
    def __init__(self, store: Store, models: Models, tags: Tags) -> None:
        self.table = ResourceTable(store, "endpoint_configs")
        self.models, self.tags = models, tags
        tags.register("endpoint-config", self.table.has_arn)

    def create(self, raw: Mapping[str, Any], region: str) -> Resource:
        request: CreateEndpointConfigRequest = parse(CreateEndpointConfigRequest, raw, "CreateEndpointConfig")
        names = [v.VariantName for v in request.ProductionVariants]
        if len(set(names)) < len(names):
            raise InvalidRequest(f"VariantName must be unique within an endpoint configuration: {names}")
        for variant in request.ProductionVariants:  # botocore's shape has checked the instance types
            if variant.InstanceType is None:
                raise InvalidRequest(
                    f"Variant '{variant.VariantName}' has no InstanceType: give one, e.g. ml.m5.xlarge "
                    "(roost runs every instance type on this machine)"
                )
            self.models.describe(variant.ModelName, region)  # SageMaker refuses a config of unknown models
        if not any(v.InitialVariantWeight > 0 for v in request.ProductionVariants):
            raise InvalidRequest("At least one production variant must have an InitialVariantWeight above 0.")
        now = time.time()
        config = Resource(
            name=request.EndpointConfigName,
            arn=resource_arn("endpoint-config", request.EndpointConfigName, region),
            request=request.model_dump(mode="json", exclude_none=True),
            creation_time=now,
            last_modified_time=now,
        )
        if not self.table.tagged(self.tags, raw, config):
            raise InvalidRequest(f'Cannot create already existing endpoint configuration "{config.arn}".')
        return config

    def describe(self, name: str, region: str) -> Resource:
        config = self.table.get(name)
        if config is None:
            raise not_found("endpoint configuration", resource_arn("endpoint-config", name, region))
        return config

    def list(self, query: JobQuery) -> list[Resource]:
        return self.table.query(query)

    def delete(self, name: str, region: str) -> None:
        if not self.table.delete(name):
            raise not_found("endpoint configuration", resource_arn("endpoint-config", name, region))
