"""The custom-resource handlers driven by CloudFormation-shaped events against the emulator:
creates retried, updates rolled back, deletes after failed creates, specs from S3, secrets
from a fake Secrets Manager, the verification deadline on an injected clock, import time;
the provider's one entry module routing each resource type, structured specs with
deploy-time references as the constructs write them, email monitoring of an organization
managed elsewhere."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import make_client, unique
from tests.spec_factory import SECRETS, as_cloudformation_sends, organization_spec
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import plan_changes
from workmail_constructs.core.spec import DomainSpec, OrganizationSpec, SecretRef, UserSpec, WorkMailSpec, to_data
from workmail_constructs.core.spec_reading import reference
from workmail_constructs.handlers import common, directory, email_monitoring, organization, provider
from workmail_constructs.handlers import domain as domain_handler
from workmail_constructs.handlers.common import HandlerError
from workmail_constructs.local import EmulatorControl, EmulatorServer
from workmail_constructs.local.ops.common import secret_digest

ORGANIZATION = "Custom::WorkMailOrganization"
DOMAIN = "Custom::WorkMailDomain"
DIRECTORY = "Custom::WorkMailDirectory"
EMAIL_MONITORING = "Custom::WorkMailEmailMonitoring"
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:WorkMail-ProviderframeworkonEvent-1A2B3C4D5E6F"
# What the Provider framework answers for a Create that failed, and sends back on the Delete.
CREATE_FAILED = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
RESPONSE_LIMIT = 4096
RECORD_KEYS = {
    f"{record}{part}" for record in ("OwnershipTxt", "Mx", "Autodiscover", "Spf", "Dmarc", "Dkim1", "Dkim2", "Dkim3")
    for part in ("Name", "Value")
} | {"MxPriority"}


# Fakes of the other AWS services ---------------------------------------------------------


def client_error(code: str, message: str, operation: str) -> ClientError:
    answer: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return ClientError(answer, operation)


class FakeSecretsManager:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[dict[str, str]] = []

    def get_secret_value(self, **params: str) -> dict[str, Any]:
        self.calls.append(params)
        if params["SecretId"] not in self.values:
            raise client_error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.",
                               "GetSecretValue")
        return {"Name": params["SecretId"], "SecretString": self.values[params["SecretId"]],
                "VersionId": str(uuid.uuid4()), "VersionStages": [params.get("VersionStage", "AWSCURRENT")]}


class FakeS3:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def get_object(self, **params: str) -> dict[str, Any]:
        body = self.objects.get((params["Bucket"], params["Key"]))
        if body is None:
            raise client_error("NoSuchKey", "The specified key does not exist.", "GetObject")
        return {"Body": io.BytesIO(body), "ContentLength": len(body)}


class FakeCloudFormation:
    def __init__(self) -> None:
        self.status = "UPDATE_IN_PROGRESS"

    def describe_stacks(self, **params: str) -> dict[str, Any]:
        return {"Stacks": [{"StackId": params["StackName"], "StackName": "workmail", "StackStatus": self.status}]}


@pytest.fixture(scope="module")
def handler_emulator() -> Iterator[EmulatorServer]:
    """This module's own emulator: its store can be read (what it kept of a password), and the
    organizations made here don't lengthen the shared emulator's lists for other modules."""
    server = EmulatorServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def emulator_url(handler_emulator: EmulatorServer) -> str:
    return handler_emulator.endpoint_url


@dataclasses.dataclass
class Fakes:
    secrets: FakeSecretsManager
    s3: FakeS3
    cloudformation: FakeCloudFormation


@pytest.fixture(autouse=True)
def fakes(monkeypatch: pytest.MonkeyPatch, emulator_url: str) -> Fakes:
    monkeypatch.setenv("AWS_ENDPOINT_URL_WORKMAIL", emulator_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDHANDLERTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "handler-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    made = Fakes(FakeSecretsManager(dict(SECRETS)), FakeS3(), FakeCloudFormation())
    monkeypatch.setattr(common, "secrets_client", lambda: made.secrets)
    monkeypatch.setattr(common, "s3_client", lambda: made.s3)
    monkeypatch.setattr(common, "cloudformation_client", lambda: made.cloudformation)
    return made


@pytest.fixture
def organizations(client: Any) -> Iterator[list[str]]:
    """Organizations a test made: deleted afterwards (the account's quota is 100)."""
    made: list[str] = []
    yield made
    for organization_id in made:
        if common.ORGANIZATION_ID.fullmatch(organization_id) and client.describe_organization(
                OrganizationId=organization_id)["State"] not in ("Deleting", "Deleted"):
            client.delete_organization(OrganizationId=organization_id, DeleteDirectory=True, ForceDelete=True)


# CloudFormation-shaped events ------------------------------------------------------------


def new_stack_id() -> str:
    return f"arn:aws:cloudformation:us-east-1:123456789012:stack/workmail-{unique('s')}/{uuid.uuid4()}"


def scalars_are_strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(scalars_are_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(scalars_are_strings(v) for v in value)
    return isinstance(value, str)


def cfn_event(request_type: str, resource_type: str, logical_id: str, properties: dict[str, Any], *,
              stack_id: str, old: dict[str, Any] | None = None, physical_id: str | None = None) -> dict[str, Any]:
    """An event as the Provider framework hands it to on_event: every scalar of the
    properties a string, however deep in an object."""
    assert scalars_are_strings(properties), "CloudFormation sends strings"
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws?X-Amz=1",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, **properties},
    }
    if request_type != "Create":
        assert physical_id is not None
        event["PhysicalResourceId"] = physical_id
    if request_type == "Update":
        assert old is not None
        event["OldResourceProperties"] = {"ServiceToken": SERVICE_TOKEN, **old}
    return event


def swapped(event: dict[str, Any], physical_id: str) -> dict[str, Any]:
    """The Update CloudFormation sends to roll ``event`` back: old and new properties swapped."""
    return {**event, "RequestId": str(uuid.uuid4()), "PhysicalResourceId": physical_id,
            "ResourceProperties": event["OldResourceProperties"], "OldResourceProperties": event["ResourceProperties"]}


def fits(answer: dict[str, Any]) -> dict[str, Any]:
    assert len(json.dumps(answer).encode()) < RESPONSE_LIMIT, "a response must stay under 4 KB"
    return answer


def run(module: Any, event: dict[str, Any], context: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """on_event, then is_complete once with what the framework passes it; both answers."""
    answer = fits(module.on_event(event, context))
    if event["RequestType"] == "Delete":
        assert answer["PhysicalResourceId"] == event["PhysicalResourceId"], "a Delete can't change the physical id"
    return answer, fits(module.is_complete({**event, **answer}, None))


def org_props(spec: OrganizationSpec, allow_replacement: bool = False) -> dict[str, str]:
    return {"Spec": json.dumps(to_data(spec)), "AllowReplacement": "true" if allow_replacement else "false"}


def domain_props(organization_id: str, spec: DomainSpec) -> dict[str, str]:
    return {"OrganizationId": organization_id, "Spec": json.dumps(to_data(spec))}


def directory_props(organization_id: str, spec: WorkMailSpec, allow_destructive: bool = False) -> dict[str, str]:
    return {"OrganizationId": organization_id, "Spec": spec.to_json(indent=None),
            "AllowDestructive": "true" if allow_destructive else "false"}


def structured_props(organization_id: str, spec: WorkMailSpec, references: dict[str, str],
                     allow_destructive: bool = False) -> dict[str, Any]:
    """Directory properties as the constructs write them: the spec as a structured object in
    which each value of ``references`` (NAME → value) is the placeholder ``$ref:NAME``, and
    the values beside it in ``References``."""
    names = {value: name for name, value in references.items()}

    def place(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: place(v) for k, v in value.items()}
        if isinstance(value, list):
            return [place(v) for v in value]
        return reference(names[value]) if isinstance(value, str) and value in names else value

    return {"OrganizationId": organization_id, "Spec": as_cloudformation_sends(place(to_data(spec))),
            "References": dict(references), "AllowDestructive": "true" if allow_destructive else "false"}


def tags_of(client: Any, organization_id: str) -> dict[str, str]:
    arn = client.describe_organization(OrganizationId=organization_id)["ARN"]
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceARN=arn)["Tags"]}


