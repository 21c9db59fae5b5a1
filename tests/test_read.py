"""Reading actual state: what read_full/read_scoped return, what they cost, retries and concurrency.

Organizations are built through the plain boto3 ``client`` fixture, then read back through
``WorkMailApi``; every expected value below is what was set, in the spec's types.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.conftest import REGION, unique
from workmail_constructs.core import api as api_module
from workmail_constructs.core.api import WorkMailApi, map_concurrent, page_size, request_page_size
from workmail_constructs.core.read import ReadScope, read_full, read_organization, read_scoped
from workmail_constructs.core.read_cost import full_read_calls
from workmail_constructs.core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    EmailMonitoringSpec,
    EwsProviderSpec,
    FolderConfigurationSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    ImpersonationRuleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    ResourceSpec,
    RetentionPolicySpec,
    SecretRef,
    UserSpec,
)
from workmail_constructs.core.state import SECTIONS, ActualState
from workmail_constructs.local import EmulatorControl

PASSWORD = "Corr3ct-Horse!"
ACCOUNT = "123456789012"


def make_api(url: str, **options: Any) -> WorkMailApi:
    return WorkMailApi.create(
        endpoint_url=url, region=REGION, aws_access_key_id="AKIDEMULATOR", aws_secret_access_key="emulator-secret",
        **options,
    )


def _user(client: Any, org_id: str, name: str, email: str | None = None, **extra: Any) -> str:
    user_id = str(client.create_user(OrganizationId=org_id, Name=name, DisplayName=name.title(),
                                     Password=PASSWORD, **extra)["UserId"])
    if email:
        client.register_to_work_mail(OrganizationId=org_id, EntityId=user_id, Email=email)
    return user_id


def _calls(control: EmulatorControl) -> dict[str, int]:
    return {op: n for op, n in control.call_counts()["calls"].items() if n}


# A populated organization ----------------------------------------------------------------


@pytest.fixture
def populated(client: Any, control: EmulatorControl, org_id: str, domain: str) -> dict[str, Any]:
    """An organization with every kind of object the reader reads; returns the ids it made."""
    ids: dict[str, Any] = {}
    ids["alice"] = _user(client, org_id, "alice", f"alice@{domain}", FirstName="Alice", LastName="Liddell",
                         HiddenFromGlobalAddressList=True)
    client.update_user(OrganizationId=org_id, UserId=ids["alice"], Initials="AL", Telephone="+1 555 0100",
                       Street="1 Main St", JobTitle="Engineer", City="Springfield", Company="Example",
                       ZipCode="12345", Department="R&D", Country="US", Office="HQ-1")
    for alias in (f"al@{domain}", f"Alice.Liddell@{domain}"):
        client.create_alias(OrganizationId=org_id, EntityId=ids["alice"], Alias=alias)
    client.update_mailbox_quota(OrganizationId=org_id, UserId=ids["alice"], MailboxQuota=2048)
    ids["bob"] = _user(client, org_id, "bob", f"bob@{domain}")
    ids["carol"] = _user(client, org_id, "carol")
    client.update_user(OrganizationId=org_id, UserId=ids["carol"], JobTitle="Contractor")
    ids["erin"] = _user(client, org_id, "erin", Role="REMOTE_USER")
    # A deleted user is left out of the state.
    gone = _user(client, org_id, "dave")
    client.delete_user(OrganizationId=org_id, UserId=gone)

    ids["leads"] = str(client.create_group(OrganizationId=org_id, Name="leads")["GroupId"])
    client.associate_member_to_group(OrganizationId=org_id, GroupId=ids["leads"], MemberId=ids["bob"])
    ids["sales"] = str(client.create_group(OrganizationId=org_id, Name="Sales Team",
                                           HiddenFromGlobalAddressList=True)["GroupId"])
    client.register_to_work_mail(OrganizationId=org_id, EntityId=ids["sales"], Email=f"sales@{domain}")
    client.create_alias(OrganizationId=org_id, EntityId=ids["sales"], Alias=f"deals@{domain}")
    client.associate_member_to_group(OrganizationId=org_id, GroupId=ids["sales"], MemberId=ids["alice"])
    client.associate_member_to_group(OrganizationId=org_id, GroupId=ids["sales"], MemberId=ids["leads"])

    ids["room"] = str(client.create_resource(OrganizationId=org_id, Name="room1", Type="ROOM",
                                             Description="Big room")["ResourceId"])
    client.register_to_work_mail(OrganizationId=org_id, EntityId=ids["room"], Email=f"room1@{domain}")
    client.create_alias(OrganizationId=org_id, EntityId=ids["room"], Alias=f"boardroom@{domain}")
    client.associate_delegate_to_resource(OrganizationId=org_id, ResourceId=ids["room"], EntityId=ids["alice"])
    client.associate_delegate_to_resource(OrganizationId=org_id, ResourceId=ids["room"], EntityId=ids["sales"])
    client.update_resource(OrganizationId=org_id, ResourceId=ids["room"], BookingOptions={
        "AutoAcceptRequests": False, "AutoDeclineRecurringRequests": True, "AutoDeclineConflictingRequests": False,
    })
    ids["projector"] = str(client.create_resource(OrganizationId=org_id, Name="projector", Type="EQUIPMENT",
                                                  HiddenFromGlobalAddressList=True)["ResourceId"])

    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=ids["alice"], GranteeId=ids["bob"],
                                   PermissionValues=["SEND_AS", "FULL_ACCESS"])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=ids["room"], GranteeId=ids["sales"],
                                   PermissionValues=["SEND_ON_BEHALF"])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=ids["sales"], GranteeId=ids["alice"],
                                   PermissionValues=["SEND_AS"])

    ids["role"] = str(client.create_impersonation_role(
        OrganizationId=org_id, Name="Auditor", Type="READ_ONLY", Description="Reads mail",
        Rules=[
            {"ImpersonationRuleId": "r1", "Name": "everyone-but-bob", "Effect": "ALLOW",
             "TargetUsers": [ids["alice"]], "NotTargetUsers": [ids["bob"]]},
            {"ImpersonationRuleId": "r2", "Effect": "DENY", "Description": "not carol", "TargetUsers": [ids["carol"]]},
        ],
    )["ImpersonationRoleId"])
    client.put_access_control_rule(
        OrganizationId=org_id, Name="BlockImap", Effect="DENY", Description="No IMAP from outside",
        Actions=["IMAP"], NotIpRanges=["10.0.0.0/8"], UserIds=[ids["alice"], ids["bob"]],
        NotImpersonationRoleIds=[ids["role"]],
    )
    ids["mobile_rule"] = str(client.create_mobile_device_access_rule(
        OrganizationId=org_id, Name="NoOldAndroid", Effect="DENY", Description="Old Android",
        DeviceTypes=["android"], NotDeviceModels=["Pixel"], DeviceOperatingSystems=["Android 9"],
        NotDeviceUserAgents=["Good"],
    )["MobileDeviceAccessRuleId"])
    client.put_mobile_device_access_override(OrganizationId=org_id, UserId=ids["alice"], DeviceId="DEV123",
                                             Effect="ALLOW", Description="her phone")
    client.put_retention_policy(OrganizationId=org_id, Name="keep", Description="Keep a year", FolderConfigurations=[
        {"Name": "DELETED_ITEMS", "Action": "PERMANENTLY_DELETE", "Period": 30},
        {"Name": "INBOX", "Action": "NONE"},
    ])
    ids["retention"] = client.get_default_retention_policy(OrganizationId=org_id)["Id"]
    client.put_inbound_dmarc_settings(OrganizationId=org_id, Enforced=False)
    client.put_email_monitoring_configuration(
        OrganizationId=org_id, LogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:workmail:*",
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/monitoring",
    )
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName="partner.example.org",
        EwsProvider={"EwsEndpoint": "https://ews.partner.example.org/EWS/Exchange.asmx",
                     "EwsUsername": "svc", "EwsPassword": "secret-Passw0rd"},
    )
    client.create_availability_configuration(
        OrganizationId=org_id, DomainName="lambda.example.org",
        LambdaProvider={"LambdaArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cap"},
    )
    arn = client.describe_organization(OrganizationId=org_id)["ARN"]
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "mail"}, {"Key": "env", "Value": "test"}])
    pending = f"{unique('pend')}.example.com"
    client.register_mail_domain(OrganizationId=org_id, DomainName=pending)
    ids["pending_domain"] = pending
    return ids


def test_read_full_returns_what_was_set(
    emulator_url: str, client: Any, org_id: str, domain: str, populated: dict[str, Any]
) -> None:
    ids = populated
    state = read_full(make_api(emulator_url), org_id)
    assert state.read_sections == set(SECTIONS)

    org = state.organization
    assert org is not None and org.organization_id == org_id and org.state == "Active"
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    assert org.spec == OrganizationSpec(alias=alias, tags={"team": "mail", "env": "test"}, organization_id=org_id)
    assert org.default_mail_domain == f"{alias}.awsapps.com" and org.directory_type == "WorkMailDirectory"

    assert set(state.domains) == {domain, ids["pending_domain"], f"{alias}.awsapps.com"}
    assert state.domains[domain].ownership_verification_status == "VERIFIED"
    assert state.domains[ids["pending_domain"]].ownership_verification_status == "PENDING"
    assert state.domains[ids["pending_domain"]].dkim_verification_status == "PENDING"
    test_domain = state.domains[f"{alias}.awsapps.com"]
    assert test_domain.is_test_domain and test_domain.spec.default and not state.domains[domain].spec.default
    assert {r["Type"] for r in state.domains[domain].records} == {"TXT", "MX", "CNAME"}

    assert set(state.users) == {"alice", "bob", "carol", "erin"}  # dave is DELETED
    alice = state.users["alice"]
    assert alice.id == ids["alice"] and alice.state == "ENABLED" and alice.role == "USER"
    assert alice.spec == UserSpec(
        name="alice", display_name="Alice", email=f"alice@{domain}", first_name="Alice", last_name="Liddell",
        initials="AL", telephone="+1 555 0100", street="1 Main St", job_title="Engineer", city="Springfield",
        company="Example", zip_code="12345", department="R&D", country="US", office="HQ-1",
        hidden_from_global_address_list=True,
        aliases=sorted([f"al@{domain}", f"Alice.Liddell@{domain}"], key=str.lower), mailbox_quota_mb=2048,
    )
    assert state.users["bob"].spec == UserSpec(name="bob", display_name="Bob", email=f"bob@{domain}",
                                               mailbox_quota_mb=51200)
    # Disabled users have no mailbox: no quota, no aliases.
    assert state.users["carol"].spec == UserSpec(name="carol", display_name="Carol", enabled=False,
                                                 job_title="Contractor")
    assert state.users["carol"].state == "DISABLED"
    assert state.users["erin"].spec == UserSpec(name="erin", display_name="Erin", enabled=False, role="REMOTE_USER")

    assert set(state.groups) == {"leads", "sales team"}
    assert state.groups["sales team"].spec == GroupSpec(
        name="Sales Team", email=f"sales@{domain}", hidden_from_global_address_list=True,
        members=["alice", "leads"], aliases=[f"deals@{domain}"],
    )
    assert state.groups["leads"].spec == GroupSpec(name="leads", enabled=False, members=["bob"])
    assert state.groups["leads"].id == ids["leads"] and state.groups["leads"].state == "DISABLED"

    assert state.resources["room1"].spec == ResourceSpec(
        name="room1", type="ROOM", email=f"room1@{domain}", description="Big room",
        booking_options=BookingOptionsSpec(auto_accept_requests=False, auto_decline_recurring_requests=True,
                                           auto_decline_conflicting_requests=False),
        delegates=["alice", "Sales Team"], aliases=[f"boardroom@{domain}"],
    )
    assert state.resources["projector"].spec == ResourceSpec(
        name="projector", type="EQUIPMENT", enabled=False, hidden_from_global_address_list=True,
    )

    assert state.mailbox_permissions == {
        ("alice", "bob"): MailboxPermissionSpec("alice", "bob", ["FULL_ACCESS", "SEND_AS"]),
        ("room1", "sales team"): MailboxPermissionSpec("room1", "Sales Team", ["SEND_ON_BEHALF"]),
        ("sales team", "alice"): MailboxPermissionSpec("Sales Team", "alice", ["SEND_AS"]),
    }

    assert state.access_control_rules["blockimap"] == AccessControlRuleSpec(
        name="BlockImap", effect="DENY", description="No IMAP from outside", actions=["IMAP"],
        not_ip_ranges=["10.0.0.0/8"], users=["alice", "bob"], not_impersonation_roles=["Auditor"],
    )
    # The rules every organization starts with are read like any other.
    assert set(state.access_control_rules) == {"blockimap", "defaultallowall"}
    assert set(state.mobile_device_access_rules) == {"nooldandroid", "defaultallowall"}
    mobile = state.mobile_device_access_rules["nooldandroid"]
    assert mobile.id == ids["mobile_rule"] and mobile.spec == MobileDeviceAccessRuleSpec(
        name="NoOldAndroid", effect="DENY", description="Old Android", device_types=["android"],
        not_device_models=["Pixel"], device_operating_systems=["Android 9"], not_device_user_agents=["Good"],
    )
    assert state.mobile_device_access_overrides == {
        ("alice", "dev123"): MobileDeviceAccessOverrideSpec(user="alice", device_id="DEV123", effect="ALLOW",
                                                            description="her phone"),
    }
    role = state.impersonation_roles["auditor"]
    assert role.id == ids["role"] and role.spec == ImpersonationRoleSpec(
        name="Auditor", type="READ_ONLY", description="Reads mail", rules=[
            ImpersonationRuleSpec(rule_id="r1", effect="ALLOW", name="everyone-but-bob", target_users=["alice"],
                                  not_target_users=["bob"]),
            ImpersonationRuleSpec(rule_id="r2", effect="DENY", description="not carol", target_users=["carol"]),
        ],
    )
    assert state.retention_policy is not None and state.retention_policy.id == ids["retention"]
    assert state.retention_policy.spec == RetentionPolicySpec(name="keep", description="Keep a year", folders=[
        FolderConfigurationSpec(name="DELETED_ITEMS", action="PERMANENTLY_DELETE", period_days=30),
        FolderConfigurationSpec(name="INBOX", action="NONE"),
    ])
    assert state.inbound_dmarc_enforced is False
    assert state.email_monitoring == EmailMonitoringSpec(
        log_group_arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:workmail:*",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/monitoring",
    )
    assert state.availability_configurations == {
        # The EWS password can't be read back: the reference is empty.
        "partner.example.org": AvailabilityConfigurationSpec(
            domain_name="partner.example.org",
            ews=EwsProviderSpec(endpoint="https://ews.partner.example.org/EWS/Exchange.asmx", username="svc",
                                password=SecretRef(secret_id="")),
        ),
        "lambda.example.org": AvailabilityConfigurationSpec(
            domain_name="lambda.example.org", lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:cap",
        ),
    }
    assert state.entity_id("ALICE") == ids["alice"] and state.entity_id("dave") is None


def test_read_full_of_an_empty_organization_has_no_settings(emulator_url: str, org_id: str) -> None:
    state = read_full(make_api(emulator_url), org_id)
    assert state.users == {} and state.groups == {} and state.resources == {} and state.mailbox_permissions == {}
    assert state.retention_policy is None and state.email_monitoring is None
    # Enforced by default (Administrator Guide, "Enforcing DMARC policies on incoming email").
    assert state.inbound_dmarc_enforced is True
    assert state.impersonation_roles == {} and state.availability_configurations == {}


def test_organization_states(emulator_url: str, client: Any, control: EmulatorControl) -> None:
    api = make_api(emulator_url)
    missing = "m-" + "0" * 32
    assert read_organization(api, missing) is None
    assert read_full(api, missing) == ActualState(organization=None, read_sections=set(SECTIONS))
    try:
        control.set_timing(org_requested=60)
        waiting = str(client.create_organization(Alias=unique("slow"))["OrganizationId"])
        control.reset_call_counts()
        state = read_full(api, waiting)
        # A Requested organization can't be read yet: nothing but itself, no section read.
        assert state.organization is not None and state.organization.state == "Requested"
        assert state.read_sections == set() and _calls(control) == {"DescribeOrganization": 1,
                                                                     "ListTagsForResource": 1}
    finally:
        control.set_timing(org_requested=0)
    control.advance_clock(61)
    client.delete_organization(OrganizationId=waiting, DeleteDirectory=True, ForceDelete=True)
    assert read_organization(api, waiting) is None  # Deleted


# API cost ----------------------------------------------------------------------------------


def test_full_read_costs_exactly_the_formula(
    emulator_url: str, client: Any, control: EmulatorControl, org_id: str, domain: str
) -> None:
    # 150 users (2 of them then deleted) take two pages of ListUsers at the model's maximum of 100.
    users = [_user(client, org_id, f"user{i:03}", f"user{i:03}@{domain}" if i < 12 else None) for i in range(150)]
    for i in range(3):
        client.create_alias(OrganizationId=org_id, EntityId=users[i], Alias=f"extra{i}@{domain}")
    for i in (148, 149):
        client.delete_user(OrganizationId=org_id, UserId=users[i])
    group = client.create_group(OrganizationId=org_id, Name="everyone")["GroupId"]
    for i in range(5):
        client.associate_member_to_group(OrganizationId=org_id, GroupId=group, MemberId=users[i])
    room = client.create_resource(OrganizationId=org_id, Name="room", Type="ROOM")["ResourceId"]
    client.register_to_work_mail(OrganizationId=org_id, EntityId=room, Email=f"room@{domain}")
    client.associate_delegate_to_resource(OrganizationId=org_id, ResourceId=room, EntityId=users[1])
    client.put_mailbox_permissions(OrganizationId=org_id, EntityId=users[0], GranteeId=users[1],
                                   PermissionValues=["FULL_ACCESS"])
    for i in range(3):
        client.create_impersonation_role(OrganizationId=org_id, Name=f"role{i}", Type="FULL_ACCESS", Rules=[
            {"ImpersonationRuleId": "all", "Effect": "ALLOW"}])

    api = make_api(emulator_url)
    control.reset_call_counts()
    state = read_full(api, org_id)
    measured = _calls(control)
    assert len(state.users) == 148
    expected = full_read_calls(state, deleted_users=2)
    assert measured == expected
    # The formula by hand for this organization.
    assert expected["ListUsers"] == 2 and expected["DescribeUser"] == 148
    assert expected["GetMailboxDetails"] == 12 and expected["ListAliases"] == 12 + 1  # 12 users, the room
    assert expected["ListMailboxPermissions"] == 13 and expected["ListGroupMembers"] == 1
    assert expected["GetImpersonationRole"] == 3 and expected["GetMailDomain"] == 2
    assert sum(expected.values()) == (
        2                       # DescribeOrganization, ListTagsForResource
        + 1 + 2                 # ListMailDomains, GetMailDomain (the domain, the test domain)
        + 2 + 148 + 12 * 3      # ListUsers, DescribeUser, (ListAliases, GetMailboxDetails, ListMailboxPermissions)
        + 1 + 1 + 1             # ListGroups, DescribeGroup, ListGroupMembers (the group is disabled)
        + 1 + 1 + 1 + 2         # ListResources, DescribeResource, ListResourceDelegates, ListAliases + permissions
        + 3                     # access rules, mobile rules, overrides
        + 1 + 3                 # ListImpersonationRoles, GetImpersonationRole
        + 3 + 1                 # retention, DMARC, monitoring; ListAvailabilityConfigurations
    )
    # The wrapper counts the same calls, each a single attempt without faults.
    counts = api.call_counts()
    assert counts.calls == measured and counts.attempts == measured and counts.retries == 0


def test_pages_ask_for_the_model_maximum() -> None:
    assert request_page_size("ListUsers") == 100
    assert request_page_size("ListAccessControlRules") is None
    # ListImpersonationRoles takes MaxResults up to 100 but its output holds at most 20 roles.
    assert request_page_size("ListImpersonationRoles") == 100 and page_size("ListImpersonationRoles", "Roles") == 20


def test_pagination_follows_tokens_with_the_largest_page(emulator_url: str, client: Any, org_id: str) -> None:
    # 100 domains and the test domain: two pages of the largest size, 100.
    names = [f"{unique('p')}.example.com" for _ in range(100)]
    for name in names:
        client.register_mail_domain(OrganizationId=org_id, DomainName=name)
    api = make_api(emulator_url)
    domains = api.list_all("ListMailDomains", "MailDomains", OrganizationId=org_id)
    assert {d["DomainName"] for d in domains} - set(names) == {client.describe_organization(
        OrganizationId=org_id)["DefaultMailDomain"]}
    assert len(domains) == 101 and api.call_counts().calls == {"ListMailDomains": 2}


# Scoped reads --------------------------------------------------------------------------------


def test_scoped_read_of_one_user(
    emulator_url: str, control: EmulatorControl, org_id: str, domain: str, populated: dict[str, Any]
) -> None:
    api = make_api(emulator_url)
    full = read_full(api, org_id)
    control.reset_call_counts()
    state = read_scoped(api, org_id, ReadScope(users={"ALICE"}))
    assert _calls(control) == {"DescribeUser": 1, "ListAliases": 1, "GetMailboxDetails": 1}
    assert state.users == {"alice": full.users["alice"]}
    assert state.read_sections == set() and state.organization is None
    assert not (state.groups or state.resources or state.domains or state.mailbox_permissions)

    # A disabled user has no mailbox or aliases to read: one call.
    control.reset_call_counts()
    state = read_scoped(api, org_id, ReadScope(users={"carol"}))
    assert _calls(control) == {"DescribeUser": 1}
    assert state.users == {"carol": full.users["carol"]}
    # A user that doesn't exist (or was deleted) is simply absent.
    control.reset_call_counts()
    assert read_scoped(api, org_id, ReadScope(users={"nobody", "dave"})).users == {}
    assert _calls(control) == {"DescribeUser": 2}


def test_scoped_read_of_groups_resources_and_permissions(
    emulator_url: str, control: EmulatorControl, org_id: str, populated: dict[str, Any]
) -> None:
    api = make_api(emulator_url)
    full = read_full(api, org_id)
    control.reset_call_counts()
    # "Sales Team" has a space, which Describe's identifier refuses: the list's name filter finds it.
    scope = ReadScope(groups={"Sales Team", "leads"}, resources={"room1"}, mailbox_permissions={"room1"})
    state = read_scoped(api, org_id, scope)
    assert state.groups == full.groups and state.resources == {"room1": full.resources["room1"]}
    assert state.mailbox_permissions == {("room1", "sales team"): full.mailbox_permissions[("room1", "sales team")]}
    assert _calls(control) == {
        "ListGroups": 1, "DescribeGroup": 2, "ListGroupMembers": 2, "ListAliases": 2,
        "DescribeResource": 1, "ListResourceDelegates": 1, "ListMailboxPermissions": 1,
    }
    # Another letter case misses the case-sensitive filter; one unfiltered list finds it.
    control.reset_call_counts()
    assert read_scoped(api, org_id, ReadScope(groups={"sales team"})).groups == {
        "sales team": full.groups["sales team"]}
    assert _calls(control)["ListGroups"] == 2


def test_scoped_sections_translate_ids_they_did_not_list(
    emulator_url: str, control: EmulatorControl, org_id: str, populated: dict[str, Any]
) -> None:
    api = make_api(emulator_url)
    full = read_full(api, org_id)
    control.reset_call_counts()
    state = read_scoped(api, org_id, ReadScope(sections={"access_control_rules", "mobile_device_access_overrides"}))
    assert state.read_sections == {"access_control_rules", "mobile_device_access_overrides"}
    assert state.access_control_rules == full.access_control_rules
    assert state.mobile_device_access_overrides == full.mobile_device_access_overrides
    assert state.users == {}  # names were looked up, users were not read
    # alice and bob by id (once each), the role names from the role list.
    assert _calls(control) == {
        "ListAccessControlRules": 1, "ListMobileDeviceAccessOverrides": 1, "ListImpersonationRoles": 1,
        "DescribeUser": 2,
    }
    control.reset_call_counts()
    state = read_scoped(api, org_id, ReadScope(sections={"mailbox_permissions"}))
    assert state.mailbox_permissions == full.mailbox_permissions and state.users == {}
    # Every entity's id and state from the lists; permissions of the ENABLED ones (alice, bob,
    # Sales Team, room1); grantee names come from the lists, so no Describe.
    assert _calls(control) == {"ListUsers": 1, "ListGroups": 1, "ListResources": 1, "ListMailboxPermissions": 4}


def test_scope_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown section 'user'"):
        ReadScope(sections={"user"}).validate()
    with pytest.raises(ValueError, match="'room9' is not a user, group or resource"):
        ReadScope(users={"alice"}, mailbox_permissions={"room9"}).validate()
    ReadScope(sections={"users"}, mailbox_permissions={"alice"}).validate()


# Retries -------------------------------------------------------------------------------------


def test_full_read_survives_throttling_and_server_errors(
    emulator_url: str, control: EmulatorControl, org_id: str, populated: dict[str, Any]
) -> None:
    calm = read_full(make_api(emulator_url), org_id)
    api = make_api(emulator_url, max_attempts=30, base_delay=0.001, max_delay=0.01)
    try:
        control.set_faults(throttle_rate=0.3, error_rate=0.1, seed=1)
        control.reset_call_counts()
        stormy = read_full(api, org_id)
        injected = control.call_counts()["injected_faults"]
    finally:
        control.set_faults(throttle_rate=0.0, error_rate=0.0, seed=None, operations=None)
    assert stormy == calm
    counts = api.call_counts()
    assert sum(injected.values()) > 0 and counts.retries == sum(injected.values())


class FakeClient:
    """A boto3-like client whose list_users answers a script of exceptions and results."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []

    def list_users(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, BaseException):
            raise step
        return dict(step)


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "ListUsers")


