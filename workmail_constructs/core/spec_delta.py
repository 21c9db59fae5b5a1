"""An update narrowed to the objects it changes, found by comparing the two spec documents as they come.

The directory handler gets the previous and the new spec document with every Update. In a
10,000-user organization, reading and validating both whole costs hundreds of times what a
one-user change needs; comparing the documents' entries costs little (dictionary equality
runs in C). ``narrow`` keeps, of the sections that grow with the organization (users,
groups, resources, mailbox permissions), only the entries that differ; of the other
sections, those that differ (and the organization and domains, which must agree). The
narrowed pair plans exactly as the whole pair would: the planner reads and compares only
what differs between the two specs anyway (``plan.incremental_scope``).

What validation needs of the entries left out, ``UnchangedEntities`` gives on demand: their
names, addresses and logical ids (which a new or changed entity must not take), and the
entities themselves, read from their entries when a changed object refers to one.

``narrow`` returns None, and the caller plans with the whole specs, whenever a change could
affect an entry left out or the plan's safety:
- the organization, its domains or ``prune`` differ (every address depends on the domains;
  the plan of a different organization is a full read);
- an entity is removed or renamed (entries left out may refer to it);
- an entity is enabled or disabled (permissions and device overrides left out need their
  entities enabled);
- a new or changed group has a group member (a cycle can run through groups left out);
- an entry is not what a spec holds (the whole read reports it, with its path).

The constructs validate the whole spec at synth; the handler validates the changed objects
against the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .spec import GroupSpec, ResourceSpec, UserSpec
from .spec_reading import from_data

ENTITY_CLASSES: dict[str, type[UserSpec] | type[GroupSpec] | type[ResourceSpec]] = {
    "users": UserSpec, "groups": GroupSpec, "resources": ResourceSpec,
}
NARROWED_SECTIONS = (*ENTITY_CLASSES, "mailbox_permissions")
# Sections the two documents must agree on for the update to be narrowed; both narrowed
# specs keep them.
MUST_AGREE = ("organization", "domains", "prune", "version")

Document = Mapping[str, Any]
Entity = UserSpec | GroupSpec | ResourceSpec


class _Whole(Exception):
    """The update can't be narrowed: plan with the whole specs."""