def organizations_named(client: Any, alias: str) -> list[str]:
    return [o["OrganizationId"] for p in client.get_paginator("list_organizations").paginate()
            for o in p["OrganizationSummaries"] if o["Alias"] == alias and o["State"] != "Deleted"]


# Organization --------------------------------------------------------------------------------


def test_organization_create_waits_for_active_and_a_retried_create_makes_no_second_one(
        client: Any, control: EmulatorControl, organizations: list[str]) -> None:
    spec = OrganizationSpec(alias=unique("hco"), tags={"team": "mail"})
    event = cfn_event("Create", ORGANIZATION, "Organization", org_props(spec), stack_id=new_stack_id())
    control.set_timing(org_requested=60, org_creating=60)
    try:
        first = fits(organization.on_event(event, None))
        organization_id = first["PhysicalResourceId"]
        organizations.append(organization_id)
        assert common.ORGANIZATION_ID.fullmatch(organization_id)
        waiting = organization.is_complete({**event, **first}, None)
        assert waiting == {"IsComplete": False}, "the framework refuses Data on an incomplete answer"
        # CloudFormation retries a Create with a new request id; the Lambda retry resends the same one.
        for retry in ({**event, "RequestId": str(uuid.uuid4())}, copy.deepcopy(event)):
            assert organization.on_event(retry, None)["PhysicalResourceId"] == organization_id
        control.advance_clock(61)
        assert client.describe_organization(OrganizationId=organization_id)["State"] == "Creating"
        assert organization.is_complete({**event, **first}, None) == {"IsComplete": False}
        control.advance_clock(61)
        done = fits(organization.is_complete({**event, **first}, None))
    finally:
        control.set_timing(org_requested=0, org_creating=0)
    described = client.describe_organization(OrganizationId=organization_id)
    assert done == {"IsComplete": True, "Data": {
        "OrganizationId": organization_id, "Arn": described["ARN"], "State": "Active",
        "DefaultMailDomain": f"{spec.alias}.awsapps.com", "DirectoryId": described["DirectoryId"],
        "WebUrl": f"https://{spec.alias}.awsapps.com/mail",
    }}
    assert organizations_named(client, spec.alias) == [organization_id]
    assert tags_of(client, organization_id) == {"team": "mail"}


def test_organization_tags_follow_updates(client: Any, organizations: list[str]) -> None:
    stack = new_stack_id()
    old = OrganizationSpec(alias=unique("hct"), tags={"team": "mail", "env": "test", "cost": "1"})
    created, _ = run(organization, cfn_event("Create", ORGANIZATION, "Org", org_props(old), stack_id=stack))
    organization_id = created["PhysicalResourceId"]
    organizations.append(organization_id)
    new = dataclasses.replace(old, tags={"team": "ops", "cost": "1", "owner": "it"})
    update = cfn_event("Update", ORGANIZATION, "Org", org_props(new), old=org_props(old), physical_id=organization_id,
                       stack_id=stack)
    answer, done = run(organization, update)
    assert answer["PhysicalResourceId"] == organization_id, "a tag change keeps the physical id"
    assert done["IsComplete"] and done["Data"]["OrganizationId"] == organization_id
    assert tags_of(client, organization_id) == {"team": "ops", "cost": "1", "owner": "it"}
    # The rollback of that update puts the old tags back.
    run(organization, swapped(update, organization_id))
    assert tags_of(client, organization_id) == old.tags


def test_organization_replacement_needs_allow_replacement_and_rolls_back(
        client: Any, fakes: Fakes, organizations: list[str]) -> None:
    stack = new_stack_id()
    old = OrganizationSpec(alias=unique("hcr"))
    created, _ = run(organization, cfn_event("Create", ORGANIZATION, "Org", org_props(old), stack_id=stack))
    original = created["PhysicalResourceId"]
    organizations.append(original)
    new = dataclasses.replace(old, alias=unique("hcr"))

    refused = cfn_event("Update", ORGANIZATION, "Org", org_props(new), old=org_props(old), physical_id=original,
                        stack_id=stack)
    with pytest.raises(HandlerError, match=r"alias can't change.*AllowReplacement to \"true\"") as error:
        organization.on_event(refused, None)
    assert len(str(error.value)) < 1000
    assert organizations_named(client, new.alias) == []

    # The same alias under a new key can't be a replacement: the old organization still holds it.
    kms = dataclasses.replace(old, kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-"
                                               "1234567890ab")
    with pytest.raises(HandlerError, match="needs a new alias too"):
        organization.on_event(cfn_event("Update", ORGANIZATION, "Org", org_props(kms, True), old=org_props(old),
                                        physical_id=original, stack_id=stack), None)

    update = cfn_event("Update", ORGANIZATION, "Org", org_props(new, allow_replacement=True), old=org_props(old),
                       physical_id=original, stack_id=stack)
    answer, done = run(organization, update)
    replacement = answer["PhysicalResourceId"]
    organizations.append(replacement)
    assert replacement != original and done["Data"]["WebUrl"] == f"https://{new.alias}.awsapps.com/mail"

    # Rolling back: the old properties (AllowReplacement false) come back as the new ones.
    rollback = swapped(update, replacement)
    with pytest.raises(HandlerError, match="AllowReplacement"):
        organization.on_event(rollback, None)
    fakes.cloudformation.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    answer, done = run(organization, rollback)
    assert answer["PhysicalResourceId"] == original, "the rollback goes back to the organization it replaced"
    assert done["Data"]["State"] == "Active"
    assert organizations_named(client, old.alias) == [original]
    # CloudFormation then deletes the replacement (retained: the default removal policy).
    run(organization, cfn_event("Delete", ORGANIZATION, "Org", org_props(new, True), physical_id=replacement,
                                stack_id=stack))
    assert client.describe_organization(OrganizationId=replacement)["State"] == "Active"


