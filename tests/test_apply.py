"""Apply against the emulator: plans built by hand from Change objects, results checked
through the client. Covers every kind and action, ordering, dependents of failures,
destructive refusal, progress events, waits on an injected clock, idempotent reruns and
reruns after an interruption at every call."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.change_factory import change
from tests.conftest import unique
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.apply import (
    ApplyResult,
    DestructiveChangeRefused,
    ProgressEvent,
    Timeouts,
    apply,
)
from workmail_constructs.core.changes import AnyChange, FieldChange, Plan
from workmail_constructs.core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    DomainSpec,
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
from workmail_constructs.local import EmulatorControl

SECRETS = {"alice-password": "Corr3ct-Horse!", "alice-password-2": "Batt3ry-Staple!", "ews": "Ews-Secret-1"}
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/workmail/monitoring:*"
LOG_GROUP_2 = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/workmail/other:*"
ROLE = "arn:aws:iam::123456789012:role/WorkMailMonitoring"


def resolve_secret(ref: SecretRef) -> str:
    return SECRETS[ref.secret_id]


@pytest.fixture
def api(client: Any) -> WorkMailApi:
    return WorkMailApi(client, base_delay=0.0)


def run(plan: Plan, api: WorkMailApi, **options: Any) -> ApplyResult:
    options.setdefault("resolve_secret", resolve_secret)
    return apply(plan, api, **options)


def assert_ok(result: ApplyResult) -> None:
    assert result.ok, f"failed: {result.failed}\nskipped: {result.skipped}"


def create(kind: str, key: str, after: Any) -> AnyChange:
    return change("create", kind, key, "declared, does not exist", after=after)


def delete(kind: str, key: str, before: Any, id: str | None = None, destructive: bool = False) -> AnyChange:
    return change("delete", kind, key, "no longer declared", destructive=destructive, before=before, id=id)


def update(kind: str, key: str, before: Any, after: Any, fields: list[str], id: str | None = None) -> AnyChange:
    changes = tuple(FieldChange(name, getattr(before, name, None), getattr(after, name, None)) for name in fields)
    return change("update", kind, key, "differs", before=before, after=after, fields=changes, id=id)


# Reading the emulator back ---------------------------------------------------------------


def user(client: Any, org: str, name: str) -> dict[str, Any]:
    return dict(client.describe_user(OrganizationId=org, UserId=name))


def aliases(client: Any, org: str, entity_id: str) -> list[str]:
    return sorted(client.list_aliases(OrganizationId=org, EntityId=entity_id)["Aliases"])


def members(client: Any, org: str, group: str) -> list[str]:
    return sorted(m["Name"] for m in client.list_group_members(OrganizationId=org, GroupId=group)["Members"])


def names_by_id(client: Any, org: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for operation, key in (("list_users", "Users"), ("list_groups", "Groups"), ("list_resources", "Resources")):
        for item in getattr(client, operation)(OrganizationId=org, MaxResults=100)[key]:
            found[item["Id"]] = item["Name"]
    return found


def snapshot(client: Any, org: str) -> dict[str, Any]:
    """Everything a plan can change, by name, with lists sorted (duplicates would show)."""
    ids = names_by_id(client, org)
    state: dict[str, Any] = {"entities": {}}
    for operation, key, describe, id_member in (
        ("list_users", "Users", "describe_user", "UserId"),
        ("list_groups", "Groups", "describe_group", "GroupId"),
        ("list_resources", "Resources", "describe_resource", "ResourceId"),
    ):
        for item in getattr(client, operation)(OrganizationId=org, MaxResults=100)[key]:
            if item["State"] == "DELETED":
                continue
            described = getattr(client, describe)(OrganizationId=org, **{id_member: item["Id"]})
            for volatile in ("EnabledDate", "DisabledDate", "MailboxProvisionedDate", "MailboxDeprovisionedDate",
                             "ResponseMetadata", id_member):
                described.pop(volatile, None)
            entry: dict[str, Any] = {"described": described}
            if item["State"] == "ENABLED":
                entry["aliases"] = aliases(client, org, item["Id"])
                entry["permissions"] = sorted(
                    (ids[p["GranteeId"]], sorted(p["PermissionValues"]))
                    for p in client.list_mailbox_permissions(OrganizationId=org, EntityId=item["Id"])["Permissions"]
                )
            if key == "Groups":
                entry["members"] = members(client, org, item["Id"])
            if key == "Resources":
                entry["delegates"] = sorted(
                    ids[d["Id"]] for d in client.list_resource_delegates(OrganizationId=org, ResourceId=item["Id"])
                    ["Delegates"]
                )
            if key == "Users" and item["State"] == "ENABLED":
                entry["quota"] = client.get_mailbox_details(OrganizationId=org, UserId=item["Id"])["MailboxQuota"]
            state["entities"][item["Name"]] = entry
    state["domains"] = sorted(
        (d["DomainName"], d["DefaultDomain"]) for d in client.list_mail_domains(OrganizationId=org)["MailDomains"]
    )
    state["access_rules"] = sorted(
        (r["Name"], r["Effect"], sorted(ids[u] for u in r.get("UserIds", [])), len(r.get("ImpersonationRoleIds", [])))
        for r in client.list_access_control_rules(OrganizationId=org)["Rules"]
    )
    state["mobile_rules"] = sorted(
        (r["Name"], r["Effect"], r.get("DeviceTypes", []))
        for r in client.list_mobile_device_access_rules(OrganizationId=org)["Rules"]
    )
    state["overrides"] = sorted(
        (ids[o["UserId"]], o["DeviceId"], o["Effect"])
        for o in client.list_mobile_device_access_overrides(OrganizationId=org)["Overrides"]
    )
    state["roles"] = sorted(r["Name"] for r in client.list_impersonation_roles(OrganizationId=org)["Roles"])
    state["dmarc"] = client.describe_inbound_dmarc_settings(OrganizationId=org)["Enforced"]
    try:
        policy = client.get_default_retention_policy(OrganizationId=org)
        state["retention"] = (policy["Name"], policy["FolderConfigurations"])
    except client.exceptions.EntityNotFoundException:
        state["retention"] = None
    try:
        state["monitoring"] = client.describe_email_monitoring_configuration(OrganizationId=org)["LogGroupArn"]
    except client.exceptions.ResourceNotFoundException:
        state["monitoring"] = None
    configurations = client.list_availability_configurations(OrganizationId=org)["AvailabilityConfigurations"]
    state["availability"] = sorted(a["DomainName"] for a in configurations)
    arn = client.describe_organization(OrganizationId=org)["ARN"]
    state["tags"] = sorted((t["Key"], t["Value"]) for t in client.list_tags_for_resource(ResourceARN=arn)["Tags"])
    return state


# A plan with every kind ------------------------------------------------------------------


def everything(mail: str, extra_domain: str, partner: str) -> list[AnyChange]:
    """Create changes of every kind except the organization, on addresses in ``mail`` (verified)."""
    alice = UserSpec(
        name="alice", display_name="Alice Liddell", email=f"alice@{mail}", aliases=[f"ali@{mail}", f"al@{mail}"],
        first_name="Alice", last_name="Liddell", job_title="Engineer", city="Oxford", mailbox_quota_mb=2048,
        password=SecretRef("alice-password", "v1"),
    )
    bob = UserSpec(name="bob", display_name="Bob", email=f"bob@{mail}", role="REMOTE_USER",
                   hidden_from_global_address_list=True)
    carol = UserSpec(name="carol", display_name="Carol", enabled=False)
    team = GroupSpec(name="team", email=f"team@{mail}", aliases=[f"everyone@{mail}"], members=["alice", "bob"])
    room = ResourceSpec(
        name="room", type="ROOM", email=f"room@{mail}", description="Board room",
        booking_options=BookingOptionsSpec(auto_accept_requests=False), delegates=["alice"],
    )
    role = ImpersonationRoleSpec(
        name="auditors", type="READ_ONLY", description="Read mail",
        rules=[ImpersonationRuleSpec(rule_id="r1", effect="ALLOW", name="alice-only", target_users=["alice"])],
    )
    return [
        create("domain", extra_domain, DomainSpec(name=extra_domain)),
        create("user", "alice", alice),
        create("user", "bob", bob),
        create("user", "carol", carol),
        create("group", "team", team),
        create("resource", "room", room),
        create("group_member", "team/alice", "alice"),
        create("group_member", "team/bob", "bob"),
        create("resource_delegate", "room/alice", "alice"),
        create("mailbox_permission", "alice/bob",
               MailboxPermissionSpec(mailbox="alice", grantee="bob", permissions=["FULL_ACCESS", "SEND_AS"])),
        create("impersonation_role", "auditors", role),
        create("access_control_rule", "no-imap-for-bob", AccessControlRuleSpec(
            name="no-imap-for-bob", effect="DENY", description="Bob uses the web", actions=["IMAP"], users=["bob"],
        )),
        create("access_control_rule", "auditors-ews", AccessControlRuleSpec(
            name="auditors-ews", effect="ALLOW", description="Auditors over EWS", actions=["EWS"],
            impersonation_roles=["auditors"],
        )),
        create("mobile_device_access_rule", "no-android", MobileDeviceAccessRuleSpec(
            name="no-android", effect="DENY", description="No Android", device_types=["Android"],
        )),
        create("mobile_device_access_override", "alice/phone1",
               MobileDeviceAccessOverrideSpec(user="alice", device_id="phone1", effect="ALLOW")),
        create("retention_policy", "keep", RetentionPolicySpec(name="keep", folders=[
            FolderConfigurationSpec(name="DELETED_ITEMS", action="PERMANENTLY_DELETE", period_days=30),
        ])),
        change("update", "inbound_dmarc", "inbound-dmarc", "enforcement differs", before=True, after=False,
               fields=(FieldChange("enforced", True, False),)),
        create("email_monitoring", "email-monitoring", EmailMonitoringSpec(log_group_arn=LOG_GROUP, role_arn=ROLE)),
        create("availability_configuration", partner, AvailabilityConfigurationSpec(
            domain_name=partner,
            ews=EwsProviderSpec(f"https://ews.{partner}/EWS/Exchange.asmx", f"svc@{partner}", SecretRef("ews")),
        )),
    ]


def test_creates_every_kind_and_a_rerun_changes_nothing(client: Any, api: WorkMailApi, org_id: str,
                                                        domain: str) -> None:
    extra = f"{unique('x')}.example.com"
    partner = f"{unique('p')}.example.org"
    plan = Plan(everything(domain, extra, partner), organization_id=org_id)
    result = run(plan, api)
    assert_ok(result)
    assert result.organization_id == org_id
    assert [c.title for c in result.done] == [c.title for c in plan.changes]

    alice = user(client, org_id, "alice")
    assert alice["State"] == "ENABLED" and alice["Email"] == f"alice@{domain}"
    assert (alice["JobTitle"], alice["City"], alice["FirstName"]) == ("Engineer", "Oxford", "Alice")
    assert aliases(client, org_id, alice["UserId"]) == sorted([f"ali@{domain}", f"al@{domain}"])
    assert client.get_mailbox_details(OrganizationId=org_id, UserId="alice")["MailboxQuota"] == 2048
    bob = user(client, org_id, "bob")
    assert (bob["UserRole"], bob["HiddenFromGlobalAddressList"]) == ("REMOTE_USER", True)
    assert user(client, org_id, "carol")["State"] == "DISABLED"
    team = client.describe_group(OrganizationId=org_id, GroupId="team")
    assert team["Email"] == f"team@{domain}"
    assert aliases(client, org_id, team["GroupId"]) == [f"everyone@{domain}"]
    assert members(client, org_id, "team") == ["alice", "bob"]
    room = client.describe_resource(OrganizationId=org_id, ResourceId="room")
    assert room["BookingOptions"]["AutoAcceptRequests"] is False and room["Description"] == "Board room"
    delegates = client.list_resource_delegates(OrganizationId=org_id, ResourceId="room")["Delegates"]
    assert [d["Id"] for d in delegates] == [alice["UserId"]]
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=extra)["OwnershipVerificationStatus"] == "PENDING"

    state = snapshot(client, org_id)
    assert state["entities"]["alice"]["permissions"] == [("bob", ["FULL_ACCESS", "SEND_AS"])]
    assert ("no-imap-for-bob", "DENY", ["bob"], 0) in state["access_rules"]
    assert ("auditors-ews", "ALLOW", [], 1) in state["access_rules"]
    assert ("no-android", "DENY", ["Android"]) in state["mobile_rules"]
    assert state["overrides"] == [("alice", "phone1", "ALLOW")]
    assert state["roles"] == ["auditors"]
    role_id = client.list_impersonation_roles(OrganizationId=org_id)["Roles"][0]["ImpersonationRoleId"]
    role = client.get_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    assert role["Rules"][0]["TargetUsers"] == [alice["UserId"]]
    assert state["retention"][0] == "keep"
    assert state["dmarc"] is False
    assert state["monitoring"] == LOG_GROUP
    assert state["availability"] == [partner]

    # The same plan again (as after a crash at its very end): no error and no duplicates.
    again = run(plan, api)
    assert_ok(again)
    assert snapshot(client, org_id) == state


def test_updates_of_every_kind(client: Any, api: WorkMailApi, control: EmulatorControl, org_id: str,
                               domain: str) -> None:
    extra = f"{unique('x')}.example.com"
    partner = f"{unique('p')}.example.org"
    dan = UserSpec(name="dan", display_name="Dan", email=f"dan@{domain}", aliases=[f"d@{domain}"])
    created = [*everything(domain, extra, partner), create("user", "dan", dan)]
    assert_ok(run(Plan(created, organization_id=org_id), api))
    control.verify_domain(org_id, extra)
    before = {c.key: c.after for c in created}
    ids = {item["Name"]: item["Id"] for item in client.list_users(OrganizationId=org_id)["Users"]}
    group_id = client.describe_group(OrganizationId=org_id, GroupId="team")["GroupId"]
    resource_id = client.describe_resource(OrganizationId=org_id, ResourceId="room")["ResourceId"]
    mobile_id = next(r["MobileDeviceAccessRuleId"] for r in client.list_mobile_device_access_rules(
        OrganizationId=org_id)["Rules"] if r["Name"] == "no-android")
    role_id = client.list_impersonation_roles(OrganizationId=org_id)["Roles"][0]["ImpersonationRoleId"]
    policy_id = client.get_default_retention_policy(OrganizationId=org_id)["Id"]

    alice_before: UserSpec = before["alice"]
    # New primary address in the new domain; the old primary is dropped, "al" kept, "ali" removed.
    alice_after = UserSpec(
        name="alice", display_name="Alice L.", email=f"alice@{extra}", aliases=[f"al@{domain}", f"a@{extra}"],
        first_name="Alice", job_title="Manager", mailbox_quota_mb=4096,
        password=SecretRef("alice-password-2", "v2"),
    )
    dan_after = UserSpec(name="dan", display_name="Dan", email=f"dan@{domain}", aliases=[f"d@{domain}"],
                         enabled=False)
    carol_before: UserSpec = before["carol"]
    carol_after = UserSpec(name="carol", display_name="Carol", email=f"carol@{domain}", aliases=[f"c@{domain}"],
                           mailbox_quota_mb=1024)
    team_before: GroupSpec = before["team"]
    team_after = GroupSpec(name="team", email=f"team@{domain}", aliases=[f"all@{domain}"],
                           hidden_from_global_address_list=True, members=["alice", "bob"])
    room_before: ResourceSpec = before["room"]
    room_after = ResourceSpec(name="boardroom", type="EQUIPMENT", email=f"room@{domain}",
                              booking_options=BookingOptionsSpec(auto_decline_recurring_requests=True))
    role_after = ImpersonationRoleSpec(name="auditors", type="FULL_ACCESS", rules=[
        ImpersonationRuleSpec(rule_id="r1", effect="ALLOW", target_users=["carol"]),
    ])
    changes = [
        change("update", "organization", "acme", "tags differ", before=OrganizationSpec("acme"),
               after=OrganizationSpec("acme", tags={"team": "mail"}),
               fields=(FieldChange("tags", {}, {"team": "mail"}),), id=org_id),
        update("domain", extra, before[extra], DomainSpec(name=extra, default=True), ["default"]),
        update("user", "alice", alice_before, alice_after,
               ["display_name", "email", "aliases", "last_name", "job_title", "city", "mailbox_quota_mb", "password"],
               id=ids["alice"]),
        update("user", "dan", dan, dan_after, ["enabled"], id=ids["dan"]),
        update("user", "carol", carol_before, carol_after, ["enabled", "email", "aliases", "mailbox_quota_mb"],
               id=ids["carol"]),
        update("group", "team", team_before, team_after, ["aliases", "hidden_from_global_address_list"], id=group_id),
        # A rename in place, and auto-accept back on while its last delegate goes.
        change("update", "resource", "boardroom", "differs", before=room_before, after=room_after, id=resource_id,
               fields=(FieldChange("name", "room", "boardroom"), FieldChange("type", "ROOM", "EQUIPMENT"),
                       FieldChange("description", "Board room", None),
                       FieldChange("booking_options", room_before.booking_options, room_after.booking_options))),
        delete("resource_delegate", "boardroom/alice", "alice"),
        update("mailbox_permission", "alice/bob", before["alice/bob"],
               MailboxPermissionSpec(mailbox="alice", grantee="bob", permissions=["SEND_ON_BEHALF"]), ["permissions"]),
        update("access_control_rule", "no-imap-for-bob", before["no-imap-for-bob"], AccessControlRuleSpec(
            name="no-imap-for-bob", effect="DENY", description="No IMAP", actions=["IMAP", "SMTP"], users=["alice"]),
            ["description", "actions", "users"]),
        update("mobile_device_access_rule", "no-android", before["no-android"], MobileDeviceAccessRuleSpec(
            name="no-android", effect="DENY", device_types=["Android", "Kindle"]), ["device_types"], id=mobile_id),
        update("mobile_device_access_override", "alice/phone1", before["alice/phone1"],
               MobileDeviceAccessOverrideSpec(user="alice", device_id="phone1", effect="DENY"), ["effect"]),
        update("impersonation_role", "auditors", before["auditors"], role_after, ["type", "rules"], id=role_id),
        update("retention_policy", "keep", before["keep"], RetentionPolicySpec(name="keep", folders=[
            FolderConfigurationSpec(name="JUNK_EMAIL", action="DELETE", period_days=7)]), ["folders"], id=policy_id),
        change("update", "inbound_dmarc", "inbound-dmarc", "differs", before=False, after=True,
               fields=(FieldChange("enforced", False, True),)),
        update("email_monitoring", "email-monitoring", before["email-monitoring"],
               EmailMonitoringSpec(log_group_arn=LOG_GROUP_2), ["log_group_arn", "role_arn"]),
        update("availability_configuration", partner, before[partner], AvailabilityConfigurationSpec(
            domain_name=partner, lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:availability"),
            ["ews", "lambda_arn"]),
    ]
    result = run(Plan(changes, organization_id=org_id), api)
    assert_ok(result)

    alice = user(client, org_id, "alice")
    assert (alice["Email"], alice["DisplayName"], alice["JobTitle"]) == (f"alice@{extra}", "Alice L.", "Manager")
    # Cleared with "": the spec no longer sets them.
    assert "LastName" not in alice and "City" not in alice
    assert aliases(client, org_id, ids["alice"]) == sorted([f"al@{domain}", f"a@{extra}"])
    assert client.get_mailbox_details(OrganizationId=org_id, UserId="alice")["MailboxQuota"] == 4096
    assert user(client, org_id, "dan")["State"] == "DISABLED"
    carol = user(client, org_id, "carol")
    assert (carol["State"], carol["Email"]) == ("ENABLED", f"carol@{domain}")
    assert aliases(client, org_id, ids["carol"]) == [f"c@{domain}"]
    assert client.get_mailbox_details(OrganizationId=org_id, UserId="carol")["MailboxQuota"] == 1024
    team = client.describe_group(OrganizationId=org_id, GroupId=group_id)
    assert team["HiddenFromGlobalAddressList"] is True
    assert aliases(client, org_id, group_id) == [f"all@{domain}"]
    room = client.describe_resource(OrganizationId=org_id, ResourceId=resource_id)
    assert (room["Name"], room["Type"], room.get("Description")) == ("boardroom", "EQUIPMENT", None)
    assert room["BookingOptions"] == {"AutoAcceptRequests": True, "AutoDeclineRecurringRequests": True,
                                      "AutoDeclineConflictingRequests": True}
    assert client.list_resource_delegates(OrganizationId=org_id, ResourceId=resource_id)["Delegates"] == []
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=extra)["IsDefault"] is True
    state = snapshot(client, org_id)
    assert state["tags"] == [("team", "mail")]
    assert state["entities"]["alice"]["permissions"] == [("bob", ["SEND_ON_BEHALF"])]
    assert ("no-imap-for-bob", "DENY", ["alice"], 0) in state["access_rules"]
    assert ("no-android", "DENY", ["Android", "Kindle"]) in state["mobile_rules"]
    assert state["overrides"] == [("alice", "phone1", "DENY")]
    role = client.get_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    assert (role["Type"], role["Rules"][0]["TargetUsers"]) == ("FULL_ACCESS", [ids["carol"]])
    assert state["retention"] == ("keep", [{"Name": "JUNK_EMAIL", "Action": "DELETE", "Period": 7}])
    assert state["dmarc"] is True
    assert state["monitoring"] == LOG_GROUP_2
    configuration = client.list_availability_configurations(OrganizationId=org_id)["AvailabilityConfigurations"][0]
    assert configuration["ProviderType"] == "LAMBDA"

    # Rerunning the updates converges on the same state.
    assert_ok(run(Plan(changes, organization_id=org_id), api))
    assert snapshot(client, org_id) == state


def test_deletes_of_every_kind_then_again(client: Any, api: WorkMailApi, org_id: str, domain: str) -> None:
    extra = f"{unique('x')}.example.com"
    partner = f"{unique('p')}.example.org"
    created = everything(domain, extra, partner)
    assert_ok(run(Plan(created, organization_id=org_id), api))
    ids = names_by_id(client, org_id)
    by_name = {name: entity_id for entity_id, name in ids.items()}
    mobile_id = next(r["MobileDeviceAccessRuleId"] for r in client.list_mobile_device_access_rules(
        OrganizationId=org_id)["Rules"] if r["Name"] == "no-android")
    role_id = client.list_impersonation_roles(OrganizationId=org_id)["Roles"][0]["ImpersonationRoleId"]
    policy_id = client.get_default_retention_policy(OrganizationId=org_id)["Id"]
    after = {c.key: c.after for c in created}
    # The resource's booking needs its delegate: turn auto-accept on in the same plan.
    room_after = ResourceSpec(name="room", type="ROOM", email=f"room@{domain}", description="Board room")
    deletes = [
        change("update", "resource", "room", "differs", before=after["room"], after=room_after, id=by_name["room"],
               fields=(FieldChange("booking_options", after["room"].booking_options, room_after.booking_options),)),
        delete("resource_delegate", "room/alice", "alice"),
        delete("group_member", "team/bob", "bob"),
        delete("mailbox_permission", "alice/bob", after["alice/bob"]),
        delete("access_control_rule", "no-imap-for-bob", after["no-imap-for-bob"]),
        delete("mobile_device_access_rule", "no-android", after["no-android"], id=mobile_id),
        delete("mobile_device_access_override", "alice/phone1", after["alice/phone1"]),
        delete("retention_policy", "keep", after["keep"], id=policy_id),
        delete("email_monitoring", "email-monitoring", after["email-monitoring"]),
        delete("availability_configuration", partner, after[partner]),
        delete("user", "bob", after["bob"], id=by_name["bob"], destructive=True),
        delete("group", "team", after["team"], id=by_name["team"]),
        delete("impersonation_role", "auditors", after["auditors"], id=role_id),
        delete("domain", extra, after[extra], destructive=True),
    ]
    plan = Plan(deletes, organization_id=org_id)
    result = run(plan, api, allow_destructive=True)
    assert_ok(result)
    state = snapshot(client, org_id)
    assert set(state["entities"]) == {"alice", "carol", "room"}
    assert state["entities"]["room"]["delegates"] == []
    assert state["entities"]["alice"]["permissions"] == []
    assert all(rule[0] != "no-imap-for-bob" for rule in state["access_rules"])
    assert all(rule[0] != "no-android" for rule in state["mobile_rules"])
    assert state["overrides"] == [] and state["roles"] == [] and state["retention"] is None
    assert state["monitoring"] is None and state["availability"] == []
    assert extra not in [d for d, _ in state["domains"]]
    assert user(client, org_id, by_name["bob"])["State"] == "DELETED"

    # Everything is already gone: the same plan again is a success that changes nothing.
    assert_ok(run(plan, api, allow_destructive=True))
    assert snapshot(client, org_id) == state


# Safety, progress, failures ---------------------------------------------------------------


def test_destructive_plan_is_refused_before_any_call(client: Any, api: WorkMailApi, control: EmulatorControl,
                                                     org_id: str, domain: str) -> None:
    alice = UserSpec(name="alice", display_name="Alice", email=f"alice@{domain}")
    plan = Plan([
        create("user", "zed", UserSpec(name="zed", display_name="Zed", email=f"zed@{domain}")),
        change("delete", "user", "alice", "no longer declared: the mailbox and its mail are deleted",
               destructive=True, before=alice, id="4f4d5f0e-0000-4000-8000-000000000000"),
        change("delete", "domain", domain, "no longer declared: mail for the domain stops reaching WorkMail",
               destructive=True, before=DomainSpec(name=domain)),
    ], organization_id=org_id)
    secrets: list[SecretRef] = []

    def resolve(ref: SecretRef) -> str:
        secrets.append(ref)
        return "x"

    control.reset_call_counts()
    with pytest.raises(DestructiveChangeRefused) as refused:
        apply(plan, api, resolve_secret=resolve)
    assert control.call_counts()["total"] == 0
    assert secrets == []
    message = str(refused.value)
    assert "delete user alice: no longer declared: the mailbox and its mail are deleted" in message
    assert f"delete domain {domain}: no longer declared: mail for the domain stops reaching WorkMail" in message
    assert "zed" not in message
    assert [c.key for c in refused.value.changes] == ["alice", domain]


def test_progress_events(api: WorkMailApi, org_id: str, domain: str) -> None:
    plan = Plan([
        create("user", "ann", UserSpec(name="ann", display_name="Ann", email=f"ann@{domain}")),
        create("group", "crew", GroupSpec(name="crew", email=f"crew@{domain}")),
        create("group_member", "crew/ann", "ann"),
        create("group_member", "crew/nobody", "nobody"),
        create("group_member", "crew/nobody2", "nobody2"),
    ], organization_id=org_id)
    events: list[ProgressEvent] = []
    result = run(plan, api, on_progress=events.append)
    assert [c.key for c, _ in result.failed] == ["crew/nobody", "crew/nobody2"]
    assert all(e.total == 5 for e in events)
    finished = [e for e in events if e.status != "started"]
    assert [e.completed for e in finished] == [1, 2, 3, 4, 5]
    for planned in plan.changes:
        mine = [e.status for e in events if e.change is planned]
        assert mine[0] == "started" and len(mine) == 2
    statuses = {e.change.key: e.status for e in finished}
    assert statuses == {"ann": "done", "crew": "done", "crew/ann": "done", "crew/nobody": "failed",
                        "crew/nobody2": "failed"}
    failure = next(e for e in finished if e.change.key == "crew/nobody")
    assert "AssociateMemberToGroup failed: EntityNotFoundException" in failure.message


def test_a_failing_change_skips_its_dependents_only(client: Any, api: WorkMailApi, org_id: str, domain: str) -> None:
    # The address's domain is not registered: RegisterToWorkMail fails.
    lost = UserSpec(name="lost", display_name="Lost", email="lost@nowhere.example.net")
    plan = Plan([
        create("user", "lost", lost),
        create("user", "fine", UserSpec(name="fine", display_name="Fine", email=f"fine@{domain}")),
        create("group", "crew", GroupSpec(name="crew", email=f"crew@{domain}")),
        create("group_member", "crew/lost", "lost"),
        create("group_member", "crew/fine", "fine"),
        create("mailbox_permission", "fine/lost", MailboxPermissionSpec("fine", "lost", ["FULL_ACCESS"])),
        create("access_control_rule", "lost-rule", AccessControlRuleSpec(name="lost-rule", effect="DENY",
                                                                         description="Lost", users=["lost"])),
    ], organization_id=org_id)
    result = run(plan, api)
    assert [c.key for c in result.done] == ["fine", "crew", "crew/fine"]
    assert len(result.failed) == 1
    change, message = result.failed[0]
    assert change.key == "lost"
    assert message.startswith("users[lost]: RegisterToWorkMail failed: MailDomainNotFoundException")
    assert {c.key: reason for c, reason in result.skipped} == {
        key: "skipped: it depends on create user lost, which failed"
        for key in ("crew/lost", "fine/lost", "lost-rule")
    }
    assert not result.ok
    assert members(client, org_id, "crew") == ["fine"]


def test_unknown_field_fails_without_calls(api: WorkMailApi, control: EmulatorControl, org_id: str) -> None:
    spec = GroupSpec(name="crew", enabled=False)
    plan = Plan([change("update", "group", "crew", "differs", before=spec, after=spec,
                        fields=(FieldChange("colour", "red", "blue"),), id="0" * 12)], organization_id=org_id)
    control.reset_call_counts()
    result = run(plan, api)
    assert control.call_counts()["total"] == 0
    assert result.failed[0][1] == "groups[crew].colour: apply can't change colour of a group"


def test_an_invalid_change_fails_before_any_call_and_skips_its_dependents(
        api: WorkMailApi, control: EmulatorControl, org_id: str) -> None:
    plan = Plan([
        create("user", "odd", UserSpec(name="odd", display_name="Odd", enabled=True)),
        create("group_member", "crew/odd", "odd"),
    ], organization_id=org_id)
    control.reset_call_counts()
    result = run(plan, api)
    assert control.call_counts()["total"] == 0
    assert result.failed[0][1] == "users[odd].email: odd is declared enabled but has no email address"
    assert result.skipped[0][1] == "skipped: it depends on create user odd, which failed"


def test_organization_alias_taken(client: Any, api: WorkMailApi, org_id: str) -> None:
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    plan = Plan([create("organization", alias, OrganizationSpec(alias=alias))])
    result = run(plan, api)
    assert result.organization_id is None
    assert result.failed[0][1] == (
        f"organization.alias: the alias {alias} is taken by another organization; choose another alias, "
        "or adopt that organization with organization.organization_id"
    )


def test_deleting_the_default_domain_falls_back_to_the_test_domain(client: Any, api: WorkMailApi, org_id: str,
                                                                  domain: str) -> None:
    client.update_default_mail_domain(OrganizationId=org_id, DomainName=domain)
    plan = Plan([
        delete("domain", domain, DomainSpec(name=domain, default=True), destructive=True),
        # No longer declared: the service's default (enforced) again
        # (Administrator Guide, "Enforcing DMARC policies on incoming email").
        change("delete", "inbound_dmarc", "inbound-dmarc", "no longer declared", before=False),
    ], organization_id=org_id)
    client.put_inbound_dmarc_settings(OrganizationId=org_id, Enforced=False)
    assert_ok(run(plan, api, allow_destructive=True))
    alias = client.describe_organization(OrganizationId=org_id)["Alias"]
    domains = client.list_mail_domains(OrganizationId=org_id)["MailDomains"]
    assert domains == [{"DomainName": f"{alias.lower()}.awsapps.com", "DefaultDomain": True}]
    assert client.describe_inbound_dmarc_settings(OrganizationId=org_id)["Enforced"] is True


def test_secret_that_cannot_be_read_fails_the_user_before_creating_it(client: Any, api: WorkMailApi, org_id: str,
                                                                      domain: str) -> None:
    spec = UserSpec(name="dora", display_name="Dora", email=f"dora@{domain}", password=SecretRef("missing"))
    plan = Plan([create("user", "dora", spec)], organization_id=org_id)
    result = run(plan, api)
    assert result.failed[0][1] == "users[dora].password: the secret missing can't be read: KeyError: 'missing'"
    with pytest.raises(client.exceptions.EntityNotFoundException):
        client.describe_user(OrganizationId=org_id, UserId="dora")
    SECRETS["missing"] = "Now-Readable-1"
    try:
        assert_ok(run(plan, api))
    finally:
        del SECRETS["missing"]
    assert user(client, org_id, "dora")["State"] == "ENABLED"


def test_default_domain_must_be_verified_and_others_go_on(client: Any, api: WorkMailApi, org_id: str,
                                                          domain: str) -> None:
    pending = f"{unique('pending')}.example.com"
    plan = Plan([
        create("domain", pending, DomainSpec(name=pending, default=True)),
        create("user", "ok", UserSpec(name="ok", display_name="Ok", email=f"ok@{domain}")),
        # Depends on the pending domain, which exists: attempted, and refused by the service.
        create("user", "early", UserSpec(name="early", display_name="Early", email=f"early@{pending}")),
    ], organization_id=org_id)
    result = run(plan, api)
    assert [c.key for c in result.done] == ["ok"]
    failed = dict((c.key, m) for c, m in result.failed)
    assert "domains[" + pending + "].default: the domain " + pending in failed[pending]
    assert "verify the domain first" in failed[pending]
    assert "MailDomainStateException" in failed["early"]
    assert result.skipped == []
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=pending)["IsDefault"] is False


def test_alias_moving_between_entities_of_one_phase(client: Any, api: WorkMailApi, org_id: str, domain: str) -> None:
    shared = f"desk@{domain}"
    old = UserSpec(name="olga", display_name="Olga", email=f"olga@{domain}", aliases=[shared])
    assert_ok(run(Plan([create("user", "olga", old)], organization_id=org_id), api))
    olga_id = user(client, org_id, "olga")["UserId"]
    new_olga = UserSpec(name="olga", display_name="Olga", email=f"olga@{domain}")
    plan = Plan([
        # Listed first and run alone: the alias is still Olga's when Nina is created.
        create("user", "nina", UserSpec(name="nina", display_name="Nina", email=f"nina@{domain}", aliases=[shared])),
        update("user", "olga", old, new_olga, ["aliases"], id=olga_id),
    ], organization_id=org_id)
    assert_ok(run(plan, api, max_workers=1))
    nina = user(client, org_id, "nina")
    assert aliases(client, org_id, nina["UserId"]) == [shared]
    assert aliases(client, org_id, olga_id) == []


def test_entity_replace_is_delete_then_create(client: Any, api: WorkMailApi, org_id: str, domain: str) -> None:
    old = UserSpec(name="pat", display_name="Pat", email=f"pat@{domain}", aliases=[f"p@{domain}"])
    assert_ok(run(Plan([create("user", "pat", old)], organization_id=org_id), api))
    old_id = user(client, org_id, "pat")["UserId"]
    new = UserSpec(name="patricia", display_name="Patricia", email=f"pat@{domain}", aliases=[f"p@{domain}"])
    plan = Plan([change("replace", "user", "patricia", "renamed", destructive=True, before=old, after=new,
                        id=old_id, fields=(FieldChange("name", "pat", "patricia"),))], organization_id=org_id)
    assert_ok(run(plan, api, allow_destructive=True))
    assert user(client, org_id, old_id)["State"] == "DELETED"
    patricia = user(client, org_id, "patricia")
    assert patricia["Email"] == f"pat@{domain}" and aliases(client, org_id, patricia["UserId"]) == [f"p@{domain}"]
    assert_ok(run(plan, api, allow_destructive=True))
    assert user(client, org_id, "patricia")["UserId"] == patricia["UserId"]


def test_a_deleted_rule_is_created_again_despite_its_client_token(client: Any, api: WorkMailApi,
                                                                  org_id: str) -> None:
    rule = MobileDeviceAccessRuleSpec(name="no-kindle", effect="DENY", device_types=["Kindle"])
    role = ImpersonationRoleSpec(name="readers", type="READ_ONLY")
    plan = Plan([create("mobile_device_access_rule", "no-kindle", rule),
                 create("impersonation_role", "readers", role)], organization_id=org_id)
    assert_ok(run(plan, api))
    rule_id = next(r["MobileDeviceAccessRuleId"] for r in client.list_mobile_device_access_rules(
        OrganizationId=org_id)["Rules"] if r["Name"] == "no-kindle")
    role_id = client.list_impersonation_roles(OrganizationId=org_id)["Roles"][0]["ImpersonationRoleId"]
    client.delete_mobile_device_access_rule(OrganizationId=org_id, MobileDeviceAccessRuleId=rule_id)
    client.delete_impersonation_role(OrganizationId=org_id, ImpersonationRoleId=role_id)
    # Same requests, same first token: the service answers with the deleted objects' ids.
    assert_ok(run(plan, api))
    rules = [r for r in client.list_mobile_device_access_rules(OrganizationId=org_id)["Rules"]
             if r["Name"] == "no-kindle"]
    assert len(rules) == 1 and rules[0]["MobileDeviceAccessRuleId"] != rule_id
    roles = client.list_impersonation_roles(OrganizationId=org_id)["Roles"]
    assert len(roles) == 1 and roles[0]["ImpersonationRoleId"] != role_id


# Waits on an injected clock ---------------------------------------------------------------


class EmulatorClock:
    """A clock for apply's waits that moves the emulator's clock as apply sleeps."""

    def __init__(self, control: EmulatorControl, on_sleep: Callable[[float], None] | None = None) -> None:
        self.control = control
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.control.advance_clock(seconds)
        if self.on_sleep is not None:
            self.on_sleep(self.now)


@pytest.fixture
def timing(control: EmulatorControl) -> Iterator[EmulatorControl]:
    try:
        yield control
    finally:
        control.set_timing(org_requested=0, org_creating=0, org_deleting=0, domain_verification=None)


def delete_organization(client: Any, organization_id: str | None) -> None:
    if organization_id is None:
        return
    state = client.describe_organization(OrganizationId=organization_id)["State"]
    if state not in ("Deleting", "Deleted"):
        client.delete_organization(OrganizationId=organization_id, DeleteDirectory=True, ForceDelete=True)


def test_organization_create_waits_for_active(client: Any, api: WorkMailApi, timing: EmulatorControl) -> None:
    timing.set_timing(org_requested=30, org_creating=90)
    alias = unique("org")
    mail = f"{alias}.awsapps.com"
    plan = Plan([
        create("organization", alias, OrganizationSpec(alias=alias, tags={"env": "test"})),
        create("user", "ann", UserSpec(name="ann", display_name="Ann", email=f"ann@{mail}")),
    ])
    clock = EmulatorClock(timing)
    result = run(plan, api, timeouts=Timeouts(poll_interval=10), sleep=clock.sleep, clock=clock.clock)
    try:
        assert_ok(result)
        assert result.organization_id is not None
        described = client.describe_organization(OrganizationId=result.organization_id)
        assert (described["State"], described["Alias"]) == ("Active", alias)
        assert clock.sleeps == [10.0] * 12
        tags = client.list_tags_for_resource(ResourceARN=described["ARN"])["Tags"]
        assert tags == [{"Key": "env", "Value": "test"}]
        assert user(client, result.organization_id, "ann")["Email"] == f"ann@{mail}"
        # Rerun: the ClientToken finds the same organization; nothing is duplicated.
        assert_ok(run(plan, api))
        assert run(plan, api).organization_id == result.organization_id
        organizations = [o for page in client.get_paginator("list_organizations").paginate()
                         for o in page["OrganizationSummaries"]]
        assert [o["OrganizationId"] for o in organizations if o["Alias"] == alias] == [result.organization_id]
    finally:
        delete_organization(client, result.organization_id)


def test_organization_wait_times_out_and_skips_the_rest(client: Any, api: WorkMailApi,
                                                        timing: EmulatorControl) -> None:
    timing.set_timing(org_requested=5000)
    alias = unique("org")
    plan = Plan([
        create("organization", alias, OrganizationSpec(alias=alias)),
        create("user", "ann", UserSpec(name="ann", display_name="Ann", email=f"ann@{alias}.awsapps.com")),
    ])
    clock = EmulatorClock(timing)
    result = run(plan, api, timeouts=Timeouts(organization_active=60, poll_interval=25), sleep=clock.sleep,
                 clock=clock.clock)
    try:
        assert result.organization_id is not None
        assert clock.sleeps == [25.0, 25.0, 10.0]
        (change, message), = result.failed
        assert change.kind == "organization"
        assert message == (f"organization: timed out after 60 s waiting for organization {result.organization_id} "
                           "to become Active; apply the plan again to keep waiting")
        assert [(c.key, m) for c, m in result.skipped] == [
            ("ann", f"skipped: it depends on create organization {alias}, which failed")]
        timing.set_timing(org_requested=0)
        timing.advance_clock(5000)
        # Apply again: the same organization, now Active, and the rest follows.
        again = run(plan, api)
        assert_ok(again)
        assert again.organization_id == result.organization_id
    finally:
        timing.set_timing(org_requested=0)
        timing.advance_clock(5000)
        delete_organization(client, result.organization_id)


def test_organization_replace_and_delete(client: Any, api: WorkMailApi, timing: EmulatorControl) -> None:
    timing.set_timing(org_deleting=120)
    alias = unique("org")
    first = run(Plan([create("organization", alias, OrganizationSpec(alias=alias))]), api)
    assert_ok(first)
    old_id = first.organization_id
    assert old_id is not None
    kms = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    replace = change("replace", "organization", alias, "kms_key_arn can't change", destructive=True,
                     before=OrganizationSpec(alias=alias), after=OrganizationSpec(alias=alias, kms_key_arn=kms),
                     id=old_id)
    clock = EmulatorClock(timing)
    with pytest.raises(DestructiveChangeRefused):
        run(Plan([replace], organization_id=old_id), api)
    result = run(Plan([replace], organization_id=old_id), api, allow_destructive=True,
                 timeouts=Timeouts(poll_interval=60), sleep=clock.sleep, clock=clock.clock)
    try:
        assert_ok(result)
        new_id = result.organization_id
        assert new_id is not None and new_id != old_id
        assert client.describe_organization(OrganizationId=old_id)["State"] == "Deleted"
        assert clock.sleeps == [60.0, 60.0]
        assert client.describe_organization(OrganizationId=new_id)["State"] == "Active"
        gone = change("delete", "organization", alias, "no longer declared", destructive=True,
                      before=OrganizationSpec(alias=alias, kms_key_arn=kms), id=new_id)
        deleted = run(Plan([gone], organization_id=new_id), api, allow_destructive=True)
        assert_ok(deleted)
        assert client.describe_organization(OrganizationId=new_id)["State"] == "Deleting"
        # Deleting again while it is still Deleting is done, not an error.
        assert_ok(run(Plan([gone], organization_id=new_id), api, allow_destructive=True))
    finally:
        timing.set_timing(org_deleting=0)
        timing.advance_clock(300)


def test_domain_wait_for_verification(client: Any, api: WorkMailApi, timing: EmulatorControl, org_id: str) -> None:
    timing.set_timing(domain_verification=45)
    name = f"{unique('w')}.example.com"
    plan = Plan([
        create("domain", name, DomainSpec(name=name, default=True, wait_for_verification=True)),
        create("user", "wes", UserSpec(name="wes", display_name="Wes", email=f"wes@{name}")),
    ], organization_id=org_id)
    clock = EmulatorClock(timing)
    result = run(plan, api, timeouts=Timeouts(poll_interval=20), sleep=clock.sleep, clock=clock.clock)
    assert_ok(result)
    assert clock.sleeps == [20.0, 20.0, 20.0]
    assert client.get_mail_domain(OrganizationId=org_id, DomainName=name)["IsDefault"] is True
    assert user(client, org_id, "wes")["Email"] == f"wes@{name}"


def test_domain_verification_failure_fails_the_domain(client: Any, api: WorkMailApi, timing: EmulatorControl,
                                                      org_id: str) -> None:
    name = f"{unique('f')}.example.com"
    plan = Plan([
        create("domain", name, DomainSpec(name=name, wait_for_verification=True)),
        create("user", "fay", UserSpec(name="fay", display_name="Fay", email=f"fay@{name}")),
    ], organization_id=org_id)
    def fail_verification(now: float) -> None:
        timing.verify_domain(org_id, name, "FAILED")

    clock = EmulatorClock(timing, on_sleep=fail_verification)
    result = run(plan, api, sleep=clock.sleep, clock=clock.clock)
    (change, message), = result.failed
    assert change.key == name
    assert message.startswith(f"domains[{name}]: ownership verification of {name} FAILED")
    assert [c.key for c, _ in result.skipped] == ["fay"]
    assert clock.sleeps == [2.0]


def test_entity_disable_waits_with_a_timeout(client: Any, api: WorkMailApi, org_id: str, domain: str) -> None:
    spec = UserSpec(name="tim", display_name="Tim", email=f"tim@{domain}")
    assert_ok(run(Plan([create("user", "tim", spec)], organization_id=org_id), api))
    tim_id = user(client, org_id, "tim")["UserId"]

    class StuckApi(WorkMailApi):
        """DescribeUser keeps saying ENABLED, as a slow deregistration would."""

        def call(self, operation: str, **params: Any) -> dict[str, Any]:
            answer = super().call(operation, **params)
            return {**answer, "State": "ENABLED"} if operation == "DescribeUser" else answer

    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    disabled = UserSpec(name="tim", display_name="Tim", email=f"tim@{domain}", enabled=False)
    plan = Plan([update("user", "tim", spec, disabled, ["enabled"], id=tim_id)], organization_id=org_id)
    result = run(plan, StuckApi(client), timeouts=Timeouts(entity_state=10, poll_interval=4), sleep=sleep,
                 clock=lambda: now[0])
    assert result.failed[0][1] == (f"users[tim]: timed out after 10 s waiting for user {tim_id} to be disabled; "
                                   "apply the plan again to keep waiting")
    assert now[0] == 10


# Interruptions ----------------------------------------------------------------------------


class Interrupted(BaseException):
    """Stands for the process dying (a Lambda timeout): nothing after it runs."""


class InterruptingApi(WorkMailApi):
    def __init__(self, client: Any, calls: int) -> None:
        super().__init__(client, base_delay=0.0)
        self.allowed = calls
        self.made = 0
        self._guard = threading.Lock()

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        with self._guard:
            self.made += 1
            if self.made > self.allowed:
                raise Interrupted(f"interrupted at call {self.made} ({operation})")
        return super().call(operation, **params)


def organization_plan(alias: str) -> Plan:
    mail = f"{alias}.awsapps.com"
    changes = [create("organization", alias, OrganizationSpec(alias=alias, tags={"team": "mail"}))]
    changes += everything(mail, f"{alias}-x.example.com", f"{alias}-p.example.org")
    return Plan(changes)


def normalized(state: dict[str, Any], alias: str) -> Any:
    return json.loads(json.dumps(state, sort_keys=True, default=str).replace(alias, "ALIAS"))


def test_rerun_after_an_interruption_at_every_call_converges(client: Any) -> None:
    alias = unique("org")
    reference = WorkMailApi(client, base_delay=0.0)
    complete = run(organization_plan(alias), reference, max_workers=1)
    try:
        assert_ok(complete)
        assert complete.organization_id is not None
        expected = normalized(snapshot(client, complete.organization_id), alias)
        total = reference.call_counts().total_calls
    finally:
        delete_organization(client, complete.organization_id)
    assert total > 30
    for calls in range(total):
        alias = unique("org")
        plan = organization_plan(alias)
        interrupted = InterruptingApi(client, calls)
        with pytest.raises(Interrupted):
            run(plan, interrupted, max_workers=1)
        result = run(plan, WorkMailApi(client, base_delay=0.0), max_workers=1)
        try:
            assert_ok(result)
            assert result.organization_id is not None
            got = normalized(snapshot(client, result.organization_id), alias)
            assert got == expected, f"interrupted after {calls} calls"
            organizations = [o for page in client.get_paginator("list_organizations").paginate()
                             for o in page["OrganizationSummaries"]]
            assert [o["Alias"] for o in organizations if o["Alias"] == alias and o["State"] != "Deleted"] == [alias]
        finally:
            delete_organization(client, result.organization_id)


def test_rerun_after_a_concurrent_interruption_converges(client: Any) -> None:
    for calls in (3, 11, 19, 27, 33):
        alias = unique("org")
        plan = organization_plan(alias)
        with pytest.raises(Interrupted):
            run(plan, InterruptingApi(client, calls), max_workers=8)
        result = run(plan, WorkMailApi(client, base_delay=0.0), max_workers=8)
        try:
            assert_ok(result)
            assert result.organization_id is not None
            state = snapshot(client, result.organization_id)
            assert len(state["roles"]) == 1
            assert [r[0] for r in state["mobile_rules"]].count("no-android") == 1
            assert set(state["entities"]) == {"alice", "bob", "carol", "team", "room"}
        finally:
            delete_organization(client, result.organization_id)


def test_throttling_is_retried_by_the_api(client: Any, control: EmulatorControl, org_id: str, domain: str) -> None:
    plan = Plan(everything(domain, f"{unique('x')}.example.com", f"{unique('p')}.example.org"), organization_id=org_id)
    control.set_faults(throttle_rate=0.3, seed=7)
    try:
        result = run(plan, WorkMailApi(client, base_delay=0.0, max_attempts=20))
    finally:
        control.set_faults(throttle_rate=0, error_rate=0, seed=None)
    assert_ok(result)
    assert members(client, org_id, "team") == ["alice", "bob"]
