"""The reconcile cycle end to end against the emulator: round trip, exactly-what-changed
plans, faults, a killed apply, safety, and a property test over random specs."""

from __future__ import annotations

import copy
import dataclasses
import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import in_process_api, make_client, unique
from tests.spec_factory import organization_spec, resolve_secret
from tests.spec_strategies import specs
from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.apply import DestructiveChangeRefused
from workmail_constructs.core.reconcile import plan_changes, reconcile
from workmail_constructs.core.spec import (
    DomainSpec,
    GroupSpec,
    MailboxPermissionSpec,
    OrganizationSpec,
    UserSpec,
    WorkMailSpec,
)
from workmail_constructs.core.validate import SpecValidationError
from workmail_constructs.local import EmulatorControl

ROOT = Path(__file__).parent.parent


@pytest.fixture
def api(emulator_url: str, control: EmulatorControl) -> Iterator[WorkMailApi]:
    # Domains verify as soon as they are registered, as if their DNS records were in place.
    control.set_timing(domain_verification=0)
    try:
        yield WorkMailApi(make_client(emulator_url))
    finally:
        control.set_timing(domain_verification=None)
        control.set_faults(throttle_rate=0, error_rate=0, operations=None)


def apply_spec(api: WorkMailApi, spec: WorkMailSpec, previous: WorkMailSpec | None = None,
               organization_id: str | None = None, **options: Any) -> str:
    result = reconcile(api, spec, previous, resolve_secret=resolve_secret, organization_id=organization_id,
                       **options)
    assert result.ok, [(c.title, error) for c, error in result.failed] + [(c.title, why) for c, why in result.skipped]
    assert result.organization_id
    return result.organization_id


def remaining(api: WorkMailApi, spec: WorkMailSpec, organization_id: str) -> list[str]:
    return [c.title for c in plan_changes(api, spec, spec, organization_id=organization_id).plan.changes]


def test_round_trip_and_exactly_ten_changes(api: WorkMailApi, client: Any) -> None:
    spec = organization_spec(unique("rt"))
    org_id = apply_spec(api, spec)
    assert remaining(api, spec, org_id) == []
    assert len([u for p in client.get_paginator("list_users").paginate(OrganizationId=org_id) for u in p["Users"]
                if u["State"] == "ENABLED"]) == 200

    changed = copy.deepcopy(spec)
    changed.users[0].display_name = "Renamed Display"
    changed.users[1].aliases.append(f"extra@{spec.domains[0].name}")
    changed.users[150].enabled = False
    changed.users[150].email = None
    changed.users[150].aliases = []
    domain = spec.domains[0].name
    changed.users.append(dataclasses.replace(changed.users[3], name="newcomer", email=f"newcomer@{domain}", aliases=[]))
    del changed.resources[19]
    changed.groups[1].members.append("user00160")
    changed.resources[1].description = "Renovated"
    changed.mailbox_permissions[0].permissions = ["SEND_AS"]
    assert changed.access_control_rules is not None and changed.retention_policy is not None
    changed.access_control_rules[1].description = "Changed description"
    changed.retention_policy.folders[0].period_days = 60
    planned = plan_changes(api, changed, spec, organization_id=org_id).plan
    assert sorted(c.title for c in planned.changes) == sorted([
        "update user user00000", "update user user00001", "update user user00150", "create user newcomer",
        "delete resource room0019", "create group member group0001/user00160", "update resource room0001",
        "update mailbox permission user00000/user00001", "update access control rule deny-imap",
        "update retention policy standard",
    ])
    with pytest.raises(DestructiveChangeRefused) as refused:
        apply_spec(api, changed, spec, org_id)
    assert "room0019" in str(refused.value) and "user00150" in str(refused.value)
    apply_spec(api, changed, spec, org_id, allow_destructive=True)
    assert remaining(api, changed, org_id) == []