def test_organization_delete_retains_or_destroys(client: Any, control: EmulatorControl,
                                                 organizations: list[str]) -> None:
    stack = new_stack_id()
    kept = OrganizationSpec(alias=unique("hck"))
    created, _ = run(organization, cfn_event("Create", ORGANIZATION, "Kept", org_props(kept), stack_id=stack))
    kept_id = created["PhysicalResourceId"]
    organizations.append(kept_id)
    answer, done = run(organization, cfn_event("Delete", ORGANIZATION, "Kept", org_props(kept), physical_id=kept_id,
                                               stack_id=stack))
    assert done == {"IsComplete": True, "Data": {}}
    assert client.describe_organization(OrganizationId=kept_id)["State"] == "Active"

    gone = OrganizationSpec(alias=unique("hcd"), removal_policy="destroy")
    created, _ = run(organization, cfn_event("Create", ORGANIZATION, "Gone", org_props(gone), stack_id=stack))
    gone_id = created["PhysicalResourceId"]
    organizations.append(gone_id)
    delete = cfn_event("Delete", ORGANIZATION, "Gone", org_props(gone), physical_id=gone_id, stack_id=stack)
    run(organization, delete)
    assert client.describe_organization(OrganizationId=gone_id)["State"] in ("Deleting", "Deleted")
    run(organization, delete)  # deleted already: nothing to do

    # Deleting one that is still being created (a Create rolled back) waits until it can.
    control.set_timing(org_requested=60)
    try:
        early = OrganizationSpec(alias=unique("hce"), removal_policy="destroy")
        created = organization.on_event(cfn_event("Create", ORGANIZATION, "Early", org_props(early), stack_id=stack),
                                        None)
        early_id = created["PhysicalResourceId"]
        organizations.append(early_id)
        delete = cfn_event("Delete", ORGANIZATION, "Early", org_props(early), physical_id=early_id, stack_id=stack)
        answer = organization.on_event(delete, None)
        assert organization.is_complete({**delete, **answer}, None) == {"IsComplete": False}
        control.advance_clock(61)
        assert organization.is_complete({**delete, **answer}, None)["IsComplete"] is True
    finally:
        control.set_timing(org_requested=0)
    assert client.describe_organization(OrganizationId=early_id)["State"] in ("Deleting", "Deleted")


def test_organization_delete_retains_it_without_a_call(control: EmulatorControl, org_id: str) -> None:
    # (A Delete after a failed Create never reaches the handler: tests/test_provider_framework.py.)
    spec = OrganizationSpec(alias=unique("kept"), removal_policy="retain")
    before = control.call_counts()["total"]
    answer, done = run(organization, cfn_event("Delete", ORGANIZATION, "Org", org_props(spec), physical_id=org_id,
                                               stack_id=new_stack_id()))
    assert answer == {"PhysicalResourceId": org_id} and done["IsComplete"]
    assert control.call_counts()["total"] == before


def test_organization_adopts_an_existing_one(client: Any, org_id: str) -> None:
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    stack = new_stack_id()
    spec = OrganizationSpec(alias=alias, organization_id=org_id, tags={"adopted": "yes"}, removal_policy="retain")
    answer, done = run(organization, cfn_event("Create", ORGANIZATION, "Adopted", org_props(spec), stack_id=stack))
    assert answer["PhysicalResourceId"] == org_id and done["Data"]["State"] == "Active"
    assert tags_of(client, org_id) == {"adopted": "yes"}
    run(organization, cfn_event("Delete", ORGANIZATION, "Adopted", org_props(spec), physical_id=org_id,
                                stack_id=stack))
    assert client.describe_organization(OrganizationId=org_id)["State"] == "Active"

    missing = dataclasses.replace(spec, organization_id=f"m-{uuid.uuid4().hex}")
    with pytest.raises(HandlerError, match="does not exist"):
        organization.on_event(cfn_event("Create", ORGANIZATION, "Adopted", org_props(missing), stack_id=stack), None)
    with pytest.raises(HandlerError, match=f"has the alias {alias}"):
        organization.on_event(cfn_event("Create", ORGANIZATION, "Adopted",
                                        org_props(dataclasses.replace(spec, alias="other")), stack_id=stack), None)


# Domain ----------------------------------------------------------------------------------------


