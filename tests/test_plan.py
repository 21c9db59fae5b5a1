"""Planning is pure: these tests build actual states by hand and check the changes."""

from __future__ import annotations

import copy

from workmail_constructs.core.changes import Change
from workmail_constructs.core.plan import incremental_scope, plan
from workmail_constructs.core.read import ReadScope
from workmail_constructs.core.spec import (
    AccessControlRuleSpec,
    DomainSpec,
    EmailFlowRuleSpec,
    GroupSpec,
    MailboxPermissionSpec,
    OrganizationSpec,
    ResourceSpec,
    SecretRef,
    UserSpec,
    WorkMailSpec,
)
from workmail_constructs.core.state import (
    ActualDomain,
    ActualGroup,
    ActualOrganization,
    ActualResource,
    ActualState,
    ActualUser,
)

ORG = OrganizationSpec(alias="acme")


def spec(**parts: object) -> WorkMailSpec:
    return WorkMailSpec(organization=copy.deepcopy(ORG), **parts)  # type: ignore[arg-type]


def state_for(declared: WorkMailSpec) -> ActualState:
    """The actual state that exactly matches ``declared``."""
    state = ActualState(
        organization=ActualOrganization("m-" + "1" * 32, "arn", "Active", None, "WorkMailDirectory",
                                        copy.deepcopy(declared.organization)),
        read_sections={"domains", "users", "groups", "resources", "mailbox_permissions", "access_control_rules",
                       "retention_policy", "mobile_device_access_rules", "mobile_device_access_overrides",
                       "impersonation_roles", "inbound_dmarc", "email_monitoring", "availability_configurations"},
    )
    for domain in declared.domains:
        state.domains[domain.name.lower()] = ActualDomain(copy.deepcopy(domain), "VERIFIED", "VERIFIED", False)
    for n, user in enumerate(declared.users):
        read_back = dataclass_copy(user, password=None, logical_id=None)
        state.users[user.name.lower()] = ActualUser(f"user-{n:08d}", "ENABLED" if user.enabled else "DISABLED",
                                                    read_back)
    for n, group in enumerate(declared.groups):
        state.groups[group.name.lower()] = ActualGroup(f"group-{n:07d}", "ENABLED" if group.enabled else "DISABLED",
                                                       dataclass_copy(group, logical_id=None))
    for n, resource in enumerate(declared.resources):
        state.resources[resource.name.lower()] = ActualResource(
            f"r-{n:032d}", "ENABLED" if resource.enabled else "DISABLED", dataclass_copy(resource, logical_id=None))
    for permission in declared.mailbox_permissions:
        state.mailbox_permissions[(permission.mailbox.lower(), permission.grantee.lower())] = copy.deepcopy(permission)
    for rule in declared.access_control_rules or []:
        state.access_control_rules[rule.name.lower()] = copy.deepcopy(rule)
    return state


def dataclass_copy(value: object, **changes: object) -> object:
    import dataclasses

    return dataclasses.replace(copy.deepcopy(value), **changes)  # type: ignore[type-var]


def titles(changes: list[Change]) -> list[str]:
    return [c.title for c in changes]


def base() -> WorkMailSpec:
    return spec(
        domains=[DomainSpec("acme.example", default=True)],
        users=[UserSpec("alice", "Alice", email="alice@acme.example", aliases=["a@acme.example"],
                        password=SecretRef("pw", "v1"), logical_id="Org/Alice"),
               UserSpec("bob", "Bob", email="bob@acme.example")],
        groups=[GroupSpec("eng", email="eng@acme.example", members=["alice", "bob"])],
        resources=[ResourceSpec("room", "ROOM", email="room@acme.example", delegates=["alice"], logical_id="Org/Room")],
        mailbox_permissions=[MailboxPermissionSpec("room", "eng", ["SEND_AS"])],
        access_control_rules=[AccessControlRuleSpec("allow-all", "ALLOW", "everything")],
    )


def test_matching_state_plans_nothing() -> None:
    declared = base()
    assert plan(declared, state_for(declared), declared).empty


def test_everything_is_created_for_a_new_organization() -> None:
    declared = base()
    result = plan(declared, ActualState())
    assert titles(result.changes) == [
        "create organization acme", "create domain acme.example", "create user alice", "create user bob",
        "create group eng", "create resource room", "create group member eng/alice", "create group member eng/bob",
        "create resource delegate room/alice", "create mailbox permission room/eng",
        "create access control rule allow-all",
    ]
    assert not result.destructive


def test_attribute_changes_are_updates_with_fields() -> None:
    previous = base()
    declared = base()
    declared.users[0].display_name = "Alice A."
    declared.users[0].aliases = ["a@acme.example", "al@acme.example"]
    declared.users[0].city = "Oslo"
    declared.users[0].mailbox_quota_mb = 2048
    result = plan(declared, state_for(previous), previous)
    (change,) = result.changes
    assert change.title == "update user alice" and change.id == "user-00000000"
    assert {f.name: (f.old, f.new) for f in change.fields} == {
        "display_name": ("Alice", "Alice A."),
        "city": (None, "Oslo"),
        "aliases": (["a@acme.example"], ["a@acme.example", "al@acme.example"]),
        "mailbox_quota_mb": (None, 2048),
    }
    assert not change.destructive


def test_addresses_and_names_compare_case_insensitively() -> None:
    previous = base()
    declared = base()
    declared.users[0].email = "ALICE@acme.example"
    declared.users[0].aliases = ["A@ACME.example"]
    declared.groups[0].members = ["ALICE", "Bob"]
    assert plan(declared, state_for(previous), previous).empty


