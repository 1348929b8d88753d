"""S3 on the data root through boto3: what Lab 1's upload and the SDK need, and S3's answers to bad input."""

import asyncio
import hashlib
import os

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from roost_server import wait_until

from roost.api.app import create_app
from roost.platform.services import Platform
from roost.platform.storage import Storage
from workshop import workshop_request

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(server):
    client = server.client("s3")
    client.create_bucket(Bucket="lab1")
    return client


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


def partials(root) -> list:
    return list(root.rglob("*.partial"))


def test_objects_are_files_of_the_bucket_folder(server, s3):
    s3.put_object(
        Bucket="lab1", Key="photos/a.jpg", Body=b"0123456789", ContentType="image/jpeg", Metadata={"k": "v"}
    )
    assert (server.data_root / "lab1" / "photos" / "a.jpg").read_bytes() == b"0123456789"
    head = s3.head_object(Bucket="lab1", Key="photos/a.jpg")
    assert head["ETag"] == f'"{hashlib.md5(b"0123456789").hexdigest()}"'
    assert (head["ContentType"], head["Metadata"], head["ContentLength"]) == ("image/jpeg", {"k": "v"}, 10)
    for asked, body in (
        ("bytes=2-4", b"234"),
        ("bytes=7-", b"789"),
        ("bytes=-2", b"89"),
        ("bytes=8-99", b"89"),
    ):
        answer = s3.get_object(Bucket="lab1", Key="photos/a.jpg", Range=asked)
        assert answer["Body"].read() == body and answer["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(ClientError) as past_the_end:
        s3.get_object(Bucket="lab1", Key="photos/a.jpg", Range="bytes=10-")
    assert code(past_the_end) == "InvalidRange"

    s3.copy_object(Bucket="lab1", Key="copy/a.jpg", CopySource={"Bucket": "lab1", "Key": "photos/a.jpg"})
    assert s3.head_object(Bucket="lab1", Key="copy/a.jpg")["Metadata"] == {"k": "v"}
    with pytest.raises(ClientError) as onto_itself:
        s3.copy_object(Bucket="lab1", Key="copy/a.jpg", CopySource={"Bucket": "lab1", "Key": "copy/a.jpg"})
    assert code(onto_itself) == "InvalidRequest"
    deleted = s3.delete_objects(Bucket="lab1", Delete={"Objects": [{"Key": "copy/a.jpg"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["copy/a.jpg", "never"]
    assert not (server.data_root / "lab1" / "copy").exists()  # no empty folder left behind


def test_a_files_put_there_by_hand_is_an_object_with_its_md5(server, s3):
    (server.data_root / "lab1" / "by-hand").mkdir()
    (server.data_root / "lab1" / "by-hand" / "x.rec").write_bytes(b"records")
    got = s3.get_object(Bucket="lab1", Key="by-hand/x.rec")
    assert got["Body"].read() == b"records" and got["ETag"] == f'"{hashlib.md5(b"records").hexdigest()}"'
    assert got["ContentType"] == "binary/octet-stream"


def test_listing_pages_prefixes_and_delimiters(s3):
    keys = ["list/a+b c.txt", "list/b/1", "list/b/2", "list/c/1", "list/d", "list-e"]
    for key in keys:
        s3.put_object(Bucket="lab1", Key=key, Body=b"x")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket="lab1", Prefix="list/", Delimiter="/", PaginationConfig={"PageSize": 2}
    )
    listed, prefixes, count = [], [], 0
    for page in pages:
        count += 1
        listed += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert (listed, prefixes, count) == (["list/a+b c.txt", "list/d"], ["list/b/", "list/c/"], 2)
    everything = s3.list_objects_v2(Bucket="lab1", Prefix="list")["Contents"]
    assert [o["Key"] for o in everything] == sorted(keys, key=str.encode)
    after = s3.list_objects(Bucket="lab1", Prefix="list/", Marker="list/b/2")["Contents"]
    assert [o["Key"] for o in after] == ["list/c/1", "list/d"]


def test_multipart_upload_appears_only_when_complete(server, s3):
    upload = s3.create_multipart_upload(
        Bucket="lab1", Key="big/train.rec", ContentType="application/x-recordio"
    )
    first, last = os.urandom(5 * MiB), b"tail"
    etags = [
        s3.upload_part(
            Bucket="lab1", Key="big/train.rec", UploadId=upload["UploadId"], PartNumber=n, Body=body
        )["ETag"]
        for n, body in ((1, first), (2, last))
    ]
    with pytest.raises(ClientError) as not_yet:
        s3.head_object(Bucket="lab1", Key="big/train.rec")
    assert not_yet.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as wrong_etag:
        s3.complete_multipart_upload(
            Bucket="lab1",
            Key="big/train.rec",
            UploadId=upload["UploadId"],
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 2, "ETag": etags[1]}]
            },
        )
    assert code(wrong_etag) == "InvalidPart"
    s3.complete_multipart_upload(
        Bucket="lab1",
        Key="big/train.rec",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    assert (server.data_root / "lab1" / "big" / "train.rec").read_bytes() == first + last
    joined = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(last).digest()).hexdigest()
    head = s3.head_object(Bucket="lab1", Key="big/train.rec")
    assert (head["ETag"], head["ContentType"]) == (f'"{joined}-2"', "application/x-recordio")

    # A managed copy over the threshold copies in parts (UploadPartCopy with ranges), as `aws s3 cp s3:// s3://`.
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.copy({"Bucket": "lab1", "Key": "big/train.rec"}, "lab1", "big/copy.rec", Config=config)
    assert (server.data_root / "lab1" / "big" / "copy.rec").read_bytes() == first + last
    assert s3.head_object(Bucket="lab1", Key="big/copy.rec")["ETag"].endswith('-2"')

    small = s3.create_multipart_upload(Bucket="lab1", Key="big/small.rec")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket="lab1", Key="big/small.rec", UploadId=small, PartNumber=n, Body=b"x"
            )["ETag"],
        }
        for n in (1, 2)
    ]
    with pytest.raises(ClientError) as too_small:
        s3.complete_multipart_upload(
            Bucket="lab1", Key="big/small.rec", UploadId=small, MultipartUpload={"Parts": parts}
        )
    assert code(too_small) == "EntityTooSmall"
    in_progress = s3.list_multipart_uploads(Bucket="lab1", Prefix="big/")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in in_progress] == [("big/small.rec", small)]
    s3.abort_multipart_upload(Bucket="lab1", Key="big/small.rec", UploadId=small)
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket="lab1", Key="big/small.rec", UploadId=small, PartNumber=3, Body=b"x")
    assert code(gone) == "NoSuchUpload"
    assert not (server.data_root / "lab1" / "big" / "small.rec").exists()
    assert not (server.state_dir / "s3-uploads" / small).exists()