def test_domain_create_returns_every_record(client: Any, org_id: str) -> None:
    name = f"{unique('hd')}.example.com"
    event = cfn_event("Create", DOMAIN, "Domain", domain_props(org_id, DomainSpec(name)), stack_id=new_stack_id())
    answer, done = run(domain_handler, event)
    assert answer["PhysicalResourceId"] == f"{org_id}/{name}"
    assert done["IsComplete"] and done["Data"]["OwnershipVerificationStatus"] == "PENDING"
    data = answer["Data"]
    assert set(data) >= RECORD_KEYS
    assert data["DomainName"] == name and data["DkimVerificationStatus"] == "PENDING"
    records = client.get_mail_domain(OrganizationId=org_id, DomainName=name)["Records"]

    def only(kind: str, test: Any) -> dict[str, str]:
        (record,) = [r for r in records if r["Type"] == kind and test(r)]
        return dict(record)

    expected = {
        "OwnershipTxt": only("TXT", lambda r: r["Hostname"].startswith("_amazonses.")),
        "Spf": only("TXT", lambda r: r["Value"].startswith("v=spf1")),
        "Dmarc": only("TXT", lambda r: r["Hostname"].startswith("_dmarc.")),
        "Autodiscover": only("CNAME", lambda r: r["Hostname"].startswith("autodiscover.")),
    }
    for key, record in expected.items():
        assert data[f"{key}Name"] == record["Hostname"].rstrip(".") and data[f"{key}Value"] == record["Value"]
    mx = only("MX", lambda r: True)
    assert f"{data['MxPriority']} {data['MxValue']}" == mx["Value"] and data["MxName"] == mx["Hostname"].rstrip(".")
    dkim = {(r["Hostname"].rstrip("."), r["Value"]) for r in records if "._domainkey." in r["Hostname"]}
    assert {(data[f"Dkim{n}Name"], data[f"Dkim{n}Value"]) for n in (1, 2, 3)} == dkim
    assert not any(data[k].endswith(".") for k in RECORD_KEYS if k.endswith("Name"))

    # A retried Create registers nothing twice and answers the same records.
    again = domain_handler.on_event({**event, "RequestId": str(uuid.uuid4())}, None)
    assert again["PhysicalResourceId"] == answer["PhysicalResourceId"]
    assert {k: again["Data"][k] for k in RECORD_KEYS} == {k: data[k] for k in RECORD_KEYS}


def test_domain_waits_for_verification_then_becomes_the_default(client: Any, control: EmulatorControl,
                                                                 org_id: str) -> None:
    name = f"{unique('hv')}.example.com"
    stack = new_stack_id()
    spec = DomainSpec(name, default=True, wait_for_verification=True)
    event = cfn_event("Create", DOMAIN, "Domain", domain_props(org_id, spec), stack_id=stack)
    answer = fits(domain_handler.on_event(event, None))
    physical_id = answer["PhysicalResourceId"]
    assert domain_handler.is_complete({**event, **answer}, None) == {"IsComplete": False}
    control.verify_domain(org_id, name)
    done = fits(domain_handler.is_complete({**event, **answer}, None))
    assert done["IsComplete"] and done["Data"]["OwnershipVerificationStatus"] == "VERIFIED"
    assert done["Data"]["IsDefault"] == "true"
    assert client.describe_organization(OrganizationId=org_id)["DefaultMailDomain"] == name

    # No longer the default: the organization's test domain is again.
    plain = DomainSpec(name)
    update = cfn_event("Update", DOMAIN, "Domain", domain_props(org_id, plain), old=domain_props(org_id, spec),
                       physical_id=physical_id, stack_id=stack)
    answer, done = run(domain_handler, update)
    assert answer["PhysicalResourceId"] == physical_id and done["Data"]["IsDefault"] == "false"
    assert client.describe_organization(OrganizationId=org_id)["DefaultMailDomain"].endswith(".awsapps.com")

    # Deleting a default domain hands the default back to the test domain first.
    run(domain_handler, swapped(update, physical_id))
    assert client.describe_organization(OrganizationId=org_id)["DefaultMailDomain"] == name
    delete = cfn_event("Delete", DOMAIN, "Domain", domain_props(org_id, spec), physical_id=physical_id, stack_id=stack)
    run(domain_handler, delete)
    assert name not in [d["DomainName"] for d in client.list_mail_domains(OrganizationId=org_id)["MailDomains"]]
    run(domain_handler, delete)  # already gone


def test_domain_verification_deadline_on_an_injected_clock(monkeypatch: pytest.MonkeyPatch, control: EmulatorControl,
                                                           org_id: str) -> None:
    now = [1_700_000_000.0]
    monkeypatch.setattr(common, "clock", lambda: now[0])
    name = f"{unique('hw')}.example.com"
    spec = DomainSpec(name, default=True, wait_for_verification=True)
    event = cfn_event("Create", DOMAIN, "Domain", domain_props(org_id, spec), stack_id=new_stack_id())
    answer = domain_handler.on_event(event, None)
    assert answer["Data"]["VerificationStartedAt"] == str(int(now[0]))
    now[0] += 49 * 60
    assert domain_handler.is_complete({**event, **answer}, None) == {"IsComplete": False}
    now[0] += 60 + 1
    done = fits(domain_handler.is_complete({**event, **answer}, None))
    assert done["IsComplete"], "never blocks past the deadline"
    assert done["Data"]["OwnershipVerificationStatus"] == "PENDING" and done["Data"]["IsDefault"] == "false"

    control.verify_domain(org_id, name, "FAILED")
    with pytest.raises(HandlerError, match=f"verification of {name} FAILED"):
        domain_handler.is_complete({**event, **answer}, None)


def test_domain_delete_of_a_domain_in_use_leaves_it(client: Any, org_id: str, domain: str) -> None:
    # Addresses still use the domain (the directory's content stays when it is deleted): it stays too.
    user = client.create_user(OrganizationId=org_id, Name="inuse", DisplayName="In Use")["UserId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user, Email=f"inuse@{domain}")
    run(domain_handler, cfn_event("Delete", DOMAIN, "Domain", domain_props(org_id, DomainSpec(domain)),
                                    physical_id=f"{org_id}/{domain}", stack_id=new_stack_id()))
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=domain)["OwnershipVerificationStatus"]


# Directory -------------------------------------------------------------------------------------


def provision(spec: WorkMailSpec, url: str, stack: str) -> str:
    """The organization and its domains, made by their own handlers as the stack would, verified."""
    control = EmulatorControl(url)
    created, _ = run(organization, cfn_event("Create", ORGANIZATION, "Organization", org_props(spec.organization),
                                             stack_id=stack))
    organization_id = str(created["PhysicalResourceId"])
    for n, declared in enumerate(spec.domains):
        event = cfn_event("Create", DOMAIN, f"Domain{n}", domain_props(organization_id, declared), stack_id=stack)
        answer = domain_handler.on_event(event, None)
        control.verify_domain(organization_id, declared.name)  # the Route 53 records are published
        assert domain_handler.is_complete({**event, **answer}, None)["IsComplete"]
    return organization_id


def remaining(url: str, spec: WorkMailSpec, organization_id: str) -> list[str]:
    """What a full plan (every object read, not just the change) still finds to do."""
    declared = copy.deepcopy(spec)
    declared.organization.organization_id = organization_id
    planned = plan_changes(WorkMailApi(make_client(url)), declared, declared, organization_id=organization_id)
    return [c.title for c in planned.plan.changes]


