"""Issue 9 #5: ChannelName '.' and '..' are refused, and the job's config files are never written through
a link into the user's data."""

import pytest
from hostile_api import api

from roost.errors import UserError
from roost.platform.job_workspace import JobDirectory
from roost.platform.request import parse_request
from roost.platform.storage import Storage
from workshop import channel, workshop_request


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_channel_names_are_refused(tmp_path, name):
    request = workshop_request(
        "dots",
        InputDataConfig=[channel("train", "s3://birds/train/"), channel(name, "s3://birds/validation/")],
    )
    with api(tmp_path) as server:
        response = server.call("sagemaker", "CreateTrainingJob", request)
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"1 validation error detected: Value '{name}' at 'inputDataConfig.2.member.channelName' failed to "
        "satisfy constraint: Member must not be '.' or '..': a channel name is a folder name under "
        "/opt/ml/input/data/"
    )


def test_names_with_dots_that_are_folder_names_are_fine():
    request = workshop_request(
        InputDataConfig=[channel("train", "s3://birds/train/"), channel("val.v2", "s3://b/v/")]
    )
    assert [c.ChannelName for c in parse_request(request).InputDataConfig] == ["train", "val.v2"]


def test_a_config_file_that_is_a_link_is_refused_not_written_through(tmp_path):
    data_root = tmp_path / "data"
    (data_root / "birds" / "train").mkdir(parents=True)
    (data_root / "birds" / "train" / "birds.rec").write_bytes(b"records")
    victim = tmp_path / "precious.json"
    victim.write_text("the user's file\n")
    job = JobDirectory(tmp_path / "job")
    job.config.mkdir(parents=True)
    job.hyperparameters_file.symlink_to(victim)
    request = parse_request(workshop_request(InputDataConfig=[channel("train", "s3://birds/train/")]))
    with pytest.raises(UserError, match="a link is never written through"):
        job.lay_out(request, Storage(data_root, confined=True))
    assert victim.read_text() == "the user's file\n"
