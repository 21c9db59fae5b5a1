"""AWS Secrets Manager, as much of it as a local deploy calls: CreateSecret, GetSecretValue,
PutSecretValue, DescribeSecret, DeleteSecret and ListSecrets, with the service's versions,
staging labels, recovery window and errors (API Reference of each operation).

The requests arrive through the same awsJson 1.1 front as WorkMail's (``X-Amz-Target:
secretsmanager.<Operation>``) and are checked against botocore's model by the engine first.
Secrets are records of one global table, keyed by Region and name as the service's names are
unique per Region; each record holds its versions. Values are kept as given: the state file of
an emulator that serves a local deploy holds the deploy's secrets in plain text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import operation, timer_action
from ..store import GLOBAL, Record

SERVICE = "secretsmanager"
SECRETS = "secretsmanager_secrets"
DELETE_AFTER_WINDOW = "secretsmanager-delete"
CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
DAY = 86400.0
# CreateSecret's Name: "ASCII letters, numbers, and the following characters: /_+=.@-".
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
# "Secrets Manager keeps 100 of the most recent versions, but it keeps all secret versions
# created in the last 24 hours" (PutSecretValue); only versions without a label are removed.
MAX_VERSIONS = 100
RECENT_SECONDS = DAY
DEFAULT_RECOVERY_DAYS = 30
MAX_PAGE = 100
# Replication, external and cross-account secrets and rotation are not modelled; a request that
# asks for them is refused rather than half done.
_UNMODELLED = ("AddReplicaRegions", "ForceOverwriteReplicaSecret", "Type", "CrossAccountPrimaryARN",
               "RotationToken")
_MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion."


def _not_found() -> errors.ServiceError:
    return errors.ResourceNotFoundException("Secrets Manager can't find the specified secret.")


def _key(region: str, name: str) -> str:
    return f"{region}/{name}"


def _arn(ctx: Context, name: str) -> str:
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(6))
    return f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:{name}-{suffix}"


def _arn_name(ctx: Context, secret_id: str) -> tuple[str, str] | None:
    """(what follows ``secret:``, the ARN's Region) of an ARN of this account's secrets, else None."""
    parts = secret_id.split(":", 6)
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != SERVICE or parts[5] != "secret":
        return None
    if parts[4] != ctx.account or not parts[6]:
        return None
    return parts[6], parts[3]


def _find(ctx: Context, secret_id: str) -> Record | None:
    """The secret a SecretId names: its name, its ARN, or its ARN without the random suffix."""
    table = ctx.global_table(SECRETS)
    if not secret_id.startswith("arn:"):
        return table.get(_key(ctx.region, secret_id))
    named = _arn_name(ctx, secret_id)
    if named is None or named[1] != ctx.region:
        return None
    tail = named[0]
    if len(tail) > 7 and tail[-7] == "-":
        full = table.get(_key(ctx.region, tail[:-7]))
        if full is not None and full["ARN"] == secret_id:
            return full
    return table.get(_key(ctx.region, tail))


def _existing(ctx: Context, secret_id: str) -> Record:
    secret = _find(ctx, secret_id)
    if secret is None:
        raise _not_found()
    return secret


def _save(ctx: Context, secret: Record) -> None:
    ctx.global_table(SECRETS).put(_key(ctx.region, secret["Name"]), secret)


def _refuse_unmodelled(req: dict[str, Any]) -> None:
    asked = [name for name in _UNMODELLED if req.get(name) is not None]
    if asked:
        raise errors.InvalidRequestException(
            f"The emulator does not model {', '.join(asked)}; it serves secrets of one Region, without "
            "replication or rotation."
        )


def _value(req: dict[str, Any]) -> dict[str, str]:
    """The request's secret value as it is kept: ``SecretString``, or ``SecretBinary`` as base64."""
    text, binary = req.get("SecretString"), req.get("SecretBinary")
    if text is not None and binary is not None:
        raise errors.InvalidParameterException(
            "You can't specify both a binary secret value and a string secret value in the same secret."
        )
    if text is not None:
        return {"SecretString": text}
    if binary is None:
        return {}
    if isinstance(binary, (bytes, bytearray)):
        return {"SecretBinary": base64.b64encode(binary).decode("ascii")}
    try:
        base64.b64decode(binary, validate=True)
    except (binascii.Error, ValueError):
        raise errors.SerializationException("SecretBinary is not valid base64.") from None
    return {"SecretBinary": binary}


def _same_value(version: Record, value: dict[str, str]) -> bool:
    return all(version.get(name) == value.get(name) for name in ("SecretString", "SecretBinary"))


def _version_id(req: dict[str, Any]) -> str:
    # SDKs always send one (the model marks it an idempotency token); a raw request may not.
    return str(req.get("ClientRequestToken") or uuid.uuid4())


def _attach(versions: dict[str, Record], target: str, stages: list[str]) -> None:
    """Move each label to ``target``; AWSCURRENT moving takes AWSPREVIOUS to where it was
    (PutSecretValue's VersionStages)."""
    moved_from = None
    for stage in dict.fromkeys(stages):
        for version_id, version in versions.items():
            if version_id != target and stage in version["Stages"]:
                version["Stages"] = [s for s in version["Stages"] if s != stage]
                if stage == CURRENT:
                    moved_from = version_id
        if stage not in versions[target]["Stages"]:
            versions[target]["Stages"].append(stage)
    if moved_from is not None and PREVIOUS not in stages:
        for version in versions.values():
            version["Stages"] = [s for s in version["Stages"] if s != PREVIOUS]
        versions[moved_from]["Stages"].append(PREVIOUS)


def _prune(versions: dict[str, Record], now: float) -> None:
    """Drop the oldest unlabelled versions past the 100 kept, sparing those of the last 24 hours."""
    excess = len(versions) - MAX_VERSIONS
    for version_id in list(versions):
        if excess <= 0:
            return
        version = versions[version_id]
        if not version["Stages"] and version["CreatedDate"] < now - RECENT_SECONDS:
            del versions[version_id]
            excess -= 1


def _find_version(secret: Record, version_id: str | None, stage: str | None) -> tuple[str, Record]:
    versions: dict[str, Record] = secret.get("Versions", {})
    if version_id is not None:
        version = versions.get(version_id)
        if version is None:
            raise errors.ResourceNotFoundException(
                f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
            )
        if stage is not None and stage not in version["Stages"]:
            raise errors.InvalidRequestException(
                "You provided a VersionStage that is not associated to the provided VersionId."
            )
        return version_id, version
    stage = stage or CURRENT
    for found_id, version in versions.items():
        if stage in version["Stages"]:
            return found_id, version
    raise errors.ResourceNotFoundException(
        f"Secrets Manager can't find the specified secret value for staging label: {stage}"
    )


def _stages_by_version(secret: Record) -> dict[str, list[str]]:
    return {vid: list(v["Stages"]) for vid, v in secret.get("Versions", {}).items() if v["Stages"]}


def _described(secret: Record) -> dict[str, Any]:
    """What DescribeSecret and ListSecrets say of a secret: only the fields that have a value."""
    result: dict[str, Any] = {"ARN": secret["ARN"], "Name": secret["Name"]}
    for name in ("Description", "KmsKeyId", "LastChangedDate", "LastAccessedDate", "DeletedDate", "Tags"):
        if secret.get(name) is not None:
            result[name] = secret[name]
    result["CreatedDate"] = secret["CreatedDate"]
    return result


# Operations -----------------------------------------------------------------------------


@operation("CreateSecret", service=SERVICE)
def create_secret(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _refuse_unmodelled(req)
    name = req["Name"]
    if not _NAME.fullmatch(name):
        raise errors.InvalidParameterException(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: "
            "-/_+=.@!"
        )
    value = _value(req)
    existing = ctx.global_table(SECRETS).get(_key(ctx.region, name))
    if existing is not None:
        if existing.get("DeletedDate") is not None:
            raise errors.InvalidRequestException(
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            )
        # A retry of a create that succeeded (same token, same value) is ignored, as the
        # ClientRequestToken's documentation says; anything else finds the name taken.
        version = existing.get("Versions", {}).get(req.get("ClientRequestToken") or "")
        if value and version is not None and _same_value(version, value):
            return {"ARN": existing["ARN"], "Name": name, "VersionId": req["ClientRequestToken"]}
        raise errors.ResourceExistsException(f"The operation failed because the secret {name} already exists.")
    now = ctx.now
    secret: Record = {"ARN": _arn(ctx, name), "Name": name, "CreatedDate": now, "LastChangedDate": now,
                      "Versions": {}}
    for member in ("Description", "KmsKeyId", "Tags"):
        if req.get(member) is not None:
            secret[member] = req[member]
    result = {"ARN": secret["ARN"], "Name": name}
    if value:
        version_id = _version_id(req)
        secret["Versions"][version_id] = {**value, "CreatedDate": now, "Stages": [CURRENT]}
        result["VersionId"] = version_id
    _save(ctx, secret)
    return result


@operation("GetSecretValue", service=SERVICE)
def get_secret_value(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    secret = _existing(ctx, req["SecretId"])
    if secret.get("DeletedDate") is not None:
        raise errors.InvalidRequestException(_MARKED_FOR_DELETION)
    version_id, version = _find_version(secret, req.get("VersionId"), req.get("VersionStage"))
    # LastAccessedDate is a date: "rounded to the nearest day" (DescribeSecret's output); only a new
    # day makes a read write.
    today = ctx.now - ctx.now % DAY
    if secret.get("LastAccessedDate") != today:
        secret["LastAccessedDate"] = today
        _save(ctx, secret)
    result = {"ARN": secret["ARN"], "Name": secret["Name"], "VersionId": version_id,
              "VersionStages": list(version["Stages"]), "CreatedDate": version["CreatedDate"]}
    for member in ("SecretString", "SecretBinary"):
        if member in version:
            result[member] = version[member]
    return result


@operation("PutSecretValue", service=SERVICE)
def put_secret_value(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    _refuse_unmodelled(req)
    secret = _existing(ctx, req["SecretId"])
    if secret.get("DeletedDate") is not None:
        raise errors.InvalidRequestException(_MARKED_FOR_DELETION)
    value = _value(req)
    if not value:
        raise errors.InvalidRequestException("You must provide either SecretString or SecretBinary.")
    version_id = _version_id(req)
    versions: dict[str, Record] = secret.setdefault("Versions", {})
    answer = {"ARN": secret["ARN"], "Name": secret["Name"], "VersionId": version_id}
    existing = versions.get(version_id)
    if existing is not None:
        if _same_value(existing, value):
            return {**answer, "VersionStages": list(existing["Stages"])}
        raise errors.ResourceExistsException(
            "You can't modify an existing version, you can only create a new version."
        )
    stages = list(req.get("VersionStages") or [CURRENT])
    if not any(CURRENT in v["Stages"] for v in versions.values()) and CURRENT not in stages:
        stages.append(CURRENT)  # the first version of a secret is its current one
    versions[version_id] = {**value, "CreatedDate": ctx.now, "Stages": []}
    _attach(versions, version_id, stages)
    _prune(versions, ctx.now)
    secret["LastChangedDate"] = ctx.now
    _save(ctx, secret)
    return {**answer, "VersionStages": list(versions[version_id]["Stages"])}


@operation("DescribeSecret", service=SERVICE)
def describe_secret(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    secret = _existing(ctx, req["SecretId"])
    return {**_described(secret), "VersionIdsToStages": _stages_by_version(secret)}


@operation("DeleteSecret", service=SERVICE)
def delete_secret(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    force = bool(req.get("ForceDeleteWithoutRecovery"))
    window = req.get("RecoveryWindowInDays")
    if force and window is not None:
        raise errors.InvalidParameterException(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
        )
    if window is not None and not 7 <= window <= 30:
        raise errors.InvalidParameterException(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
        )
    secret_id = req["SecretId"]
    secret = _find(ctx, secret_id)
    if secret is None:
        if not force:
            raise _not_found()
        # "If you forcibly delete an already deleted or nonexistent secret, the operation does not
        # return ResourceNotFoundException" (ForceDeleteWithoutRecovery).
        named = _arn_name(ctx, secret_id)
        if named is not None:
            return {"ARN": secret_id, "Name": named[0], "DeletionDate": ctx.now}
        return {"ARN": _arn(ctx, secret_id), "Name": secret_id, "DeletionDate": ctx.now}
    key = _key(ctx.region, secret["Name"])
    answer = {"ARN": secret["ARN"], "Name": secret["Name"]}
    if force:
        ctx.global_table(SECRETS).delete(key)
        ctx.cancel_timers(DELETE_AFTER_WINDOW, GLOBAL, key)
        return {**answer, "DeletionDate": ctx.now}
    if secret.get("DeletedDate") is not None:
        raise errors.InvalidRequestException(
            "You can't perform this operation on the secret because it was already scheduled for deletion."
        )
    delay = (window or DEFAULT_RECOVERY_DAYS) * DAY
    secret["DeletedDate"] = ctx.now
    secret["LastChangedDate"] = ctx.now
    _save(ctx, secret)
    ctx.schedule(delay, DELETE_AFTER_WINDOW, key=key, arn=secret["ARN"])
    return {**answer, "DeletionDate": ctx.now + delay}


@timer_action(DELETE_AFTER_WINDOW)
def _delete_after_window(ctx: Context, timer: Record) -> None:
    """The end of a recovery window: the secret is gone, and its name free."""
    table = ctx.global_table(SECRETS)
    secret = table.get(timer["key"])
    if secret is not None and secret["ARN"] == timer["data"]["arn"] and secret.get("DeletedDate") is not None:
        table.delete(timer["key"])


# Listing --------------------------------------------------------------------------------


def _words(secret: Record) -> list[str]:
    tags = _tags(secret)
    values = [secret["Name"], secret.get("Description") or ""]
    values += [str(tag.get("Key", "")) for tag in tags] + [str(tag.get("Value", "")) for tag in tags]
    return [word.lower() for value in values for word in re.split(r"[\s/_+=.@-]+", value) if word]


def _tags(secret: Record) -> list[dict[str, Any]]:
    return list(secret.get("Tags") or [])


def _matcher(key: str, value: str) -> Callable[[Record], bool]:
    """Filter's Key documentation: prefix matches; description and all are not case-sensitive."""
    if key == "name":
        return lambda s: str(s["Name"]).startswith(value)
    if key == "description":
        return lambda s: str(s.get("Description") or "").lower().startswith(value.lower())
    if key == "tag-key":
        return lambda s: any(str(t.get("Key", "")).startswith(value) for t in _tags(s))
    if key == "tag-value":
        return lambda s: any(str(t.get("Value", "")).startswith(value) for t in _tags(s))
    if key == "all":
        wanted = value.lower().split()
        return lambda s: all(any(word.startswith(w) for word in _words(s)) for w in wanted)
    # primary-region and owning-service: no secret here is a replica or managed by a service.
    return lambda s: False


def _filtered(secret: Record, filters: list[dict[str, Any]]) -> bool:
    for item in filters:
        matches = []
        for value in item.get("Values") or []:
            negated = value.startswith("!")
            hit = _matcher(str(item.get("Key")), value[1:] if negated else value)(secret)
            matches.append(hit != negated)
        if not any(matches):
            return False
    return True


_SORT_FIELDS = {"created-date": "CreatedDate", "last-accessed-date": "LastAccessedDate",
                "last-changed-date": "LastChangedDate", "name": "Name"}


def _scope(req: dict[str, Any]) -> str:
    significant = {k: req.get(k) for k in ("Filters", "SortBy", "SortOrder", "IncludePlannedDeletion")}
    return hashlib.sha256(json.dumps(significant, sort_keys=True).encode()).hexdigest()[:12]


def _token(position: list[Any], scope: str) -> str:
    raw = json.dumps({"after": position, "scope": scope}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(token: str, scope: str) -> list[Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        position, matches = data["after"], data["scope"] == scope
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.InvalidNextTokenException("The NextToken value is invalid.") from None
    if not matches or not isinstance(position, list):
        raise errors.InvalidNextTokenException("The NextToken value is invalid.")
    return position


@operation("ListSecrets", service=SERVICE)
def list_secrets(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    filters = list(req.get("Filters") or [])
    for item in filters:
        if not item.get("Key") or not item.get("Values"):
            raise errors.InvalidParameterException("A filter needs a Key and at least one value.")
    include_deleted = bool(req.get("IncludePlannedDeletion"))
    field = _SORT_FIELDS[req.get("SortBy") or "created-date"]
    descending = req.get("SortOrder") == "desc"
    prefix = f"{ctx.region}/"
    found = [
        secret for key, secret in ctx.global_table(SECRETS).items()
        if key.startswith(prefix) and (include_deleted or secret.get("DeletedDate") is None)
        and _filtered(secret, filters)
    ]

    def position(secret: Record) -> list[Any]:
        # A secret never read has no LastAccessedDate; it sorts first, as the earliest.
        value = secret.get(field)
        return [value if value is not None else ("" if field == "Name" else 0), secret["ARN"]]

    found.sort(key=position, reverse=descending)
    scope = _scope(req)
    token = req.get("NextToken")
    if token:
        after = _after(token, scope)
        try:
            found = [s for s in found if (position(s) < after if descending else position(s) > after)]
        except TypeError:
            raise errors.InvalidNextTokenException("The NextToken value is invalid.") from None
    limit = req.get("MaxResults") or MAX_PAGE
    page = found[:limit]
    result: dict[str, Any] = {
        "SecretList": [{**_described(s), "SecretVersionsToStages": _stages_by_version(s)} for s in page],
    }
    if len(found) > limit:
        result["NextToken"] = _token(position(page[-1]), scope)
    return result