def fake_api(script: list[Any], *, rand: float = 0.5, **options: Any) -> tuple[WorkMailApi, FakeClient, list[float]]:
    slept: list[float] = []
    fake = FakeClient(script)
    api = WorkMailApi(fake, sleep=slept.append, random=lambda: rand, **options)
    return api, fake, slept


@pytest.mark.parametrize("error", [
    client_error("ThrottlingException"), client_error("TooManyRequestsException"),
    client_error("RequestLimitExceeded"), client_error("Throttling"), client_error("InternalFailure", 500),
    client_error("ServiceUnavailable", 503), client_error("SomethingNew", 502),
    EndpointConnectionError(endpoint_url="https://workmail.example"),
])
def test_retryable_errors_are_retried(error: BaseException) -> None:
    api, fake, slept = fake_api([error, error, {"Users": []}], base_delay=1.0, max_delay=100.0)
    assert api.call("ListUsers", OrganizationId="m-1") == {"Users": []}
    assert len(fake.requests) == 3 and slept == [0.5, 1.0]
    counts = api.call_counts()
    assert counts.calls == {"ListUsers": 1} and counts.attempts == {"ListUsers": 3} and counts.sleep_seconds == 1.5


@pytest.mark.parametrize("code", ["EntityNotFoundException", "ValidationException", "AccessDeniedException",
                                  "InvalidParameterException", "OrganizationStateException"])
