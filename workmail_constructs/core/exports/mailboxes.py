"""The mailboxes of an organization: its enabled users and resources (groups have none)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..api import WorkMailApi

MailboxKind = Literal["user", "resource"]


class SelectionError(ValueError):
    """A mailbox asked for by id, email or name that the organization doesn't have."""


@dataclass(frozen=True)
class Mailbox:
    entity_id: str
    kind: MailboxKind
    name: str
    email: str | None

    @property
    def label(self) -> str:
        return self.email or self.name


def list_mailboxes(api: WorkMailApi, organization_id: str) -> list[Mailbox]:
    """Every enabled user and resource: the entities StartMailboxExportJob accepts (API Reference,
    "StartMailboxExportJob"). WorkMail's own system users are left out; they hold no one's mail."""
    found: list[Mailbox] = []
    for user in api.paginate("ListUsers", "Users", OrganizationId=organization_id):
        if user.get("State") == "ENABLED" and user.get("UserRole") != "SYSTEM_USER":
            found.append(Mailbox(user["Id"], "user", user.get("Name") or user["Id"], user.get("Email")))
    for resource in api.paginate("ListResources", "Resources", OrganizationId=organization_id):
        if resource.get("State") == "ENABLED":
            found.append(Mailbox(resource["Id"], "resource", resource.get("Name") or resource["Id"],
                                 resource.get("Email")))
    return found


def select(mailboxes: list[Mailbox], wanted: Iterable[str]) -> list[Mailbox]:
    """The mailboxes named by entity id, email address or name (case-insensitive but the id),
    in the order asked, each once; a name that matches none is an error naming it."""
    by_key: dict[str, Mailbox] = {}
    for mailbox in mailboxes:
        by_key[mailbox.entity_id] = mailbox
        by_key.setdefault(mailbox.name.lower(), mailbox)
        if mailbox.email:
            by_key[mailbox.email.lower()] = mailbox
    chosen: dict[str, Mailbox] = {}
    unknown: list[str] = []
    for key in wanted:
        found = by_key.get(key) or by_key.get(key.lower())
        if found is None:
            unknown.append(key)
        else:
            chosen.setdefault(found.entity_id, found)
    if unknown:
        raise SelectionError(
            f"no enabled user or resource with id, email or name {', '.join(repr(u) for u in unknown)} "
            "(groups, disabled users and deleted entities have no mailbox to export)"
        )
    return list(chosen.values())
