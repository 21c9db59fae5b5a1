"""``LambdaHook`` (a user's function wired for Run Lambda rules) and the hook library's message
helpers, against the emulator's Message Flow API and S3."""

from __future__ import annotations

import json
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from tests.conftest import make_client
from workmail_constructs import LambdaHook, Organization
from workmail_constructs.hooks.messages import get_message, put_message
from workmail_constructs.local import EmulatorControl


def _hooked(tmp_path: Path, **options: Any) -> dict[str, Any]:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Hooks", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    org = Organization(stack, "Org", alias="acme")
    function = lambda_.Function(stack, "Tagger", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(e, c): return {}"))
    LambdaHook(stack, "Hook", organization=org, function=function, **options)
    return dict(app.synth().get_stack_by_name("Hooks").template)


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
            for s in r["Properties"]["PolicyDocument"]["Statement"]]


def test_a_hook_reads_only_its_organizations_messages_of_its_directions(tmp_path: Path) -> None:
    template = _hooked(tmp_path, directions=["inbound"])
    (reads,) = [s for s in _statements(template) if "workmailmessageflow" in json.dumps(s["Action"])]
    assert reads["Action"] == "workmailmessageflow:GetRawMessageContent"
    assert "/incoming/*" in json.dumps(reads["Resource"]) and "outgoing" not in json.dumps(reads["Resource"])
    (permission,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert permission["Principal"] == "workmail.eu-west-1.amazonaws.com"
    assert permission["SourceAccount"] == "123456789012"
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]


def test_a_hook_that_updates_messages_gets_a_bucket_workmail_may_read(tmp_path: Path) -> None:
    template = _hooked(tmp_path, update_messages=True)
    (flow,) = [s for s in _statements(template) if "workmailmessageflow" in json.dumps(s["Action"])]
    assert flow["Action"] == ["workmailmessageflow:GetRawMessageContent", "workmailmessageflow:PutRawMessageContent"]
    assert "/incoming/*" in json.dumps(flow["Resource"]) and "/outgoing/*" in json.dumps(flow["Resource"])
    (bucket,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 1
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    (policy,) = [r["Properties"]["PolicyDocument"]["Statement"] for r in template["Resources"].values()
                 if r["Type"] == "AWS::S3::BucketPolicy"]
    (workmail,) = [s for s in policy if s.get("Principal", {}).get("Service") == "workmail.eu-west-1.amazonaws.com"]
    assert workmail["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert workmail["Condition"]["Bool"] == {"aws:SecureTransport": "true"}
    assert workmail["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert "workmailmessageflow" in json.dumps(workmail["Condition"]["ArnLike"])
    function = next(r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                    and r["Properties"].get("Handler") == "index.handler")
    assert "WORKMAIL_MESSAGE_BUCKET" in function["Environment"]["Variables"]


def test_directions_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Hooks/Hook: directions must be some of inbound, outbound"):
        _hooked(tmp_path, directions=["sideways"])


def test_get_and_put_a_message_through_the_emulator(emulator_url: str, control: EmulatorControl, org_id: str,
                                                   domain: str) -> None:
    wm = make_client(emulator_url)
    user = wm.create_user(OrganizationId=org_id, Name="alice", DisplayName="Alice", Password="Passw0rd!Passw0rd")
    wm.register_to_work_mail(OrganizationId=org_id, EntityId=user["UserId"], Email=f"alice@{domain}")
    message = EmailMessage()
    message["From"] = "partner@partner.example"
    message["To"] = f"alice@{domain}"
    message["Subject"] = "Quarterly numbers"
    message["Date"] = "Tue, 01 Jul 2025 10:00:00 +0000"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@partner.example>"
    message.set_content("See attached.\n")
    held = control.command("deliver-message", OrganizationId=org_id, Raw=message.as_string(), Hold=True)
    flow = make_client(emulator_url, "workmailmessageflow")
    s3 = make_client(f"{emulator_url}/_s3", "s3")
    s3.create_bucket(Bucket="hook-messages")

    got = get_message(held["messageId"], client=flow)
    assert got["Subject"] == "Quarterly numbers"
    got.replace_header("Subject", "[External] " + got["Subject"])
    key = put_message(held["messageId"], got, bucket="hook-messages", client=flow, s3_client=s3)
    assert key.startswith("workmail/") and "." not in key and "_" not in key
    control.command("finish-message", messageId=held["messageId"])
    stored = control.command("list-mailbox-messages", OrganizationId=org_id, EntityId=user["UserId"])
    assert [m["Subject"] for m in stored["Messages"]] == ["[External] Quarterly numbers"]
    with pytest.raises(ValueError, match="only letters, digits"):
        put_message(held["messageId"], got, bucket="hook-messages", prefix="bad_prefix/", client=flow, s3_client=s3)
