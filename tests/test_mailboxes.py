"""Contract tests: mailbox permissions, message delivery and the Message Flow API, and
mailbox export jobs writing to the emulator's local S3."""

from __future__ import annotations

import base64
import contextlib
import email
import io
import json
import uuid
import zipfile
from email.message import EmailMessage
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, unique
from workmail_constructs.local import EmulatorCommandError, EmulatorControl

PASSWORD = "Corr3ct-Horse!"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::123456789012:role/WorkmailMailboxExportRole"
DAY = 24 * 3600


def _raises(code: str, call: Any, *args: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert error_code(exc) == code, exc.value.response["Error"]
    return exc.value


def _user(client: Any, org_id: str, domain: str | None, name: str | None = None) -> str:
    name = name or unique("u")
    created = client.create_user(OrganizationId=org_id, Name=name, DisplayName=name, Password=PASSWORD)
    user_id = str(created["UserId"])
    if domain:
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"{name}@{domain}")
    return user_id


def _group(client: Any, org_id: str, domain: str, members: list[str]) -> str:
    name = unique("g")
    group_id = str(client.create_group(OrganizationId=org_id, Name=name)["GroupId"])
    client.register_to_work_mail(OrganizationId=org_id, EntityId=group_id, Email=f"{name}@{domain}")
    for member in members:
        client.associate_member_to_group(OrganizationId=org_id, GroupId=group_id, MemberId=member)
    return group_id


def _resource(client: Any, org_id: str, domain: str) -> str:
    name = unique("r")[:20]
    resource_id = str(client.create_resource(OrganizationId=org_id, Name=name, Type="ROOM")["ResourceId"])
    client.register_to_work_mail(OrganizationId=org_id, EntityId=resource_id, Email=f"{name}@{domain}")
    return resource_id


def _describe_email(client: Any, org_id: str, entity_id: str) -> str:
    for describe, key in ((client.describe_user, "UserId"), (client.describe_group, "GroupId"),
                          (client.describe_resource, "ResourceId")):
        try:
            return str(describe(OrganizationId=org_id, **{key: entity_id})["Email"])
        except ClientError:
            continue
    raise AssertionError(f"no entity {entity_id}")


def _mime(to: list[str], subject: str = "Hello", body: str = "Hi there.\n", cc: list[str] | None = None,
          message_id: str | None = None) -> str:
    message = EmailMessage()
    message["From"] = "sender@example.net"
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = "Tue, 01 Jul 2025 10:00:00 +0000"
    message["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@example.net>"
    message.set_content(body)
    return message.as_string()


def _deliver(control: EmulatorControl, org_id: str, raw: str, **extra: Any) -> dict[str, Any]:
    return control.command("deliver-message", OrganizationId=org_id, Raw=raw, **extra)


def _bucket() -> str:
    return unique("bucket-")


def _stage(control: EmulatorControl, bucket: str, content: bytes | str, key: str | None = None,
           **extra: Any) -> dict[str, Any]:
    key = key or str(uuid.uuid4())
    data = content.encode() if isinstance(content, str) else content
    return control.command("put-s3-object", Bucket=bucket, Key=key,
                           BodyBase64=base64.b64encode(data).decode(), **extra)


def _s3_ref(bucket: str, key: str, version: str | None = None) -> dict[str, Any]:
    reference = {"bucket": bucket, "key": key}
    if version:
        reference["objectVersion"] = version
    return {"s3Reference": reference}


def _raw(flow_client: Any, message_id: str) -> bytes:
    return bytes(flow_client.get_raw_message_content(messageId=message_id)["messageContent"].read())


def _mailbox(control: EmulatorControl, org_id: str, entity_id: str) -> list[dict[str, Any]]:
    listed = control.command("list-mailbox-messages", OrganizationId=org_id, EntityId=entity_id)
    return list(listed["Messages"])


def _permissions(client: Any, org_id: str, entity: str) -> dict[str, tuple[str, list[str]]]:
    listed = client.list_mailbox_permissions(OrganizationId=org_id, EntityId=entity)["Permissions"]
    return {p["GranteeId"]: (p["GranteeType"], p["PermissionValues"]) for p in listed}


# Mailbox permissions ----------------------------------------------------------


def test_permissions_are_replaced_per_grantee(client: Any, org_id: str, domain: str) -> None:
    alice, bob = _user(client, org_id, domain), _user(client, org_id, domain)
    team = _group(client, org_id, domain, [bob])
    alice_email = _describe_email(client, org_id, alice)
    bob_name = client.describe_user(OrganizationId=org_id, UserId=bob)["Name"]
    assert _permissions(client, org_id, alice) == {}

    # Owner and grantee may be named by email address or name as well as by id.
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice_email, GranteeId=bob_name,
                                   PermissionValues=["FULL_ACCESS", "SEND_AS", "SEND_AS"])
    assert _permissions(client, org_id, alice) == {bob: ("USER", ["FULL_ACCESS", "SEND_AS"])}
    # A second Put replaces the grantee's whole set.
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=bob,
                                   PermissionValues=["SEND_ON_BEHALF"])
    # A group may be the grantee, with full access too: its members get it
    # (Administrator Guide, "Working with mailbox permissions").
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=team,
                                   PermissionValues=["FULL_ACCESS"])
    assert _permissions(client, org_id, alice) == {
        bob: ("USER", ["SEND_ON_BEHALF"]), team: ("GROUP", ["FULL_ACCESS"]),
    }
    # Other mailboxes are untouched.
    assert _permissions(client, org_id, bob) == {}

    client.delete_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=bob)
    assert _permissions(client, org_id, alice) == {team: ("GROUP", ["FULL_ACCESS"])}
    # Deleting again is a success.
    client.delete_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=bob)
    # An empty set leaves the grantee with nothing.
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=team, PermissionValues=[])
    assert _permissions(client, org_id, alice) == {}