@dataclass
class Settled:
    """Names, addresses and logical ids that changed entities hold in both documents."""

    names: set[str]
    addresses: set[str]
    logical_ids: set[Any]

    def add(self, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """What an entity changed in place keeps from ``before`` to ``after``."""
        self.names.add(after["name"].lower())
        self.addresses.update(_addresses(before) & _addresses(after))
        if before.get("logical_id") == after.get("logical_id") and after.get("logical_id"):
            self.logical_ids.add(after["logical_id"])


def _addresses(entry: Mapping[str, Any]) -> set[str]:
    aliases = entry.get("aliases")
    found = [entry.get("email"), *(aliases if isinstance(aliases, list) else ())]
    return {a.lower() for a in found if isinstance(a, str)}


@dataclass
class UnchangedEntities:
    """The users, groups and resources of the declared document that the narrowed specs leave out."""

    entries: dict[str, list[Mapping[str, Any]]]
    references: Mapping[str, Any] | None = None
    # Names, addresses and logical ids (lower-cased) that a changed entity has in both
    # documents. One of the two documents was checked whole before (the previous one when it
    # was deployed; the declared one when a rollback returns to it), with the entities left
    # out as they are; so none of those can hold these, and they are not looked up.
    settled: Settled = field(default_factory=lambda: Settled(set(), set(), set()))
    _names: dict[str, tuple[str, Mapping[str, Any]]] | None = field(default=None, repr=False)
    _addresses: dict[str, str] | None = field(default=None, repr=False)
    _parsed: dict[str, Entity] = field(default_factory=dict, repr=False)

    def name_taken(self, name: str) -> bool:
        """Whether an entity left out is called ``name`` (lower-cased)."""
        return name not in self.settled.names and name in self.names()

    def names(self) -> dict[str, tuple[str, Mapping[str, Any]]]:
        """Lower-cased name → (section, entry): one namespace for the three kinds, as in WorkMail."""
        if self._names is None:
            self._names = {}
            for section, entries in self.entries.items():
                for entry in _named(entries):
                    self._names.setdefault(entry["name"].lower(), (section, entry))
        return self._names

    def address_owner(self, address: str) -> str | None:
        """The path of the entity left out that owns ``address`` (lower-cased), if one does."""
        if address in self.settled.addresses:
            return None
        if self._addresses is None:
            self._addresses = {}
            for section, entries in self.entries.items():
                for entry in _named(entries):
                    owner = f"{section}[{entry['name']}]"
                    email = entry.get("email")
                    if isinstance(email, str):
                        self._addresses.setdefault(email.lower(), owner)
                    for alias in entry.get("aliases") or ():
                        if isinstance(alias, str):
                            self._addresses.setdefault(alias.lower(), owner)
        return self._addresses.get(address)

    def logical_ids_taken(self, section: str, wanted: Iterable[Any]) -> set[Any]:
        """Those of ``wanted`` that an entity of ``section`` left out has as its logical id."""
        unsettled = {i for i in wanted if i and i not in self.settled.logical_ids}
        if not unsettled:
            return set()
        return {e["logical_id"] for e in self.entries.get(section, ())
                if isinstance(e, Mapping) and isinstance(e.get("logical_id"), str) and e["logical_id"] in unsettled}

    def entity(self, name: str) -> Entity | None:
        """The entity left out that is called ``name`` (lower-cased), read from its entry."""
        found = self._parsed.get(name)
        if found is None:
            named = self.names().get(name)
            if named is None:
                return None
            section, entry = named
            found = self._parsed[name] = from_data(ENTITY_CLASSES[section], entry, section, cloudformation=True,
                                                   references=self.references)
        return found


def _named(entries: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    # Entries the two documents agree on were read and checked when the previous one was
    # deployed; anything else in them is the whole validation's to report, not this index's.
    return (e for e in entries if isinstance(e, Mapping) and isinstance(e.get("name"), str))


@dataclass
class Narrowed:
    """The previous and declared documents cut down to what differs, and what was cut."""

    previous: dict[str, Any]
    declared: dict[str, Any]
    unchanged: UnchangedEntities

    def size(self) -> int:
        """Entries kept of the narrowed sections, for the log."""
        return sum(len(self.declared.get(s) or ()) for s in NARROWED_SECTIONS)


def narrow(previous: Any, declared: Any, references: Mapping[str, Any] | None = None) -> Narrowed | None:
    """The update from ``previous`` to ``declared`` cut down to the entries that differ, or
    None when it must be planned whole (see the module's documentation)."""
    try:
        return _narrow(previous, declared, references)
    except _Whole:
        return None


def _narrow(previous: Any, declared: Any, references: Mapping[str, Any] | None) -> Narrowed:
    if not isinstance(previous, Mapping) or not isinstance(declared, Mapping):
        raise _Whole
    if any(previous.get(key) != declared.get(key) for key in MUST_AGREE):
        raise _Whole
    # A section the two documents agree on plans to nothing (the plan reads and compares only
    # sections that differ), and what it refers to is still there as it was: no entity is
    # removed, renamed, enabled or disabled. So only the sections that differ are kept.
    sections = [k for k in previous.keys() | declared.keys() if k not in NARROWED_SECTIONS
                and (k in MUST_AGREE or previous.get(k) != declared.get(k))]
    old = {k: previous[k] for k in sections if k in previous}
    new = {k: declared[k] for k in sections if k in declared}
    left_out: dict[str, list[Mapping[str, Any]]] = {}
    settled = Settled(set(), set(), set())
    for section in ENTITY_CLASSES:
        before, after = _entries(previous, section), _entries(declared, section)
        changed = _changed_entities(before, after, settled)
        old[section] = [before[i] for i in changed.before]
        new[section] = [after[i] for i in changed.after]
        taken = set(changed.after)
        left_out[section] = [e for i, e in enumerate(after) if i not in taken]
    _refuse_group_members(new["groups"], declared)
    _narrow_permissions(previous, declared, old, new, left_out, settled)
    return Narrowed(old, new, UnchangedEntities(left_out, references, settled))


def _entries(document: Document, section: str) -> list[Mapping[str, Any]]:
    entries = document.get(section)
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise _Whole
    return entries


@dataclass
class _Changed:
    before: list[int]  # positions in the previous section of the entries that changed
    after: list[int]  # positions in the declared section of the entries that changed or are new


def _key(entry: Any) -> str:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise _Whole
    return str(entry["name"]).lower()


def _changed_entities(before: list[Mapping[str, Any]], after: list[Mapping[str, Any]], settled: Settled) -> _Changed:
    if len(before) == len(after):
        # Most updates change entries in place: compare position by position first.
        differ = _differing_positions(before, after, 0, len(after))
        if all(_key(before[i]) == _key(after[i]) for i in differ):
            for i in differ:
                _refuse_state_change(before[i], after[i])
                settled.add(before[i], after[i])
            return _Changed(differ, differ)
    by_name: dict[str, int] = {}
    for i, entry in enumerate(before):
        by_name.setdefault(_key(entry), i)
    if len(by_name) != len(before):
        raise _Whole  # a name declared twice: the whole validation reports it
    changed = _Changed([], [])
    seen: set[str] = set()
    for i, entry in enumerate(after):
        key = _key(entry)
        if key in seen:
            raise _Whole
        seen.add(key)
        j = by_name.get(key)
        if j is None:
            changed.after.append(i)
        elif before[j] != entry:
            _refuse_state_change(before[j], entry)
            settled.add(before[j], entry)
            changed.before.append(j)
            changed.after.append(i)
    if not by_name.keys() <= seen:
        raise _Whole  # an entity was removed or renamed
    return changed


def _differing_positions(before: list[Any], after: list[Any], start: int, end: int) -> list[int]:
    """The positions in [start, end) where the two lists differ. Halves that are equal are
    compared by the list comparison, in C; an update changes few entries of thousands."""
    if before[start:end] == after[start:end]:
        return []
    if end - start <= 16:
        return [i for i in range(start, end) if before[i] != after[i]]
    middle = (start + end) // 2
    return _differing_positions(before, after, start, middle) + _differing_positions(before, after, middle, end)


def _refuse_state_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
    if before.get("enabled") != after.get("enabled"):
        raise _Whole


def _refuse_group_members(groups: list[Mapping[str, Any]], declared: Document) -> None:
    if not groups:
        return
    names = {_key(g) for g in _entries(declared, "groups")}
    for group in groups:
        members = group.get("members") or []
        if not isinstance(members, list) or any(not isinstance(m, str) or m.lower() in names for m in members):
            raise _Whole


def _narrow_permissions(previous: Document, declared: Document, old: dict[str, Any], new: dict[str, Any],
                        left_out: dict[str, list[Mapping[str, Any]]], settled: Settled) -> None:
    """Keep every grant of each mailbox whose grants differ: the plan of a mailbox's permissions
    compares all of them (a grant missing from the declared ones would be deleted). The
    mailbox's owner comes along, unchanged on both sides, so the plan knows its kind."""
    before, after = _entries(previous, "mailbox_permissions"), _entries(declared, "mailbox_permissions")
    if before == after:
        old["mailbox_permissions"], new["mailbox_permissions"] = [], []
        return
    grouped_before, grouped_after = _by_mailbox(before), _by_mailbox(after)
    mailboxes = {m for m in grouped_before.keys() | grouped_after.keys()
                 if grouped_before.get(m) != grouped_after.get(m)}
    old["mailbox_permissions"] = [g for g in before if g["mailbox"].lower() in mailboxes]
    new["mailbox_permissions"] = [g for g in after if g["mailbox"].lower() in mailboxes]
    for section, entries in left_out.items():
        owners = [e for e in _named(entries) if e["name"].lower() in mailboxes]
        for owner in owners:
            settled.add(owner, owner)
        if owners:
            old[section] = old[section] + owners
            new[section] = new[section] + owners
            moved = {id(o) for o in owners}
            left_out[section] = [e for e in entries if id(e) not in moved]


def _by_mailbox(grants: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for grant in grants:
        if not isinstance(grant, Mapping) or not isinstance(grant.get("mailbox"), str):
            raise _Whole
        grouped.setdefault(grant["mailbox"].lower(), []).append(grant)
    return grouped
