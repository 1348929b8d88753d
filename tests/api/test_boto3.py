"""boto3's sagemaker and logs clients against a real server process."""

import concurrent.futures
import datetime

import pytest
from botocore.exceptions import ClientError
from roost_server import wait_until

from workshop import workshop_request

GROUP = "/aws/sagemaker/TrainingJobs"


@pytest.fixture(scope="module")
def finished_job(server):
    sagemaker = server.client("sagemaker")
    arn = sagemaker.create_training_job(**workshop_request("birds13-07", epochs=3))["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/birds13-07"
    sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="birds13-07", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    return sagemaker.describe_training_job(TrainingJobName="birds13-07")


def test_a_job_completes_and_describes_itself_as_sagemaker_does(finished_job, server):
    job = finished_job
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Completed", "Completed")
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://birds/birds13-07/output/model.tar.gz"
    assert (server.data_root / "birds/birds13-07/output/model.tar.gz").is_file()
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert "ml.p2.xlarge runs on this machine's" in job["SecondaryStatusTransitions"][0]["StatusMessage"]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert metrics["validation:accuracy"] == pytest.approx(0.42)
    assert metrics["validation:accuracy:epoch"] == 2
    assert job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["BillableTimeInSeconds"] >= 1
    assert job["HyperParameters"]["epochs"] == "3"
    assert job["ResourceConfig"]["InstanceCount"] == 1


def test_log_events_page_as_cloudwatch_does(finished_job, server):
    logs = server.client("logs")
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="birds13-07/")["logStreams"]
    assert [s["logStreamName"] for s in streams] == [
        f"birds13-07/algo-1-{int(finished_job['TrainingStartTime'].timestamp())}"
    ]
    stream = streams[0]["logStreamName"]
    everything = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
    messages = [e["message"] for e in everything["events"]]
    assert any("\tSpeed: 191.406 samples/sec\t" in m for m in messages), "tabs are kept"
    # At the end, the same forward token comes back with no events: that is how clients know.
    again = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=everything["nextForwardToken"]
    )
    assert again["events"] == []
    assert again["nextForwardToken"] == everything["nextForwardToken"]
    # Paging forward two at a time gives every event once, in order.
    paged, token = [], None
    while True:
        page = logs.get_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            limit=2,
            **({"nextToken": token} if token else {"startFromHead": True}),
        )
        if page["nextForwardToken"] == token:
            break
        paged += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert paged == messages
    # Without a token and from the tail: the newest events; the backward token goes further back.
    tail = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=3)
    assert [e["message"] for e in tail["events"]] == messages[-3:]
    before = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, limit=3, nextToken=tail["nextBackwardToken"]
    )
    assert [e["message"] for e in before["events"]] == messages[-6:-3]


def test_filter_log_events_with_the_workshops_pattern(finished_job, server):
    logs = server.client("logs")
    found = logs.filter_log_events(
        logGroupName=GROUP, logStreamNamePrefix="birds13-07/", filterPattern='"Validation-accuracy"'
    )
    assert [e["message"].split("] ", 1)[1] for e in found["events"]] == [
        "Epoch[0] Validation-accuracy=0.400000",
        "Epoch[1] Validation-accuracy=0.410000",
        "Epoch[2] Validation-accuracy=0.420000",
    ]
    both = logs.filter_log_events(logGroupName=GROUP, filterPattern='"Epoch[1]" accuracy -Batch')
    assert [e["message"].split("] ", 1)[1] for e in both["events"]] == [
        "Epoch[1] Train-accuracy=0.510000",
        "Epoch[1] Validation-accuracy=0.410000",
    ]
    first = logs.filter_log_events(logGroupName=GROUP, filterPattern="Epoch", limit=2)
    rest = logs.filter_log_events(logGroupName=GROUP, filterPattern="Epoch", nextToken=first["nextToken"])
    every = logs.filter_log_events(logGroupName=GROUP, filterPattern="Epoch")
    assert [e["eventId"] for e in first["events"] + rest["events"]] == [e["eventId"] for e in every["events"]]