def live_users(client: Any, organization_id: str) -> list[str]:
    return sorted(u["Name"] for p in client.get_paginator("list_users").paginate(OrganizationId=organization_id)
                  for u in p["Users"] if u["State"] != "DELETED" and u["Name"] != "inuse")


def test_directory_create_retried_with_secrets_from_secrets_manager(
        handler_emulator: EmulatorServer, fakes: Fakes, caplog: pytest.LogCaptureFixture) -> None:
    url = handler_emulator.endpoint_url
    caplog.set_level(logging.INFO)
    spec = organization_spec(unique("hdc"), users=20, groups=4, resources=2)
    stack = new_stack_id()
    organization_id = provision(spec, url, stack)
    event = cfn_event("Create", DIRECTORY, "Directory", directory_props(organization_id, spec), stack_id=stack)
    answer, done = run(directory, event)
    assert answer["PhysicalResourceId"] == f"{organization_id}/directory"
    assert int(answer["Data"]["Created"]) >= 20 + 4 + 2 and answer["Data"]["Complete"] == "true"
    assert done["IsComplete"]
    assert remaining(url, spec, organization_id) == []
    # One read per secret, however many users use it.
    assert sorted(c["SecretId"] for c in fakes.secrets.calls) == ["ews-password", "user-password"]
    assert {c.get("VersionStage") for c in fakes.secrets.calls} == {"v1"}
    users = handler_emulator.emulator.store.table(organization_id, "users").values()
    assert {u["Name"]: u.get("PasswordDigest") for u in users if u["Name"].startswith("user")} == {
        u.name: secret_digest(SECRETS["user-password"]) for u in spec.users}

    # CloudFormation retries the Create: nothing is made twice and it succeeds.
    again, _ = run(directory, {**event, "RequestId": str(uuid.uuid4())})
    assert again["PhysicalResourceId"] == answer["PhysicalResourceId"]
    assert again["Data"] == {"Created": "0", "Updated": "0", "Deleted": "0", "Complete": "true"}
    client = make_client(url)
    assert live_users(client, organization_id) == sorted(u.name for u in spec.users)
    logged = caplog.text + json.dumps([answer, again])
    assert "create user user00000" in caplog.text, "one log line per change"
    assert not any(secret in logged for secret in SECRETS.values()), "a secret reached a log line or the response"


@pytest.fixture
def directory_org(emulator_url: str, client: Any, organizations: list[str]) -> tuple[WorkMailSpec, str, str]:
    spec = organization_spec(unique("hdu"), users=8, groups=2, resources=1, policies=False)
    stack = new_stack_id()
    organization_id = provision(spec, emulator_url, stack)
    organizations.append(organization_id)
    run(directory, cfn_event("Create", DIRECTORY, "Directory", directory_props(organization_id, spec), stack_id=stack))
    return spec, organization_id, stack


def test_directory_update_reconciles_only_the_change(emulator_url: str, client: Any, control: EmulatorControl,
                                                     directory_org: tuple[WorkMailSpec, str, str]) -> None:
    spec, organization_id, stack = directory_org
    changed = copy.deepcopy(spec)
    changed.users[0].display_name = "Renamed Display"
    primary = spec.domains[0].name
    changed.users.append(UserSpec(name="newcomer", display_name="Newcomer", email=f"newcomer@{primary}"))
    changed.groups[1].members.append("newcomer")
    # The organization's tags are the Organization resource's: the directory leaves them alone.
    changed.organization.tags = {"team": "elsewhere"}
    control.reset_call_counts()
    answer, done = run(directory, cfn_event(
        "Update", DIRECTORY, "Directory", directory_props(organization_id, changed),
        old=directory_props(organization_id, spec), physical_id=f"{organization_id}/directory", stack_id=stack))
    calls = control.call_counts()
    assert answer["PhysicalResourceId"] == f"{organization_id}/directory"
    assert answer["Data"] == {"Created": "2", "Updated": "1", "Deleted": "0", "Complete": "true"}
    assert done["Data"] == answer["Data"]
    # 8 users, 2 groups and a room, but only the change is read and applied.
    assert calls["total"] <= 15, calls  # 13 when measured
    assert "ListUsers" not in calls["calls"] or calls["calls"]["ListUsers"] <= 2
    assert tags_of(client, organization_id) == spec.organization.tags
    unchanged_org = dataclasses.replace(changed, organization=spec.organization)
    assert remaining(emulator_url, unchanged_org, organization_id) == []


def test_directory_rollback_of_a_failed_update_converges(emulator_url: str, client: Any, fakes: Fakes,
                                                         directory_org: tuple[WorkMailSpec, str, str]) -> None:
    spec, organization_id, stack = directory_org
    primary = spec.domains[0].name
    missing = f"{unique('nodomain')}.example.org"
    bad = copy.deepcopy(spec)
    bad.domains.append(DomainSpec(missing))  # declared, but no Domain resource registered it
    bad.users[0].display_name = "Changed Then Rolled Back"
    bad.users.append(UserSpec(name="newbie", display_name="Newbie", email=f"newbie@{primary}",
                              aliases=[f"nb@{missing}"]))
    bad.groups[0].members.append("newbie")
    update = cfn_event("Update", DIRECTORY, "Directory", directory_props(organization_id, bad),
                       old=directory_props(organization_id, spec), physical_id=f"{organization_id}/directory",
                       stack_id=stack)
    with pytest.raises(HandlerError, match=r"failed and 1 were skipped") as error:
        directory.on_event(update, None)
    message = str(error.value)
    assert "create user newbie" in message and "create group member group0000/newbie" in message
    assert len(message) < 1500
    assert "newbie" in live_users(client, organization_id), "the update failed partway"

    rollback = swapped(update, f"{organization_id}/directory")
    # Undoing it deletes the user the failed update made: destructive, so only while rolling back.
    with pytest.raises(HandlerError, match="AllowDestructive"):
        directory.on_event(rollback, None)
    fakes.cloudformation.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    answer, done = run(directory, rollback)
    assert answer["Data"]["Deleted"] == "1" and done["IsComplete"]
    assert remaining(emulator_url, spec, organization_id) == []
    assert "newbie" not in live_users(client, organization_id)