def test_converges_under_throttling_and_server_errors(api: WorkMailApi, control: EmulatorControl,
                                                      client: Any) -> None:
    spec = organization_spec(unique("faults"), users=60, groups=10, resources=6)
    control.set_faults(throttle_rate=0.2, error_rate=0.05, seed=11)
    try:
        org_id = apply_spec(api, spec)
        injected = control.call_counts()["injected_faults"]
    finally:
        control.set_faults(throttle_rate=0, error_rate=0)
    assert sum(injected.values()) > 50
    assert remaining(api, spec, org_id) == []
    users = [u for p in client.get_paginator("list_users").paginate(OrganizationId=org_id) for u in p["Users"]]
    assert sorted(u["Name"] for u in users if u["State"] != "DELETED") == sorted(u.name for u in spec.users)
    same_alias = [o for p in client.get_paginator("list_organizations").paginate() for o in p["OrganizationSummaries"]
                  if o["Alias"] == spec.organization.alias]
    assert [o["OrganizationId"] for o in same_alias] == [org_id], "retries must not create a second organization"


def test_a_killed_apply_converges_when_rerun(api: WorkMailApi, emulator_url: str, control: EmulatorControl,
                                             tmp_path: Path) -> None:
    spec = organization_spec(unique("killed"), users=80, groups=10, resources=5)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    script = textwrap.dedent(f"""
        import boto3
        from tests.spec_factory import resolve_secret
        from workmail_constructs.core.api import WorkMailApi
        from workmail_constructs.core.reconcile import reconcile
        from workmail_constructs.core.spec import WorkMailSpec
        client = boto3.client("workmail", endpoint_url={emulator_url!r}, region_name="us-east-1",
                              aws_access_key_id="a", aws_secret_access_key="b")
        spec = WorkMailSpec.from_json(open({str(spec_file)!r}).read())
        reconcile(WorkMailApi(client), spec, resolve_secret=resolve_secret)
    """)
    control.reset_call_counts()
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while control.call_counts()["calls"].get("CreateAlias", 0) < 20:
            assert process.poll() is None, "the apply finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    organizations = [o for page in make_client(emulator_url).get_paginator("list_organizations").paginate()
                     for o in page["OrganizationSummaries"] if o["Alias"] == spec.organization.alias]
    assert len(organizations) == 1
    org_id = organizations[0]["OrganizationId"]
    assert remaining(api, spec, org_id) != []
    # Rerunning (with the organization found by the deterministic client token) converges.
    assert apply_spec(api, spec) == org_id
    assert remaining(api, spec, org_id) == []


def test_destructive_changes_are_refused_before_any_call(api: WorkMailApi, control: EmulatorControl) -> None:
    spec = organization_spec(unique("safe"), users=3, groups=1, resources=1, policies=False)
    org_id = apply_spec(api, spec)
    smaller = copy.deepcopy(spec)
    smaller.users = smaller.users[:1]
    smaller.groups[0].members = ["user00000"]
    smaller.mailbox_permissions = []
    smaller.resources[0].delegates = ["user00000"]
    planned = plan_changes(api, smaller, spec, organization_id=org_id).plan
    control.reset_call_counts()
    with pytest.raises(DestructiveChangeRefused) as refused:
        reconcile(api, smaller, spec, resolve_secret=resolve_secret, organization_id=org_id)
    message = str(refused.value)
    assert "user00001" in message and "user00002" in message and "mailbox" in message
    # The refusal came after reading and planning, before any write.
    writes = {op for op in control.call_counts()["calls"] if not op.startswith(("List", "Describe", "Get"))}
    assert writes == set()
    assert len(planned.destructive) == 2


# Property: apply then plan yields no changes, from any starting state. ------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_apply_then_plan_is_empty_from_any_start(data: st.DataObject) -> None:
    with in_process_api() as api:
        start = data.draw(specs("prop"), label="start")
        target = data.draw(specs("prop"), label="target")
        org_id = apply_spec(api, start, allow_destructive=True)
        apply_spec(api, target, start, org_id, allow_destructive=True)
        leftover = plan_changes(api, target, target, organization_id=org_id).plan
        assert leftover.empty, [(c.title, [(f.name, f.old, f.new) for f in c.fields]) for c in leftover.changes]


def test_spec_file_round_trip_is_what_the_subprocess_reads() -> None:
    spec = organization_spec("json", users=3, groups=1, resources=1)
    assert WorkMailSpec.from_json(json.dumps(json.loads(spec.to_json()))) == spec