def test_permission_rules(client: Any, org_id: str, domain: str) -> None:
    alice, bob = _user(client, org_id, domain), _user(client, org_id, domain)
    team = _group(client, org_id, domain, [alice])
    room = _resource(client, org_id, domain)
    disabled = _user(client, org_id, None)

    # Groups have no mailbox, so FULL_ACCESS can't be granted on one
    # (Administrator Guide, "Managing mailbox permissions for groups"); sending can.
    _raises("InvalidParameterException", client.put_mailbox_permissions, OrganizationId=org_id,
            EntityId=team, GranteeId=bob, PermissionValues=["FULL_ACCESS"])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=team, GranteeId=bob,
                                   PermissionValues=["SEND_AS"])
    assert _permissions(client, org_id, team) == {bob: ("USER", ["SEND_AS"])}
    # A resource's mailbox can be shared; a resource can't be a grantee.
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=room, GranteeId=alice,
                                   PermissionValues=["FULL_ACCESS"])
    _raises("InvalidParameterException", client.put_mailbox_permissions, OrganizationId=org_id,
            EntityId=alice, GranteeId=room, PermissionValues=["SEND_AS"])
    _raises("InvalidParameterException", client.put_mailbox_permissions, OrganizationId=org_id,
            EntityId=alice, GranteeId=alice, PermissionValues=["SEND_AS"])
    missing = "12345678-1234-1234-1234-123456789012"
    for owner, grantee in ((alice, missing), (missing, alice)):
        _raises("EntityNotFoundException", client.put_mailbox_permissions, OrganizationId=org_id,
                EntityId=owner, GranteeId=grantee, PermissionValues=["SEND_AS"])
    _raises("EntityNotFoundException", client.list_mailbox_permissions, OrganizationId=org_id,
            EntityId=missing)
    _raises("EntityNotFoundException", client.delete_mailbox_permissions, OrganizationId=org_id,
            EntityId=alice, GranteeId=missing)
    for owner, grantee in ((disabled, alice), (alice, disabled)):
        _raises("EntityStateException", client.put_mailbox_permissions, OrganizationId=org_id,
                EntityId=owner, GranteeId=grantee, PermissionValues=["SEND_AS"])
    # Model constraints: the enum of permission values and the identifier pattern.
    _raises("ValidationException", client.put_mailbox_permissions, OrganizationId=org_id,
            EntityId=alice, GranteeId=bob, PermissionValues=["READ_ONLY"])
    _raises("ValidationException", client.list_mailbox_permissions, OrganizationId=org_id, EntityId="a b")
    _raises("OrganizationNotFoundException", client.list_mailbox_permissions,
            OrganizationId="m-" + "0" * 32, EntityId=alice)


