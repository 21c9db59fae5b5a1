"""Mailboxes: the permissions others hold on them, the messages they receive (through the
emulator's deliver-message command, readable in transit through the Message Flow API),
and export jobs that write a mailbox's messages to the emulator's local S3.

The local S3 is a directory tree under the emulator's files directory,
``<files>/s3/<bucket>/<key>``, so callers can look at what an export wrote. Emulator
commands stage objects in it (put-s3-object) and read them back (get-s3-object,
list-s3-objects), standing in for the caller's own S3 buckets.
"""

from __future__ import annotations

import email.errors
import email.parser
import email.policy
import email.utils
import hashlib
import io
import json
import uuid
import zipfile
from email.message import Message
from typing import Any

from .. import errors
from ..engine import Context
from ..registry import control, operation, timer_action
from ..store import Record
from .common import (
    b64,
    body_param,
    entity_by_id,
    find_entity,
    idempotent,
    output,
    page_result,
    paginate,
    remember,
    replay,
    text_param,
    timestamp,
    unb64,
)
from .s3 import S3_MAX_KEY_BYTES, bucket_exists, bucket_region, read_object, write_object

PERMISSIONS = "mailbox_permissions"
MAILBOX_ITEMS = "mailbox_messages"
EXPORT_JOBS = "mailbox_export_jobs"
# Message ids are unique across organizations, and the Message Flow API names no organization.
MESSAGES = "messages"

MB = 1024 * 1024
DAY = 24 * 3600.0
INBOX = "Inbox"

# In-transit messages can be read only within 24 hours after they were sent or received
# (Administrator Guide, "Retrieving message content with AWS Lambda").
IN_TRANSIT_SECONDS = DAY
# Up to 10 concurrent export jobs per organization (Administrator Guide, "Exporting mailbox content").
MAX_RUNNING_EXPORTS = 10
# The engine's gauge of how many export jobs an organization ran at once, at most, so a test can
# check how close a caller came to MAX_RUNNING_EXPORTS (``workmail-cdk emulator calls``).
RUNNING_EXPORTS_PEAK = "mailbox_export_jobs_running"
# A given mailbox can be exported at most once every 24 hours (Administrator Guide, "Exporting
# mailbox content").
EXPORT_INTERVAL_SECONDS = DAY
# ListMailboxExportJobs lists the jobs started within the last seven days (API Reference,
# "ListMailboxExportJobs").
EXPORT_LIST_WINDOW_SECONDS = 7 * DAY

# RFC 5321 §4.5.3.1.6: 1,000 characters per line including the CRLF (API Reference,
# "RawMessageContent" of the Message Flow API).
MAX_LINE = 1000
# Originator and date fields are the two RFC 5322 §3.6 requires of every message.
REQUIRED_HEADERS = ("From", "Date")
# RFC 5322 §3.6 allows these at most once ("certain unique headers can only appear once",
# API Reference, "RawMessageContent").
UNIQUE_HEADERS = (
    "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References",
    "Subject",
)
# Headers a Lambda function must leave as they arrived ("immutable headers", API Reference,
# "RawMessageContent"): the
# Message-ID identifies the message to every mailbox it reaches, so rewriting it is refused.
IMMUTABLE_HEADERS = ("Message-ID",)
# Attachment types Amazon SES refuses (API Reference, "RawMessageContent": attachments must be of a
# content type SES supports).
BLOCKED_ATTACHMENT_EXTENSIONS = frozenset({
    "ade", "adp", "app", "asp", "bas", "bat", "cer", "chm", "cmd", "com", "cpl", "crt", "csh", "der", "exe",
    "fxp", "gadget", "hlp", "hta", "inf", "ins", "isp", "its", "js", "jse", "ksh", "lib", "lnk", "mad", "maf",
    "mag", "mam", "maq", "mar", "mas", "mat", "mau", "mav", "maw", "mda", "mdb", "mde", "mdt", "mdw", "mdz",
    "msc", "msh", "msh1", "msh2", "mshxml", "msh1xml", "msh2xml", "msi", "msp", "mst", "ops", "pcd", "pif",
    "plg", "prf", "prg", "reg", "scf", "scr", "sct", "shb", "shs", "sys", "ps1", "ps1xml", "ps2", "ps2xml",
    "psc1", "psc2", "tmp", "url", "vb", "vbe", "vbs", "vps", "vsmacros", "vss", "vst", "vsw", "vxd", "ws",
    "wsc", "wsf", "wsh", "xnk",
})
MALFORMED_MIME_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
    email.errors.CloseBoundaryNotFoundDefect,
    email.errors.MultipartInvariantViolationDefect,
    email.errors.InvalidMultipartContentTransferEncodingDefect,
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.FirstHeaderLineIsContinuationDefect,
    email.errors.MisplacedEnvelopeHeaderDefect,
)

