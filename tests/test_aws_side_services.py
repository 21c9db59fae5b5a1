"""The other AWS services a local deploy calls, on the emulator's port: Secrets Manager (awsJson
1.1), S3 (REST-XML, path style, under /_s3) and CloudFormation (query, under /_cloudformation),
each driven by an unmodified boto3 client, as the custom-resource handlers drive them."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NO_RETRIES, error_code, make_client, unique
from tests.contract import install_output_checks
from workmail_constructs.local import EmulatorCommandError, EmulatorControl, EmulatorServer, running_emulator

ACCOUNT = "123456789012"
DAY = 86400
SECRET_ARN = re.compile(rf"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:(?P<name>.+)-[A-Za-z0-9]{{6}}")
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
CF_NAMESPACE = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer().start() as running:
        yield running


@pytest.fixture
def url(server: EmulatorServer) -> str:
    return server.endpoint_url


@pytest.fixture
def sm(url: str) -> Iterator[Any]:
    failures: list[str] = []
    client = make_client(url, "secretsmanager")
    install_output_checks(client, failures)
    yield client
    assert not failures, "responses broke botocore's output shapes:\n" + "\n".join(failures)


@pytest.fixture
def s3(url: str) -> Any:
    # No addressing style: botocore's default must already be path style with such an endpoint.
    return make_client(f"{url}/_s3", "s3")


@pytest.fixture
def cfn(url: str) -> Any:
    return make_client(f"{url}/_cloudformation", "cloudformation")


def _raises(code: str, call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert error_code(exc) == code, exc.value.response["Error"]
    return exc.value


def _status(error: ClientError) -> int:
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


def _state(server: EmulatorServer) -> Any:
    with server.emulator.lock:
        return server.emulator.store.dump(), server.emulator.store.dump_committed()


# Secrets Manager ------------------------------------------------------------------------


def test_a_secret_round_trips_by_name_full_arn_and_partial_arn(sm: Any) -> None:
    name = unique("app/db-")
    token = str(uuid.uuid4())
    created = sm.create_secret(Name=name, SecretString="s3cret", Description="the database",
                               ClientRequestToken=token, Tags=[{"Key": "team", "Value": "mail"}])
    match = SECRET_ARN.fullmatch(created["ARN"])
    assert match and match["name"] == name
    assert (created["Name"], created["VersionId"]) == (name, token)
    partial = created["ARN"][:-7]
    for secret_id in (name, created["ARN"], partial):
        value = sm.get_secret_value(SecretId=secret_id)
        assert (value["ARN"], value["Name"], value["VersionId"]) == (created["ARN"], name, token)
        assert value["SecretString"] == "s3cret" and value["VersionStages"] == ["AWSCURRENT"]
        assert abs(value["CreatedDate"].timestamp() - time.time()) < 60
    described = sm.describe_secret(SecretId=partial)
    assert described["Description"] == "the database" and described["Tags"] == [{"Key": "team", "Value": "mail"}]
    assert described["VersionIdsToStages"] == {token: ["AWSCURRENT"]}
    assert described["LastAccessedDate"].timestamp() % DAY == 0  # a date, not a time


def test_put_secret_value_moves_the_stages(sm: Any) -> None:
    name = unique("rotating-")
    first = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    second_token = str(uuid.uuid4())
    second = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=second_token)
    assert (second["VersionId"], second["VersionStages"]) == (second_token, ["AWSCURRENT"])
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two"
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert (previous["VersionId"], previous["SecretString"]) == (first, "one")
    assert sm.get_secret_value(SecretId=name, VersionId=first)["VersionStages"] == ["AWSPREVIOUS"]

    # The same token with the same value is the same request: nothing new.
    again = sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=second_token)
    assert (again["VersionId"], again["VersionStages"]) == (second_token, ["AWSCURRENT"])
    error = _raises("ResourceExistsException", sm.put_secret_value, SecretId=name, SecretString="changed",
                    ClientRequestToken=second_token)
    assert "can't modify an existing version" in error.response["Error"]["Message"]

    third = sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {third: ["AWSCURRENT"], second_token: ["AWSPREVIOUS"]}  # the first has no label left

    # A label of the caller's moves alone: AWSCURRENT stays where it is.
    staged = sm.put_secret_value(SecretId=name, SecretString="four", VersionStages=["pending"])
    assert staged["VersionStages"] == ["pending"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "three"
    assert sm.get_secret_value(SecretId=name, VersionStage="pending")["SecretString"] == "four"
    _raises("InvalidRequestException", sm.get_secret_value, SecretId=name, VersionId=third, VersionStage="pending")


def test_a_secret_without_a_value_gets_its_first_version_as_current(sm: Any) -> None:
    name = unique("empty-")
    created = sm.create_secret(Name=name)
    assert "VersionId" not in created
    error = _raises("ResourceNotFoundException", sm.get_secret_value, SecretId=name)
    assert error.response["Error"]["Message"] == (
        "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
    )
    put = sm.put_secret_value(SecretId=name, SecretString="v", VersionStages=["mine"])
    assert sorted(put["VersionStages"]) == ["AWSCURRENT", "mine"]


def test_a_binary_secret_round_trips(sm: Any) -> None:
    name = unique("binary-")
    sm.create_secret(Name=name, SecretBinary=b"\x00\x01binary\xff")
    value = sm.get_secret_value(SecretId=name)
    assert value["SecretBinary"] == b"\x00\x01binary\xff" and "SecretString" not in value


def test_a_retried_create_with_the_same_token_is_ignored(sm: Any) -> None:
    name = unique("retried-")
    token = str(uuid.uuid4())
    first = sm.create_secret(Name=name, SecretString="x", ClientRequestToken=token)
    again = sm.create_secret(Name=name, SecretString="x", ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (first["ARN"], token)
    error = _raises("ResourceExistsException", sm.create_secret, Name=name, SecretString="x")
    assert error.response["Error"]["Message"] == f"The operation failed because the secret {name} already exists."


def test_secrets_manager_errors(sm: Any) -> None:
    name = unique("errors-")
    sm.create_secret(Name=name, SecretString="x")
    for secret_id in ("no-such-secret", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:no-such-AbCdEf",
                      f"arn:aws:secretsmanager:us-east-1:999999999999:secret:{name}"):
        error = _raises("ResourceNotFoundException", sm.get_secret_value, SecretId=secret_id)
        assert error.response["Error"]["Message"] == NOT_FOUND
    _raises("ResourceNotFoundException", sm.describe_secret, SecretId="no-such-secret")
    _raises("ResourceNotFoundException", sm.put_secret_value, SecretId="no-such-secret", SecretString="x")
    _raises("ResourceNotFoundException", sm.delete_secret, SecretId="no-such-secret")
    missing = _raises("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionId="f" * 32)
    assert missing.response["Error"]["Message"].endswith(f"for VersionId: {'f' * 32}")
    _raises("ResourceNotFoundException", sm.get_secret_value, SecretId=name, VersionStage="nope")
    invalid_name = _raises("InvalidParameterException", sm.create_secret, Name="has space", SecretString="x")
    assert invalid_name.response["Error"]["Message"].startswith("Invalid name.")
    _raises("InvalidParameterException", sm.create_secret, Name=unique("both-"), SecretString="x", SecretBinary=b"x")
    _raises("InvalidParameterException", sm.delete_secret, SecretId=name, ForceDeleteWithoutRecovery=True,
            RecoveryWindowInDays=7)
    _raises("InvalidParameterException", sm.delete_secret, SecretId=name, RecoveryWindowInDays=3)
    _raises("InvalidRequestException", sm.put_secret_value, SecretId=name)
    _raises("InvalidRequestException", sm.create_secret, Name=unique("replica-"), SecretString="x",
            AddReplicaRegions=[{"Region": "eu-west-1"}])
    _raises("InvalidNextTokenException", sm.list_secrets, NextToken="not-a-token")
    # The model's constraints, in the service's words.
    too_long = _raises("ValidationException", sm.create_secret, Name="n" * 513, SecretString="x")
    assert too_long.response["Error"]["Message"].startswith("1 validation error detected: Value '")
    assert "at 'name' failed to satisfy constraint: Member must have length less than or equal to 512" in \
        too_long.response["Error"]["Message"]
    short_token = _raises("ValidationException", sm.put_secret_value, SecretId=name, SecretString="x",
                          ClientRequestToken="t" * 65)
    assert "'clientRequestToken'" in short_token.response["Error"]["Message"]
    secret_value = _raises("ValidationException", sm.create_secret, Name=unique("big-"), SecretString="s" * 65537)
    assert "s" * 50 not in secret_value.response["Error"]["Message"]  # a sensitive value is not repeated


def test_a_secret_scheduled_for_deletion() -> None:
    # An emulator of its own: the test moves its clock.
    with EmulatorServer().start() as own:
        sm = make_client(own.endpoint_url, "secretsmanager")
        name = unique("leaving-")
        arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
        deleted = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        assert (deleted["ARN"], deleted["Name"]) == (arn, name)
        assert abs(deleted["DeletionDate"].timestamp() - (time.time() + 7 * DAY)) < 60
        error = _raises("InvalidRequestException", sm.get_secret_value, SecretId=name)
        assert error.response["Error"]["Message"] == MARKED
        _raises("InvalidRequestException", sm.put_secret_value, SecretId=name, SecretString="y")
        _raises("InvalidRequestException", sm.create_secret, Name=name, SecretString="y")
        _raises("InvalidRequestException", sm.delete_secret, SecretId=name)
        assert "DeletedDate" in sm.describe_secret(SecretId=name)
        assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == []
        assert [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]] == [name]

        control = EmulatorControl(own.endpoint_url)
        control.advance_clock(7 * DAY - 60)
        assert sm.describe_secret(SecretId=arn)["ARN"] == arn  # still within its window
        control.advance_clock(120)
        _raises("ResourceNotFoundException", sm.describe_secret, SecretId=arn)
        again = sm.create_secret(Name=name, SecretString="new")["ARN"]
        assert again != arn and SECRET_ARN.fullmatch(again)


def test_force_delete_is_immediate_and_forgiving(sm: Any) -> None:
    name = unique("forced-")
    arn = sm.create_secret(Name=name, SecretString="x")["ARN"]
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=30)
    assert sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)["ARN"] == arn
    _raises("ResourceNotFoundException", sm.describe_secret, SecretId=arn)
    sm.create_secret(Name=name, SecretString="again")
    # "If you forcibly delete an already deleted or nonexistent secret, the operation does not return
    # ResourceNotFoundException" (DeleteSecret).
    gone = sm.delete_secret(SecretId="never-existed", ForceDeleteWithoutRecovery=True)
    assert gone["Name"] == "never-existed" and SECRET_ARN.fullmatch(gone["ARN"])


def test_list_secrets_filters_sorts_and_pages(sm: Any) -> None:
    prefix = unique("listed")
    for suffix, description, team in (("a", "Alpha database", "mail"), ("b", "beta", "web"), ("c", None, "mail")):
        params: dict[str, Any] = {"Name": f"{prefix}/{suffix}", "SecretString": "x",
                                  "Tags": [{"Key": "team", "Value": team}]}
        if description:
            params["Description"] = description
        sm.create_secret(**params)

    def names(**params: Any) -> list[str]:
        return [s["Name"].rsplit("/", 1)[-1] for s in sm.list_secrets(**params)["SecretList"]
                if s["Name"].startswith(prefix)]

    assert names(Filters=[{"Key": "name", "Values": [prefix]}]) == ["a", "b", "c"]
    assert names(Filters=[{"Key": "name", "Values": [prefix]}, {"Key": "tag-value", "Values": ["mail"]}]) == ["a", "c"]
    assert names(Filters=[{"Key": "name", "Values": [prefix]}, {"Key": "tag-value", "Values": ["!mail"]}]) == ["b"]
    assert names(Filters=[{"Key": "description", "Values": ["alpha"]}]) == ["a"]
    assert names(Filters=[{"Key": "all", "Values": [f"{prefix} BETA"]}]) == ["b"]
    assert names(Filters=[{"Key": "name", "Values": [prefix]}], SortBy="name", SortOrder="desc") == ["c", "b", "a"]
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{prefix}/a"]}])["SecretList"][0]
    assert entry["Description"] == "Alpha database" and list(entry["SecretVersionsToStages"].values()) == [
        ["AWSCURRENT"]]

    pages, token = [], None
    while True:
        params = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 1}
        page = sm.list_secrets(**params, **({"NextToken": token} if token else {}))
        pages.append([s["Name"][-1] for s in page["SecretList"]])
        token = page.get("NextToken")
        if not token:
            break
    assert pages == [["a"], ["b"], ["c"]]
    _raises("InvalidNextTokenException", sm.list_secrets, SortBy="name", NextToken=sm.list_secrets(
        Filters=[{"Key": "name", "Values": [prefix]}], MaxResults=1)["NextToken"])


def test_secrets_belong_to_their_region(url: str, sm: Any) -> None:
    name = unique("regional-")
    arn = sm.create_secret(Name=name, SecretString="east")["ARN"]
    west = make_client(url, "secretsmanager", region="eu-west-1")
    _raises("ResourceNotFoundException", west.get_secret_value, SecretId=name)
    _raises("ResourceNotFoundException", west.get_secret_value, SecretId=arn)
    west_arn = west.create_secret(Name=name, SecretString="west")["ARN"]
    assert west_arn.startswith("arn:aws:secretsmanager:eu-west-1:")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "east"
    assert west.get_secret_value(SecretId=name)["SecretString"] == "west"


def test_faults_are_injected_into_workmail_only(server: EmulatorServer, url: str, sm: Any) -> None:
    control = EmulatorControl(url)
    control.set_faults(error_rate=1.0)
    try:
        _raises("InternalFailure", make_client(url).list_organizations)
        name = unique("unfaulted-")
        sm.create_secret(Name=name, SecretString="x")
    finally:
        control.set_faults(error_rate=0)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "x"


# S3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_botocore_sends_path_style_requests_to_the_s3_prefix(url: str, host: str) -> None:
    port = url.rsplit(":", 1)[1]
    client = make_client(f"http://{host}:{port}/_s3", "s3")
    sent: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def capture(request: Any, **_: Any) -> None:
        sent["url"] = request.url
        raise Stop

    client.meta.events.register("before-send.s3.GetObject", capture)
    with pytest.raises(Stop):
        client.get_object(Bucket="my-bucket", Key="a/b.txt")
    assert sent["url"] == f"http://{host}:{port}/_s3/my-bucket/a/b.txt"


def test_s3_objects_round_trip_with_versions(s3: Any) -> None:
    bucket = unique("bucket-")
    assert s3.create_bucket(Bucket=bucket)["Location"] == f"/{bucket}"
    key = "specs/a b+c/ünïcode?.json"
    body = b'{"v": 1}'
    first = s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json",
                          Metadata={"origin": "test"})
    assert first["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
    second = s3.put_object(Bucket=bucket, Key=key, Body=b'{"v": 2}')
    assert first["VersionId"] != second["VersionId"]

    current = s3.get_object(Bucket=bucket, Key=key)
    assert current["Body"].read() == b'{"v": 2}'
    assert (current["VersionId"], current["ContentType"], current["ContentLength"]) == (
        second["VersionId"], "binary/octet-stream", 8)
    old = s3.get_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
    assert old["Body"].read() == b'{"v": 1}'
    assert (old["ContentType"], old["Metadata"], old["ETag"]) == ("application/json", {"origin": "test"},
                                                                  first["ETag"])
    head = s3.head_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
    assert (head["ContentLength"], head["ETag"], head["Metadata"]) == (8, first["ETag"], {"origin": "test"})
    assert abs(head["LastModified"].timestamp() - time.time()) < 60
    # The checksum botocore sent is kept, and checked again by botocore on the way back.
    checked = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert checked["ChecksumCRC32"] and checked["Body"].read() == b'{"v": 2}'
    overridden = s3.get_object(Bucket=bucket, Key=key, ResponseContentType="text/plain")
    assert overridden["ContentType"] == "text/plain"


def test_list_objects_v2_by_prefix_delimiter_and_page(s3: Any) -> None:
    bucket = unique("listing-")
    s3.create_bucket(Bucket=bucket)
    keys = ["a", "a/b", "a/c d", "b+y", "b/x", "ü"]  # S3's order: UTF-8 bytes ("+" before "/")
    for key in reversed(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == keys and listed["KeyCount"] == 6
    assert [o["Size"] for o in listed["Contents"]] == [len(k.encode()) for k in keys]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="a/")["Contents"]] == ["a/b", "a/c d"]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="zzz")["KeyCount"] == 0
    grouped = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in grouped["Contents"]] == ["a", "b+y", "ü"]
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="b+y")["Contents"]] == ["b/x", "ü"]

    paginator = s3.get_paginator("list_objects_v2")
    pages = [[o["Key"] for o in page.get("Contents", [])] for page in
             paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})]
    assert pages == [keys[:4], keys[4:]]


def test_s3_errors(url: str, s3: Any) -> None:
    bucket = unique("errors-")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    cases = [
        ("NoSuchBucket", 404, s3.get_object, {"Bucket": unique("nobucket-"), "Key": "k"}),
        ("NoSuchBucket", 404, s3.put_object, {"Bucket": unique("nobucket-"), "Key": "k", "Body": b"x"}),
        ("NoSuchBucket", 404, s3.list_objects_v2, {"Bucket": unique("nobucket-")}),
        ("NoSuchKey", 404, s3.get_object, {"Bucket": bucket, "Key": "missing"}),
        ("NoSuchVersion", 404, s3.get_object, {"Bucket": bucket, "Key": "k", "VersionId": "0" * 32}),
        ("InvalidArgument", 400, s3.get_object, {"Bucket": bucket, "Key": "k", "VersionId": "not-a-version"}),
        ("InvalidBucketName", 400, s3.create_bucket, {"Bucket": "Bad_Bucket"}),
        ("InvalidBucketName", 400, s3.create_bucket, {"Bucket": "192.168.1.1"}),
        ("InvalidLocationConstraint", 400, s3.create_bucket,
         {"Bucket": unique("b-"), "CreateBucketConfiguration": {"LocationConstraint": "us-east-1"}}),
        ("IllegalLocationConstraintException", 400, s3.create_bucket,
         {"Bucket": unique("b-"), "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
        ("BadDigest", 400, s3.put_object,
         {"Bucket": bucket, "Key": "k2", "Body": b"x", "ContentMD5": base64.b64encode(b"0" * 16).decode()}),
        ("InvalidDigest", 400, s3.put_object, {"Bucket": bucket, "Key": "k2", "Body": b"x", "ContentMD5": "nope"}),
        ("KeyTooLongError", 400, s3.put_object, {"Bucket": bucket, "Key": "k" * 1025, "Body": b"x"}),
        ("PreconditionFailed", 412, s3.put_object, {"Bucket": bucket, "Key": "k", "Body": b"y", "IfNoneMatch": "*"}),
        ("PreconditionFailed", 412, s3.get_object, {"Bucket": bucket, "Key": "k", "IfMatch": '"0000"'}),
        ("AccessDenied", 403, s3.get_object, {"Bucket": bucket, "Key": "k", "ExpectedBucketOwner": "999999999999"}),
        ("NotImplemented", 501, s3.get_object, {"Bucket": bucket, "Key": "k", "PartNumber": 1}),
        ("NotImplemented", 501, s3.delete_object, {"Bucket": bucket, "Key": "k"}),
        ("NotImplemented", 501, s3.list_objects, {"Bucket": bucket}),
    ]
    for code, status, call, params in cases:
        error = _raises(code, call, **params)
        assert _status(error) == status, (code, error.response)
    missing = _raises("NoSuchKey", s3.get_object, Bucket=bucket, Key="missing")
    assert missing.response["Error"]["Message"] == "The specified key does not exist."
    # HEAD answers carry no body: botocore sees the status alone, as from S3.
    assert _status(_raises("404", s3.head_object, Bucket=bucket, Key="missing")) == 404
    assert _status(_raises("404", s3.head_object, Bucket=unique("nobucket-"), Key="k")) == 404
    assert _status(_raises("304", s3.get_object, Bucket=bucket, Key="k", IfNoneMatch="*")) == 304


def _exchange(url: str, request: bytes, *, wait_for_continue: bool = False, body: bytes = b"") -> bytes:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        if wait_for_continue:
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            sock.sendall(body)
        sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_the_http_front_speaks_s3s_http(url: str, s3: Any) -> None:
    bucket = unique("wire-")
    s3.create_bucket(Bucket=bucket)
    # Expect: 100-continue, as botocore sends with every PutObject: the body follows the interim answer.
    head = (f"PUT /_s3/{bucket}/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
            "Connection: close\r\n\r\n").encode()
    answer = _exchange(url, head, wait_for_continue=True, body=b"hello")
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), answer
    # A body over the cap is refused before it is sent, in S3's words.
    too_big = (f"PUT /_s3/{bucket}/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               f"Content-Length: {20 * 1024 * 1024}\r\n\r\n").encode()
    answer = _exchange(url, too_big)
    assert answer.startswith(b"HTTP/1.1 400 ") and b"<Code>EntityTooLarge</Code>" in answer, answer
    assert b"100 Continue" not in answer
    # HEAD announces the object's length and sends no body.
    answer = _exchange(url, f"HEAD /_s3/{bucket}/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert b"\r\nContent-Length: 5\r\n" in answer and answer.endswith(b"\r\n\r\n"), answer
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"hello"
    # A PUT without a length would be an empty object: refused, as S3 does.
    unframed = f"PUT /_s3/{bucket}/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    answer = _exchange(url, unframed)
    assert answer.startswith(b"HTTP/1.1 411 ") and b"<Code>MissingContentLength</Code>" in answer, answer
    # aws-chunked framing is refused, not stored as the object.
    chunked = (f"PUT /_s3/{bucket}/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n"
               "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n\r\nhello").encode()
    assert _exchange(url, chunked).startswith(b"HTTP/1.1 501 ")


def test_creating_a_bucket_again(url: str, s3: Any) -> None:
    bucket = unique("again-")
    s3.create_bucket(Bucket=bucket)
    # "For legacy compatibility, if you re-create an existing bucket that you already own in the
    # North Virginia Region, Amazon S3 returns 200 OK" (BucketAlreadyOwnedByYou); elsewhere, 409.
    assert s3.create_bucket(Bucket=bucket)["Location"] == f"/{bucket}"
    west = make_client(f"{url}/_s3", "s3", region="eu-west-1")
    west_bucket = unique("west-")
    _raises("IllegalLocationConstraintException", west.create_bucket, Bucket=west_bucket)
    configuration = {"LocationConstraint": "eu-west-1"}
    west.create_bucket(Bucket=west_bucket, CreateBucketConfiguration=configuration)
    for client, name in ((west, west_bucket), (west, bucket)):
        error = _raises("BucketAlreadyOwnedByYou", client.create_bucket, Bucket=name,
                        CreateBucketConfiguration=configuration)
        assert _status(error) == 409
        assert isinstance(error, west.exceptions.BucketAlreadyOwnedByYou)


def test_the_local_s3_is_one_store_for_commands_exports_and_boto3(url: str, s3: Any) -> None:
    control = EmulatorControl(url)
    bucket = unique("shared-")
    control.command("put-s3-object", Bucket=bucket, Key="from/command", Body="staged")
    assert s3.get_object(Bucket=bucket, Key="from/command")["Body"].read() == b"staged"
    s3.put_object(Bucket=bucket, Key="from/boto3", Body=b"written")
    assert base64.b64decode(control.command("get-s3-object", Bucket=bucket, Key="from/boto3")["BodyBase64"]) == \
        b"written"

    # A mailbox export lands where boto3 reads it.
    workmail = make_client(url)
    org_id = workmail.create_organization(Alias=unique("exports"))["OrganizationId"]
    try:
        domain = f"{unique('x')}.example.com"
        workmail.register_mail_domain(OrganizationId=org_id, DomainName=domain)
        control.verify_domain(org_id, domain)
        user = workmail.create_user(OrganizationId=org_id, Name="leaver", DisplayName="Leaver")["UserId"]
        workmail.register_to_work_mail(OrganizationId=org_id, EntityId=user, Email=f"leaver@{domain}")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.net", f"leaver@{domain}", "Hi"
        message["Message-ID"] = f"<{uuid.uuid4().hex}@example.net>"
        message.set_content("Hello.\n")
        control.command("deliver-message", OrganizationId=org_id, Raw=message.as_string())
        job = workmail.start_mailbox_export_job(
            OrganizationId=org_id, EntityId=user, S3BucketName=bucket, S3Prefix="exports",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Export",
            KmsKeyArn=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )["JobId"]
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="exports/")["Contents"]
        assert [o["Key"] for o in listed] == [f"exports/{job}.zip"]
        archive = s3.get_object(Bucket=bucket, Key=f"exports/{job}.zip")["Body"].read()
        with zipfile.ZipFile(io.BytesIO(archive)) as exported:
            assert any(name.endswith(".eml") for name in exported.namelist())
    finally:
        workmail.delete_organization(OrganizationId=org_id, DeleteDirectory=True, ForceDelete=True)


def test_routes_do_not_clash(url: str, s3: Any) -> None:
    """A bucket may be called "messages"; Message Flow, the control API and WorkMail keep their paths."""
    s3.create_bucket(Bucket="messages")
    s3.put_object(Bucket="messages", Key="abc", Body=b"an object")
    assert s3.get_object(Bucket="messages", Key="abc")["Body"].read() == b"an object"
    flow = make_client(url, "workmailmessageflow")
    _raises("ResourceNotFoundException", flow.get_raw_message_content, messageId="abc")
    assert EmulatorControl(url).health()
    assert "OrganizationSummaries" in make_client(url).list_organizations()
    # PUT and HEAD are S3's: elsewhere they are still refused.
    request = urllib.request.Request(f"{url}/", data=b"", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 405


def test_clients_from_the_standard_endpoint_variables(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the handlers build: plain clients, endpoints from AWS_ENDPOINT_URL_<SERVICE>."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"{url}/_s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", f"{url}/_cloudformation")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session()
    name, bucket, stack = unique("env-"), unique("env-"), unique("Env")
    session.client("secretsmanager", config=NO_RETRIES).create_secret(Name=name, SecretString="from env")
    assert session.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"] == "from env"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="spec.json", Body=b"{}")
    assert s3.get_object(Bucket=bucket, Key="spec.json")["Body"].read() == b"{}"
    stack_id = EmulatorControl(url).put_stack(stack, "UPDATE_ROLLBACK_IN_PROGRESS")["StackId"]
    stacks = session.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    assert stacks[0]["StackStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"


# CloudFormation ---------------------------------------------------------------------------


def test_describe_stacks_answers_from_recorded_stacks(url: str, cfn: Any) -> None:
    control = EmulatorControl(url)
    name = unique("Stack")
    recorded = control.put_stack(name, "CREATE_IN_PROGRESS")
    stack_id = recorded["StackId"]
    assert re.fullmatch(rf"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/[0-9a-f-]{{36}}", stack_id)
    control.put_stack(name, "CREATE_COMPLETE", Outputs=[{"OutputKey": "OrganizationId", "OutputValue": "m-1"}])
    by_name = cfn.describe_stacks(StackName=name)["Stacks"]
    assert [(s["StackId"], s["StackName"], s["StackStatus"]) for s in by_name] == [(stack_id, name, "CREATE_COMPLETE")]
    assert by_name[0]["Outputs"] == [{"OutputKey": "OrganizationId", "OutputValue": "m-1"}]
    assert "LastUpdatedTime" in by_name[0] and abs(by_name[0]["CreationTime"].timestamp() - time.time()) < 60

    control.put_stack(name, "UPDATE_ROLLBACK_IN_PROGRESS", stack_id=stack_id, StackStatusReason="a resource failed")
    by_id = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    assert (by_id["StackStatus"], by_id["StackStatusReason"]) == ("UPDATE_ROLLBACK_IN_PROGRESS", "a resource failed")
    assert name in [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]

    control.put_stack(name, "DELETE_COMPLETE")
    error = _raises("ValidationError", cfn.describe_stacks, StackName=name)
    assert error.response["Error"]["Message"] == f"Stack with id {name} does not exist" and _status(error) == 400
    deleted = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]  # a deleted stack, by its id
    assert deleted["StackStatus"] == "DELETE_COMPLETE" and "DeletionTime" in deleted
    assert name not in [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
    # The name is free again: a new stack, a new id.
    assert control.put_stack(name, "CREATE_COMPLETE")["StackId"] != stack_id
    west = make_client(f"{url}/_cloudformation", "cloudformation", region="eu-west-1")
    _raises("ValidationError", west.describe_stacks, StackName=name)


def test_put_stack_checks_what_it_records(url: str) -> None:
    control = EmulatorControl(url)
    name = unique("Checked")
    bad = [
        {"StackName": "1starts-with-a-digit", "StackStatus": "CREATE_COMPLETE"},
        {"StackName": name, "StackStatus": "NOT_A_STATUS"},
        {"StackName": name},
        {"StackName": name, "StackStatus": "CREATE_COMPLETE", "StackId": "arn:aws:cloudformation:us-east-1:"
         f"{ACCOUNT}:stack/Other/{uuid.uuid4()}"},
        {"StackName": name, "StackStatus": "CREATE_COMPLETE", "Outputs": "not a list"},
        {"StackName": name, "StackStatus": "CREATE_COMPLETE", "Bogus": 1},
    ]
    for params in bad:
        with pytest.raises(EmulatorCommandError) as exc:
            control.command("put-stack", **params)
        assert exc.value.code == "InvalidParameterException", params
    stack_id = control.put_stack(name, "CREATE_COMPLETE")["StackId"]
    with pytest.raises(EmulatorCommandError, match="already exists"):
        control.put_stack(name, "CREATE_COMPLETE", stack_id=f"{stack_id.rsplit('/', 1)[0]}/{uuid.uuid4()}")


def test_a_stack_is_in_the_region_its_id_names(url: str, cfn: Any) -> None:
    name = unique("Far")
    stack_id = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/{name}/{uuid.uuid4()}"
    EmulatorControl(url).put_stack(name, "UPDATE_COMPLETE", stack_id=stack_id)
    west = make_client(f"{url}/_cloudformation", "cloudformation", region="eu-west-1")
    assert [s["StackId"] for s in west.describe_stacks(StackName=name)["Stacks"]] == [stack_id]
    _raises("ValidationError", cfn.describe_stacks, StackName=name)
    _raises("ValidationError", cfn.describe_stacks, StackName=stack_id)


def _query(url: str, body: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{url}/_cloudformation/", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_query_protocol_on_the_wire(url: str) -> None:
    name = unique("Wire")
    EmulatorControl(url).put_stack(name, "CREATE_COMPLETE")
    status, body = _query(url, f"Action=DescribeStacks&Version=2010-05-15&StackName={name}")
    assert status == 200 and f'<DescribeStacksResponse xmlns="{CF_NAMESPACE}">' in body
    assert "<DescribeStacksResult><Stacks><member>" in body and f"<StackName>{name}</StackName>" in body
    status, body = _query(url, "Action=DescribeStacks&Version=2010-05-15&StackName=Missing")
    assert status == 400 and f'<ErrorResponse xmlns="{CF_NAMESPACE}">' in body
    assert "<Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id Missing does not exist" in body
    for form, code in (("Action=CreateStack&Version=2010-05-15&StackName=x", "InvalidAction"),
                       ("Action=DescribeStacks&Version=2011-01-01", "NoSuchVersion"),
                       ("Version=2010-05-15", "MissingAction")):
        status, body = _query(url, form)
        assert status == 400 and f"<Code>{code}</Code>" in body, body


# State ------------------------------------------------------------------------------------


def test_failed_requests_change_nothing(server: EmulatorServer, sm: Any, s3: Any, url: str) -> None:
    name, bucket = unique("kept-"), unique("kept-")
    token = str(uuid.uuid4())
    sm.create_secret(Name=name, SecretString="one", ClientRequestToken=token)
    scheduled = unique("scheduled-")
    sm.create_secret(Name=scheduled, SecretString="x")
    sm.delete_secret(SecretId=scheduled)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    west = make_client(f"{url}/_s3", "s3", region="eu-west-1")
    failures = [
        lambda: sm.create_secret(Name=name, SecretString="two"),
        lambda: sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=token),
        lambda: sm.put_secret_value(SecretId=scheduled, SecretString="two"),
        lambda: sm.delete_secret(SecretId=scheduled, RecoveryWindowInDays=7),
        lambda: sm.delete_secret(SecretId=name, RecoveryWindowInDays=31),
        lambda: sm.get_secret_value(SecretId=scheduled),
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"two", ContentMD5=base64.b64encode(b"0" * 16).decode()),
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*"),
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"two", StorageClass="GLACIER"),
        lambda: west.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}),
        lambda: EmulatorControl(url).put_stack("Bad", "NOT_A_STATUS"),
    ]
    for fail in failures:
        before = _state(server)
        with pytest.raises((ClientError, EmulatorCommandError)):
            fail()
        assert _state(server) == before
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "one"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with running_emulator(state=state) as url:
        sm = make_client(url, "secretsmanager")
        arn = sm.create_secret(Name="kept", SecretString="one")["ARN"]
        second = sm.put_secret_value(SecretId=arn, SecretString="two")["VersionId"]
        sm.create_secret(Name="leaving", SecretString="x")
        sm.delete_secret(SecretId="leaving", RecoveryWindowInDays=7)
        s3 = make_client(f"{url}/_s3", "s3")
        s3.create_bucket(Bucket="kept-bucket")
        version = s3.put_object(Bucket="kept-bucket", Key="spec.json", Body=b'{"kept": true}')["VersionId"]
        stack_id = EmulatorControl(url).put_stack("KeptStack", "UPDATE_COMPLETE")["StackId"]
    with running_emulator(state=state) as url:
        sm = make_client(url, "secretsmanager")
        current = sm.get_secret_value(SecretId="kept")
        assert (current["ARN"], current["VersionId"], current["SecretString"]) == (arn, second, "two")
        assert sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
        _raises("InvalidRequestException", sm.get_secret_value, SecretId="leaving")
        s3 = make_client(f"{url}/_s3", "s3")
        kept = s3.get_object(Bucket="kept-bucket", Key="spec.json", VersionId=version)
        assert kept["Body"].read() == b'{"kept": true}'
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="kept-bucket")["Contents"]] == ["spec.json"]
        stacks = make_client(f"{url}/_cloudformation", "cloudformation").describe_stacks(StackName="KeptStack")
        assert [(s["StackId"], s["StackStatus"]) for s in stacks["Stacks"]] == [(stack_id, "UPDATE_COMPLETE")]
        # The recovery window's end was a pending timer; it survived too.
        EmulatorControl(url).advance_clock(8 * DAY)
        _raises("ResourceNotFoundException", sm.describe_secret, SecretId="leaving")


# Fuzzing the new routes ---------------------------------------------------------------------

_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
_paths = st.one_of(
    st.sampled_from(["/_s3", "/_s3/", "/_s3/fuzz-bucket", "/_s3/fuzz-bucket/k", "/_s3/fuzz-bucket/k?versionId=x",
                     "/_s3/fuzz-bucket?list-type=2&max-keys=-1", "/_s3/fuzz-bucket?list-type=2&continuation-token=%",
                     "/_s3/Bad_Bucket", "/_s3/%ff%fe/k", "/_cloudformation", "/_cloudformation/",
                     "/_cloudformation/x"]),
    st.tuples(st.sampled_from(["/_s3/", "/_cloudformation?", "/_s3/fuzz-bucket/"]), _text).map("".join),
)
_headers = st.lists(st.tuples(st.sampled_from([
    "Content-Type", "Content-MD5", "x-amz-meta-a", "x-amz-checksum-crc32", "If-Match", "If-None-Match", "Range",
    "If-Modified-Since", "x-amz-expected-bucket-owner", "x-amz-content-sha256", "Authorization"]), _text), max_size=3)
_bodies = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b"Action=DescribeStacks&Version=2010-05-15",
                     b"Action=DescribeStacks&Version=2010-05-15&StackName=x",
                     b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
                     b"</CreateBucketConfiguration>", b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"<a><b>"]),
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "PUT", "HEAD", "POST", "DELETE"]), path=_paths, headers=_headers, body=_bodies)
def test_fuzzed_s3_and_cloudformation_requests(server: EmulatorServer, method: str, path: str,
                                               headers: list[tuple[str, str]], body: bytes) -> None:
    """Whatever arrives under the new prefixes gets an answer, never a 500, and an error changes nothing."""
    EmulatorControl(server.endpoint_url).command("put-s3-object", Bucket="fuzz-bucket", Key="k", Body="x")
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}",
             "Connection: close"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    before = _state(server)
    answer = _exchange(server.endpoint_url, request)
    assert answer.startswith(b"HTTP/1.1 "), request
    status = int(answer.split(b" ", 2)[1])
    assert status != 500, (request, answer)
    if status >= 300:
        assert _state(server) == before, (request, answer)
