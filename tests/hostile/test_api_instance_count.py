"""Issue 9 #7: InstanceCount is capped by what this machine's memory can simulate, with the limit named."""

import pytest
from hostile_api import api

from roost.platform.errors import InvalidRequest
from roost.platform.instances import HOST_MEMORY_BYTES, max_instance_count
from roost.platform.request import parse_request
from workshop import workshop_request


def resources(count: int) -> dict:
    return {"InstanceType": "ml.p2.xlarge", "InstanceCount": count, "VolumeSizeInGB": 50}


def test_more_instances_than_memory_holds_are_refused_with_the_limit(tmp_path):
    most = max_instance_count()
    with api(tmp_path) as server:
        response = server.call(
            "sagemaker", "CreateTrainingJob", workshop_request(ResourceConfig=resources(10**6))
        )
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith(
        "1 validation error detected: Value '1000000' at 'resourceConfig.instanceCount' failed to satisfy "
        f"constraint: Member must have value less than or equal to {most} "
    )
    assert f"use InstanceCount {most} or fewer" in message


def test_the_limit_follows_the_memory(monkeypatch):
    monkeypatch.setattr("roost.platform.instances.memory_bytes", lambda: 4 * HOST_MEMORY_BYTES + 1)
    assert max_instance_count() == 4
    assert parse_request(workshop_request(ResourceConfig=resources(4))).ResourceConfig.InstanceCount == 4
    with pytest.raises(InvalidRequest, match="less than or equal to 4"):
        parse_request(workshop_request(ResourceConfig=resources(5)))
    monkeypatch.setattr("roost.platform.instances.memory_bytes", lambda: HOST_MEMORY_BYTES // 2)
    assert max_instance_count() == 1  # one host always runs


def test_zero_instances_are_refused():
    with pytest.raises(InvalidRequest, match="Member must have value greater than or equal to 1"):
        parse_request(workshop_request(ResourceConfig=resources(0)))