def test_other_client_errors_are_raised_at_once(code: str) -> None:
    error = client_error(code)
    api, fake, slept = fake_api([error, {"Users": []}])
    with pytest.raises(ClientError) as raised:
        api.call("ListUsers", OrganizationId="m-1")
    assert raised.value is error and len(fake.requests) == 1 and slept == []


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    for rand in (0.0, 0.25, 0.999999):
        api, _, _ = fake_api([{}], rand=rand, base_delay=0.5, max_delay=3.0)
        ceilings = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]
        assert [api.backoff(n) for n in range(1, 7)] == pytest.approx([rand * c for c in ceilings])
    # Never negative, never above the cap, whatever the draw.
    api = WorkMailApi(FakeClient([{}]), base_delay=0.1, max_delay=2.0)
    draws = [api.backoff(n) for n in range(1, 2000)]
    assert all(0.0 <= d < 2.0 for d in draws) and api.backoff(5000) <= 2.0


def test_attempts_are_limited_and_the_last_error_raised() -> None:
    errors = [client_error("ThrottlingException") for _ in range(5)]
    api, fake, slept = fake_api(errors, rand=1.0, base_delay=1.0, max_delay=4.0, max_attempts=4)
    with pytest.raises(ClientError) as raised:
        api.call("ListUsers", OrganizationId="m-1")
    assert raised.value is errors[3] and len(fake.requests) == 4
    assert slept == [1.0, 2.0, 4.0]  # three waits between four attempts, the last capped
    assert api.call_counts().attempts == {"ListUsers": 4}
    with pytest.raises(ValueError, match="max_attempts"):
        WorkMailApi(FakeClient([{}]), max_attempts=0)


