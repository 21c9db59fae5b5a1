"""GetObject with a Range header against the emulator's local S3, through a real boto3 client:
one byte range is 206 with those bytes (Amazon S3 API Reference, "GetObject"; RFC 9110, "Byte
Ranges"), a range past the end is 416 ``InvalidRange``, and a range S3 can't read, or several,
is ignored."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import NO_RETRIES, REGION, unique
from workmail_constructs.local import clients

SIZE = 1000
# Random bytes, so a slice one byte off, or of the wrong place, differs from the right one.
DATA = random.Random(20240501).randbytes(SIZE)


@pytest.fixture
def s3(emulator_url: str) -> Any:
    return clients.client("s3", f"{emulator_url}/_s3", REGION, config=NO_RETRIES)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = unique("ranges-")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="data.bin", Body=DATA)
    return name


def _status(answer: dict[str, Any]) -> int:
    return int(answer["ResponseMetadata"]["HTTPStatusCode"])


def _refused(s3: Any, bucket: str, key: str, byte_range: str) -> tuple[int, dict[str, Any]]:
    """The status of a refused GetObject, and every element of S3's error document."""
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, Range=byte_range)
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"]), dict(exc.value.response["Error"])


@pytest.mark.parametrize(("byte_range", "first", "last"), [
    ("bytes=100-199", 100, 199),
    ("bytes=0-0", 0, 0),
    ("bytes=999-999", 999, 999),
    ("bytes=0-999", 0, 999),
    ("bytes=250-", 250, 999),
    ("bytes=0-", 0, 999),
    ("bytes=-10", 990, 999),
    ("bytes=-1", 999, 999),
    # A last byte past the end stands for the last byte.
    ("bytes=990-5000", 990, 999),
    ("bytes=0-1000", 0, 999),
    # A suffix longer than the object is all of it.
    ("bytes=-5000", 0, 999),
    ("bytes=-1000", 0, 999),
    # Unit names are case-insensitive, and an empty list element counts for nothing.
    ("BYTES=10-19", 10, 19),
    ("bytes=10-19, ", 10, 19),
], ids=lambda value: str(value))
def test_one_range_is_206_with_those_bytes(s3: Any, bucket: str, byte_range: str, first: int, last: int) -> None:
    got = s3.get_object(Bucket=bucket, Key="data.bin", Range=byte_range)
    assert _status(got) == 206
    assert got["Body"].read() == DATA[first:last + 1]
    assert got["ContentLength"] == last - first + 1
    assert got["ContentRange"] == f"bytes {first}-{last}/{SIZE}"
    assert got["AcceptRanges"] == "bytes"


def test_a_range_of_a_version(s3: Any, bucket: str) -> None:
    first = s3.head_object(Bucket=bucket, Key="data.bin")["VersionId"]
    s3.put_object(Bucket=bucket, Key="data.bin", Body=b"newer")
    old = s3.get_object(Bucket=bucket, Key="data.bin", VersionId=first, Range="bytes=500-503")
    assert (_status(old), old["Body"].read(), old["ContentRange"]) == (206, DATA[500:504], f"bytes 500-503/{SIZE}")
    current = s3.get_object(Bucket=bucket, Key="data.bin", Range="bytes=1-")
    assert (current["Body"].read(), current["ContentRange"]) == (b"ewer", "bytes 1-4/5")


@pytest.mark.parametrize("byte_range", ["bytes=1000-", "bytes=1000-1000", "bytes=5000-6000", "bytes=-0"])
def test_a_range_past_the_end_is_416_invalid_range(s3: Any, bucket: str, byte_range: str) -> None:
    status, error = _refused(s3, bucket, "data.bin", byte_range)
    assert status == 416
    assert error["Code"] == "InvalidRange"
    assert error["Message"] == "The requested range is not satisfiable"
    assert error["ActualObjectSize"] == str(SIZE)
    assert error["RangeRequested"] == byte_range


@pytest.mark.parametrize("byte_range", ["bytes=0-", "bytes=0-0", "bytes=-5"])
def test_any_range_of_an_empty_object_is_416(s3: Any, bucket: str, byte_range: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    status, error = _refused(s3, bucket, "empty", byte_range)
    assert (status, error["Code"], error["ActualObjectSize"]) == (416, "InvalidRange", "0")
    # Without a range, the empty object reads as ever.
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


@pytest.mark.parametrize("byte_range", [
    # S3 does not read several ranges: the whole object, 200.
    "bytes=0-1,5-6", "bytes=0-1, 2000-3000", "bytes=-5,10-",
    # Nor one it can't parse: ignored, as RFC 9110 has a server do.
    "bytes=5-2", "bytes=abc", "bytes=", "bytes=-", "bytes", "items=0-1", "bytes=1-2-3", "bytes=+1-2", "0-1",
])
def test_multiple_or_malformed_ranges_give_the_whole_object(s3: Any, bucket: str, byte_range: str) -> None:
    got = s3.get_object(Bucket=bucket, Key="data.bin", Range=byte_range)
    assert _status(got) == 200
    assert got["Body"].read() == DATA
    assert got["ContentLength"] == SIZE
    assert "ContentRange" not in got
    assert got["AcceptRanges"] == "bytes"


def test_whole_object_answers_accept_ranges(s3: Any, bucket: str) -> None:
    got = s3.get_object(Bucket=bucket, Key="data.bin")
    assert (_status(got), got["Body"].read(), got["AcceptRanges"]) == (200, DATA, "bytes")
    assert "ContentRange" not in got
    assert s3.head_object(Bucket=bucket, Key="data.bin")["AcceptRanges"] == "bytes"


def test_conditions_are_checked_before_the_range(s3: Any, bucket: str) -> None:
    etag = s3.head_object(Bucket=bucket, Key="data.bin")["ETag"]
    with pytest.raises(ClientError) as failed:
        s3.get_object(Bucket=bucket, Key="data.bin", Range="bytes=5000-", IfMatch='"0000"')
    assert failed.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as unmodified:
        s3.get_object(Bucket=bucket, Key="data.bin", Range="bytes=5000-", IfNoneMatch=etag)
    assert unmodified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    matched = s3.get_object(Bucket=bucket, Key="data.bin", Range="bytes=0-3", IfMatch=etag)
    assert (_status(matched), matched["Body"].read()) == (206, DATA[:4])


def test_a_range_leaves_out_the_checksums_of_the_whole_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="summed.bin", Body=DATA, ChecksumAlgorithm="SHA256")
    whole = s3.get_object(Bucket=bucket, Key="summed.bin", ChecksumMode="ENABLED")
    assert whole["ChecksumSHA256"] and whole["Body"].read() == DATA
    # botocore checks a checksum it is sent against the body it gets: the whole object's would
    # fail a correct partial answer, so none is sent with one.
    part = s3.get_object(Bucket=bucket, Key="summed.bin", ChecksumMode="ENABLED", Range="bytes=10-29")
    assert "ChecksumSHA256" not in part
    assert (_status(part), part["Body"].read()) == (206, DATA[10:30])


def test_head_object_still_refuses_a_range(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="data.bin", Range="bytes=0-1")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