def test_list_filters_sorts_and_pages(finished_job, server):
    sagemaker = server.client("sagemaker")
    for i in range(3):
        sagemaker.create_training_job(**workshop_request(f"list-{i}", epochs=1))
    wait_until(
        lambda: all(
            s["TrainingJobStatus"] == "Completed"
            for s in sagemaker.list_training_jobs(NameContains="list-")["TrainingJobSummaries"]
        )
    )
    names = []
    kwargs = {"NameContains": "list-", "SortBy": "Name", "SortOrder": "Descending", "MaxResults": 2}
    while True:
        page = sagemaker.list_training_jobs(**kwargs)
        names += [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert names == ["list-2", "list-1", "list-0"]
    completed = sagemaker.list_training_jobs(StatusEquals="Completed", MaxResults=100)["TrainingJobSummaries"]
    assert {"birds13-07", "list-0"} <= {s["TrainingJobName"] for s in completed}
    now = datetime.datetime.now(datetime.timezone.utc)
    assert sagemaker.list_training_jobs(CreationTimeAfter=now)["TrainingJobSummaries"] == []
    earlier = sagemaker.list_training_jobs(CreationTimeBefore=now, MaxResults=100)["TrainingJobSummaries"]
    assert {"birds13-07", "list-0", "list-1", "list-2"} <= {s["TrainingJobName"] for s in earlier}


@pytest.mark.parametrize(
    ("call", "code", "words"),
    [
        (
            lambda sm, logs: sm.create_training_job(**workshop_request("birds13-07")),
            "ResourceInUse",
            "already exists",
        ),
        (
            lambda sm, logs: sm.stop_training_job(TrainingJobName="birds13-07"),
            "ValidationException",
            "status Completed",
        ),
        (
            lambda sm, logs: sm.describe_training_job(TrainingJobName="no-such-job"),
            "ValidationException",
            "Requested resource not found.",
        ),
        (
            lambda sm, logs: sm.stop_training_job(TrainingJobName="no-such-job"),
            "ValidationException",
            "Requested resource not found.",
        ),
        (
            lambda sm, logs: sm.create_training_job(
                **workshop_request(
                    "escapes",
                    InputDataConfig=[
                        workshop_request("x")["InputDataConfig"][0]
                        | {
                            "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://birds/../../etc/"}
                            }
                        }
                    ],
                )
            ),
            "ValidationException",
            "'.', '..'",
        ),
        (
            lambda sm, logs: sm.create_training_job(
                **workshop_request("absolute", OutputDataConfig={"S3OutputPath": "/etc/roost"})
            ),
            "ValidationException",
            "outside the data root",
        ),
        (
            lambda sm, logs: sm.create_training_job(
                **workshop_request(
                    "empty",
                    InputDataConfig=[
                        {
                            "ChannelName": "train",
                            "DataSource": {
                                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://birds/empty/"}
                            },
                        }
                    ],
                )
            ),
            "ValidationException",
            'No S3 objects found under S3 URL "s3://birds/empty/"',
        ),
        (
            lambda sm, logs: sm.create_training_job(
                **workshop_request(
                    "bad-hp",
                    HyperParameters={"num_classes": "2", "num_training_samples": "8", "optimizer": "adamw"},
                )
            ),
            "ValidationException",
            "The value 'adamw' is not valid for the 'optimizer' hyperparameter",
        ),
        (
            lambda sm, logs: logs.get_log_events(logGroupName=GROUP, logStreamName="nope/algo-1-1"),
            "ResourceNotFoundException",
            "log stream",
        ),
        (
            lambda sm, logs: logs.describe_log_streams(logGroupName="/aws/other"),
            "ResourceNotFoundException",
            "log group",
        ),
        (
            lambda sm, logs: logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.x = 1 }"),
            "InvalidParameterException",
            "term patterns",
        ),
    ],
)
def test_bad_calls_get_the_matching_aws_error(finished_job, server, call, code, words):
    with pytest.raises(ClientError) as caught:
        call(server.client("sagemaker"), server.client("logs"))
    error = caught.value.response
    assert error["Error"]["Code"] == code
    assert words in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_stop_ends_a_running_job_stopped_with_its_model(server):
    sagemaker = server.client("sagemaker")
    sagemaker.create_training_job(**workshop_request("to-stop", epochs=500, fake_mode="slow"))
    wait_until(lambda: sagemaker.describe_training_job(TrainingJobName="to-stop")["FinalMetricDataList"])
    sagemaker.stop_training_job(TrainingJobName="to-stop")
    assert sagemaker.describe_training_job(TrainingJobName="to-stop")["TrainingJobStatus"] in (
        "Stopping",
        "Stopped",
    )
    sagemaker.get_waiter("training_job_completed_or_stopped").wait(
        TrainingJobName="to-stop", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    job = sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert job["ModelArtifacts"]["S3ModelArtifacts"].endswith("/to-stop/output/model.tar.gz")


def test_200_concurrent_describe_and_list_calls_while_a_job_trains(server):
    sagemaker = server.client("sagemaker", max_pool_connections=50)
    sagemaker.create_training_job(**workshop_request("under-load", epochs=30, fake_mode="slow"))
    before = len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])

    def call(i: int):
        if i % 2:
            return sagemaker.describe_training_job(TrainingJobName="under-load")["TrainingJobStatus"]
        return len(sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(call, range(200)))
    assert all(r in ("InProgress", "Completed") for r in results[1::2])
    assert all(r == before for r in results[0::2]), "no job record lost"
    sagemaker.stop_training_job(TrainingJobName="under-load")
