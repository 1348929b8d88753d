"""The console's pages over a platform with the fake algorithm, through Starlette's test client: origin
checks, escaping, the form's checks in SageMaker's words, channel contents, the list's filters and pages,
and the incremental reads of the chart and the log."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import pytest
from console_servers import FAKE_ALGORITHM
from starlette.testclient import TestClient

from roost.api.app import create_app
from roost.platform.errors import JobNotFound
from roost.platform.services import Platform
from roost.platform.storage import Storage
from roost.platform.store import JobQuery
from workshop import workshop_request

SAME_SITE = {"Origin": "http://localhost"}


@pytest.fixture
def platform(tmp_path, data_root) -> Platform:
    return Platform.open(tmp_path / "state", Storage(data_root, confined=True), command=FAKE_ALGORITHM)


@pytest.fixture
def client(platform):
    """The app without its lifespan: jobs are stored, never run, so each test sets the state it needs."""
    return TestClient(create_app(platform, run_jobs=False), base_url="http://localhost")


def form_for(name: str, changes: dict[str, str] | None = None, **hyperparameters: str) -> dict[str, str]:
    """The create form's fields, filled in with the workshop's request (made tiny), then `changes`."""
    request = workshop_request(name)
    fields = {
        "TrainingJobName": name,
        "TrainingImage": "image-classification:1",
        "TrainingInputMode": "File",
        "InstanceType": "ml.p2.xlarge",
        "InstanceCount": "1",
        "VolumeSizeInGB": "50",
        "MaxRuntimeInSeconds": "1800",
        "S3OutputPath": "s3://birds/",
    }
    for i, channel in enumerate(request["InputDataConfig"]):
        fields[f"channel-{i}-ChannelName"] = channel["ChannelName"]
        fields[f"channel-{i}-S3Uri"] = channel["DataSource"]["S3DataSource"]["S3Uri"]
        fields[f"channel-{i}-ContentType"] = channel["ContentType"]
    values = {**request["HyperParameters"], "num_classes": "4", "num_training_samples": "32"}
    fields.update({f"hp-{k}": v for k, v in {**values, **hyperparameters}.items()})
    return {**fields, **(changes or {})}


def problem(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no element {element_id}"
    return found.group(1).replace("&#39;", "'")


def test_the_form_creates_the_request_the_aws_cli_sends(client, platform):
    answer = client.post(
        "/create-training-job", data=form_for("birds13-07"), headers=SAME_SITE, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/jobs/birds13-07"
    stored = platform.training_jobs.describe("birds13-07").request
    sent = workshop_request("birds13-07")
    assert stored["InputDataConfig"] == sent["InputDataConfig"]
    assert stored["ResourceConfig"] == sent["ResourceConfig"]
    assert stored["StoppingCondition"] == sent["StoppingCondition"]
    assert stored["HyperParameters"]["num_layers"] == "20"
    assert stored["AlgorithmSpecification"]["TrainingImage"] == "image-classification:1"


def test_posts_from_other_sites_are_refused(client, platform):
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}, {}):
        answer = client.post("/create-training-job", data=form_for("forged"), headers=headers)
        assert answer.status_code == 403, headers
    with pytest.raises(JobNotFound):
        platform.training_jobs.describe("forged")
    platform.training_jobs.create(workshop_request("running"))
    assert client.post("/jobs/running/stop", headers={"Origin": "http://evil.example"}).status_code == 403
    assert platform.training_jobs.describe("running").status == "InProgress"
    stopped = client.post("/jobs/running/stop", headers=SAME_SITE, follow_redirects=False)
    assert stopped.status_code == 303
    assert platform.training_jobs.describe("running").status == "Stopping"
    again = client.post("/jobs/running/stop", headers=SAME_SITE)
    assert again.status_code == 400 and "the training job is in status Stopping" in again.text


def test_a_refused_create_keeps_what_was_typed(client, platform):
    platform.training_jobs.create(workshop_request("taken"))
    answer = client.post("/create-training-job", data=form_for("taken", epochs="7"), headers=SAME_SITE)
    assert answer.status_code == 400
    assert "a training job with this name already exists" in answer.text
    assert 'value="taken"' in answer.text and 'id="hp-epochs" name="hp-epochs" value="7"' in answer.text
    missing = client.post(
        "/create-training-job",
        data=form_for("new", {"channel-0-S3Uri": "s3://birds/nothing/"}),
        headers=SAME_SITE,
    )
    assert missing.status_code == 400
    assert "No S3 objects found under S3 URL &#34;s3://birds/nothing/&#34;" in missing.text
    assert 'value="s3://birds/nothing/"' in missing.text


def test_the_check_says_what_is_wrong_in_sagemakers_words(client, platform):
    platform.training_jobs.create(workshop_request("taken"))
    answer = client.post("/create-training-job/check", data=form_for("bad_name", epochs="two", top_k="1"))
    assert problem(answer.text, "problem-TrainingJobName") == (
        "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    assert problem(answer.text, "problem-hp-epochs") == (
        "Customer Error: The value 'two' is not valid for the 'epochs' hyperparameter which expects one of "
        "the following: a string which matches the pattern '^[1-9][0-9]*$'; or an integer greater than 0 "
        "(caused by ValidationError)"
    )
    assert "is not valid for the 'top_k' hyperparameter" in problem(answer.text, "problem-hp-top_k")
    assert problem(answer.text, "problem-hp-num_classes") == ""
    counted = client.post("/create-training-job/check", data=form_for("fine", {"InstanceCount": "0"})).text
    assert problem(counted, "problem-InstanceCount") == (
        "Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value "
        "greater than or equal to 1"
    )
    assert problem(counted, "problem-TrainingJobName") == ""
    taken = client.post("/create-training-job/check", data=form_for("TAKEN"))
    assert problem(taken.text, "problem-TrainingJobName") == (
        "A training job named taken exists already: choose another name."
    )
    fine = client.post(
        "/create-training-job/check", data=form_for("fine", epochs="2", checkpoint_frequency="3")
    )
    assert "'checkpoint_frequency' hyperparameter which expects an integer between 1" in problem(
        fine.text, "problem-hp"
    )


def test_every_hyperparameter_is_on_the_form_with_its_default_and_description(client, platform):
    page = client.get("/create-training-job").text
    for field in platform.training_jobs.hyperparameter_fields():
        assert f'<label for="hp-{field.name}">{field.name}</label>' in page
        assert f'name="hp-{field.name}" value="{field.default}"' in page
        assert field.description, f"{field.name} has no description"
    assert page.count('<span class="required">Required</span>') == 2
    labelled = set(re.findall(r'<label for="([^"]+)"', page))
    inputs = set(re.findall(r'<(?:input|select)[^>]* id="([^"]+)"', page))
    assert inputs - {"__INDEX__"} <= labelled | {i for i in inputs if "__INDEX__" in i}


def test_channel_contents_say_what_an_s3_uri_holds(client):
    def contents(uri: str, name: str = "train") -> str:
        query = {"channel": "3", "channel-3-S3Uri": uri, "channel-3-ChannelName": name}
        return client.get("/create-training-job/channel-contents", params=query).text

    train = contents("s3://birds/train/")
    assert "1 .idx file, 1 .rec file, 32 records, labels 0-3" in train
    assert 'data-fill="hp-num_training_samples" data-value="32"' in train
    assert "data-fill" not in contents("s3://birds/validation/", name="validation")
    assert "No S3 objects found under S3 URL" in contents("s3://birds/elsewhere/")
    assert "only reads and writes under its --data-root" in contents("/etc/")


def test_the_list_filters_sorts_and_pages(client, platform):
    for i in range(23):
        platform.training_jobs.create(workshop_request(f"job-{i:02d}"))
    platform.training_jobs.stop("job-05")
    first = client.get("/").text
    assert first.count('<td><a href="/jobs/') == 20 and "Next page" in first and "job-22" in first
    second = client.get("/training-jobs/table", params={"page": "2"}).text
    assert second.count('<td><a href="/jobs/') == 3 and "Previous page" in second and "job-00" in second
    by_name = client.get("/training-jobs/table", params={"SortBy": "Name", "SortOrder": "Ascending"}).text
    assert by_name.index("job-00") < by_name.index("job-01")
    assert (
        client.get("/training-jobs/table", params={"NameContains": "job-1"}).text.count('<td><a href="/jobs/')
        == 10
    )
    stopping = client.get("/training-jobs/table", params={"StatusEquals": "Stopping"}).text
    assert stopping.count('<td><a href="/jobs/') == 1 and "job-05" in stopping
    odd = client.get("/training-jobs/table", params={"NameContains": "a b"}).text
    assert "letters, digits and hyphens only" in odd


def test_the_chart_and_the_log_read_only_what_is_new(client, platform):
    platform.training_jobs.create(workshop_request("birds"))
    stream = platform.log_streams.writer("birds", time.time())
    for line in (
        "Epoch[0] Train-accuracy=0.5",
        "Epoch[0] Train-top_k_accuracy_2=0.75",
        "Epoch[0] Time cost=1",
    ):
        stream.write(line)
    first = client.get("/jobs/birds/accuracy").json()
    assert first["epochs"] == [{"epoch": 0, "train": 0.5, "validation": None, "top_k": 0.75}]
    assert first["finished"] is False
    stream.write("Epoch[0] Validation-accuracy=0.25")
    news = client.get("/jobs/birds/accuracy", params={"after": first["after"]}).json()
    assert news["epochs"] == [{"epoch": 0, "train": None, "validation": 0.25, "top_k": None}]

    lines = client.get("/logs/stream", params={"name": stream.name, "filter": '"Validation-accuracy"'}).text
    assert lines.count('class="line"') == 1 and "Epoch[0] Validation-accuracy=0.25" in lines
    poller = re.search(r'hx-get="(/logs/events[^"]+)"\s+hx-trigger="every 2s"', lines)
    assert poller, "a running job's log tails itself"
    stream.write("Epoch[1] Validation-accuracy=0.5")
    stream.write("Epoch[1] Train-accuracy=0.5")
    tail = client.get(poller.group(1).replace("&amp;", "&")).text
    assert tail.count('class="line"') == 1 and "Epoch[1] Validation-accuracy=0.5" in tail
    bad = client.get("/logs/events", params={"name": stream.name, "filter": "{ $.level = 1 }"}).text
    assert "roost supports term patterns" in bad


def test_clone_suggests_a_free_name_and_keeps_the_request(client, platform):
    tagged = workshop_request("birds", Tags=[{"Key": "lab", "Value": "2"}], Environment={"FAKE_MODE": "slow"})
    tagged["HyperParameters"]["_tuning_objective_metric"] = "validation:accuracy"
    platform.training_jobs.create(tagged)
    platform.training_jobs.create(workshop_request("birds-Clone"))
    page = client.get("/jobs/birds-Clone/clone").text
    assert 'id="TrainingJobName" name="TrainingJobName" value="birds-Clone2"' in page
    original = client.get("/jobs/birds/clone").text
    assert 'value="birds-Clone2"' in original
    assert 'name="hp-image_shape" value="3,28,28"' in original
    assert 'value="s3://birds/validation/"' in original and 'value="lab"' in original
    assert "Kept as they are, with no field here: Environment." in original
    assert 'name="hp-_tuning_objective_metric" value="validation:accuracy"' in original
    carried = re.search(r'name="carried" value="([^"]*)"', original).group(1)
    form = form_for("birds-again", {"carried": html.unescape(carried)})
    assert client.post("/create-training-job", data=form, headers=SAME_SITE).status_code == 200
    assert platform.training_jobs.describe("birds-again").request["Environment"] == {"FAKE_MODE": "slow"}


def test_what_users_and_jobs_write_is_shown_as_text(client, platform):
    platform.training_jobs.create(workshop_request("markup"))
    platform.log_streams.writer("markup", time.time()).write("<script>alert(2)</script>")
    stream = client.get("/jobs/markup/logs").text
    name = re.search(r"/logs/stream\?name=([^\"]+)", stream).group(1)
    log = client.get(f"/logs/stream?name={name}").text
    assert "<script>alert(2)" not in log and "&lt;script&gt;alert(2)&lt;/script&gt;" in log


def test_odd_query_parameters_are_no_server_errors(client, platform):
    platform.training_jobs.create(workshop_request("birds"))
    for path, query in (
        ("/training-jobs/table", {"page": "99999999999999999999999"}),
        ("/training-jobs/table", {"page": "²", "SortBy": "x", "StatusEquals": "y"}),
        ("/jobs/birds/accuracy", {"after": "99999999999999999999999"}),
        ("/logs/events", {"name": "birds/algo-1-1", "after": "-3"}),
        ("/create-training-job/instance", {"InstanceType": "ml.nothing", "InstanceCount": "²"}),
    ):
        assert client.get(path, params=query).status_code == 200, (path, query)


def test_models_and_endpoints_pages(client, platform):
    assert "No models." in client.get("/models").text
    assert "No endpoints." in client.get("/endpoints").text
    assert client.get("/models/nothing").status_code == 404
    assert client.get("/endpoints/nothing").status_code == 404
    assert client.get("/endpoints/nothing/summary").status_code == 404
    platform.training_jobs.create(workshop_request("running"))
    assert "Create endpoint from this job" not in client.get("/jobs/running").text
    forged = client.post("/jobs/running/create-endpoint", headers={"Origin": "http://evil.example"})
    assert forged.status_code == 403
    early = client.post("/jobs/running/create-endpoint", headers=SAME_SITE)
    assert early.status_code == 400 and "has no model artifact yet" in early.text
    assert "No models." in client.get("/models").text


def test_create_endpoint_makes_nothing_when_a_name_is_taken(client, platform, data_root):
    platform.training_jobs.create(workshop_request("done"))
    artifact = data_root / "birds" / "done" / "output" / "model.tar.gz"
    artifact.parent.mkdir(parents=True)
    artifact.write_bytes(b"a model")
    platform.training_jobs.store.update("done", model_artifacts="s3://birds/done/output/model.tar.gz")
    image = {"Image": "image-classification:1", "ModelDataUrl": "s3://birds/done/output/model.tar.gz"}
    platform.models.create({"ModelName": "done", "PrimaryContainer": image}, "us-east-1")
    answer = client.post("/jobs/done/create-endpoint", headers=SAME_SITE)
    assert answer.status_code == 400 and "A model named done exists already" in answer.text
    assert "No endpoints." in client.get("/endpoints").text
    assert platform.endpoint_configs.list(JobQuery()) == []


def test_unknown_things_are_404_pages(client):
    assert "No training job named nobody" in client.get("/jobs/nobody").text
    assert client.get("/jobs/nobody").status_code == 404
    assert client.get("/jobs/nobody/clone").status_code == 404
    assert client.get("/jobs/nobody/model.tar.gz").status_code == 404
    assert client.get("/logs/stream", params={"name": "nobody/algo-1-1"}).status_code == 404


def test_the_static_files_ship_with_their_licenses():
    static = Path(__file__).parents[2] / "src" / "roost" / "console" / "static"
    for library in ("htmx", "uPlot"):
        assert (static / f"{library}.LICENSE").read_text().strip()