def test_deleting_an_entity_drops_its_permissions(client: Any, org_id: str, domain: str) -> None:
    alice, bob, carol = (_user(client, org_id, domain) for _ in range(3))
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=bob,
                                   PermissionValues=["SEND_AS"])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=alice, GranteeId=carol,
                                   PermissionValues=["SEND_AS"])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=bob, GranteeId=carol,
                                   PermissionValues=["FULL_ACCESS"])
    client.deregister_from_work_mail(OrganizationId=org_id, EntityId=bob)
    client.delete_user(OrganizationId=org_id, UserId=bob)
    assert _permissions(client, org_id, alice) == {carol: ("USER", ["SEND_AS"])}
    _raises("EntityStateException", client.list_mailbox_permissions, OrganizationId=org_id, EntityId=bob)
    _raises("EntityStateException", client.put_mailbox_permissions, OrganizationId=org_id, EntityId=alice,
            GranteeId=bob, PermissionValues=["SEND_AS"])
    # A deleted grantee is not in the state DeleteMailboxPermissions expects.
    _raises("EntityStateException", client.delete_mailbox_permissions, OrganizationId=org_id, EntityId=alice,
            GranteeId=bob)


def test_list_mailbox_permissions_pages(client: Any, org_id: str, domain: str) -> None:
    owner = _user(client, org_id, domain)
    grantees = sorted(_user(client, org_id, domain) for _ in range(5))
    for grantee in grantees:
        client.put_mailbox_permissions(OrganizationId=org_id, EntityId=owner, GranteeId=grantee,
                                       PermissionValues=["SEND_ON_BEHALF"])
    seen: list[str] = []
    token = None
    while True:
        page = client.list_mailbox_permissions(OrganizationId=org_id, EntityId=owner, MaxResults=2,
                                               **({"NextToken": token} if token else {}))
        assert len(page["Permissions"]) <= 2
        seen += [p["GranteeId"] for p in page["Permissions"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == grantees
    _raises("ValidationException", client.list_mailbox_permissions, OrganizationId=org_id, EntityId=owner,
            MaxResults=101)


# Delivery and the Message Flow API --------------------------------------------


def test_delivery_and_raw_content(client: Any, flow_client: Any, control: EmulatorControl,
                                  org_id: str, domain: str) -> None:
    alice, bob, carol = (_user(client, org_id, domain) for _ in range(3))
    inner = _group(client, org_id, domain, [carol])
    team = _group(client, org_id, domain, [bob, inner, alice])
    raw = _mime([_describe_email(client, org_id, alice), "stranger@elsewhere.example"],
                cc=[_describe_email(client, org_id, team)])
    result = _deliver(control, org_id, raw)
    # The group's members get it, nested groups included, and nobody gets it twice.
    assert sorted(result["DeliveredTo"]) == sorted([alice, bob, carol])
    assert result["Undeliverable"] == ["stranger@elsewhere.example"]
    assert _raw(flow_client, result["messageId"]) == raw.encode()
    for user in (alice, bob, carol):
        [item] = _mailbox(control, org_id, user)
        assert item["MessageId"] == result["messageId"] and item["Subject"] == "Hello"
        size = client.get_mailbox_details(OrganizationId=org_id, UserId=user)["MailboxSize"]
        assert size == pytest.approx(len(raw.encode()) / (1024 * 1024))

    # Explicit envelope recipients win over the headers.
    result = _deliver(control, org_id, raw, Recipients=[_describe_email(client, org_id, bob)])
    assert result["DeliveredTo"] == [bob]

    _raises("ResourceNotFoundException", flow_client.get_raw_message_content, messageId=str(uuid.uuid4()))
    error = _raises("ResourceNotFoundException", flow_client.get_raw_message_content,
                    messageId="does-not-exist")
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    _raises("ValidationException", flow_client.get_raw_message_content, messageId="UPPER-CASE")

    with pytest.raises(EmulatorCommandError) as failure:
        _deliver(control, org_id, "Subject: nobody\n\nno recipients\n")
    assert failure.value.code == "InvalidParameterException"


def test_mail_to_disabled_or_full_mailboxes_is_not_delivered(client: Any, control: EmulatorControl,
                                                              org_id: str, domain: str) -> None:
    alice, bob = _user(client, org_id, domain), _user(client, org_id, domain)
    alice_email, bob_email = _describe_email(client, org_id, alice), _describe_email(client, org_id, bob)
    client.update_mailbox_quota(OrganizationId=org_id, UserId=bob, MailboxQuota=1)
    big = _mime([alice_email, bob_email], body="x" * 200 + "\n" + ("y" * 900 + "\n") * 1200)
    result = _deliver(control, org_id, big)
    assert result["DeliveredTo"] == [alice] and result["Undeliverable"] == [bob_email]
    client.deregister_from_work_mail(OrganizationId=org_id, EntityId=alice)
    result = _deliver(control, org_id, _mime([alice_email]))
    assert result["DeliveredTo"] == [] and result["Undeliverable"] == [alice_email]


def test_put_raw_message_content_round_trip(client: Any, flow_client: Any, control: EmulatorControl,
                                            org_id: str, domain: str) -> None:
    alice = _user(client, org_id, domain)
    raw = _mime([_describe_email(client, org_id, alice)], subject="Original")
    # Held in transit, as while a synchronous Run Lambda rule works on it.
    held = _deliver(control, org_id, raw, Hold=True)
    assert held["DeliveredTo"] == [] and _mailbox(control, org_id, alice) == []
    message_id = held["messageId"]

    parsed = email.message_from_bytes(_raw(flow_client, message_id))
    parsed.replace_header("Subject", "Updated by Lambda")
    bucket = _bucket()
    staged = _stage(control, bucket, parsed.as_bytes())
    reference = _s3_ref(bucket, staged["Key"])
    response = flow_client.put_raw_message_content(messageId=message_id, content=reference)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert email.message_from_bytes(_raw(flow_client, message_id))["Subject"] == "Updated by Lambda"

    # Ending the in-transit window delivers the updated message and freezes it.
    finished = control.command("finish-message", messageId=message_id)
    assert finished["DeliveredTo"] == [alice]
    [item] = _mailbox(control, org_id, alice)
    assert item["Subject"] == "Updated by Lambda"
    _raises("MessageFrozen", flow_client.put_raw_message_content, messageId=message_id,
            content=_s3_ref(bucket, staged["Key"]))


def test_finishing_a_held_message_for_some_recipients_delivers_to_those_only(
        client: Any, control: EmulatorControl, org_id: str, domain: str) -> None:
    alice, bob = _user(client, org_id, domain), _user(client, org_id, domain)
    alice_address, bob_address = (_describe_email(client, org_id, u) for u in (alice, bob))
    held = _deliver(control, org_id, _mime([alice_address, bob_address]), Hold=True)
    # A Run Lambda answer dropped Bob's copy.
    finished = control.command("finish-message", messageId=held["messageId"], Recipients=[alice_address.upper()])
    assert finished["DeliveredTo"] == [alice]
    assert len(_mailbox(control, org_id, alice)) == 1 and _mailbox(control, org_id, bob) == []
    with pytest.raises(EmulatorCommandError, match="Recipients must be a list"):
        control.command("finish-message", messageId=held["messageId"], Recipients="everyone")


def test_updating_a_delivered_message_leaves_the_mailbox_copy(client: Any, flow_client: Any,
                                                              control: EmulatorControl, org_id: str,
                                                              domain: str) -> None:
    alice = _user(client, org_id, domain)
    raw = _mime([_describe_email(client, org_id, alice)], subject="Before")
    message_id = _deliver(control, org_id, raw)["messageId"]
    bucket = _bucket()
    first = _stage(control, bucket, raw.replace("Subject: Before", "Subject: First"), key="update")
    second = _stage(control, bucket, raw.replace("Subject: Before", "Subject: Second"), key="update")
    # objectVersion picks an earlier version of the object.
    flow_client.put_raw_message_content(messageId=message_id,
                                        content=_s3_ref(bucket, "update", first["VersionId"]))
    assert b"Subject: First" in _raw(flow_client, message_id)
    flow_client.put_raw_message_content(messageId=message_id, content=_s3_ref(bucket, "update"))
    assert b"Subject: Second" in _raw(flow_client, message_id)
    assert second["VersionId"] != first["VersionId"]
    # GetRawMessageContent shows the update; the delivered copy stays as it was ([API-doc]).
    [item] = _mailbox(control, org_id, alice)
    assert base64.b64decode(item["ContentBase64"]) == raw.encode()


def test_put_raw_message_content_errors(client: Any, flow_client: Any, control: EmulatorControl,
                                        org_id: str, domain: str) -> None:
    alice = _user(client, org_id, domain)
    raw = _mime([_describe_email(client, org_id, alice)], message_id="<original@example.net>")
    message_id = _deliver(control, org_id, raw, Hold=True)["messageId"]
    bucket = _bucket()
    good = _stage(control, bucket, raw)

    def put(bucket_name: str, key: str, version: str | None = None) -> None:
        flow_client.put_raw_message_content(messageId=message_id, content=_s3_ref(bucket_name, key, version))

    error = _raises("ResourceNotFoundException", flow_client.put_raw_message_content,
                    messageId=str(uuid.uuid4()), content=_s3_ref(bucket, good["Key"]))
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    _raises("InvalidContentLocation", put, bucket, "missing-key")
    _raises("InvalidContentLocation", put, unique("nobucket-"), good["Key"])
    _raises("InvalidContentLocation", put, bucket, good["Key"], "no-such-version")
    elsewhere = _bucket()
    _stage(control, elsewhere, raw, key="msg", Region="eu-west-1")
    _raises("InvalidContentLocation", put, elsewhere, "msg")
    # The model's key pattern has no dots; the bucket pattern no capitals.
    _raises("ValidationException", put, bucket, "file.eml")
    _raises("ValidationException", put, "Bad-Bucket", good["Key"])

    no_from = raw.replace("From: sender@example.net\n", "")
    new_id = raw.replace("<original@example.net>", "<rewritten@example.net>")
    twice = raw.replace("Subject: Hello\n", "Subject: Hello\nSubject: Again\n")
    long_line = raw.replace("Hi there.", "x" * 1200)
    broken = (
        "From: sender@example.net\nDate: Tue, 01 Jul 2025 10:00:00 +0000\n"
        "Message-ID: <original@example.net>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\nno boundary at all\n"
    )
    exe = EmailMessage()
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        exe[name] = email.message_from_string(raw)[name]
    exe.set_content("see attachment")
    exe.add_attachment(b"MZ...", maintype="application", subtype="octet-stream", filename="tool.exe")
    for bad in (no_from, new_id, twice, long_line, broken, exe.as_string(), "   "):
        staged = _stage(control, bucket, bad)
        _raises("MessageRejected", put, bucket, staged["Key"])
    # Nothing was changed by the rejected updates; a good one goes through.
    assert _raw(flow_client, message_id) == raw.encode()
    put(bucket, good["Key"])


def test_in_transit_messages_last_24_hours(client: Any, flow_client: Any, control: EmulatorControl,
                                          org_id: str, domain: str) -> None:
    alice = _user(client, org_id, domain)
    held = _deliver(control, org_id, _mime([_describe_email(client, org_id, alice)]), Hold=True)
    control.advance_clock(DAY + 1)
    # Only within 24 hours (Administrator Guide, "Retrieving message content with AWS Lambda"); a message still
    # held then goes on to its recipients.
    _raises("ResourceNotFoundException", flow_client.get_raw_message_content, messageId=held["messageId"])
    assert len(_mailbox(control, org_id, alice)) == 1


# Local S3 commands ------------------------------------------------------------


def test_local_s3_commands(control: EmulatorControl) -> None:
    bucket = _bucket()
    with pytest.raises(EmulatorCommandError) as failure:
        control.command("list-s3-objects", Bucket=bucket)
    assert failure.value.code == "NoSuchBucket"
    control.command("create-s3-bucket", Bucket=bucket)
    control.command("put-s3-object", Bucket=bucket, Key="a/b.txt", Body="hello")
    control.command("put-s3-object", Bucket=bucket, Key="c.txt", Body="bye")
    listed = control.command("list-s3-objects", Bucket=bucket, Prefix="a/")["Objects"]
    assert listed == [{"Key": "a/b.txt", "Size": 5}]
    got = control.command("get-s3-object", Bucket=bucket, Key="a/b.txt")
    assert base64.b64decode(got["BodyBase64"]) == b"hello"
    # Any key S3 takes is stored as S3 stores it: ".." is no path out of the bucket, a key may
    # extend another ("a/b.txt" and "a/b.txt/c"), and no segment is too long for a file name.
    for key in ("../escape", "/abs", "a/b.txt/c", "a//b", "s" * 300 + "/x", "é" * 512):
        control.command("put-s3-object", Bucket=bucket, Key=key, Body=key)
        got = control.command("get-s3-object", Bucket=bucket, Key=key)
        assert base64.b64decode(got["BodyBase64"]) == key.encode()
    assert control.command("list-s3-objects", Bucket=bucket, Prefix="a/b.txt")["Objects"] == [
        {"Key": "a/b.txt", "Size": 5}, {"Key": "a/b.txt/c", "Size": 9}]
    for too_long in ("k" * 1025, "é" * 513):
        with pytest.raises(EmulatorCommandError) as failure:
            control.command("put-s3-object", Bucket=bucket, Key=too_long, Body="x")
        assert failure.value.code == "InvalidParameterException"
        assert "1 to 1024 bytes of UTF-8" in failure.value.message
    with pytest.raises(EmulatorCommandError) as failure:
        control.command("get-s3-object", Bucket=bucket, Key="nope")
    assert failure.value.code == "NoSuchKey"
    with pytest.raises(EmulatorCommandError) as failure:
        control.command("create-s3-bucket", Bucket="Not_A_Bucket")
    assert failure.value.code == "InvalidParameterException"


# Mailbox export jobs ----------------------------------------------------------


def _start(client: Any, org_id: str, entity: str, bucket: str, **extra: Any) -> str:
    params: dict[str, Any] = {
        "OrganizationId": org_id, "EntityId": entity, "RoleArn": ROLE, "KmsKeyArn": KMS_KEY,
        "S3BucketName": bucket, "S3Prefix": "exports/", **extra,
    }
    return str(client.start_mailbox_export_job(**params)["JobId"])


def test_export_job_writes_the_mailbox_to_s3(client: Any, control: EmulatorControl, org_id: str,
                                             domain: str) -> None:
    alice = _user(client, org_id, domain)
    address = _describe_email(client, org_id, alice)
    raws = [_mime([address], subject=f"Message {n}") for n in range(2)]
    for raw in raws:
        _deliver(control, org_id, raw)
    bucket = _bucket()
    control.command("create-s3-bucket", Bucket=bucket)
    job_id = _start(client, org_id, address, bucket, Description="departing employee")
    job = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=job_id)
    assert job["State"] == "COMPLETED" and job["EstimatedProgress"] == 100
    assert job["EntityId"] == alice and job["Description"] == "departing employee"
    assert job["S3Prefix"] == "exports/" and job["KmsKeyArn"] == KMS_KEY and job["RoleArn"] == ROLE
    assert job["EndTime"] >= job["StartTime"]
    key = f"exports/{job_id}.zip"
    assert job["S3Path"] == f"{bucket}/{key}"

    assert control.command("list-s3-objects", Bucket=bucket, Prefix="exports/")["Objects"][0]["Key"] == key
    archive = base64.b64decode(control.command("get-s3-object", Bucket=bucket, Key=key)["BodyBase64"])
    with zipfile.ZipFile(io.BytesIO(archive)) as exported:
        names = exported.namelist()
        emls = sorted(exported.read(n) for n in names if n.endswith(".eml"))
        manifest = json.loads(exported.read("manifest.json"))
    assert emls == sorted(raw.encode() for raw in raws)
    assert all(name.startswith("Inbox/") for name in names if name.endswith(".eml"))
    assert manifest["totalMessages"] == "2"
    assert manifest["totalBytes"] == str(sum(len(raw.encode()) for raw in raws))
    assert set(manifest) == {"totalNonExportableItems", "totalMessages", "sha384Hash", "totalBytes",
                             "totalFolders", "startTime", "endTime"}

    jobs = client.list_mailbox_export_jobs(OrganizationId=org_id)["Jobs"]
    assert [(j["JobId"], j["State"]) for j in jobs] == [(job_id, "COMPLETED")]


@pytest.mark.parametrize("prefix", ["p" * 300, "taken/object", "a/../b", "/"],
                         ids=["a 300-character prefix", "a prefix under an object", "dots", "a slash"])
def test_export_to_any_prefix_s3_takes_completes(client: Any, control: EmulatorControl, org_id: str, domain: str,
                                                 prefix: str) -> None:
    """Prefixes that once failed half-way (a job stuck RUNNING) are keys S3 accepts: the export completes."""
    alice = _user(client, org_id, domain)
    bucket = _bucket()
    control.command("put-s3-object", Bucket=bucket, Key="taken/object", Body="already here")
    job_id = _start(client, org_id, alice, bucket, S3Prefix=prefix)
    job = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=job_id)
    assert job["State"] == "COMPLETED", job.get("ErrorInfo")
    key = job["S3Path"].removeprefix(f"{bucket}/")
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(
            control.command("get-s3-object", Bucket=bucket, Key=key)["BodyBase64"]))) as archive:
        assert "manifest.json" in archive.namelist()
    assert base64.b64decode(control.command("get-s3-object", Bucket=bucket, Key="taken/object")["BodyBase64"]) \
        == b"already here"