def test_directory_refuses_destructive_changes_without_allow_destructive(
        emulator_url: str, client: Any, directory_org: tuple[WorkMailSpec, str, str]) -> None:
    spec, organization_id, stack = directory_org
    smaller = copy.deepcopy(spec)
    gone = smaller.users.pop(7).name
    for group in smaller.groups:
        group.members = [m for m in group.members if m != gone]
    smaller.mailbox_permissions = [p for p in smaller.mailbox_permissions if gone not in (p.mailbox, p.grantee)]
    smaller.users[0].display_name = "Not Applied Either"
    physical_id = f"{organization_id}/directory"
    update = cfn_event("Update", DIRECTORY, "Directory", directory_props(organization_id, smaller),
                       old=directory_props(organization_id, spec), physical_id=physical_id, stack_id=stack)
    with pytest.raises(HandlerError, match=f"refusing 1 destructive.*nothing was changed: delete user {gone}"):
        directory.on_event(update, None)
    assert gone in live_users(client, organization_id)
    run(directory, swapped(update, physical_id))  # the rollback has nothing to undo
    assert remaining(emulator_url, spec, organization_id) == []

    allowed = cfn_event("Update", DIRECTORY, "Directory", directory_props(organization_id, smaller, True),
                        old=directory_props(organization_id, spec), physical_id=physical_id, stack_id=stack)
    answer, _ = run(directory, allowed)
    # The user, its membership and the permission granted to it: three deletes.
    assert answer["Data"] == {"Created": "0", "Updated": "1", "Deleted": "3", "Complete": "true"}
    assert gone not in live_users(client, organization_id)
    assert remaining(emulator_url, smaller, organization_id) == []


