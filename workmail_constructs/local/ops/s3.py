"""The emulator's local S3: the buckets that mailbox exports write to and Lambda functions stage
updated messages in, standing in for the caller's own S3 buckets.

Emulator commands create buckets (create-s3-bucket), stage objects (put-s3-object) and read
them back (get-s3-object, list-s3-objects); boto3 reaches the same store through S3's own API
(``aws_side/s3_api.py``). Each object's versions are files named by version id under
``<files>/s3-versions/<bucket>/``, and the record of the object (its key, its versions and what
S3 says of each: size, ETag, time, content headers) is a table row. So any key S3 accepts can
be stored, whatever the file system allows in a name, one key may be the prefix of another ("a"
and "a/b", as in S3), and a request that fails after writing a file leaves only an unreferenced
file behind, never a changed object: the record, which says which file is current, is rolled
back with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid
from pathlib import Path
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import control
from .common import b64, body_param, text_param, timestamp

S3_BUCKETS = "s3_buckets"
S3_OBJECTS = "s3_objects"
# S3's rules: bucket names of 3-63 lower-case letters, digits, dots and hyphens; keys of at
# most 1,024 bytes of UTF-8.
S3_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
S3_MAX_KEY_BYTES = 1024
# Prefixes and suffixes S3 reserves for its own kinds of bucket and access point
# (Amazon S3 User Guide, "General purpose bucket naming rules").
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_exists(ctx: Context, bucket: str) -> bool:
    return bucket in ctx.global_table(S3_BUCKETS)


def bucket_region(ctx: Context, bucket: str) -> str:
    record = ctx.global_table(S3_BUCKETS).get(bucket)
    return str(record["Region"]) if record else ctx.emulator.settings.region


def bucket_name_problem(bucket: str) -> str | None:
    """Which of S3's bucket naming rules ``bucket`` breaks, or None."""
    if not S3_BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        return "3-63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return "not formatted as an IP address"
    if bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        return "none of the prefixes and suffixes S3 reserves"
    return None


def create_bucket(ctx: Context, bucket: str, region: str) -> None:
    problem = bucket_name_problem(bucket)
    if problem is not None:
        raise errors.InvalidParameterException(f"The bucket name {bucket!r} breaks S3's naming rules ({problem}).")
    buckets = ctx.global_table(S3_BUCKETS)
    if bucket not in buckets:
        buckets.put(bucket, {"Bucket": bucket, "Region": region, "Created": timestamp(ctx)})


def check_key(key: str) -> None:
    size = len(key.encode("utf-8"))
    if not 1 <= size <= S3_MAX_KEY_BYTES:
        raise errors.InvalidParameterException(
            f"An S3 key must be 1 to {S3_MAX_KEY_BYTES} bytes of UTF-8; this one is {size} bytes."
        )


def _version_path(ctx: Context, bucket: str, version_id: str) -> Path:
    return ctx.files / "s3-versions" / bucket / version_id


