"""``MailboxExportTarget``: the Guide's trust and permissions policies for the export role, the
bucket's encryption and blocked public access, and what it outputs for the export command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from workmail_constructs import MailboxExportTarget, Organization


def _template(tmp_path: Path, **options: Any) -> dict[str, Any]:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Exports", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    org = Organization(stack, "Org", alias="acme")
    if options.pop("existing", False):
        options["key"] = kms.Key(stack, "Mine", enable_key_rotation=True)
        options["bucket"] = s3.Bucket.from_bucket_name(stack, "Theirs", "their-exports")
    MailboxExportTarget(stack, "Target", organization=None if options.pop("shared", False) else org, **options)
    return dict(app.synth().get_stack_by_name("Exports").template)


def _of(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_the_role_trusts_only_the_export_service_of_this_account_and_organization(tmp_path: Path) -> None:
    template = _template(tmp_path)
    (role,) = [r for r in _of(template, "AWS::IAM::Role") if "export" in str(r["AssumeRolePolicyDocument"])]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "export.workmail.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert "Fn::GetAtt" in str(trust["Condition"]["ArnLike"]["aws:SourceArn"])


def test_a_shared_role_drops_the_organization_condition(tmp_path: Path) -> None:
    template = _template(tmp_path, shared=True)
    (role,) = [r for r in _of(template, "AWS::IAM::Role") if "export" in str(r["AssumeRolePolicyDocument"])]
    assert "ArnLike" not in role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]


def test_the_role_may_do_exactly_what_the_guide_lists(tmp_path: Path) -> None:
    template = _template(tmp_path, prefix="exports/2027/")
    (policy,) = [p for p in _of(template, "AWS::IAM::Policy") if "kms:ViaService" in str(p)]
    s3_statement, kms_statement = policy["PolicyDocument"]["Statement"]
    assert s3_statement["Action"] == ["s3:AbortMultipartUpload", "s3:PutObject", "s3:GetBucketPolicyStatus"]
    assert len(s3_statement["Resource"]) == 2 and "/*" in str(s3_statement["Resource"][1])
    assert kms_statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms_statement["Condition"]["StringEquals"] == {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert "/exports/2027/*" in str(kms_statement["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"])


def test_the_bucket_is_encrypted_with_the_key_private_and_tls_only(tmp_path: Path) -> None:
    template = _template(tmp_path, expiration=cdk.Duration.days(400),
                         transition_to_glacier_after=cdk.Duration.days(30))
    (bucket,) = _of(template, "AWS::S3::Bucket")
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Fn::GetAtt" in str(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (lifecycle,) = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == 400 and lifecycle["Transitions"][0]["TransitionInDays"] == 30
    assert lifecycle["Prefix"] == "workmail-export/"
    (policy,) = _of(template, "AWS::S3::BucketPolicy")
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["PolicyDocument"]["Statement"])
    (key,) = _of(template, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True and key.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    outputs = template["Outputs"]
    for name in ("BucketName", "KmsKeyArn", "RoleArn", "Prefix"):
        assert any(name in key for key in outputs), name
    assert next(v for k, v in outputs.items() if "Prefix" in k)["Value"] == "workmail-export/"


def test_an_existing_bucket_and_key(tmp_path: Path) -> None:
    template = _template(tmp_path, existing=True)
    assert not _of(template, "AWS::S3::Bucket")
    (policy,) = [p for p in _of(template, "AWS::IAM::Policy") if "kms:ViaService" in str(p)]
    assert "their-exports" in str(policy["PolicyDocument"]["Statement"][0]["Resource"])


@pytest.mark.parametrize(("options", "message"), [
    ({"prefix": "bad prefix"}, "prefix 'bad prefix'"),
    ({"bucket": "BUCKET"}, "give the key"),
])
def test_bad_options_name_the_construct(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Exports")
    if options.get("bucket") == "BUCKET":
        options["bucket"] = s3.Bucket.from_bucket_name(stack, "Theirs", "their-exports")
    with pytest.raises(ValueError, match=f"Exports/Target: .*{message}"):
        MailboxExportTarget(stack, "Target", **options)