def test_export_job_rules(client: Any, control: EmulatorControl, org_id: str, domain: str) -> None:
    alice, bob = _user(client, org_id, domain), _user(client, org_id, domain)
    room = _resource(client, org_id, domain)
    team = _group(client, org_id, domain, [alice])
    disabled = _user(client, org_id, None)
    bucket = _bucket()
    control.command("create-s3-bucket", Bucket=bucket)

    # Users' and resources' mailboxes can be exported; groups have none.
    assert client.describe_mailbox_export_job(
        OrganizationId=org_id, JobId=_start(client, org_id, room, bucket))["State"] == "COMPLETED"
    _raises("EntityNotFoundException", _start, client, org_id, team, bucket)
    _raises("EntityStateException", _start, client, org_id, disabled, bucket)
    # The KMS key and the bucket must be in the organization's Region
    # (Administrator Guide, "Exporting mailbox content").
    _raises("InvalidParameterException", _start, client, org_id, alice, bucket,
            KmsKeyArn=KMS_KEY.replace("us-east-1", "eu-west-1"))
    far_bucket = _bucket()
    control.command("create-s3-bucket", Bucket=far_bucket, Region="eu-west-1")
    _raises("InvalidParameterException", _start, client, org_id, alice, far_bucket)
    # Model constraints.
    _raises("ValidationException", _start, client, org_id, alice, bucket,
            RoleArn="arn:aws:s3:::not-a-role-arn")
    _raises("ValidationException", _start, client, org_id, alice, bucket, S3Prefix="has space")
    _raises("EntityNotFoundException", client.describe_mailbox_export_job, OrganizationId=org_id,
            JobId=str(uuid.uuid4()))

    # The same ClientToken gives the same job.
    token = str(uuid.uuid4())
    first = _start(client, org_id, alice, bucket, ClientToken=token)
    assert _start(client, org_id, alice, bucket, ClientToken=token) == first
    # One export per mailbox per 24 hours (Administrator Guide, "Exporting mailbox content").
    _raises("LimitExceededException", _start, client, org_id, alice, bucket)

    # A missing bucket fails the job, with the reason.
    failed = _start(client, org_id, bob, unique("nobucket-"))
    job = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=failed)
    assert job["State"] == "FAILED" and "does not exist" in job["ErrorInfo"]
    # A failed export does not count against the daily export.
    assert client.describe_mailbox_export_job(
        OrganizationId=org_id, JobId=_start(client, org_id, bob, bucket))["State"] == "COMPLETED"
    # Only a running job can be cancelled.
    _raises("InvalidParameterException", client.cancel_mailbox_export_job, OrganizationId=org_id, JobId=first)
    _raises("EntityNotFoundException", client.cancel_mailbox_export_job, OrganizationId=org_id,
            JobId=str(uuid.uuid4()))