def write_object(
    ctx: Context, bucket: str, key: str, body: bytes, described: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Store a new version of ``bucket``/``key``; the bucket must exist.

    ``described`` is what S3 keeps with the version and answers with it: content headers
    (``ContentType`` ...), ``Metadata``, a checksum the writer sent.
    """
    check_key(key)
    version_id = uuid.uuid4().hex
    path = _version_path(ctx, bucket, version_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
    objects = ctx.global_table(S3_OBJECTS)
    record = objects.get(f"{bucket}/{key}") or {"Bucket": bucket, "Key": key, "Versions": []}
    record["Versions"] = [*record["Versions"], version_id]
    record["VersionId"] = version_id
    record["Size"] = len(body)
    record["VersionInfo"] = {
        **record.get("VersionInfo", {}),
        version_id: {**(described or {}), "Size": len(body), "ETag": etag, "LastModified": timestamp(ctx)},
    }
    objects.put(f"{bucket}/{key}", record)
    return {"Bucket": bucket, "Key": key, "VersionId": version_id, "Size": len(body), "ETag": etag}


def version_info(ctx: Context, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """What S3 says of the current version of an object, or of the one named (``VersionId``, ``Size``,
    ``ETag``, ``LastModified`` and what it was written with); None when there is no such version."""
    record = ctx.global_table(S3_OBJECTS).get(f"{bucket}/{key}")
    if record is None or (version_id is not None and version_id not in record["Versions"]):
        return None
    version_id = version_id or str(record["VersionId"])
    info = record.get("VersionInfo", {}).get(version_id)
    if info is None:
        # Written before versions were described: what the file itself says.
        path = _version_path(ctx, bucket, version_id)
        if not path.is_file():
            return None
        data = path.read_bytes()
        info = {"Size": len(data), "ETag": hashlib.md5(data, usedforsecurity=False).hexdigest(),
                "LastModified": round(path.stat().st_mtime, 3)}
    return {**info, "VersionId": version_id}


def current_objects(ctx: Context, bucket: str) -> list[dict[str, Any]]:
    """``version_info`` of every object of ``bucket`` with its ``Key``, in no particular order."""
    found = []
    for record in ctx.global_table(S3_OBJECTS).values():
        if record["Bucket"] == bucket:
            info = version_info(ctx, bucket, record["Key"])
            if info is not None:
                found.append({**info, "Key": record["Key"]})
    return found


def read_object(ctx: Context, bucket: str, key: str, version_id: str | None = None) -> bytes | None:
    """The current version of an object, or the one named; None when there is no such object or version."""
    record = ctx.global_table(S3_OBJECTS).get(f"{bucket}/{key}")
    if record is None or (version_id is not None and version_id not in record["Versions"]):
        return None
    path = _version_path(ctx, bucket, version_id or record["VersionId"])
    return path.read_bytes() if path.is_file() else None


def _no_such_bucket(bucket: str) -> errors.ServiceError:
    return errors.ServiceError(f"The bucket {bucket} does not exist.", code="NoSuchBucket", status=404)


@control("create-s3-bucket")
def create_s3_bucket(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Create a bucket in the local S3, in the Region given (default: the emulator's)."""
    bucket = text_param(req, "Bucket")
    create_bucket(ctx, bucket, ctx.region)
    return {"Bucket": bucket, "Region": bucket_region(ctx, bucket)}


@control("put-s3-object")
def put_s3_object(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Write an object (Body text or BodyBase64) to the local S3, creating its bucket if needed."""
    bucket = text_param(req, "Bucket")
    key = text_param(req, "Key")
    body = body_param(req, "Body", "BodyBase64")
    create_bucket(ctx, bucket, ctx.region)
    return write_object(ctx, bucket, key, body)


@control("get-s3-object")
def get_s3_object(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    bucket = text_param(req, "Bucket")
    key = text_param(req, "Key")
    version_id = text_param(req, "VersionId", required=False) or None
    if not bucket_exists(ctx, bucket):
        raise _no_such_bucket(bucket)
    body = read_object(ctx, bucket, key, version_id)
    if body is None:
        raise errors.ServiceError(f"The key {key} does not exist in {bucket}.", code="NoSuchKey", status=404)
    return {"Bucket": bucket, "Key": key, "BodyBase64": b64(body), "Size": len(body)}


@control("list-s3-objects")
def list_s3_objects(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    bucket = text_param(req, "Bucket")
    prefix = text_param(req, "Prefix", required=False)
    if not bucket_exists(ctx, bucket):
        raise _no_such_bucket(bucket)
    found = [{"Key": info["Key"], "Size": info["Size"]} for info in current_objects(ctx, bucket)
             if info["Key"].startswith(prefix)]
    return {"Bucket": bucket, "Objects": sorted(found, key=lambda o: str(o["Key"]))}
