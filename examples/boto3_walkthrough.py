"""Drive a running WorkMail emulator with plain boto3: an organization, a verified domain,
100 enabled users with aliases in groups, paginated listing, and the service's errors.

Start an emulator, then run this against it:

    .venv/bin/workmail-cdk emulator serve --port 8089 &
    .venv/bin/python examples/boto3_walkthrough.py --endpoint http://127.0.0.1:8089

Only the verify-domain step uses the emulator's control API (it stands in for DNS
records appearing); everything else is the WorkMail API exactly as in AWS.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from workmail_constructs.local import EmulatorControl

USERS = 100
GROUPS = 5


def expect(code: str, call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as exc:
        got = exc.response["Error"]["Code"]
        if got != code:
            raise AssertionError(f"expected {code}, got {got}: {exc}") from None
        return str(exc.response["Error"]["Message"])
    raise AssertionError(f"expected {code}, but the call succeeded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://127.0.0.1:8089")
    args = parser.parse_args()
    wm = boto3.client("workmail", endpoint_url=args.endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    alias = f"walk-{uuid.uuid4().hex[:8]}"
    org = wm.create_organization(Alias=alias)["OrganizationId"]
    assert wm.describe_organization(OrganizationId=org)["State"] == "Active"

    domain = f"{alias}.example.com"
    wm.register_mail_domain(OrganizationId=org, DomainName=domain)
    assert wm.get_mail_domain(OrganizationId=org, DomainName=domain)["OwnershipVerificationStatus"] == "PENDING"
    expect("MailDomainStateException", lambda: wm.update_default_mail_domain(OrganizationId=org, DomainName=domain))
    EmulatorControl(args.endpoint).verify_domain(org, domain)
    wm.update_default_mail_domain(OrganizationId=org, DomainName=domain)

    groups = []
    for g in range(GROUPS):
        group_id = wm.create_group(OrganizationId=org, Name=f"group{g}")["GroupId"]
        wm.register_to_work_mail(OrganizationId=org, EntityId=group_id, Email=f"group{g}@{domain}")
        groups.append(group_id)
    for n in range(USERS):
        user_id = wm.create_user(OrganizationId=org, Name=f"user{n:03d}", DisplayName=f"User {n}",
                                 Password="Corr3ct-Horse!")["UserId"]
        wm.register_to_work_mail(OrganizationId=org, EntityId=user_id, Email=f"user{n:03d}@{domain}")
        wm.create_alias(OrganizationId=org, EntityId=user_id, Alias=f"u{n:03d}@{domain}")
        wm.associate_member_to_group(OrganizationId=org, GroupId=groups[n % GROUPS], MemberId=user_id)

    names = []
    pages = 0
    for page in wm.get_paginator("list_users").paginate(OrganizationId=org, PaginationConfig={"PageSize": 25}):
        pages += 1
        names += [u["Name"] for u in page["Users"] if u["State"] == "ENABLED"]
    assert len(names) == USERS and pages == 4, (len(names), pages)
    members = wm.list_group_members(OrganizationId=org, GroupId=groups[0])["Members"]
    assert len(members) == USERS // GROUPS

    first = wm.list_users(OrganizationId=org, Filters={"UsernamePrefix": "user00"})["Users"][0]["Id"]
    errors: list[tuple[str, Callable[[], Any]]] = [
        ("NameAvailabilityException",
         lambda: wm.create_user(OrganizationId=org, Name="user000", DisplayName="Dup")),
        ("InvalidPasswordException",
         lambda: wm.create_user(OrganizationId=org, Name="weak", DisplayName="W", Password="password")),
        ("EmailAddressInUseException",
         lambda: wm.create_alias(OrganizationId=org, EntityId=groups[0], Alias=f"user001@{domain}")),
        ("MailDomainNotFoundException",
         lambda: wm.create_alias(OrganizationId=org, EntityId=first, Alias="x@not-registered.example.com")),
        ("EntityStateException", lambda: wm.delete_user(OrganizationId=org, UserId=first)),
        ("MailDomainInUseException", lambda: wm.deregister_mail_domain(OrganizationId=org, DomainName=domain)),
        ("OrganizationNotFoundException", lambda: wm.list_users(OrganizationId="m-" + "0" * 32)),
        ("NameAvailabilityException", lambda: wm.create_organization(Alias=alias)),
        ("ValidationException", lambda: wm.create_resource(OrganizationId=org, Name="x" * 21, Type="ROOM")),
        ("InvalidParameterException",
         lambda: wm.update_mailbox_quota(OrganizationId=org, UserId=first, MailboxQuota=51201)),
    ]
    for code, call in errors:
        print(f"{code:<32} {expect(code, call)}")
    for n in range(100 - 1):
        wm.create_alias(OrganizationId=org, EntityId=first, Alias=f"extra{n}@{domain}")
    print(f"{'LimitExceededException':<32} " + expect("LimitExceededException", lambda: wm.create_alias(
        OrganizationId=org, EntityId=first, Alias=f"one-too-many@{domain}")))
    print(f"OK: organization {org}, {USERS} users in {GROUPS} groups, listed in {pages} pages")


if __name__ == "__main__":
    main()