def test_bad_input_gets_s3s_errors_and_leaves_nothing(server, s3):
    with pytest.raises(ClientError) as bad_md5:
        s3.put_object(Bucket="lab1", Key="bad/md5", Body=b"data", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert code(bad_md5) == "BadDigest"
    assert not (server.data_root / "lab1" / "bad" / "md5").exists()
    for key in ("../escape", "a/../../escape", "a//b", "./x"):
        with pytest.raises(ClientError) as leaving:
            s3.put_object(Bucket="lab1", Key=key, Body=b"x")
        assert code(leaving) == "InvalidArgument", key
    assert not (server.data_root / "escape").exists()
    s3.put_object(Bucket="lab1", Key="file", Body=b"x")
    with pytest.raises(ClientError) as below_a_file:
        s3.put_object(Bucket="lab1", Key="file/below", Body=b"x")
    assert code(below_a_file) == "InvalidArgument"
    with pytest.raises(ClientError) as no_key:
        s3.get_object(Bucket="lab1", Key="no/such/key")
    assert code(no_key) == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        s3.list_objects_v2(Bucket="no-such-bucket")
    assert code(no_bucket) == "NoSuchBucket"
    with pytest.raises(ClientError) as bad_name:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(bad_name) == "InvalidBucketName"
    with pytest.raises(ClientError) as twice:
        s3.create_bucket(Bucket="lab1")
    assert code(twice) == "BucketAlreadyOwnedByYou"
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket="lab1")
    assert code(not_empty) == "BucketNotEmpty"
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20261201/us-east-1/s3/aws4_request, Signature=0"
    }
    not_utf8 = httpx.put(server.url + "/lab1/%ff%fe", content=b"x", headers=signed, timeout=30)
    assert not_utf8.status_code == 400 and b"<Code>InvalidURI</Code>" in not_utf8.content
    with pytest.raises(ClientError) as unsupported:
        s3.get_bucket_acl(Bucket="lab1")
    assert code(unsupported) == "NotImplemented"
    assert partials(server.data_root) == []