class ShortLivedContext:
    """A Lambda context whose invocation runs out after ``calls`` looks at the clock."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 600_000 if self.calls >= 0 else 30_000


def test_directory_out_of_time_leaves_the_rest_to_is_complete(
        emulator_url: str, client: Any, directory_org: tuple[WorkMailSpec, str, str]) -> None:
    spec, organization_id, stack = directory_org
    bigger = copy.deepcopy(spec)
    primary = spec.domains[0].name
    bigger.users += [UserSpec(name=f"late{n}", display_name=f"Late {n}", email=f"late{n}@{primary}")
                     for n in range(6)]
    event = cfn_event("Update", DIRECTORY, "Directory", directory_props(organization_id, bigger),
                      old=directory_props(organization_id, spec), physical_id=f"{organization_id}/directory",
                      stack_id=stack)
    answer = fits(directory.on_event(event, ShortLivedContext(3)))
    assert answer["Data"]["Complete"] == "false"
    started = int(answer["Data"]["Created"])
    assert started < 6
    assert directory.is_complete({**event, **answer}, ShortLivedContext(0)) == {"IsComplete": False}
    done = fits(directory.is_complete({**event, **answer}, None))
    assert done["IsComplete"] and done["Data"]["Created"] == "6" and done["Data"]["Complete"] == "true"
    assert remaining(emulator_url, bigger, organization_id) == []


def test_directory_spec_from_s3_checked_by_sha256(emulator_url: str, client: Any, fakes: Fakes,
                                                  organizations: list[str]) -> None:
    spec = organization_spec(unique("hds"), users=3, groups=1, resources=1, policies=False)
    stack = new_stack_id()
    organization_id = provision(spec, emulator_url, stack)
    organizations.append(organization_id)
    body = spec.to_json().encode()
    fakes.s3.put("cdk-assets", "spec.json", body)
    location = {"Bucket": "cdk-assets", "Key": "spec.json", "Sha256": hashlib.sha256(body).hexdigest()}
    props = {"OrganizationId": organization_id, "SpecLocation": json.dumps(location), "AllowDestructive": "false"}
    wrong = {**props, "SpecLocation": json.dumps({**location, "Sha256": "0" * 64})}
    with pytest.raises(HandlerError, match="SHA-256"):
        directory.on_event(cfn_event("Create", DIRECTORY, "Directory", wrong, stack_id=stack), None)
    assert live_users(client, organization_id) == []
    answer, _ = run(directory, cfn_event("Create", DIRECTORY, "Directory", props, stack_id=stack))
    assert answer["Data"]["Complete"] == "true"
    assert live_users(client, organization_id) == sorted(u.name for u in spec.users)
    assert remaining(emulator_url, spec, organization_id) == []


def test_directory_delete_leaves_the_content_and_a_failed_create_deletes_cleanly(
        client: Any, directory_org: tuple[WorkMailSpec, str, str]) -> None:
    spec, organization_id, stack = directory_org
    for physical_id in (CREATE_FAILED, f"{organization_id}/directory"):
        answer, done = run(directory, cfn_event("Delete", DIRECTORY, "Directory",
                                                directory_props(organization_id, spec), physical_id=physical_id,
                                                stack_id=stack))
        assert answer == {"PhysicalResourceId": physical_id} and done["IsComplete"]
    assert live_users(client, organization_id) == sorted(u.name for u in spec.users)


# Structured specs with references (what the constructs write) ------------------------------------


REFERENCES = {"PasswordsA1B2C3D4": "user-password", "EwsPassword5E6F7A8B": "ews-password"}


def test_directory_reads_a_structured_spec_and_its_references(
        emulator_url: str, client: Any, control: EmulatorControl, fakes: Fakes, organizations: list[str]) -> None:
    spec = organization_spec(unique("hdr"), users=6, groups=2, resources=1)
    stack = new_stack_id()
    organization_id = provision(spec, emulator_url, stack)
    organizations.append(organization_id)
    props = structured_props(organization_id, spec, REFERENCES)
    # Nothing of the secrets' ids is in the document: only their names.
    assert "user-password" not in json.dumps(props["Spec"]) and "$ref:PasswordsA1B2C3D4" in json.dumps(props["Spec"])
    answer, done = run(provider, cfn_event("Create", DIRECTORY, "Directory", props, stack_id=stack))
    assert answer["PhysicalResourceId"] == f"{organization_id}/directory" and done["IsComplete"]
    assert remaining(emulator_url, spec, organization_id) == []
    assert sorted({c["SecretId"] for c in fakes.secrets.calls}) == ["ews-password", "user-password"]

    # An update: the old and the new properties each bring their own references (a secret
    # renamed between them is no change of the users that use it).
    changed = copy.deepcopy(spec)
    primary = spec.domains[0].name
    changed.users.append(UserSpec(name="newcomer", display_name="Newcomer", email=f"newcomer@{primary}",
                                  password=SecretRef("user-password", "v1")))
    renamed = {"Passwords9Z8Y7X6W": "user-password", "EwsPassword5E6F7A8B": "ews-password"}
    control.reset_call_counts()
    answer, _ = run(provider, cfn_event(
        "Update", DIRECTORY, "Directory", structured_props(organization_id, changed, renamed),
        old=props, physical_id=f"{organization_id}/directory", stack_id=stack))
    assert answer["Data"] == {"Created": "1", "Updated": "0", "Deleted": "0", "Complete": "true"}
    assert control.call_counts()["total"] <= 10
    assert remaining(emulator_url, changed, organization_id) == []


def test_directory_update_narrowed_to_its_change(
        emulator_url: str, control: EmulatorControl, fakes: Fakes, organizations: list[str],
        caplog: pytest.LogCaptureFixture) -> None:
    spec = organization_spec(unique("hdn"), users=8, groups=2, resources=1)
    stack = new_stack_id()
    organization_id = provision(spec, emulator_url, stack)
    organizations.append(organization_id)
    props = structured_props(organization_id, spec, REFERENCES)
    run(provider, cfn_event("Create", DIRECTORY, "Directory", props, stack_id=stack))
    changed = copy.deepcopy(spec)
    changed.users[5].display_name = "Renamed"
    new_props = structured_props(organization_id, changed, REFERENCES)
    control.reset_call_counts()
    with caplog.at_level(logging.INFO, logger="workmail_constructs"):
        answer, _ = run(provider, cfn_event("Update", DIRECTORY, "Directory", new_props, old=props,
                                            physical_id=f"{organization_id}/directory", stack_id=stack))
    assert answer["Data"] == {"Created": "0", "Updated": "1", "Deleted": "0", "Complete": "true"}
    assert "the update changes 1 of the spec's users" in caplog.text
    assert control.call_counts()["total"] <= 10
    assert remaining(emulator_url, changed, organization_id) == []
    # An entry the narrowed read can't read is named where it is in the whole document.
    bad = copy.deepcopy(new_props)
    bad["Spec"]["users"][6]["mailbox_quota_mb"] = "lots"
    with pytest.raises(HandlerError, match=r"users\[6\]\.mailbox_quota_mb"):
        directory.on_event(cfn_event("Update", DIRECTORY, "Directory", bad, old=new_props,
                                     physical_id=f"{organization_id}/directory", stack_id=stack), None)


def test_directory_properties_old_stacks_and_missing_references(org_id: str) -> None:
    spec = WorkMailSpec(OrganizationSpec(alias="x"), users=[UserSpec(
        name="ann", display_name="Ann", email="ann@x.awsapps.com", password=SecretRef("user-password"))])
    props = structured_props(org_id, spec, {"Passwords": "user-password"})
    # A placeholder with no value beside it is named, and nothing is done.
    missing = {**props, "References": {}}
    with pytest.raises(HandlerError, match=r"users\[0\]\.password\.secret_id: refers to \$ref:Passwords"):
        directory.on_event(cfn_event("Create", DIRECTORY, "Directory", missing, stack_id=new_stack_id()), None)
    # References as JSON text, and a whole spec as JSON text (as older stacks sent them), read alike.
    def load(properties: dict[str, Any]) -> WorkMailSpec:
        data, references = directory._document(properties, "ResourceProperties")
        return directory._parse(data, "ResourceProperties", references)

    loaded = load({**props, "References": json.dumps(props["References"])})
    assert loaded == load({"Spec": spec.to_json()}) == spec
    with pytest.raises(HandlerError, match="References must map names to strings"):
        load({**props, "References": {"Passwords": ["x"]}})
    with pytest.raises(HandlerError, match="has both Spec and SpecLocation"):
        load({**props, "SpecLocation": {"Bucket": "b", "Key": "k", "Sha256": "0" * 64}})


def test_directory_spec_from_s3_as_an_object_with_references(emulator_url: str, client: Any, fakes: Fakes,
                                                              organizations: list[str]) -> None:
    spec = organization_spec(unique("hdo"), users=3, groups=1, resources=1, policies=False)
    stack = new_stack_id()
    organization_id = provision(spec, emulator_url, stack)
    organizations.append(organization_id)
    document = structured_props(organization_id, spec, {"Passwords": "user-password"})["Spec"]
    body = json.dumps(document).encode()
    fakes.s3.put("cdk-assets", "spec-with-references.json", body)
    props = {
        "OrganizationId": organization_id, "AllowDestructive": "false", "References": {"Passwords": "user-password"},
        "SpecLocation": {"Bucket": "cdk-assets", "Key": "spec-with-references.json",
                         "Sha256": hashlib.sha256(body).hexdigest()},
        # For readers of a diff; the handler ignores it.
        "SpecSummary": {"users": {"Count": "3", "Digest": "0123456789abcdef"}},
    }
    answer, _ = run(provider, cfn_event("Create", DIRECTORY, "Directory", props, stack_id=stack))
    assert answer["Data"]["Complete"] == "true"
    assert live_users(client, organization_id) == sorted(u.name for u in spec.users)
    assert remaining(emulator_url, spec, organization_id) == []


# The provider's entry module -----------------------------------------------------------------------


def test_provider_routes_each_resource_type_to_its_module(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[tuple[str, str]] = []
    for module in (organization, domain_handler, directory, email_monitoring):
        for entry in ("on_event", "is_complete"):
            monkeypatch.setattr(module, entry, lambda event, context, m=module.__name__, e=entry: (
                called.append((m.rsplit(".", 1)[-1], e)) or {"IsComplete": True}))
    for resource_type in (ORGANIZATION, DOMAIN, DIRECTORY, EMAIL_MONITORING):
        event = cfn_event("Delete", resource_type, "R", {}, stack_id=new_stack_id(), physical_id=CREATE_FAILED)
        provider.on_event(event, None)
        provider.is_complete(event, None)
    assert called == [(m, e) for m in ("organization", "domain", "directory", "email_monitoring")
                      for e in ("on_event", "is_complete")]
    unknown = cfn_event("Create", "Custom::WorkMailSomethingElse", "Other", {}, stack_id=new_stack_id())
    with pytest.raises(HandlerError, match=r"this provider serves Custom::WorkMailOrganization, .*; the event's "
                                           r"ResourceType is 'Custom::WorkMailSomethingElse' .logical id 'Other'."):
        provider.on_event(unknown, None)
    with pytest.raises(HandlerError, match="must be a CloudFormation custom-resource request"):
        provider.is_complete(["not", "an", "event"], None)  # type: ignore[arg-type]


def test_provider_serves_every_type_end_to_end(emulator_url: str, client: Any, organizations: list[str]) -> None:
    """An organization, its domain and its directory through the one entry module, as one
    stack's resources reach it."""
    spec = organization_spec(unique("hdp"), users=2, groups=1, resources=0, policies=False)
    spec.domains = spec.domains[:1]
    stack = new_stack_id()
    created, _ = run(provider, cfn_event("Create", ORGANIZATION, "Organization",
                                         {"Spec": as_cloudformation_sends(to_data(spec.organization)),
                                          "AllowReplacement": "false"}, stack_id=stack))
    organization_id = str(created["PhysicalResourceId"])
    organizations.append(organization_id)
    domain_event = cfn_event("Create", DOMAIN, "Domain", {
        "OrganizationId": organization_id, "Spec": as_cloudformation_sends(to_data(spec.domains[0]))},
        stack_id=stack)
    answer = provider.on_event(domain_event, None)
    EmulatorControl(emulator_url).verify_domain(organization_id, spec.domains[0].name)
    assert provider.is_complete({**domain_event, **answer}, None)["IsComplete"]
    run(provider, cfn_event("Create", DIRECTORY, "Directory",
                            structured_props(organization_id, spec, {"Passwords": "user-password"}), stack_id=stack))
    assert live_users(client, organization_id) == sorted(u.name for u in spec.users)