def test_export_cancel_and_concurrency_limit(client: Any, control: EmulatorControl, org_id: str,
                                             domain: str) -> None:
    users = [_user(client, org_id, domain) for _ in range(11)]
    for user in users:
        _deliver(control, org_id, _mime([_describe_email(client, org_id, user)]))
    bucket = _bucket()
    control.command("create-s3-bucket", Bucket=bucket)
    running: list[str] = []
    control.set_timing(export_job=3600)
    try:
        for user in users[:10]:
            running.append(_start(client, org_id, user, bucket))
        job = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=running[0])
        assert job["State"] == "RUNNING" and 0 <= job["EstimatedProgress"] < 100 and "EndTime" not in job
        # Up to 10 concurrent export jobs per organization (Administrator Guide, "Exporting mailbox content").
        _raises("LimitExceededException", _start, client, org_id, users[10], bucket)

        token = str(uuid.uuid4())
        client.cancel_mailbox_export_job(OrganizationId=org_id, JobId=running[0], ClientToken=token)
        # A retry with the same token succeeds; a new cancel of a cancelled job does not.
        client.cancel_mailbox_export_job(OrganizationId=org_id, JobId=running[0], ClientToken=token)
        _raises("InvalidParameterException", client.cancel_mailbox_export_job, OrganizationId=org_id,
                JobId=running[0])
        cancelled = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=running[0])
        assert cancelled["State"] == "CANCELLED" and "EndTime" in cancelled
        running.pop(0)
        running.append(_start(client, org_id, users[10], bucket))
        # A cancelled job never writes its export, even after its time has passed (well past).
        control.advance_clock(3700)
        jobs = client.list_mailbox_export_jobs(OrganizationId=org_id)["Jobs"]
        states = {j["JobId"]: j["State"] for j in jobs}
        assert sorted(states.values()) == ["CANCELLED"] + ["COMPLETED"] * 10
        # A job ends when its work was due (an hour after it started), not when the clock was next looked at.
        done = client.describe_mailbox_export_job(OrganizationId=org_id, JobId=running[-1])
        assert (done["EndTime"] - done["StartTime"]).total_seconds() == pytest.approx(3600, abs=1)
        keys = {o["Key"] for o in control.command("list-s3-objects", Bucket=bucket)["Objects"]}
        assert keys == {f"exports/{job_id}.zip" for job_id in running}
        running.clear()
    finally:
        control.set_timing(export_job=0)
        for job_id in running:
            with contextlib.suppress(ClientError):
                client.cancel_mailbox_export_job(OrganizationId=org_id, JobId=job_id)


