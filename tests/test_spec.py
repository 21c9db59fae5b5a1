"""The declared-state spec: JSON round trip, errors naming the path, JSON Schema."""

from __future__ import annotations

import json

import pytest

from workmail_constructs.core.spec import (
    SPEC_VERSION,
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    DomainSpec,
    EmailFlowRuleSpec,
    EwsProviderSpec,
    FolderConfigurationSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    ImpersonationRuleSpec,
    MailboxPermissionSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    SecretRef,
    SpecError,
    UserSpec,
    WorkMailSpec,
)
from workmail_constructs.core.spec_schema import json_schema


def full_spec() -> WorkMailSpec:
    return WorkMailSpec(
        organization=OrganizationSpec(alias="acme", tags={"team": "mail"}, removal_policy="destroy"),
        domains=[DomainSpec(name="acme.example", default=True, hosted_zone_id="Z1")],
        users=[UserSpec(name="alice", display_name="Alice", email="alice@acme.example", aliases=["a@acme.example"],
                        mailbox_quota_mb=1024, password=SecretRef("arn:aws:secretsmanager:us-east-1:1:secret:pw", "v1"),
                        )],
        groups=[GroupSpec(name="eng", email="eng@acme.example", members=["alice"])],
        resources=[ResourceSpec(name="room", type="ROOM", delegates=["alice"])],
        mailbox_permissions=[MailboxPermissionSpec(mailbox="room", grantee="eng", permissions=["SEND_AS"])],
        access_control_rules=[AccessControlRuleSpec(name="deny-imap", effect="DENY", description="No IMAP",
                                                   actions=["IMAP"])],
        retention_policy=RetentionPolicySpec(name="keep", folders=[FolderConfigurationSpec("INBOX", "DELETE", 30)]),
        impersonation_roles=[ImpersonationRoleSpec(name="audit", type="READ_ONLY", rules=[
            ImpersonationRuleSpec(rule_id="r1", effect="ALLOW", target_users=["alice"])])],
        availability_configurations=[AvailabilityConfigurationSpec(
            domain_name="partner.example", ews=EwsProviderSpec("https://ews.partner.example/ews", "svc",
                                                               SecretRef("ews-secret")))],
        email_flow_rules=[EmailFlowRuleSpec(name="block", direction="inbound", action="DROP",
                                            senders=["spam.example"], recipients=["*"])],
    )


def test_round_trip() -> None:
    spec = full_spec()
    assert WorkMailSpec.from_json(spec.to_json()) == spec
    data = json.loads(spec.to_json())
    assert data["version"] == SPEC_VERSION
    assert "directory_id" not in data["organization"], "unset optional fields are left out"


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        ({"organization": {"alias": "a"}, "users": [{"name": "u"}]}, "users[0].display_name", "is required"),
        ({"organization": {"alias": "a"}, "users": [{"name": "u", "display_name": "U", "role": "ADMIN"}]},
         "users[0].role", "must be one of"),
        ({"organization": {"alias": "a"}, "groups": [{"name": "g", "memberz": []}]}, "groups[0].memberz",
         "unknown field"),
        ({"organization": {"alias": "a"}, "users": [{"name": "u", "display_name": "U", "mailbox_quota_mb": "1"}]},
         "users[0].mailbox_quota_mb", "whole number"),
        ({"organization": {"alias": "a"}, "version": 99}, "version", "unsupported spec version"),
        ({}, "organization", "is required"),
    ],
)
def test_errors_name_the_path(document: dict, path: str, words: str) -> None:
    with pytest.raises(SpecError) as exc:
        WorkMailSpec.from_json(json.dumps(document))
    assert exc.value.path == path
    assert words in str(exc.value)


def test_json_schema_describes_the_document() -> None:
    schema = json_schema()
    definitions = schema["$defs"]
    assert schema["$ref"] == "#/$defs/WorkMailSpec"
    user = definitions["UserSpec"]
    assert user["required"] == ["name", "display_name"]
    assert user["properties"]["role"] == {"enum": ["USER", "REMOTE_USER"]}
    assert user["additionalProperties"] is False
    assert definitions["WorkMailSpec"]["properties"]["version"] == {"const": SPEC_VERSION}
    json.dumps(schema)


def test_schema_accepts_a_full_document() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(full_spec().to_json()), json_schema())


def test_published_schema_is_current() -> None:
    """docs/workmail-spec.schema.json is what json_schema() says; regenerate it when the spec changes."""
    from pathlib import Path

    published = Path(__file__).parent.parent / "docs" / "workmail-spec.schema.json"
    assert json.loads(published.read_text()) == json_schema(), (
        "regenerate with: .venv/bin/python -c \"import json; "
        "from workmail_constructs.core.spec_schema import json_schema; "
        "open('docs/workmail-spec.schema.json','w').write(json.dumps(json_schema(), indent=2) + '\\n')\""
    )