def test_groups_swap_nesting_in_one_apply() -> None:
    """A group takes in the group that contained it: the old membership goes first, or
    WorkMail would refuse the new one (a group can't contain itself, even for a moment)."""
    domain = "swap.example.com"

    def spec(outer: str, inner: str) -> WorkMailSpec:
        groups = {name: GroupSpec(name=name, email=f"{name}@{domain}") for name in ("first", "second")}
        groups[outer].members = [inner]
        return WorkMailSpec(OrganizationSpec(alias="swap"), domains=[DomainSpec(domain)],
                            groups=list(groups.values()))

    with in_process_api() as api:
        start, swapped = spec("first", "second"), spec("second", "first")
        organization_id = apply_spec(api, start)
        apply_spec(api, swapped, start, organization_id)
        assert remaining(api, swapped, organization_id) == []


def test_a_member_replaced_by_a_group_of_the_same_name_stays_a_member() -> None:
    """Deleting a user takes it out of its groups; the group that takes its name is added
    to them anew, although the member's name never changed."""
    domain = "same.example.com"
    owner = GroupSpec(name="team", email=f"team@{domain}", members=["ann"])
    start = WorkMailSpec(OrganizationSpec(alias="same"), domains=[DomainSpec(domain)],
                         users=[UserSpec(name="ann", display_name="Ann", enabled=False)], groups=[owner])
    target = WorkMailSpec(OrganizationSpec(alias="same"), domains=[DomainSpec(domain)],
                          groups=[GroupSpec(name="ann", enabled=False), owner], prune=True)
    with in_process_api() as api:
        organization_id = apply_spec(api, start)
        apply_spec(api, target, start, organization_id, allow_destructive=True)
        assert remaining(api, target, organization_id) == []


def test_a_grantee_replaced_by_a_group_of_the_same_name_keeps_the_permission() -> None:
    """Deleting a user takes its mailbox permissions away; the group that takes its name
    is granted them anew."""
    domain = "grant.example.com"
    owner = UserSpec(name="boss", display_name="Boss", email=f"boss@{domain}")
    grant = MailboxPermissionSpec("boss", "aide", ["SEND_AS"])
    start = WorkMailSpec(OrganizationSpec(alias="grant"), domains=[DomainSpec(domain)],
                         users=[owner, UserSpec(name="aide", display_name="Aide", email=f"aide@{domain}")],
                         mailbox_permissions=[grant])
    target = WorkMailSpec(OrganizationSpec(alias="grant"), domains=[DomainSpec(domain)], users=[owner],
                          groups=[GroupSpec(name="aide", email=f"aides@{domain}")], mailbox_permissions=[grant])
    with in_process_api() as api:
        organization_id = apply_spec(api, start)
        apply_spec(api, target, start, organization_id, allow_destructive=True)
        assert remaining(api, target, organization_id) == []


def test_an_adopted_organization_plans_without_declaring_what_exists() -> None:
    """Addresses in a domain the organization has and members that exist need no declaring:
    the spec is checked against what the full read found, and what it doesn't declare is
    left alone (no pruning)."""
    with in_process_api() as api:
        organization_id = api.call("CreateOrganization", Alias="adopted-org")["OrganizationId"]
        api.call("RegisterMailDomain", OrganizationId=organization_id, DomainName="legacy.example")
        legacy = api.call("CreateUser", OrganizationId=organization_id, Name="legacy", DisplayName="Legacy")
        declared = WorkMailSpec(
            organization=OrganizationSpec(alias="adopted-org", organization_id=organization_id),
            users=[UserSpec("newcomer", "Newcomer", email="newcomer@legacy.example")],
            groups=[GroupSpec("team", enabled=False, members=["legacy", "newcomer"])],
            prune=False,
        )
        planned = plan_changes(api, declared)
        keys = {(c.kind, c.action, str(c.address)) for c in planned.plan.changes}
        assert not any(action == "delete" for _, action, _ in keys)
        assert {kind for kind, _, _ in keys} >= {"user", "group", "group_member"}
        assert legacy["UserId"] in {u.id for u in planned.actual.users.values()}
        # Before the organization exists, the same names are unknown: refused before any read.
        with pytest.raises(SpecValidationError, match=r"legacy\.example is not a declared or existing domain"):
            plan_changes(api, dataclasses.replace(declared, organization=OrganizationSpec(alias="other-org")))
