"""Declare an organization, plan it, apply it, change it and plan again, against the
embedded emulator. Run: .venv/bin/python examples/reconcile_with_emulator.py
"""

from __future__ import annotations

import copy

from workmail_constructs.core.api import WorkMailApi
from workmail_constructs.core.reconcile import plan_changes, reconcile
from workmail_constructs.core.render import render_markdown, render_text
from workmail_constructs.core.spec import (
    DomainSpec,
    GroupSpec,
    OrganizationSpec,
    SecretRef,
    UserSpec,
    WorkMailSpec,
)
from workmail_constructs.local import Emulator
from workmail_constructs.local.inprocess import InProcessClient

# Passwords are Secrets Manager references; in AWS the handler resolves them there.
SECRETS = {"arn:aws:secretsmanager:us-east-1:123456789012:secret:alice": "Corr3ct-Horse!"}


def resolve_secret(ref: SecretRef) -> str:
    return SECRETS[ref.secret_id]


def main() -> None:
    spec = WorkMailSpec(
        organization=OrganizationSpec(alias="example-org", tags={"team": "it"}),
        domains=[DomainSpec("example.com", default=True)],
        users=[
            UserSpec("alice", "Alice Liddell", email="alice@example.com", aliases=["al@example.com"],
                     password=SecretRef(next(iter(SECRETS)), version_id="v1")),
            UserSpec("bob", "Bob Builder", email="bob@example.com", mailbox_quota_mb=10240),
        ],
        groups=[GroupSpec("staff", email="staff@example.com", members=["alice", "bob"])],
    )
    emulator = Emulator()
    # In the emulator, domains verify at once, as if their DNS records were published.
    emulator.settings.timing.domain_verification = 0
    api = WorkMailApi(InProcessClient(emulator))
    try:
        result = reconcile(api, spec, resolve_secret=resolve_secret)
        print(f"Applied {len(result.done)} changes; organization {result.organization_id}")

        changed = copy.deepcopy(spec)
        changed.users[1].display_name = "Bob the Builder"
        changed.users.pop(0)
        changed.groups[0].members = ["bob"]
        planned = plan_changes(api, changed, spec, organization_id=result.organization_id).plan
        print(render_text(planned, color=False))
        print(render_markdown(planned))
    finally:
        emulator.close()


if __name__ == "__main__":
    main()
