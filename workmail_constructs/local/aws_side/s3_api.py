"""Amazon S3, as much of it as a local deploy calls: CreateBucket, PutObject, GetObject,
HeadObject and ListObjectsV2, over the emulator's local S3 (``ops/s3.py``), so the objects that
mailbox exports write are readable with boto3 and the objects boto3 writes feed
PutRawMessageContent.

Handlers take the request as botocore's input shape has it (``s3_rest`` reads it off the wire)
and answer with the output shape's members. Every bucket behaves as one with versioning enabled:
each write is a new version with its own id. GetObject reads a single byte range as S3 does
(206 with ``Content-Range``; 416 ``InvalidRange`` past the end; a malformed or multiple range
ignored, so the whole object with 200). A request member the emulator does not model (a part
number, server-side encryption with your own key, object lock, ...) is refused with S3's
``NotImplemented`` instead of being ignored, so no answer silently differs from S3's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote_plus

from .. import errors
from ..engine import Context
from ..ops import s3 as store
from ..registry import operation

SERVICE = "s3"
# S3's default Content-Type for an object written without one.
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
# Headers S3 keeps with a version and answers with it.
_CONTENT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType")
# The checksums the emulator can compute, so checks as S3 does; others are kept as sent.
_CHECKSUMS: dict[str, Callable[[bytes], bytes]] = {
    "ChecksumCRC32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
    "ChecksumSHA1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "ChecksumSHA256": lambda data: hashlib.sha256(data).digest(),
    "ChecksumSHA512": lambda data: hashlib.sha512(data).digest(),
    "ChecksumMD5": lambda data: hashlib.md5(data, usedforsecurity=False).digest(),
}
_ALL_CHECKSUMS = (*_CHECKSUMS, "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumXXHASH64", "ChecksumXXHASH3",
                  "ChecksumXXHASH128")
# What each operation honours. ExpectedBucketOwner is checked; RequestPayer changes nothing for
# the bucket's owner; ChecksumAlgorithm names the checksum that is sent. Anything else is refused.
_COMMON = ("Bucket", "ExpectedBucketOwner", "RequestPayer")
_READ = (*_COMMON, "Key", "VersionId", "IfMatch", "IfNoneMatch", "IfModifiedSince", "IfUnmodifiedSince",
         "ChecksumMode", "ResponseCacheControl", "ResponseContentDisposition", "ResponseContentEncoding",
         "ResponseContentLanguage", "ResponseContentType")
HONOURED = {
    "CreateBucket": ("Bucket", "CreateBucketConfiguration"),
    "PutObject": (*_COMMON, "Key", "Body", "ContentLength", "ContentMD5", "ChecksumAlgorithm", *_ALL_CHECKSUMS,
                  *_CONTENT_HEADERS, "Metadata", "IfMatch", "IfNoneMatch"),
    "GetObject": (*_READ, "Range"),
    "HeadObject": _READ,
    "ListObjectsV2": (*_COMMON, "Prefix", "Delimiter", "MaxKeys", "ContinuationToken", "StartAfter", "EncodingType",
                      "FetchOwner"),
}
# Our version ids are 32 hex digits; anything else can't be one (S3: "Invalid version id specified").
_VERSION_ID = re.compile(r"[0-9a-f]{32}")
# One byte-range-spec: "first-last", "first-" or the suffix "-length" (RFC 9110, "Byte Ranges").
_BYTE_RANGE = re.compile(r"([0-9]*)-([0-9]*)")
MAX_KEYS = 1000
US_EAST_1 = "us-east-1"


class S3Error(errors.ServiceError):
    """An S3 error: its code, status and message, and the elements S3 adds to its body."""

    def __init__(self, status: int, code: str, message: str, **fields: str) -> None:
        super().__init__(message, code=code, status=status)
        self.fields = fields


def not_implemented(what: str) -> S3Error:
    return S3Error(501, "NotImplemented", f"A header you provided implies functionality that is not implemented "
                   f"({what}).")


def _no_such_bucket(bucket: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)


def _precondition_failed(condition: str) -> S3Error:
    return S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                   Condition=condition)


def _not_modified() -> S3Error:
    return S3Error(304, "NotModified", "Not Modified")


def _check_request(ctx: Context, name: str, req: dict[str, Any]) -> None:
    unmodelled = sorted(member for member, value in req.items() if value is not None and member not in HONOURED[name])
    if unmodelled:
        raise not_implemented(", ".join(unmodelled))
    owner = req.get("ExpectedBucketOwner")
    if owner is not None and owner != ctx.account:
        raise S3Error(403, "AccessDenied", "Access Denied")


def _bucket(ctx: Context, req: dict[str, Any]) -> str:
    bucket = str(req["Bucket"])
    if not store.bucket_exists(ctx, bucket):
        raise _no_such_bucket(bucket)
    return bucket


def _etag(info: dict[str, Any]) -> str:
    return f'"{info["ETag"]}"'


def _last_modified(info: dict[str, Any]) -> int:
    # S3 keeps the time of a write to the second, in its headers and in its listings alike.
    return int(info["LastModified"])


def _matches(condition: str, etag: str) -> bool:
    wanted = [item.strip() for item in condition.split(",")]
    return "*" in wanted or etag in wanted or etag.strip('"') in wanted


# Buckets --------------------------------------------------------------------------------


def _location(ctx: Context, configuration: dict[str, Any] | None) -> str:
    """The Region a new bucket is created in (CreateBucketConfiguration's LocationConstraint)."""
    extra = sorted(set(configuration or {}) - {"LocationConstraint"})
    if extra:
        raise not_implemented(", ".join(f"CreateBucketConfiguration.{name}" for name in extra))
    constraint = (configuration or {}).get("LocationConstraint")
    if constraint is None:
        if ctx.region != US_EAST_1:
            raise S3Error(400, "IllegalLocationConstraintException",
                          "The unspecified location constraint is incompatible for the region specific endpoint "
                          "this request was sent to.")
        return US_EAST_1
    if constraint == US_EAST_1:
        raise S3Error(400, "InvalidLocationConstraint", "The specified location-constraint is not valid",
                      LocationConstraint=constraint)
    region = "eu-west-1" if constraint == "EU" else str(constraint)
    if region != ctx.region:
        raise S3Error(400, "IllegalLocationConstraintException",
                      f"The {constraint} location constraint is incompatible for the region specific endpoint this "
                      "request was sent to.")
    return region


@operation("CreateBucket", service=SERVICE)
def create_bucket(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _check_request(ctx, "CreateBucket", req)
    bucket = str(req["Bucket"])
    if store.bucket_name_problem(bucket) is not None:
        raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
    region = _location(ctx, req.get("CreateBucketConfiguration"))
    if store.bucket_exists(ctx, bucket):
        # "For legacy compatibility, if you re-create an existing bucket that you already own in the
        # North Virginia Region, Amazon S3 returns 200 OK" (BucketAlreadyOwnedByYou).
        if region != US_EAST_1 or store.bucket_region(ctx, bucket) != US_EAST_1:
            raise S3Error(409, "BucketAlreadyOwnedByYou",
                          "Your previous request to create the named bucket succeeded and you already own it.",
                          BucketName=bucket)
    else:
        store.create_bucket(ctx, bucket, region)
    return {"Location": f"/{bucket}"}


# Objects --------------------------------------------------------------------------------


def _checked_checksums(req: dict[str, Any], body: bytes) -> dict[str, str]:
    """The checksums sent with a write, each checked against the body when the emulator can."""
    md5 = req.get("ContentMD5")
    if md5 is not None:
        try:
            sent = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            sent = b""
        if len(sent) != 16:
            raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
        if sent != hashlib.md5(body, usedforsecurity=False).digest():
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    kept = {}
    for member in _ALL_CHECKSUMS:
        sent_text = req.get(member)
        if sent_text is None:
            continue
        compute = _CHECKSUMS.get(member)
        if compute is not None and base64.b64encode(compute(body)).decode("ascii") != sent_text:
            algorithm = member.removeprefix("Checksum")
            raise S3Error(400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")
        kept[member] = str(sent_text)
    return kept


@operation("PutObject", service=SERVICE)
def put_object(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _check_request(ctx, "PutObject", req)
    bucket = _bucket(ctx, req)
    key = str(req["Key"])
    if len(key.encode("utf-8")) > store.S3_MAX_KEY_BYTES:
        raise S3Error(400, "KeyTooLongError", "Your key is too long", Size=str(len(key.encode("utf-8"))),
                      MaxSizeAllowed=str(store.S3_MAX_KEY_BYTES))
    body = bytes(req.get("Body") or b"")
    current = store.version_info(ctx, bucket, key)
    if req.get("IfNoneMatch") is not None and current is not None and _matches(req["IfNoneMatch"], _etag(current)):
        raise _precondition_failed("If-None-Match")
    if req.get("IfMatch") is not None and (current is None or not _matches(req["IfMatch"], _etag(current))):
        if current is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        raise _precondition_failed("If-Match")
    checksums = _checked_checksums(req, body)
    described: dict[str, Any] = {name: req[name] for name in _CONTENT_HEADERS if req.get(name) is not None}
    if req.get("Metadata"):
        described["Metadata"] = dict(req["Metadata"])
    described.update(checksums)
    written = store.write_object(ctx, bucket, key, body, described)
    return {"ETag": f'"{written["ETag"]}"', "VersionId": written["VersionId"], **checksums}


def _read(ctx: Context, name: str, req: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The bucket, key and version a GetObject or HeadObject names, after its conditions."""
    _check_request(ctx, name, req)
    bucket = _bucket(ctx, req)
    key = str(req["Key"])
    version_id = req.get("VersionId")
    if version_id is not None and not _VERSION_ID.fullmatch(version_id):
        raise S3Error(400, "InvalidArgument", "Invalid version id specified", ArgumentName="versionId",
                      ArgumentValue=version_id)
    info = store.version_info(ctx, bucket, key, version_id)
    if info is None:
        if version_id is not None and store.version_info(ctx, bucket, key) is not None:
            raise S3Error(404, "NoSuchVersion", "The specified version does not exist.", Key=key,
                          VersionId=version_id)
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    etag = _etag(info)
    modified = _last_modified(info)
    # The order S3 applies them in: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since.
    if req.get("IfMatch") is not None and not _matches(req["IfMatch"], etag):
        raise _precondition_failed("If-Match")
    if req.get("IfMatch") is None and req.get("IfUnmodifiedSince") is not None \
            and modified > req["IfUnmodifiedSince"]:
        raise _precondition_failed("If-Unmodified-Since")
    if req.get("IfNoneMatch") is not None and _matches(req["IfNoneMatch"], etag):
        raise _not_modified()
    if req.get("IfNoneMatch") is None and req.get("IfModifiedSince") is not None \
            and modified <= req["IfModifiedSince"]:
        raise _not_modified()
    return bucket, key, info


def _described(info: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "LastModified": _last_modified(info), "ContentLength": info["Size"], "ETag": _etag(info),
        "VersionId": info["VersionId"], "ContentType": info.get("ContentType") or DEFAULT_CONTENT_TYPE,
        "AcceptRanges": "bytes",
    }
    for name in _CONTENT_HEADERS[:-1]:
        if info.get(name) is not None:
            result[name] = info[name]
    if info.get("Metadata"):
        result["Metadata"] = info["Metadata"]
    if req.get("ChecksumMode") == "ENABLED":
        result.update({name: info[name] for name in _ALL_CHECKSUMS if info.get(name) is not None})
    for name in _CONTENT_HEADERS:
        override = req.get(f"Response{name}")
        if override is not None:
            result[name] = override
    return result


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte a Range header asks for, or None when it is to be ignored.

    S3 reads one range only (Amazon S3 API Reference, "GetObject"): a header with several, or one
    it can't read, is ignored (RFC 9110, "Range") and the whole object is the answer. A range it
    reads but the object can't satisfy is 416 ``InvalidRange``.
    """
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    # A list in HTTP may hold empty elements, which count for nothing (RFC 9110, "Lists").
    specs = [spec.strip() for spec in ranges.split(",") if spec.strip()]
    if len(specs) != 1:
        return None
    matched = _BYTE_RANGE.fullmatch(specs[0])
    if matched is None or matched.group(1) == matched.group(2) == "":
        return None
    first_text, last_text = matched.groups()
    if first_text == "":
        # A suffix: the last N bytes, or all of them when N is more (RFC 9110, "Byte Ranges");
        # a zero-length suffix, or any suffix of an empty object, selects nothing.
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise _invalid_range(header, size)
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    last = size - 1 if last_text == "" else int(last_text)
    if last_text != "" and last < first:
        # Not a range at all (RFC 9110, "Byte Ranges"), so ignored like any unreadable one.
        return None
    if first >= size:
        raise _invalid_range(header, size)
    # A last byte past the end stands for the end (RFC 9110, "Byte Ranges").
    return first, min(last, size - 1)


def _invalid_range(header: str, size: int) -> S3Error:
    return S3Error(416, "InvalidRange", "The requested range is not satisfiable", RangeRequested=header[:200],
                   ActualObjectSize=str(size))


@operation("GetObject", service=SERVICE)
def get_object(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    # The conditions come first: a failed precondition answers before the range is looked at
    # (RFC 9110, "Evaluation Order").
    bucket, key, info = _read(ctx, "GetObject", req)
    body = store.read_object(ctx, bucket, key, info["VersionId"])
    if body is None:
        raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
    described = _described(info, req)
    header = req.get("Range")
    selected = None if header is None else _byte_range(str(header), len(body))
    if selected is None:
        return {**described, "Body": body}
    first, last = selected
    # The object's checksums are of all of it, not of the part sent, so S3 leaves them out: a
    # client checking them would reject a correct partial answer.
    partial = {name: value for name, value in described.items() if name not in _ALL_CHECKSUMS}
    return {**partial, "Body": body[first:last + 1], "ContentLength": last - first + 1,
            "ContentRange": f"bytes {first}-{last}/{len(body)}"}


@operation("HeadObject", service=SERVICE)
def head_object(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    return _described(_read(ctx, "HeadObject", req)[2], req)


# Listing --------------------------------------------------------------------------------


def _utf8(key: str) -> bytes:
    # S3 lists keys "in UTF-8 binary order".
    return key.encode("utf-8")


def _continuation(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, ValueError):
        raise S3Error(400, "InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token", ArgumentValue=token) from None


def _entries(
    objects: Iterable[dict[str, Any]], prefix: str, delimiter: str, after: str
) -> list[tuple[str, dict[str, Any] | None]]:
    """(key or common prefix, object or None) in S3's order, after ``after``."""
    seen_prefixes: set[str] = set()
    entries: list[tuple[str, dict[str, Any] | None]] = []
    for info in sorted(objects, key=lambda o: _utf8(o["Key"])):
        key = info["Key"]
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if common not in seen_prefixes:
                seen_prefixes.add(common)
                if _utf8(common) > _utf8(after) and not _utf8(after).startswith(_utf8(common)):
                    entries.append((common, None))
            continue
        if _utf8(key) > _utf8(after):
            entries.append((key, info))
    return entries


@operation("ListObjectsV2", service=SERVICE)
def list_objects_v2(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _check_request(ctx, "ListObjectsV2", req)
    if req.get("FetchOwner"):
        raise not_implemented("fetch-owner")
    bucket = _bucket(ctx, req)
    max_keys = req.get("MaxKeys")
    if max_keys is not None and max_keys < 0:
        raise S3Error(400, "InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647",
                      ArgumentName="maxKeys", ArgumentValue=str(max_keys))
    limit = MAX_KEYS if max_keys is None else min(max_keys, MAX_KEYS)
    prefix, delimiter = req.get("Prefix") or "", req.get("Delimiter") or ""
    token = req.get("ContinuationToken")
    after = _continuation(token) if token else ""
    start_after = req.get("StartAfter") or ""
    if _utf8(start_after) > _utf8(after):
        after = start_after
    entries = _entries(store.current_objects(ctx, bucket), prefix, delimiter, after)
    page, truncated = entries[:limit], len(entries) > limit
    url = req.get("EncodingType") == "url"
    encode: Callable[[str], str] = _url_encode if url else (lambda text: text)
    result: dict[str, Any] = {
        "Name": bucket, "Prefix": encode(prefix), "MaxKeys": limit, "KeyCount": len(page), "IsTruncated": truncated,
        "Contents": [
            {"Key": encode(key), "LastModified": _last_modified(info), "ETag": _etag(info), "Size": info["Size"],
             "StorageClass": "STANDARD"}
            for key, info in page if info is not None
        ],
        "CommonPrefixes": [{"Prefix": encode(key)} for key, info in page if info is None],
    }
    if delimiter:
        result["Delimiter"] = encode(delimiter)
    if url:
        result["EncodingType"] = "url"
    if token:
        result["ContinuationToken"] = token
    if req.get("StartAfter") is not None:
        result["StartAfter"] = encode(start_after)
    if truncated and page:
        result["NextContinuationToken"] = base64.urlsafe_b64encode(page[-1][0].encode("utf-8")).decode("ascii")
    return result


def _url_encode(text: str) -> str:
    # What botocore undoes with unquote_plus when it asked for encoding-type=url.
    return quote_plus(text, safe="/")