def test_paginate_sends_the_model_maximum_and_follows_tokens() -> None:
    api, fake, _ = fake_api([{"Users": [1, 2], "NextToken": "a"}, {"Users": [3], "NextToken": "b"}, {"Users": []}])
    assert list(api.paginate("ListUsers", "Users", OrganizationId="m-1")) == [1, 2, 3]
    assert fake.requests == [
        {"OrganizationId": "m-1", "MaxResults": 100},
        {"OrganizationId": "m-1", "MaxResults": 100, "NextToken": "a"},
        {"OrganizationId": "m-1", "MaxResults": 100, "NextToken": "b"},
    ]
    looping, _, _ = fake_api([{"Users": [1], "NextToken": "same"}])
    with pytest.raises(RuntimeError, match="same NextToken"):
        list(looping.paginate("ListUsers", "Users", OrganizationId="m-1"))


def test_create_turns_off_botocore_retries_and_sizes_the_pool(emulator_url: str) -> None:
    api = make_api(emulator_url, max_workers=24)
    config = api.client.meta.config
    assert config.retries["total_max_attempts"] == 1 and config.max_pool_connections >= 24
    assert api.max_workers == 24


def test_a_wrapped_client_is_not_retried_twice(emulator_url: str, control: EmulatorControl, org_id: str) -> None:
    api = make_api(emulator_url, max_attempts=3, base_delay=0.0)
    try:
        control.set_faults(throttle_rate=1.0, operations=["ListUsers"])
        control.reset_call_counts()
        with pytest.raises(ClientError):
            api.call("ListUsers", OrganizationId=org_id)
        # Exactly our three attempts reached the service: botocore added none of its own.
        assert control.call_counts()["calls"]["ListUsers"] == 3
    finally:
        control.set_faults(throttle_rate=0.0, operations=None)
    with pytest.raises(ClientError) as raised:
        api.call("DescribeUser", OrganizationId=org_id, UserId="nobody")
    assert raised.value.response["Error"]["Code"] == "EntityNotFoundException"
    assert api.call_counts().attempts["DescribeUser"] == 1


