"""A short scripted walk through WorkMail's API against the emulator, with plain boto3."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .control import EmulatorControl
from .server import running_emulator

Echo = Callable[[str], None]


@contextmanager
def _endpoint(endpoint: str | None) -> Iterator[str]:
    if endpoint:
        yield endpoint
    else:
        with running_emulator() as url:
            yield url


def run_demo(endpoint: str | None, echo: Echo) -> None:
    with _endpoint(endpoint) as url:
        echo(f"WorkMail emulator at {url}")
        client = boto3.client(
            "workmail", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="demo", aws_secret_access_key="demo",
        )
        _walkthrough(client, EmulatorControl(url), echo)


def _expect_error(echo: Echo, what: str, call: Callable[[], Any]) -> None:
    try:
        call()
    except ClientError as exc:
        error = exc.response["Error"]
        echo(f"  {what}: {error['Code']}: {error['Message']}")
    else:
        raise RuntimeError(f"the emulator accepted {what}")


def _walkthrough(client: Any, control: EmulatorControl, echo: Echo) -> None:
    alias = f"demo-{uuid.uuid4().hex[:8]}"
    org_id = client.create_organization(Alias=alias)["OrganizationId"]
    org = client.describe_organization(OrganizationId=org_id)
    echo(f"1. Created organization {org_id} ({org['State']}), default domain {org['DefaultMailDomain']}")

    domain = f"{alias}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=domain)
    details = client.get_mail_domain(OrganizationId=org_id, DomainName=domain)
    echo(f"2. Registered {domain}: ownership {details['OwnershipVerificationStatus']}; publish these records:")
    for record in details["Records"]:
        echo(f"     {record['Type']:<5} {record['Hostname']:<55} {record['Value']}")
    control.verify_domain(org_id, domain)
    client.update_default_mail_domain(OrganizationId=org_id, DomainName=domain)
    echo(f"   DNS published (emulator command verify-domain): {domain} is verified and the default domain")

    group_id = client.create_group(OrganizationId=org_id, Name="engineering")["GroupId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=group_id, Email=f"engineering@{domain}")
    for n in range(1, 6):
        user_id = client.create_user(
            OrganizationId=org_id, Name=f"user{n}", DisplayName=f"User {n}", Password="Corr3ct-Horse!"
        )["UserId"]
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=f"user{n}@{domain}")
        client.create_alias(OrganizationId=org_id, EntityId=user_id, Alias=f"u{n}@{domain}")
        client.associate_member_to_group(OrganizationId=org_id, GroupId=group_id, MemberId=user_id)
    echo("3. Created and enabled 5 users with an alias each, all members of group 'engineering'")

    pages = client.get_paginator("list_users").paginate(OrganizationId=org_id, PaginationConfig={"PageSize": 2})
    for number, page in enumerate(pages, start=1):
        echo(f"   ListUsers page {number}: {', '.join(u['Name'] for u in page['Users'])}")

    echo("4. The service's rules, enforced:")
    _expect_error(echo, "a second user named user1", lambda: client.create_user(
        OrganizationId=org_id, Name="user1", DisplayName="Again", Password="Corr3ct-Horse!"))
    _expect_error(echo, "a weak password", lambda: client.create_user(
        OrganizationId=org_id, Name="weak", DisplayName="Weak", Password="password"))
    _expect_error(echo, "deleting an enabled user", lambda: client.delete_user(
        OrganizationId=org_id, UserId="user1"))
    _expect_error(echo, "an address already in use", lambda: client.create_alias(
        OrganizationId=org_id, EntityId=group_id, Alias=f"user2@{domain}"))
    _expect_error(echo, "an alias in an unregistered domain", lambda: client.create_alias(
        OrganizationId=org_id, EntityId=group_id, Alias="team@unregistered.example"))
    _expect_error(echo, "a name longer than the model allows", lambda: client.create_resource(
        OrganizationId=org_id, Name="a-very-long-room-name-indeed", Type="ROOM"))

    counts = control.call_counts()
    echo(f"5. The emulator answered {counts['total']} calls:")
    for operation, count in sorted(counts["calls"].items()):
        echo(f"     {operation:<28} {count}")