def test_password_changes_only_with_a_new_secret_version() -> None:
    previous = base()
    declared = base()
    actual = state_for(previous)
    assert plan(declared, actual, previous).empty
    declared.users[0].password = SecretRef("pw", "v2")
    (change,) = plan(declared, actual, previous).changes
    assert [f.name for f in change.fields] == ["password"]
    # Without a previous spec (an adopted user), nothing says the password is out of date.
    assert plan(declared, actual, None).empty


def test_removed_objects_are_deleted_and_user_deletes_are_destructive() -> None:
    previous = base()
    declared = base()
    declared.users = [u for u in declared.users if u.name != "bob"]
    declared.groups[0].members = ["alice"]
    declared.mailbox_permissions = []
    result = plan(declared, state_for(previous), previous)
    assert titles(result.changes) == [
        "delete group member eng/bob", "delete mailbox permission room/eng", "delete user bob",
    ]
    assert [c.title for c in result.destructive] == ["delete user bob"]
    assert "mailbox" in result.destructive[0].reason


def test_undeclared_objects_are_left_alone_unless_pruned() -> None:
    declared = base()
    actual = state_for(declared)
    actual.users["carol"] = ActualUser("user-carol0001", "ENABLED", UserSpec("carol", "Carol"))
    actual.users["system"] = ActualUser("user-system001", "ENABLED", UserSpec("system", "System"), role="SYSTEM_USER")
    assert plan(declared, actual, declared).empty
    declared.prune = True
    result = plan(declared, actual, declared)
    assert titles(result.changes) == ["delete user carol"]


def test_user_rename_is_a_destructive_replacement_and_resource_rename_an_update() -> None:
    previous = base()
    declared = base()
    declared.users[0].name = "alicia"
    declared.resources[0].name = "big-room"
    actual = state_for(previous)
    result = plan(declared, actual, previous)
    by_title = {c.title: c for c in result.changes}
    replace = by_title["replace user alicia"]
    assert replace.destructive and replace.id == actual.users["alice"].id and "renamed from alice" in replace.reason
    update = by_title["update resource big-room"]
    assert [f.name for f in update.fields] == ["name"] and not update.destructive


def test_disabling_is_destructive_and_enabling_sets_addresses() -> None:
    previous = base()
    declared = base()
    declared.users[1].enabled = False
    (change,) = plan(declared, state_for(previous), previous).changes
    assert change.destructive and [f.name for f in change.fields] == ["enabled"]
    enabled = base()
    actual = state_for(declared)
    (change,) = plan(enabled, actual, declared).changes
    assert [(f.name, f.old, f.new) for f in change.fields] == [
        ("enabled", False, True), ("email", None, "bob@acme.example")]


def test_organization_settings_that_cant_change_mean_replacement() -> None:
    previous = base()
    declared = base()
    declared.organization.alias = "acme2"
    result = plan(declared, state_for(previous), previous)
    change = result.changes[0]
    assert change.action == "replace" and change.destructive and change.kind == "organization"
    # Everything is created again in the new organization.
    assert [c.action for c in result.changes[1:]] == ["create"] * 10


def test_adopting_a_missing_organization_is_an_error() -> None:
    import pytest

    from workmail_constructs.core.plan import PlanError

    declared = base()
    declared.organization.organization_id = "m-" + "2" * 32
    with pytest.raises(PlanError, match="organization_id"):
        plan(declared, ActualState())


def test_spec_removal_deletes_the_organization_only_when_destroy() -> None:
    previous = base()
    actual = state_for(previous)
    assert plan(None, actual, previous).empty
    previous.organization.removal_policy = "destroy"
    (change,) = plan(None, actual, previous).changes
    assert change.title == "delete organization acme" and change.destructive


def test_authoritative_rule_list_and_manual_flow_rules() -> None:
    previous = base()
    declared = base()
    declared.access_control_rules = [AccessControlRuleSpec("deny-imap", "DENY", "no imap", actions=["IMAP"])]
    declared.email_flow_rules = [EmailFlowRuleSpec("block", "inbound", "DROP", ["spam.example"], ["*"])]
    result = plan(declared, state_for(previous), previous)
    assert titles(result.changes) == ["create access control rule deny-imap", "delete access control rule allow-all"]
    (step,) = result.manual
    assert "no operations for email flow rules" in step.text and "block" in step.text


def test_incremental_scope_names_only_what_changed() -> None:
    previous = base()
    declared = base()
    declared.users[1].display_name = "Robert"
    scope = incremental_scope(previous, declared)
    assert scope == ReadScope(users={"bob"}, organization=True, quotas=set())
    declared.resources[0].delegates = ["alice", "bob"]
    declared.mailbox_permissions.append(MailboxPermissionSpec("alice", "bob", ["FULL_ACCESS"]))
    scope = incremental_scope(previous, declared)
    assert scope is not None and scope.users == {"bob", "alice"} and scope.resources == {"room"}
    assert scope.mailbox_permissions == {"alice"}
    assert incremental_scope(None, declared) is None


def test_scoped_plan_looks_only_at_what_was_read() -> None:
    previous = base()
    declared = base()
    declared.users[1].display_name = "Robert"
    full = state_for(previous)
    scoped = ActualState(organization=full.organization, users={"bob": full.users["bob"]})
    result = plan(declared, scoped, previous, scope=incremental_scope(previous, declared))
    assert titles(result.changes) == ["update user bob"]