# Concurrency ---------------------------------------------------------------------------------


def test_map_concurrent_keeps_order_and_bounds_concurrency() -> None:
    lock = threading.Lock()
    active = [0, 0]  # now, most at once

    def work(n: int) -> int:
        with lock:
            active[0] += 1
            active[1] = max(active[1], active[0])
        time.sleep(0.002 * (n % 5))
        with lock:
            active[0] -= 1
        return n * n

    assert map_concurrent(work, range(40), max_workers=4) == [n * n for n in range(40)]
    assert 1 < active[1] <= 4
    assert map_concurrent(work, [], max_workers=4) == []
    assert map_concurrent(work, [3], max_workers=4) == [9]
    assert map_concurrent(work, range(5), max_workers=1) == [0, 1, 4, 9, 16]


def test_map_concurrent_propagates_the_first_error_after_the_rest_stop() -> None:
    lock = threading.Lock()
    started: list[int] = []
    finished: list[int] = []

    def work(n: int) -> int:
        with lock:
            started.append(n)
        try:
            if n == 3:
                raise KeyError(n)
            if n == 7:
                time.sleep(0.05)
                raise ValueError(n)
            time.sleep(0.02)
            return n
        finally:
            with lock:
                finished.append(n)

    with pytest.raises(KeyError):
        map_concurrent(work, range(100), max_workers=4)
    # Nothing still runs when the error arrives, and calls not yet started were cancelled.
    assert sorted(started) == sorted(finished) and len(started) < 100


def test_counts_are_thread_safe() -> None:
    api = WorkMailApi(FakeClient([{"Users": []}]))
    map_concurrent(lambda _: api.call("ListUsers", OrganizationId="m-1"), range(400), max_workers=16)
    assert api.call_counts().calls == {"ListUsers": 400} and api.call_counts().attempts == {"ListUsers": 400}
    api.reset_counts()
    assert api.call_counts().total_calls == 0


def test_is_retryable_classification() -> None:
    assert api_module.is_retryable(client_error("ThrottlingException"))
    assert api_module.is_retryable(client_error("Anything", 503))
    assert not api_module.is_retryable(client_error("EntityNotFoundException", 400))
    assert not api_module.is_retryable(ValueError("not an AWS error"))