# Email monitoring of an organization managed elsewhere -----------------------------------------------


def test_email_monitoring_is_put_updated_and_deleted(client: Any, org_id: str) -> None:
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/workmail/emailevents/elsewhere:*"
    role = "arn:aws:iam::123456789012:role/workmail-events"
    props = {"OrganizationId": org_id, "LogGroupArn": group, "RoleArn": role}
    stack = new_stack_id()
    answer, done = run(provider, cfn_event("Create", EMAIL_MONITORING, "Events", props, stack_id=stack))
    physical_id = f"{org_id}/email-monitoring"
    assert answer["PhysicalResourceId"] == physical_id and done["IsComplete"]
    assert client.describe_email_monitoring_configuration(OrganizationId=org_id)["LogGroupArn"] == group
    other = group.replace("elsewhere", "moved")
    run(provider, cfn_event("Update", EMAIL_MONITORING, "Events", {**props, "LogGroupArn": other}, old=props,
                            physical_id=physical_id, stack_id=stack))
    assert client.describe_email_monitoring_configuration(OrganizationId=org_id)["LogGroupArn"] == other
    for physical in (CREATE_FAILED, physical_id, physical_id):  # a second Delete finds nothing left: fine
        answer, _ = run(provider, cfn_event("Delete", EMAIL_MONITORING, "Events", props, physical_id=physical,
                                            stack_id=stack))
        assert answer == {"PhysicalResourceId": physical}
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        client.describe_email_monitoring_configuration(OrganizationId=org_id)
    wrong = {**props, "LogGroupArn": group.replace("us-east-1", "eu-west-1")}
    with pytest.raises(HandlerError, match=r"turning on email event logging of .*InvalidParameterException"):
        email_monitoring.on_event(cfn_event("Create", EMAIL_MONITORING, "Events", wrong, stack_id=stack), None)


# Shared pieces -------------------------------------------------------------------------------


def test_response_data_is_cut_to_fit(caplog: pytest.LogCaptureFixture) -> None:
    data = {"Small": "x", "Big": "y" * 5000, "Medium": "z" * 100}
    fitted = common.fit_data(data)
    assert fitted == {"Small": "x", "Medium": "z" * 100}
    assert "left out Big" in caplog.text
    assert common.response("id", data)["Data"] == fitted


def test_secret_resolver_reads_json_keys_and_never_shows_values(fakes: Fakes) -> None:
    from workmail_constructs.core.spec import SecretRef

    fakes.secrets.values["json-secret"] = json.dumps({"password": "S3cret-Value!", "user": "svc"})
    resolve = common.SecretResolver()
    assert resolve(SecretRef("json-secret", json_key="password")) == "S3cret-Value!"
    uuid_version = str(uuid.uuid4())
    resolve(SecretRef("json-secret", version_id=uuid_version, json_key="user"))
    assert fakes.secrets.calls[-1] == {"SecretId": "json-secret", "VersionId": uuid_version}
    with pytest.raises(common.SecretUnavailable, match="no key 'missing'") as error:
        resolve(SecretRef("json-secret", json_key="missing"))
    assert "S3cret" not in str(error.value)
    with pytest.raises(common.SecretUnavailable, match="ResourceNotFoundException"):
        resolve(SecretRef("absent"))


def test_properties_are_checked_with_clear_messages(org_id: str) -> None:
    event = cfn_event("Create", DIRECTORY, "Directory", {"OrganizationId": org_id, "Spec": "{", "AllowDestructive":
                      "maybe"}, stack_id=new_stack_id())
    with pytest.raises(HandlerError, match="Spec is not valid JSON"):
        directory.on_event(event, None)
    event["ResourceProperties"]["Spec"] = WorkMailSpec(OrganizationSpec(alias="x")).to_json()
    event["ResourceProperties"]["OrganizationId"] = "acme"
    with pytest.raises(HandlerError, match="OrganizationId must be an organization id"):
        directory.on_event(event, None)
    bad_domain = cfn_event("Create", DOMAIN, "Domain", {"OrganizationId": org_id, "Spec": '{"name": 5}'},
                           stack_id=new_stack_id())
    with pytest.raises(HandlerError, match="name: must be a string"):
        domain_handler.on_event(bad_domain, None)


@pytest.mark.parametrize("module", ["provider", "organization", "domain", "directory", "email_monitoring"])
def test_handler_modules_import_without_boto3(module: str) -> None:
    """boto3 (and botocore's clients) load on first use: a cold start pays for them only when it
    calls out. (How long an import takes is measured by bench/synth_scale.py.)"""
    code = (
        f"import sys; import workmail_constructs.handlers.{module}; "
        "print(sorted(m for m in ('boto3', 'botocore.client', 'botocore.session') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "[]", f"imported at module level: {out}"


def test_clients_follow_the_endpoint_variables(monkeypatch: pytest.MonkeyPatch, emulator_url: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9/secrets")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9/s3")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert common._new_secrets_client().meta.endpoint_url == "http://127.0.0.1:9/secrets"
    assert common._new_s3_client().meta.region_name == "eu-west-1"
    assert common._new_s3_client() is common._new_s3_client(), "one client per endpoint and region"
    assert common.workmail_api().client.meta.endpoint_url == emulator_url
