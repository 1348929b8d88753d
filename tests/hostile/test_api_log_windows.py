"""Issue 12: FilterLogEvents' endTime is inclusive, as CloudWatch's; GetLogEvents' stays exclusive."""

from hostile_api import api

from workshop import workshop_request

GROUP = "/aws/sagemaker/TrainingJobs"


def test_end_time_is_inclusive_for_filter_and_exclusive_for_get(tmp_path):
    with api(tmp_path) as server:
        server.call("sagemaker", "CreateTrainingJob", workshop_request("window", epochs=1))
        server.wait_until_finished("window")
        (stream,) = server.call("logs", "DescribeLogStreams", {"logGroupName": GROUP}).json()["logStreams"]
        name = stream["logStreamName"]
        first = server.call(
            "logs", "GetLogEvents", {"logGroupName": GROUP, "logStreamName": name, "startFromHead": True}
        ).json()["events"][0]
        at = first["timestamp"]
        window = {"logGroupName": GROUP, "startTime": at, "endTime": at}
        filtered = server.call("logs", "FilterLogEvents", window).json()["events"]
        got = server.call("logs", "GetLogEvents", {**window, "logStreamName": name, "startFromHead": True})
    assert first["message"] in [e["message"] for e in filtered]
    assert all(e["timestamp"] == at for e in filtered)
    assert got.json()["events"] == []