def test_list_mailbox_export_jobs_pages_and_ages_out(client: Any, control: EmulatorControl, org_id: str,
                                                     domain: str) -> None:
    users = [_user(client, org_id, domain) for _ in range(3)]
    bucket = _bucket()
    control.command("create-s3-bucket", Bucket=bucket)
    started = [_start(client, org_id, user, bucket) for user in users]
    seen: list[str] = []
    token = None
    while True:
        page = client.list_mailbox_export_jobs(OrganizationId=org_id, MaxResults=2,
                                               **({"NextToken": token} if token else {}))
        assert len(page["Jobs"]) <= 2
        seen += [j["JobId"] for j in page["Jobs"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(started)
    # After 24 hours the mailbox can be exported again (Administrator Guide, "Exporting mailbox content") ...
    control.advance_clock(DAY + 1)
    again = _start(client, org_id, users[0], bucket)
    # ... and jobs older than seven days are no longer listed ([API-doc]), though they can be described.
    control.advance_clock(6 * DAY)
    listed = [j["JobId"] for j in client.list_mailbox_export_jobs(OrganizationId=org_id)["Jobs"]]
    assert listed == [again]
    assert client.describe_mailbox_export_job(OrganizationId=org_id, JobId=started[0])["State"] == "COMPLETED"
