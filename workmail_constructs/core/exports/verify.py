"""The check of a finished export: its archive is where the job says, and its manifest agrees
with what the archive holds.

A COMPLETED job's mail is a .zip in the bucket (Administrator Guide, "Exporting mailbox
content"), with a summary of the export (``totalMessages``, ``totalBytes``, ``sha384Hash``,
``totalFolders``, ``startTime``, ``endTime``, ``totalNonExportableItems``, all strings, as
the Guide's example output shows). The check reads the archive's directory and its
``manifest.json`` only, with ranged reads for a large archive, never the mail itself, so
checking a 50 GB mailbox costs a few small requests.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from ..api import WorkMailApi
from ..errors import error_code

VerificationStatus = Literal["verified", "missing", "inconsistent", "unreadable", "not checked"]
MANIFEST = "manifest.json"
# Archives up to this size are read in one request; larger ones by ranges.
WHOLE_READ_BYTES = 1024 * 1024
RANGE_BUFFER_BYTES = 256 * 1024
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


@dataclass(frozen=True)
class Verification:
    status: VerificationStatus
    detail: str = ""
    items: int | None = None
    size_bytes: int | None = None
    object_bytes: int | None = None


def s3_location(s3_path: str, bucket: str) -> tuple[str, str]:
    """The bucket and key of a job's S3Path (``bucket/key``, with or without ``s3://``)."""
    path = s3_path.removeprefix("s3://")
    if path.startswith(bucket + "/"):
        return bucket, path[len(bucket) + 1:]
    return bucket, path


def verify_export(s3: WorkMailApi, bucket: str, key: str) -> Verification:
    try:
        head = s3.call("HeadObject", Bucket=bucket, Key=key)
    except ClientError as error:
        if error_code(error) in NOT_FOUND_CODES:
            return Verification("missing", f"no object s3://{bucket}/{key}")
        return Verification("unreadable", f"HeadObject s3://{bucket}/{key}: {error_code(error)}")
    size = int(head.get("ContentLength") or 0)
    try:
        source: io.IOBase = (io.BytesIO(s3.call("GetObject", Bucket=bucket, Key=key)["Body"].read())
                             if size <= WHOLE_READ_BYTES
                             else io.BufferedReader(_RangedObject(s3, bucket, key, size), RANGE_BUFFER_BYTES))
        with zipfile.ZipFile(source) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
            manifests = [i for i in entries if i.filename.rsplit("/", 1)[-1] == MANIFEST]
            if not manifests:
                return Verification("inconsistent", f"the archive holds no {MANIFEST}", object_bytes=size)
            manifest = json.loads(archive.read(manifests[0]))
    except ClientError as error:
        return Verification("unreadable", f"reading s3://{bucket}/{key}: {error_code(error)}", object_bytes=size)
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError) as error:
        return Verification("inconsistent", f"not a readable export archive: {error}", object_bytes=size)
    content = [i for i in entries if i not in manifests]
    return _compare(manifest, len(content), sum(i.file_size for i in content), size)


def _compare(manifest: Any, count: int, total: int, size: int) -> Verification:
    if not isinstance(manifest, dict):
        return Verification("inconsistent", f"{MANIFEST} is not an object", object_bytes=size)
    numbers: dict[str, int] = {}
    for name in ("totalMessages", "totalBytes", "startTime", "endTime"):
        try:
            numbers[name] = int(manifest[name])
        except (KeyError, TypeError, ValueError):
            return Verification("inconsistent", f"{MANIFEST} has no whole-number {name}", object_bytes=size)
    problems = []
    if numbers["totalMessages"] != count:
        problems.append(f"totalMessages {numbers['totalMessages']} but the archive holds {count} items")
    if numbers["totalBytes"] != total:
        problems.append(f"totalBytes {numbers['totalBytes']} but the items hold {total} bytes")
    if numbers["endTime"] < numbers["startTime"]:
        problems.append("endTime is before startTime")
    return Verification("inconsistent" if problems else "verified", "; ".join(problems),
                        numbers["totalMessages"], numbers["totalBytes"], size)


class _RangedObject(io.RawIOBase):
    """An S3 object as a seekable file, each read a ranged GetObject (for zipfile)."""

    def __init__(self, s3: WorkMailApi, bucket: str, key: str, size: int) -> None:
        self.s3, self.bucket, self.key, self.size = s3, bucket, key, size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        length = min(len(buffer), self.size - self.position)
        if length <= 0:
            return 0
        end = self.position + length - 1
        data = self.s3.call("GetObject", Bucket=self.bucket, Key=self.key,
                            Range=f"bytes={self.position}-{end}")["Body"].read()
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)
