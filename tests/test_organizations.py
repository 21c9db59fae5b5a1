"""Contract tests: organizations and their lifecycle."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_code, unique
from workmail_constructs.local import EmulatorControl


def test_create_describe_active_with_test_domain(client: Any) -> None:
    alias = unique("acme")
    org_id = client.create_organization(Alias=alias)["OrganizationId"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", org_id)
    org = client.describe_organization(OrganizationId=org_id)
    assert org["State"] == "Active"
    assert org["Alias"] == alias
    assert org["ARN"] == f"arn:aws:workmail:us-east-1:123456789012:organization/{org_id}"
    assert org["DefaultMailDomain"] == f"{alias}.awsapps.com"
    assert re.fullmatch(r"d-[0-9a-f]{10}", org["DirectoryId"])
    test_domain = client.get_mail_domain(OrganizationId=org_id, DomainName=f"{alias}.awsapps.com")
    assert test_domain["IsTestDomain"] and test_domain["IsDefault"]
    assert test_domain["OwnershipVerificationStatus"] == "VERIFIED"


def test_alias_must_be_unique_and_match_pattern(client: Any) -> None:
    alias = unique("dup")
    client.create_organization(Alias=alias)
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=alias.upper())
    assert error_code(exc) == "NameAvailabilityException"
    for bad in ("d-startswithd", "has_underscore", "trailing-", "a" * 63):
        with pytest.raises(ClientError) as exc:
            client.create_organization(Alias=bad)
        assert error_code(exc) == "ValidationException"
        assert "'alias'" in exc.value.response["Error"]["Message"]


def test_states_progress_with_configured_timing(client: Any, control: EmulatorControl) -> None:
    control.set_timing(org_requested=60, org_creating=60)
    try:
        org_id = client.create_organization(Alias=unique("slow"))["OrganizationId"]
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Requested"
        with pytest.raises(ClientError) as exc:
            client.list_users(OrganizationId=org_id)
        assert error_code(exc) == "OrganizationStateException"
        control.advance_clock(61)
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Creating"
        control.advance_clock(61)
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Active"
        client.list_users(OrganizationId=org_id)
    finally:
        control.set_timing(org_requested=0, org_creating=0)


def test_unknown_organization(client: Any) -> None:
    missing = "m-" + "0" * 32
    for call in (
        lambda: client.describe_organization(OrganizationId=missing),
        lambda: client.list_users(OrganizationId=missing),
        lambda: client.delete_organization(OrganizationId=missing, DeleteDirectory=True),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "OrganizationNotFoundException"
    with pytest.raises(ClientError) as exc:
        # The Guide's example id has letters past f: the service rejects its pattern.
        client.describe_organization(OrganizationId="m-a123b4c5de678fg9h0ij1k2lm234no56")
    assert error_code(exc) == "ValidationException"


def test_organization_in_another_region_is_not_visible(client: Any, emulator_url: str) -> None:
    from tests.conftest import make_client

    org_id = client.create_organization(Alias=unique("regional"))["OrganizationId"]
    other = make_client(emulator_url, region="eu-west-1")
    with pytest.raises(ClientError) as exc:
        other.describe_organization(OrganizationId=org_id)
    assert error_code(exc) == "OrganizationNotFoundException"


def test_client_token_makes_create_idempotent(client: Any) -> None:
    token = unique("token")
    alias = unique("idem")
    first = client.create_organization(Alias=alias, ClientToken=token)["OrganizationId"]
    again = client.create_organization(Alias=alias, ClientToken=token)["OrganizationId"]
    assert first == again
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=unique("other"), ClientToken=token)
    assert error_code(exc) == "InvalidParameterException"


def test_create_with_domains_and_hosted_zone(client: Any) -> None:
    published = f"{unique('z')}.example.com"
    pending = f"{unique('p')}.example.com"
    org_id = client.create_organization(
        Alias=unique("withdomains"),
        Domains=[{"DomainName": published, "HostedZoneId": "Z123456789"}, {"DomainName": pending}],
    )["OrganizationId"]
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=published)["OwnershipVerificationStatus"] == (
        "VERIFIED"
    )
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=pending)["OwnershipVerificationStatus"] == (
        "PENDING"
    )


def test_existing_directory_rules(client: Any, control: EmulatorControl) -> None:
    alias = unique("corp")
    directory = control.command("create-directory", Alias=alias, Type="ADConnector")["DirectoryId"]
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=unique("mismatch"), DirectoryId=directory)
    assert error_code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=unique("nodir"), DirectoryId="d-0000000000")
    assert error_code(exc) == "DirectoryUnavailableException"
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=unique("interop"), EnableInteroperability=True)
    assert error_code(exc) == "InvalidParameterException"
    org_id = client.create_organization(Alias=alias, DirectoryId=directory, EnableInteroperability=True)[
        "OrganizationId"
    ]
    org = client.describe_organization(OrganizationId=org_id)
    assert org["DirectoryId"] == directory and org["DirectoryType"] == "ADConnector"
    assert org["InteroperabilityEnabled"] is True
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=alias, DirectoryId=directory)
    assert error_code(exc) in ("DirectoryInUseException", "NameAvailabilityException")
    # An AD Connector directory is read-only for WorkMail's write operations.
    with pytest.raises(ClientError) as exc:
        client.create_user(OrganizationId=org_id, Name="x", DisplayName="X")
    assert error_code(exc) == "UnsupportedOperationException"


def _enabled_user(client: Any, org_id: str) -> None:
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    user = client.create_user(OrganizationId=org_id, Name="u1", DisplayName="U", Password="Passw0rd!x")["UserId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=user, Email=f"u1@{alias}.awsapps.com")


def test_delete_follows_force_and_directory_rules(client: Any, control: EmulatorControl) -> None:
    org_id = client.create_organization(Alias=unique("del"))["OrganizationId"]
    directory = client.describe_organization(OrganizationId=org_id)["DirectoryId"]
    _enabled_user(client, org_id)
    with pytest.raises(ClientError) as exc:
        client.delete_organization(OrganizationId=org_id, DeleteDirectory=False)
    assert error_code(exc) == "InvalidParameterException"
    control.set_timing(org_deleting=30)
    try:
        result = client.delete_organization(OrganizationId=org_id, DeleteDirectory=False, ForceDelete=True)
        assert result["State"] == "Deleting"
        assert client.describe_organization(OrganizationId=org_id)["State"] == "Deleting"
        with pytest.raises(ClientError) as exc:
            client.list_users(OrganizationId=org_id)
        assert error_code(exc) == "OrganizationStateException"
        with pytest.raises(ClientError) as exc:
            client.delete_organization(OrganizationId=org_id, DeleteDirectory=False)
        assert error_code(exc) == "OrganizationStateException"
        control.advance_clock(31)
    finally:
        control.set_timing(org_deleting=0)
    assert client.describe_organization(OrganizationId=org_id)["State"] == "Deleted"
    with pytest.raises(ClientError) as exc:
        client.list_users(OrganizationId=org_id)
    assert error_code(exc) == "OrganizationNotFoundException"
    # The directory was kept (DeleteDirectory=False), so a new organization can use it.
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    reused = client.create_organization(Alias=alias, DirectoryId=directory)["OrganizationId"]
    assert client.describe_organization(OrganizationId=reused)["DirectoryId"] == directory


def test_delete_directory_removes_it(client: Any) -> None:
    alias = unique("deldir")
    org_id = client.create_organization(Alias=alias)["OrganizationId"]
    directory = client.describe_organization(OrganizationId=org_id)["DirectoryId"]
    client.delete_organization(OrganizationId=org_id, DeleteDirectory=True)
    with pytest.raises(ClientError) as exc:
        client.create_organization(Alias=alias, DirectoryId=directory)
    assert error_code(exc) == "DirectoryUnavailableException"
    # The alias is free again once the organization is deleted.
    client.create_organization(Alias=alias)


def test_delete_requires_delete_directory(client: Any, org_id: str) -> None:
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        client.delete_organization(OrganizationId=org_id)


def test_list_organizations_paginates(client: Any) -> None:
    created = {client.create_organization(Alias=unique("page"))["OrganizationId"] for _ in range(5)}
    seen: list[str] = []
    for page in client.get_paginator("list_organizations").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["OrganizationSummaries"]) <= 2
        seen += [o["OrganizationId"] for o in page["OrganizationSummaries"]]
    assert created <= set(seen)
    assert len(seen) == len(set(seen))
    with pytest.raises(ClientError) as exc:
        client.list_organizations(MaxResults=101)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.list_organizations(NextToken="not-a-token")
    assert error_code(exc) == "InvalidParameterException"
