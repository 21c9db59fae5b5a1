"""The WorkMail changes between two cloud assemblies, with no AWS and no deploy.

A pull request's review needs what the branch changes in WorkMail, not escaped JSON or a
hash. The base assembly's declared state is applied to an emulator in memory (deploy-time
values as stand-ins of the right shape, the same on both sides, so they differ only where
the templates do), and the head's is planned against it: the same planner and renderer as
``plan``, so the diff lists exactly what a deploy of the branch would change.
"""

from __future__ import annotations

from pathlib import Path

from ...core.api import WorkMailApi
from ...core.changes import Plan
from ...core.reconcile import plan_changes, reconcile
from ...core.spec import SecretRef
from ..clients import workmail_api
from ..config import Settings, Timing
from ..server import EmulatorServer
from .assembly import pick_stack, read_stacks
from .declared import DeclaredDirectory, declared_directories

# Passwords are never compared (they can't be read back); a valid one lets the base apply.
_STAND_IN_PASSWORD = "Stand-in-Passw0rd!"


class DiffError(Exception):
    """The two assemblies can't be compared; the message says why."""


def diff_assemblies(base: Path, head: Path, stack: str | None, *, default_region: str,
                    default_account: str) -> list[Plan]:
    """One plan per WorkMail directory of the stack: what deploying ``head`` over ``base`` changes."""
    sides = []
    for assembly in (base, head):
        if not (assembly / "manifest.json").is_file():
            raise DiffError(f"{assembly} is not a cloud assembly (no manifest.json); synthesize into it first")
        artifact = pick_stack(read_stacks(assembly), stack)
        sides.append({d.logical_id: d for d in declared_directories(
            artifact, None, default_region=default_region, default_account=default_account, stand_ins=True)})
    before, after = sides
    # Domains verify at once: in a diff, only the declarations matter.
    server = EmulatorServer(settings=Settings(timing=Timing(domain_verification=0.0))).start()
    try:
        api = workmail_api(server.endpoint_url, default_region)
        plans = [_diff(api, before.get(logical_id), after.get(logical_id))
                 for logical_id in sorted(set(before) | set(after))]
    finally:
        server.stop()
    for plan in plans:
        # The id is the throwaway emulator's: no organization a reader knows.
        plan.organization_id = None
    return plans


def _diff(api: WorkMailApi, before: DeclaredDirectory | None, after: DeclaredDirectory | None) -> Plan:
    organization_id = None
    if before is not None:
        result = reconcile(api, before.spec, resolve_secret=_password, allow_destructive=True)
        if not result.ok:
            problems = "; ".join(reason for _, reason in (*result.failed, *result.skipped))
            raise DiffError(f"{before.logical_id}: the base's declared state can't be set up to compare with: "
                            f"{problems}")
        organization_id = result.organization_id
    if after is None:
        assert before is not None
        return plan_changes(api, None, before.spec, organization_id=organization_id).plan
    if organization_id is not None:
        after.spec.organization.organization_id = organization_id
    return plan_changes(api, after.spec, before.spec if before else None, organization_id=organization_id).plan


def _password(_: SecretRef) -> str:
    return _STAND_IN_PASSWORD