def test_a_jobs_model_is_an_object_and_channels_can_be_uploaded(server, s3):
    for name in ("train", "validation"):
        s3.put_object(Bucket="lab1", Key=f"channels/{name}/birds.rec", Body=b"records")
    request = workshop_request("s3-channels", bucket="lab1")
    request["InputDataConfig"] = [
        {
            **c,
            "DataSource": {
                "S3DataSource": {
                    **c["DataSource"]["S3DataSource"],
                    "S3Uri": f"s3://lab1/channels/{c['ChannelName']}/",
                }
            },
        }
        for c in request["InputDataConfig"]
    ]
    sagemaker = server.client("sagemaker")
    sagemaker.create_training_job(**request)
    wait_until(
        lambda: (
            sagemaker.describe_training_job(TrainingJobName="s3-channels")["TrainingJobStatus"] == "Completed"
        )
    )
    model = s3.get_object(Bucket="lab1", Key="s3-channels/output/model.tar.gz")["Body"].read()
    assert model[:2] == b"\x1f\x8b"  # gzip


def test_console_and_s3_share_the_root_path(server, s3):
    assert "Training jobs" in httpx.get(server.url + "/", timeout=30).text
    assert "lab1" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_presigned_urls_and_virtual_hosted_addresses(server, s3):
    s3.put_object(Bucket="lab1", Key="shared/photo.jpg", Body=b"jpeg")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "lab1", "Key": "shared/photo.jpg"})
    assert httpx.get(url, timeout=30).content == b"jpeg"
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20261201/us-east-1/s3/aws4_request, Signature=0"
    }
    virtual = httpx.get(
        server.url + "/shared/photo.jpg", headers={**signed, "Host": "lab1.localhost"}, timeout=30
    )
    assert virtual.content == b"jpeg"


def test_links_out_of_the_bucket_are_no_objects(server, s3, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (server.data_root / "lab1" / "links").mkdir()
    (server.data_root / "lab1" / "links" / "secret.txt").symlink_to(outside)
    assert "Contents" not in s3.list_objects_v2(Bucket="lab1", Prefix="links/")
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket="lab1", Key="links/secret.txt")
    assert code(refused) == "InvalidArgument"


def test_no_s3_when_s3_uris_go_to_an_s3_endpoint(tmp_path):
    platform = Platform.open(tmp_path / "state", Storage(tmp_path, confined=True, s3_client=object()))
    signed = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20261201/us-east-1/s3/aws4_request, Signature=0"
    }

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(platform, run_jobs=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get("/lab1/key", headers=signed)

    answer = asyncio.run(get())
    assert answer.status_code == 501 and b"<Code>NotImplemented</Code>" in answer.content
    assert b"--s3-endpoint-url" in answer.content