JOB_DESCRIBE_FIELDS = (
    "EntityId", "Description", "RoleArn", "KmsKeyArn", "S3BucketName", "S3Prefix", "S3Path",
    "EstimatedProgress", "State", "ErrorInfo", "StartTime", "EndTime",
)
JOB_SUMMARY_FIELDS = (
    "JobId", "EntityId", "Description", "S3BucketName", "S3Path", "EstimatedProgress", "State",
    "StartTime", "EndTime",
)


# Shared helpers ---------------------------------------------------------------


def _has_mailbox(kind: str, record: Record) -> bool:
    # Users and resources get a mailbox when enabled; a disabled one becomes inaccessible
    # immediately (Administrator Guide, "Disabling users"), so nothing can be granted on,
    # delivered to or exported from it.
    return kind in ("users", "resources") and record["State"] == "ENABLED"


def _parse(content: bytes) -> Message:
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(content)


# Mailbox permissions ----------------------------------------------------------


def _permission_key(entity_id: str, grantee_id: str) -> str:
    return f"{entity_id}/{grantee_id}"


@operation("PutMailboxPermissions")
def put_mailbox_permissions(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    owner_kind, owner = find_entity(ctx, org_id, req["EntityId"])
    grantee_kind, grantee = find_entity(ctx, org_id, req["GranteeId"], what="grantee")
    values = sorted(set(req["PermissionValues"]))
    if grantee_kind not in ("users", "groups"):
        # Permissions go to users and groups only (GranteeType is USER or GROUP in the API Reference,
        # "ListMailboxPermissions").
        raise errors.InvalidParameterException(
            f"The grantee {req['GranteeId']} is a resource; only users and groups can be granted permissions."
        )
    if owner["Id"] == grantee["Id"]:
        # Editing a mailbox's permissions changes others' access, never the owner's own
        # (Administrator Guide, "Editing mailbox permissions for users").
        raise errors.InvalidParameterException("An entity can't be granted permissions on its own mailbox.")
    if owner_kind == "groups" and "FULL_ACCESS" in values:
        # Groups have no mailbox to access, so Full Access can't apply to a group's mailbox
        # (Administrator Guide, "Managing mailbox permissions for groups").
        raise errors.InvalidParameterException(
            f"FULL_ACCESS can't be granted on the group {owner['Name']}: groups have no mailbox."
        )
    if owner["State"] != "ENABLED":
        raise errors.EntityStateException(
            f"The entity {req['EntityId']} is {owner['State']}; "
            "permissions can be set only on enabled entities."
        )
    if grantee["State"] != "ENABLED":
        raise errors.EntityStateException(
            f"The grantee {req['GranteeId']} is {grantee['State']}; "
            "only enabled users and groups can be granted permissions."
        )
    table = ctx.table(org_id, PERMISSIONS)
    key = _permission_key(owner["Id"], grantee["Id"])
    if not values:
        # The request replaces the grantee's whole set (API Reference, "PutMailboxPermissions");
        # an empty set leaves nothing to keep.
        table.delete(key)
        return {}
    table.put(key, {"EntityId": owner["Id"], "GranteeId": grantee["Id"], "PermissionValues": values})
    return {}


@operation("DeleteMailboxPermissions")
def delete_mailbox_permissions(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    # A deleted owner or grantee is EntityStateException, as in every other operation that names
    # an entity by id (the operation documents it); removing permissions a grantee doesn't
    # hold is not an error.
    _, owner = find_entity(ctx, org_id, req["EntityId"])
    _, grantee = find_entity(ctx, org_id, req["GranteeId"], what="grantee")
    ctx.table(org_id, PERMISSIONS).delete(_permission_key(owner["Id"], grantee["Id"]))
    return {}


@operation("ListMailboxPermissions")
def list_mailbox_permissions(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    _, owner = find_entity(ctx, org_id, req["EntityId"])
    grants = []
    for grant in ctx.table(org_id, PERMISSIONS).values():
        if grant["EntityId"] != owner["Id"]:
            continue
        found = entity_by_id(ctx, org_id, grant["GranteeId"])
        if found is None or found[1]["State"] == "DELETED":
            continue
        grants.append({
            "GranteeId": grant["GranteeId"],
            "GranteeType": "GROUP" if found[0] == "groups" else "USER",
            "PermissionValues": list(grant["PermissionValues"]),
        })
    page, token = paginate(req, grants, lambda g: str(g["GranteeId"]),
                           scope=f"mailbox_permissions/{org_id}/{owner['Id']}")
    return page_result("Permissions", page, token)


def forget_entity(ctx: Context, org_id: str, entity_id: str) -> None:
    """Drop every permission the entity holds or grants, for when it is deleted."""
    table = ctx.table(org_id, PERMISSIONS)
    for key, grant in table.items():
        if entity_id in (grant["EntityId"], grant["GranteeId"]):
            table.delete(key)


# Messages: delivery, mailbox contents and the Message Flow API ----------------


def _recipient_addresses(message: Message) -> list[str]:
    fields = [str(v) for name in ("To", "Cc") for v in (message.get_all(name) or [])]
    return [address for _, address in email.utils.getaddresses(fields) if "@" in address]


def _mailboxes_for(ctx: Context, org_id: str, entity_id: str, seen: set[str]) -> list[str]:
    """The mailboxes mail to an entity lands in: its own, or a group's members' (nested groups too)."""
    if entity_id in seen:
        return []
    seen.add(entity_id)
    found = entity_by_id(ctx, org_id, entity_id)
    if found is None:
        return []
    kind, record = found
    if kind == "groups":
        if record["State"] != "ENABLED":
            return []
        members = record.get("Members") or []
        return [box for member in members for box in _mailboxes_for(ctx, org_id, member, seen)]
    return [record["Id"]] if _has_mailbox(kind, record) else []


def _fits_quota(ctx: Context, org_id: str, entity_id: str, size: int) -> bool:
    found = entity_by_id(ctx, org_id, entity_id)
    quota = found[1].get("MailboxQuota") if found else None
    # The quota is in MB (Administrator Guide, "Editing user details"); a full mailbox takes no more mail.
    return quota is None or mailbox_size_mb(ctx, org_id, entity_id) + size / MB <= float(quota)


def _deliver(ctx: Context, message: Record) -> tuple[list[str], list[str]]:
    """Put a copy of the message in every recipient's mailbox.

    Returns the ids of the mailboxes that got it and the addresses it could not be delivered to.
    """
    org_id = message["OrganizationId"]
    content = unb64(message["Content"])
    parsed = _parse(content)
    addresses = ctx.table(org_id, "addresses")
    delivered: list[str] = []
    undeliverable: list[str] = []
    for address in message["Recipients"]:
        owner = addresses.get(address.lower())
        boxes = [] if owner is None else _mailboxes_for(ctx, org_id, owner["EntityId"], set())
        if not boxes:
            # Not an address of the organization, or nobody behind it has a mailbox.
            undeliverable.append(address)
            continue
        for box in boxes:
            if box in delivered:
                continue
            if not _fits_quota(ctx, org_id, box, len(content)):
                if address not in undeliverable:
                    undeliverable.append(address)
                continue
            item_id = uuid.uuid4().hex
            ctx.table(org_id, MAILBOX_ITEMS).put(f"{box}/{item_id}", {
                "EntityId": box,
                "ItemId": item_id,
                "MessageId": message["MessageId"],
                "Folder": INBOX,
                "Subject": str(parsed.get("Subject", "")),
                "Size": len(content),
                "Content": message["Content"],
                "ReceivedTime": timestamp(ctx),
            })
            delivered.append(box)
    return delivered, undeliverable


def _in_transit(ctx: Context, message_id: str) -> Record:
    messages = ctx.global_table(MESSAGES)
    message = messages.get(message_id)
    org = None if message is None else ctx.global_table("organizations").get(message["OrganizationId"])
    if message is not None and (org is None or org["State"] == "Deleted"):
        messages.delete(message_id)
        message = None
    if (
        message is None
        or org is None
        or org["Region"] != ctx.region
        or ctx.now - message["ReceivedTime"] >= IN_TRANSIT_SECONDS
    ):
        raise errors.ResourceNotFoundException(f"The message {message_id} is not found.", status=404)
    return message


@control("deliver-message")
def deliver_message(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """Mail arriving for an organization: an in-transit message, delivered to the mailboxes it reaches.

    With ``Hold`` the message waits in transit, as it does while a synchronous Run Lambda
    rule processes it, and is delivered (with any PutRawMessageContent update) by finish-message.
    """
    org_id = text_param(req, "OrganizationId")
    ctx.organization(org_id)
    content = body_param(req, "Raw", "RawBase64")
    recipients = req.get("Recipients")
    if recipients is None:
        recipients = _recipient_addresses(_parse(content))
    elif not isinstance(recipients, list) or not all(isinstance(r, str) and "@" in r for r in recipients):
        raise errors.InvalidParameterException("Recipients must be a list of email addresses.")
    unique_recipients = list(dict.fromkeys(recipients))
    if not unique_recipients:
        raise errors.InvalidParameterException("The message has no recipients (no To or Cc addresses).")
    hold = bool(req.get("Hold", False))
    message_id = str(uuid.uuid4())
    message: Record = {
        "MessageId": message_id,
        "OrganizationId": org_id,
        "Content": b64(content),
        "Recipients": unique_recipients,
        "ReceivedTime": timestamp(ctx),
        "Held": hold,
        "Frozen": False,
        "DeliveredTo": [],
        "Undeliverable": [],
    }
    if not hold:
        message["DeliveredTo"], message["Undeliverable"] = _deliver(ctx, message)
    ctx.global_table(MESSAGES).put(message_id, message)
    ctx.schedule(IN_TRANSIT_SECONDS, "mailboxes.message_expire", org_id, message_id)
    return _delivery_result(message)


def _delivery_result(message: Record) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "Held": message["Held"],
        "DeliveredTo": message["DeliveredTo"],
        "Undeliverable": message["Undeliverable"],
    }


def _finish(ctx: Context, message: Record) -> None:
    if message["Held"]:
        message["DeliveredTo"], message["Undeliverable"] = _deliver(ctx, message)
        message["Held"] = False
    message["Frozen"] = True
    ctx.global_table(MESSAGES).put(message["MessageId"], message)


@control("finish-message")
def finish_message(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """End a message's in-transit window: a held message is delivered; updates then raise MessageFrozen.

    ``Recipients`` (optional) delivers a held message to only these of its recipients, as
    WorkMail does after a synchronous Run Lambda answer drops or bounces the others.
    """
    message = _in_transit(ctx, text_param(req, "messageId"))
    keep = req.get("Recipients")
    if keep is not None:
        if not isinstance(keep, list) or not all(isinstance(r, str) for r in keep):
            raise errors.InvalidParameterException("Recipients must be a list of email addresses.")
        if message["Held"] and not message["Frozen"]:
            wanted = {r.lower() for r in keep}
            message["Recipients"] = [r for r in message["Recipients"] if r.lower() in wanted]
    if not message["Frozen"]:
        _finish(ctx, message)
    return _delivery_result(message)


@timer_action("mailboxes.message_expire")
def _expire_message(ctx: Context, timer: Record) -> None:
    message = ctx.global_table(MESSAGES).get(timer["key"])
    if message is None:
        return
    if message["Held"]:
        # When processing never finishes, the message goes on to its recipients as it is.
        _finish(ctx, message)
    ctx.global_table(MESSAGES).delete(timer["key"])


@control("list-mailbox-messages")
def list_mailbox_messages(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    """The messages in a mailbox, oldest first, with their MIME content in base64."""
    org_id = text_param(req, "OrganizationId")
    ctx.organization(org_id)
    _, owner = find_entity(ctx, org_id, text_param(req, "EntityId"))
    items = _oldest_first(_mailbox_items(ctx, org_id, owner["Id"]))
    return {
        "Messages": [
            {**output(item, ("ItemId", "MessageId", "Folder", "Subject", "Size", "ReceivedTime")),
             "ContentBase64": item["Content"]}
            for item in items
        ]
    }


def _oldest_first(items: list[Record]) -> list[Record]:
    return sorted(items, key=lambda i: (i["ReceivedTime"], i["ItemId"]))


def _mailbox_items(ctx: Context, org_id: str, entity_id: str) -> list[Record]:
    return [item for item in ctx.table(org_id, MAILBOX_ITEMS).values() if item["EntityId"] == entity_id]


def mailbox_size_mb(ctx: Context, org_id: str, entity_id: str) -> float:
    """How much of its quota a mailbox uses, in MB (GetMailboxDetails' MailboxSize)."""
    return sum(int(item["Size"]) for item in _mailbox_items(ctx, org_id, entity_id)) / MB


def forget_mailbox(ctx: Context, org_id: str, entity_id: str) -> None:
    """Remove a mailbox's contents, for when WorkMail cleans the mailbox up."""
    table = ctx.table(org_id, MAILBOX_ITEMS)
    for key, item in table.items():
        if item["EntityId"] == entity_id:
            table.delete(key)


@operation("GetRawMessageContent", service="workmailmessageflow")
def get_raw_message_content(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    message = _in_transit(ctx, req["messageId"])
    return {"messageContent": unb64(message["Content"])}


def _mime_problem(content: bytes, original: bytes) -> str | None:
    """Why WorkMail would refuse this MIME content in place of the original, or None.

    The criteria are those of the API Reference, "RawMessageContent" (Message Flow API).
    """
    if not content.strip():
        return "The message content is empty."
    for number, line in enumerate(content.split(b"\n"), start=1):
        if len(line.rstrip(b"\r")) + 2 > MAX_LINE:
            return f"Line {number} is longer than {MAX_LINE} characters including the CRLF (RFC 5321)."
    message = _parse(content)
    if not message.keys():
        return "The message has no header section."
    for part in message.walk():
        for defect in part.defects:
            if isinstance(defect, MALFORMED_MIME_DEFECTS):
                return f"A MIME part is not formatted properly: {type(defect).__name__}."
    for name in REQUIRED_HEADERS:
        if not str(message.get(name, "")).strip():
            return f"The required header {name} is missing."
    if not _recipient_addresses_of(message, "From"):
        return "The From header has no valid address."
    for name in UNIQUE_HEADERS:
        if len(message.get_all(name) or []) > 1:
            return f"The header {name} may appear only once."
    before = _parse(original)
    for name in IMMUTABLE_HEADERS:
        if name in before and str(message.get(name, "")).strip() != str(before[name]).strip():
            return f"The header {name} is immutable and must keep its original value."
    for part in message.walk():
        filename = part.get_filename()
        extension = filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
        if extension in BLOCKED_ATTACHMENT_EXTENSIONS:
            return f"The attachment {filename} is of a type Amazon SES does not support."
    return None


def _recipient_addresses_of(message: Message, header: str) -> list[str]:
    values = [str(v) for v in message.get_all(header) or []]
    return [address for _, address in email.utils.getaddresses(values) if "@" in address]


@operation("PutRawMessageContent", service="workmailmessageflow")
def put_raw_message_content(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    message = _in_transit(ctx, req["messageId"])
    if message["Frozen"]:
        raise errors.MessageFrozen(
            f"The message {req['messageId']} is no longer in transit and can't be updated."
        )
    reference = req["content"]["s3Reference"]
    bucket, key, version = reference["bucket"], reference["key"], reference.get("objectVersion")
    if not bucket_exists(ctx, bucket):
        raise errors.InvalidContentLocation(f"WorkMail could not access the S3 bucket {bucket}.")
    if bucket_region(ctx, bucket) != ctx.region:
        # The bucket must be in the Region of the API call (Administrator Guide, "Updating message
        # content with AWS Lambda").
        raise errors.InvalidContentLocation(
            f"The S3 bucket {bucket} is in {bucket_region(ctx, bucket)}, "
            f"not in {ctx.region} where the call was made."
        )
    content = read_object(ctx, bucket, key, version)
    if content is None:
        what = f"version {version} of " if version else ""
        raise errors.InvalidContentLocation(f"WorkMail could not access {what}s3://{bucket}/{key}.")
    problem = _mime_problem(content, unb64(message["Content"]))
    if problem:
        raise errors.MessageRejected(problem)
    # Mailboxes that already hold the message keep the copy they got; only what is still in
    # transit changes (API Reference, "PutRawMessageContent", on a delivered message).
    message["Content"] = b64(content)
    ctx.global_table(MESSAGES).put(message["MessageId"], message)
    return {}


# Mailbox export jobs ----------------------------------------------------------


def _arn_region(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[3] if len(parts) == 6 else ""


def _export_key(prefix: str, job_id: str) -> str:
    return f"{prefix.rstrip('/')}/{job_id}.zip"


def _progress(ctx: Context, job: Record) -> int:
    if job["State"] != "RUNNING":
        return int(job["EstimatedProgress"])
    duration = float(job["Duration"])
    if duration <= 0:
        return 0
    # An estimate only: the job is not done until it has written the export.
    return max(0, min(99, int(100 * (ctx.now - job["StartTime"]) / duration)))


def _job_view(ctx: Context, job: Record, names: tuple[str, ...]) -> dict[str, Any]:
    view = output(job, names)
    if "EstimatedProgress" in names:
        view["EstimatedProgress"] = _progress(ctx, job)
    return view


def _get_job(ctx: Context, org_id: str, job_id: str) -> Record:
    job = ctx.table(org_id, EXPORT_JOBS).get(job_id)
    if job is None:
        raise errors.EntityNotFoundException(f"The mailbox export job {job_id} does not exist in {org_id}.")
    return job


@operation("StartMailboxExportJob")
def start_mailbox_export_job(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    token = idempotent(ctx, "StartMailboxExportJob", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    org_id = req["OrganizationId"]
    org = ctx.organization(org_id)
    # The mailbox of a user or a resource (API Reference, "StartMailboxExportJob"); groups have none
    # (Administrator Guide, "Managing mailbox permissions for groups").
    kind, entity = find_entity(ctx, org_id, req["EntityId"], ("users", "resources"), what="user or resource")
    if not _has_mailbox(kind, entity):
        raise errors.EntityStateException(
            f"The entity {req['EntityId']} is {entity['State']}; only an enabled mailbox can be exported."
        )
    org_region = str(org.get("Region") or ctx.region)
    key_region = _arn_region(req["KmsKeyArn"])
    if key_region != org_region:
        # The organization, the KMS key and the S3 bucket must be in one Region (Administrator
        # Guide, "Exporting mailbox content").
        raise errors.InvalidParameterException(
            f"The KMS key must be in the organization's Region {org_region}, not {key_region or 'no Region'}."
        )
    if not req["RoleArn"].split(":", 5)[-1].startswith("role/"):
        # The role is one the export service can assume (Administrator Guide, "Exporting mailbox content").
        raise errors.InvalidParameterException(
            "RoleArn must name an IAM role that export.workmail.amazonaws.com can assume."
        )
    bucket = req["S3BucketName"]
    if bucket_exists(ctx, bucket) and bucket_region(ctx, bucket) != org_region:
        raise errors.InvalidParameterException(
            f"The S3 bucket {bucket} is in {bucket_region(ctx, bucket)}, not in the organization's Region "
            f"{org_region}."
        )
    prefix = req["S3Prefix"]
    job_id = str(uuid.uuid4())
    s3_key = _export_key(prefix, job_id)
    s3_path = f"{bucket}/{s3_key}"
    if len(s3_key.encode()) > S3_MAX_KEY_BYTES or len(s3_path) > 1023:
        raise errors.InvalidParameterException("The S3 prefix is too long to hold the export file's key.")
    jobs = ctx.table(org_id, EXPORT_JOBS)
    running = [job for job in jobs.values() if job["State"] == "RUNNING"]
    if len(running) >= MAX_RUNNING_EXPORTS:
        raise errors.LimitExceededException(
            f"The organization already runs {MAX_RUNNING_EXPORTS} mailbox export jobs."
        )
    recent = [
        job for job in jobs.values()
        if job["EntityId"] == entity["Id"]
        and job["State"] in ("RUNNING", "COMPLETED")
        and ctx.now - job["StartTime"] < EXPORT_INTERVAL_SECONDS
    ]
    if recent:
        raise errors.LimitExceededException(
            f"The mailbox of {req['EntityId']} was exported less than 24 hours ago; "
            "a mailbox can be exported once every 24 hours."
        )
    duration = float(ctx.timing.export_job or 0.0)
    jobs.put(job_id, {
        "JobId": job_id,
        "EntityId": entity["Id"],
        "Description": req.get("Description"),
        "RoleArn": req["RoleArn"],
        "KmsKeyArn": req["KmsKeyArn"],
        "S3BucketName": bucket,
        "S3Prefix": prefix,
        "S3Path": s3_path,
        "S3Key": s3_key,
        "State": "RUNNING",
        "EstimatedProgress": 0,
        "StartTime": timestamp(ctx),
        "Duration": duration,
    })
    ctx.schedule(duration, "mailboxes.export_complete", org_id, job_id)
    result = {"JobId": job_id}
    remember(ctx, token, result)
    # Counted after the insert, so the new job is among them.
    now_running = sum(1 for job in jobs.values() if job["State"] == "RUNNING")
    ctx.emulator.observe_peak(RUNNING_EXPORTS_PEAK, org_id, now_running)
    return result


def _fail(ctx: Context, org_id: str, job: Record, reason: str) -> None:
    job["State"] = "FAILED"
    job["ErrorInfo"] = reason
    job["EstimatedProgress"] = _progress(ctx, {**job, "State": "RUNNING"})
    job["EndTime"] = timestamp(ctx)
    ctx.table(org_id, EXPORT_JOBS).put(job["JobId"], job)


def _export_failed(ctx: Context, timer: Record, reason: str) -> None:
    """The export's work failed (its changes are rolled back): the job ends FAILED, saying why."""
    job = ctx.table(timer["org"], EXPORT_JOBS).get(timer["key"])
    if job is not None and job["State"] == "RUNNING":
        _fail(ctx, timer["org"], job, f"The export failed: {reason}")


@timer_action("mailboxes.export_complete", on_failure=_export_failed)
def _complete_export(ctx: Context, timer: Record) -> None:
    org_id, job_id = timer["org"], timer["key"]
    job = ctx.table(org_id, EXPORT_JOBS).get(job_id)
    if job is None or job["State"] != "RUNNING":
        return
    found = entity_by_id(ctx, org_id, job["EntityId"])
    if found is None or not _has_mailbox(*found):
        _fail(ctx, org_id, job, f"The mailbox of {job['EntityId']} is no longer available.")
        return
    bucket = job["S3BucketName"]
    if not bucket_exists(ctx, bucket):
        # The bucket is the caller's to create beforehand (Administrator Guide, "Exporting mailbox content").
        _fail(ctx, org_id, job, f"The S3 bucket {bucket} does not exist or the role can't write to it.")
        return
    # The job reads the mailbox as it is when it runs, not a point-in-time snapshot
    # (Administrator Guide, "Exporting mailbox content").
    items = _oldest_first(_mailbox_items(ctx, org_id, job["EntityId"]))
    # The job ended when its work was due, not when the next request happened to make the
    # emulator notice: a client timing jobs from EndTime - StartTime sees the job's length.
    ended = round(min(float(timer.get("due", ctx.now)), ctx.now), 3)
    archive, manifest = _export_archive(job, items, ended)
    write_object(ctx, bucket, job["S3Key"], archive)
    job["State"] = "COMPLETED"
    job["EstimatedProgress"] = 100
    job["EndTime"] = ended
    job["ItemsCount"] = len(items)
    job["ErrorCount"] = 0
    job["MailboxSize"] = sum(int(i["Size"]) for i in items) / MB
    job["Manifest"] = manifest
    ctx.table(org_id, EXPORT_JOBS).put(job_id, job)


def _export_archive(job: Record, items: list[Record], end: float) -> tuple[bytes, dict[str, str]]:
    """The .zip of the mailbox's messages in MIME format, with a summary like the Guide's example
    output, whose values are all strings (Administrator Guide, "Exporting mailbox content")."""
    digest = hashlib.sha384()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            content = unb64(item["Content"])
            digest.update(content)
            archive.writestr(f"{item['Folder']}/{item['ItemId']}.eml", content)
        manifest = {
            # Calendar items and messages are all the mailbox holds here; contacts, tasks and
            # notes (non-exportable, as the same section says) are never stored.
            "totalNonExportableItems": "0",
            "totalMessages": str(len(items)),
            "sha384Hash": digest.hexdigest(),
            "totalBytes": str(sum(int(i["Size"]) for i in items)),
            "totalFolders": str(len({i["Folder"] for i in items} | {INBOX})),
            "startTime": str(int(job["StartTime"] * 1000)),
            "endTime": str(int(end * 1000)),
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return buffer.getvalue(), manifest


@operation("CancelMailboxExportJob")
def cancel_mailbox_export_job(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    token = idempotent(ctx, "CancelMailboxExportJob", req)
    if (earlier := replay(ctx, token)) is not None:
        return earlier
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    job = _get_job(ctx, org_id, req["JobId"])
    if job["State"] != "RUNNING":
        raise errors.InvalidParameterException(
            f"The mailbox export job {req['JobId']} is {job['State']}; only a running job can be cancelled."
        )
    job["EstimatedProgress"] = _progress(ctx, job)
    job["State"] = "CANCELLED"
    job["EndTime"] = timestamp(ctx)
    ctx.table(org_id, EXPORT_JOBS).put(job["JobId"], job)
    ctx.cancel_timers("mailboxes.export_complete", org_id, job["JobId"])
    remember(ctx, token, {})
    return {}


@operation("DescribeMailboxExportJob")
def describe_mailbox_export_job(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    return _job_view(ctx, _get_job(ctx, org_id, req["JobId"]), JOB_DESCRIBE_FIELDS)


@operation("ListMailboxExportJobs")
def list_mailbox_export_jobs(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    org_id = req["OrganizationId"]
    ctx.organization(org_id)
    recent = [
        job for job in ctx.table(org_id, EXPORT_JOBS).values()
        if ctx.now - job["StartTime"] < EXPORT_LIST_WINDOW_SECONDS
    ]

    def newest_first(job: Record) -> str:
        return f"{10**12 - job['StartTime']:020.3f}/{job['JobId']}"

    page, token = paginate(req, recent, newest_first, scope=f"mailbox_export_jobs/{org_id}")
    return page_result("Jobs", [_job_view(ctx, job, JOB_SUMMARY_FIELDS) for job in page], token)
