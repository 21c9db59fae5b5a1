"""An update narrowed to what it changes validates and plans as the whole update would."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import in_process_api
from tests.spec_factory import as_cloudformation_sends, organization_spec, resolve_secret
from tests.spec_strategies import specs, updates
from workmail_constructs.core.changes import Plan
from workmail_constructs.core.plan import PlanError
from workmail_constructs.core.problems import Problem
from workmail_constructs.core.reconcile import plan_changes, reconcile
from workmail_constructs.core.spec import GroupSpec, MailboxPermissionSpec, UserSpec, WorkMailSpec, to_data
from workmail_constructs.core.spec_delta import Narrowed, narrow
from workmail_constructs.core.spec_reading import from_data
from workmail_constructs.core.validate import validate


def documents(previous: WorkMailSpec, declared: WorkMailSpec) -> tuple[Any, Any]:
    """The two specs as the directory handler gets them (every scalar a string)."""
    return as_cloudformation_sends(to_data(previous)), as_cloudformation_sends(to_data(declared))


def narrowed_specs(narrowed: Narrowed) -> tuple[WorkMailSpec, WorkMailSpec]:
    return (from_data(WorkMailSpec, narrowed.previous, cloudformation=True),
            from_data(WorkMailSpec, narrowed.declared, cloudformation=True))


def summary(plan: Plan) -> list[tuple[str, str, tuple[Any, ...]]]:
    return sorted((c.action, c.title, tuple((f.name, repr(f.old), repr(f.new)) for f in c.fields))
                  for c in plan.changes)


@pytest.fixture(scope="module")
def start() -> WorkMailSpec:
    return organization_spec("delta", users=30, groups=6, resources=4)


def changed(spec: WorkMailSpec, **users: dict[str, Any]) -> WorkMailSpec:
    target = copy.deepcopy(spec)
    target.users = [dataclasses.replace(u, **users.get(u.name, {})) for u in target.users]
    return target


# What is kept ------------------------------------------------------------------------


def test_a_one_user_change_keeps_that_user_and_nothing_else(start: WorkMailSpec) -> None:
    target = changed(start, user00007={"display_name": "Renamed"})
    narrowed = narrow(*documents(start, target))
    assert narrowed is not None
    previous, declared = narrowed_specs(narrowed)
    assert [u.name for u in declared.users] == [u.name for u in previous.users] == ["user00007"]
    assert declared.users[0].display_name == "Renamed" and previous.users[0].display_name == "User 7"
    assert declared.groups == declared.resources == declared.mailbox_permissions == []
    # Sections both documents agree on are left out too; the organization and domains stay.
    assert declared.access_control_rules is None and declared.retention_policy is None
    assert declared.organization == start.organization and declared.domains == start.domains
    assert narrowed.size() == 1
    assert narrowed.unchanged.name_taken("user00008") and not narrowed.unchanged.name_taken("user00007")


def test_an_added_user_and_a_changed_section_are_kept(start: WorkMailSpec) -> None:
    target = copy.deepcopy(start)
    target.users.insert(3, UserSpec(name="newcomer", display_name="New", email="newcomer@delta.example.com"))
    assert target.access_control_rules is not None
    target.access_control_rules = target.access_control_rules[:1]
    narrowed = narrow(*documents(start, target))
    assert narrowed is not None
    previous, declared = narrowed_specs(narrowed)
    assert [u.name for u in declared.users] == ["newcomer"] and previous.users == []
    assert declared.access_control_rules == target.access_control_rules
    assert previous.access_control_rules == start.access_control_rules


def test_every_grant_of_a_changed_mailbox_comes_with_its_owner(start: WorkMailSpec) -> None:
    target = copy.deepcopy(start)
    # user00000 has one grant; a second one on the same mailbox is added.
    target.mailbox_permissions.append(MailboxPermissionSpec("user00000", "user00005", ["SEND_AS"]))
    narrowed = narrow(*documents(start, target))
    assert narrowed is not None
    previous, declared = narrowed_specs(narrowed)
    assert {(p.mailbox, p.grantee) for p in declared.mailbox_permissions} == {
        ("user00000", "user00001"), ("user00000", "user00005")}
    assert [(p.mailbox, p.grantee) for p in previous.mailbox_permissions] == [("user00000", "user00001")]
    # The owner, unchanged on both sides, tells the plan what kind of mailbox it is.
    assert [u.name for u in declared.users] == [u.name for u in previous.users] == ["user00000"]
    assert declared.users == previous.users


@pytest.mark.parametrize("change", [
    "organization", "domains", "prune", "remove-user", "rename-user", "disable-user", "group-in-group",
    "duplicate-name", "not-a-list", "not-an-object", "nameless",
])
def test_updates_that_are_planned_whole(start: WorkMailSpec, change: str) -> None:
    previous, declared = documents(start, start)
    declared = copy.deepcopy(declared)
    users = declared["users"]
    if change == "organization":
        declared["organization"]["tags"] = {"team": "other"}
    elif change == "domains":
        declared["domains"] = declared["domains"][:1]
    elif change == "prune":
        declared["prune"] = "true"
    elif change == "remove-user":
        del users[29]
    elif change == "rename-user":
        users[29]["name"] = "someone-else"
    elif change == "disable-user":
        users[29].update(enabled="false", aliases=[])
        del users[29]["email"]
    elif change == "group-in-group":
        declared["groups"][3]["members"].append("group0004")
    elif change == "duplicate-name":
        users.append(dict(users[0], display_name="Twin"))
    elif change == "not-a-list":
        declared["users"] = {"user00000": users[0]}
    elif change == "not-an-object":
        users.append("user99999")
    elif change == "nameless":
        users.append({"display_name": "Nobody"})
    assert narrow(previous, declared) is None


# Validation ------------------------------------------------------------------------------


def _add_user(**fields: Any) -> Any:
    def edit(spec: WorkMailSpec) -> None:
        spec.users.append(UserSpec(**{"name": "newcomer", "display_name": "New",
                                      "email": "newcomer@delta.example.com", **fields}))
    return edit


def _edit_user(name: str, **fields: Any) -> Any:
    def edit(spec: WorkMailSpec) -> None:
        spec.users = [dataclasses.replace(u, **fields) if u.name == name else u for u in spec.users]
    return edit


def _edit_group(index: int, **fields: Any) -> Any:
    def edit(spec: WorkMailSpec) -> None:
        spec.groups[index] = dataclasses.replace(spec.groups[index], **fields)
    return edit


def _grant(mailbox: str, grantee: str, permission: str) -> Any:
    def edit(spec: WorkMailSpec) -> None:
        spec.mailbox_permissions.append(MailboxPermissionSpec(mailbox, grantee, [permission]))  # type: ignore[list-item]
    return edit


INVALID = {
    "new name taken by a group": _add_user(name="group0003", email="g3@delta.example.com"),
    "new email taken by an alias": _add_user(email="u00004.0@delta.example.com"),
    "new alias taken by a user": _edit_user("user00010", aliases=["user00011@delta.example.com"]),
    "new alias taken by a room": _edit_user("user00010", aliases=["room0002@delta.example.com"]),
    "address in an unknown domain": _add_user(email="newcomer@elsewhere.example"),
    "member that does not exist": _edit_group(3, members=["user00001", "nobody"]),
    "member that is a room": _edit_group(3, members=["room0001"]),
    "grantee that does not exist": _grant("user00003", "nobody", "SEND_AS"),
    "grantee that is a room": _grant("user00003", "room0001", "SEND_AS"),
    "full access on a group": _grant("group0003", "user00003", "FULL_ACCESS"),
    "logical id taken": _add_user(logical_id="Taken"),
    "display name too long": _add_user(display_name="x" * 300),
}


@pytest.mark.parametrize("name", INVALID)
def test_a_narrowed_update_finds_what_the_whole_validation_finds(start: WorkMailSpec, name: str) -> None:
    base = copy.deepcopy(start)
    base.users[20] = dataclasses.replace(base.users[20], logical_id="Taken")
    target = copy.deepcopy(base)
    INVALID[name](target)
    whole = validate(target)
    assert whole, "the table's update must be invalid"
    narrowed = narrow(*documents(base, target))
    assert narrowed is not None
    _, declared = narrowed_specs(narrowed)
    found = validate(declared, unchanged=narrowed.unchanged)
    # Of two entities that clash, the whole validation names the later one; a narrowed one
    # names the changed one, with the other as the one already using the name or address.
    assert {_gist(p) for p in found} == {_gist(p) for p in whole}, (found, whole)


def _gist(problem: Problem) -> tuple[frozenset[str], str]:
    named = re.findall(r"\[([^\]]+)\]", f"{problem.path} {problem.message}")
    return frozenset(n for n in named if not n.isdigit()), re.sub(r"used by \S+", "used by another", problem.message)


def test_a_narrowed_valid_update_is_valid(start: WorkMailSpec) -> None:
    target = changed(start, user00003={"aliases": ["fresh@delta.example.com"]})
    target.groups[3] = dataclasses.replace(target.groups[3], members=["user00003", "user00029"])
    target.mailbox_permissions.append(MailboxPermissionSpec("room0001", "user00004", ["SEND_AS"]))
    assert validate(target) == []
    narrowed = narrow(*documents(start, target))
    assert narrowed is not None
    _, declared = narrowed_specs(narrowed)
    assert validate(declared, unchanged=narrowed.unchanged) == []


def test_a_narrowed_spec_is_never_planned_whole(start: WorkMailSpec) -> None:
    target = changed(start, user00007={"display_name": "Renamed"})
    narrowed = narrow(*documents(start, target))
    assert narrowed is not None
    _, declared = narrowed_specs(narrowed)
    with in_process_api() as api:
        with pytest.raises(PlanError, match="only be planned incrementally"):
            plan_changes(api, declared, None, organization_id="m-" + "0" * 32, incremental=True,
                         unchanged=narrowed.unchanged)
        assert api.call_counts().calls == {}


# Planning -------------------------------------------------------------------------------


# Each example costs a few milliseconds (an in-process emulator); the rarer cases (a cycle of
# groups, a grant beside a changed one on the same mailbox) need a hundred or so to turn up.
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_narrowed_update_plans_as_the_whole_update_would(data: st.DataObject) -> None:
    """Against any actual state (the start, drifted by another update), with prune on: the
    same changes, whether the two specs are given whole or narrowed; and the same verdict
    of validation."""
    start = data.draw(specs("delta"), label="start")
    target = data.draw(updates(start), label="target")
    drift = data.draw(updates(start), label="drift")
    narrowed = narrow(*documents(start, target))
    problems = validate(target)
    event("planned whole" if narrowed is None else "invalid" if problems else "narrowed and compared")
    if narrowed is None:
        return
    assert bool(validate(narrowed_specs(narrowed)[1], unchanged=narrowed.unchanged)) == bool(problems), problems
    if problems:
        return
    with in_process_api() as api:
        result = reconcile(api, start, resolve_secret=resolve_secret, allow_destructive=True)
        assert result.ok and result.organization_id
        organization_id = result.organization_id
        if drift != start and not validate(drift):
            assert reconcile(api, drift, start, resolve_secret=resolve_secret, organization_id=organization_id,
                             allow_destructive=True).ok
        whole = plan_changes(api, target, start, organization_id=organization_id, incremental=True)
        previous, declared = narrowed_specs(narrowed)
        part = plan_changes(api, declared, previous, organization_id=organization_id, incremental=True,
                            unchanged=narrowed.unchanged)
        assert summary(part.plan) == summary(whole.plan)


def test_nested_groups_in_the_start_do_not_stop_narrowing_elsewhere() -> None:
    start = organization_spec("delta", users=10, groups=4, resources=1)
    assert any(m.startswith("group") for m in start.groups[0].members)
    target = copy.deepcopy(start)
    target.groups[3] = GroupSpec(**{**dataclasses.asdict(target.groups[3]), "members": ["user00001"]})
    assert narrow(*documents(start, target)) is not None


def test_a_grant_beside_a_changed_one_stays_with_prune() -> None:
    """With prune on, a grant the update does not name would be deleted if the narrowed
    specs left it out of its mailbox's grants."""
    start = organization_spec("grants", users=6, groups=1, resources=1, policies=False)
    start.prune = True
    start.mailbox_permissions = [MailboxPermissionSpec("user00000", "user00001", ["FULL_ACCESS"]),
                                 MailboxPermissionSpec("user00000", "user00002", ["SEND_AS"])]
    target = copy.deepcopy(start)
    target.mailbox_permissions[1] = MailboxPermissionSpec("user00000", "user00002", ["FULL_ACCESS"])
    target.mailbox_permissions.append(MailboxPermissionSpec("user00000", "user00003", ["SEND_AS"]))
    with in_process_api() as api:
        result = reconcile(api, start, resolve_secret=resolve_secret)
        assert result.ok and result.organization_id
        narrowed = narrow(*documents(start, target))
        assert narrowed is not None
        previous, declared = narrowed_specs(narrowed)
        part = plan_changes(api, declared, previous, organization_id=result.organization_id, incremental=True,
                            unchanged=narrowed.unchanged)
        whole = plan_changes(api, target, start, organization_id=result.organization_id, incremental=True)
        assert summary(part.plan) == summary(whole.plan)
        assert sorted(c.action for c in part.plan.changes) == ["create", "update"]
