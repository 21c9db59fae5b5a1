"""What users, groups and resources share: identity by name, renames, addresses, create, delete.

Names are unique across the three kinds and case-insensitive, as in WorkMail. An entity
that keeps its ``logical_id`` under a new name is a rename: WorkMail can rename a resource
(an update) but not a user or a group (a replacement). Deleting a user or a resource
deletes its mailbox for good, so it is destructive; so is disabling one (WorkMail deletes
a disabled mailbox after 30 days). ``user.py``, ``group.py`` and ``resource.py`` add what is
their own: their attributes and the calls that set them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from botocore.exceptions import ClientError

from ..changes import Change, ChangeFailed, EntityAddress, EntityKind, FieldChange
from ..errors import error_code
from ..spec import GroupSpec, ResourceSpec, UserSpec
from ..state import ActualGroup, ActualResource, ActualState, ActualUser
from . import alias
from .base import ENTITY_OPS, ApplyContext, Kind, Phase, PlanContext, Ref, Steps
from .compare import by_name, differs

if TYPE_CHECKING:
    from ..read import Job, Reader
    from ..validate import Validator

E = TypeVar("E", UserSpec, GroupSpec, ResourceSpec)
Actual = ActualUser | ActualGroup | ActualResource
EntityChange = Change[EntityAddress, E]

# At most 100 aliases per user, a hard quota (Administrator Guide, "Amazon WorkMail quotas");
# WorkMail applies it to every entity.
MAX_ALIASES = 100
# The journaling sender address is reserved: no mailbox can take it
# (Administrator Guide, "Using email journaling with Amazon WorkMail").
JOURNALING_LOCAL_PART = "amazonjournaling"
# Fields an update of every entity can change: its addresses.
ADDRESS_FIELDS = frozenset({"enabled", "email", "aliases"})


class EntityKindBase(Kind[EntityAddress, E], Generic[E]):
    name: ClassVar[EntityKind]
    # The spec and state section ("users"), and the fields an update can change.
    section: ClassVar[str]
    update_fields: ClassVar[frozenset[str]]

    # Plan ---------------------------------------------------------------------------

    def plan(self, ctx: PlanContext) -> None:
        section = self.section
        declared_list: list[E] = getattr(ctx.declared, section)
        previous_list: list[E] = getattr(ctx.previous, section) if ctx.previous else []
        actual: dict[str, Actual] = getattr(ctx.actual, section)
        declared = by_name(declared_list, lambda e: e.name)
        previous = by_name(previous_list, lambda e: e.name)
        previous_by_logical = {e.logical_id: e for e in previous_list if e.logical_id}
        renamed_from: dict[str, E] = {}
        for key, spec in declared.items():
            old = previous_by_logical.get(spec.logical_id) if spec.logical_id else None
            if old is not None and old.name.lower() != key and old.name.lower() not in declared:
                renamed_from[key] = old
        handled: set[str] = set()
        for key, spec in declared.items():
            if not ctx.known(section, key):
                continue
            found = actual.get(key)
            old = renamed_from.get(key)
            if found is None and old is not None and old.name.lower() in actual:
                handled.add(old.name.lower())
                self.rename(ctx, old, spec, actual[old.name.lower()])
            elif found is None:
                ctx.add(Change("create", self.address(spec.name), "declared, does not exist", after=spec))
            else:
                self.update(ctx, found, spec, previous.get(key))
        for key, found in actual.items():
            if key in declared or key in handled or found.state == "DELETED":
                continue
            if getattr(found, "role", "USER") in ("SYSTEM_USER", "RESOURCE"):
                continue  # WorkMail's own accounts are never managed
            if not ctx.known(section, key) or not ctx.owned(set(previous), key):
                continue
            ctx.add(self.delete_change(found, "no longer declared" if key in previous else "not declared (prune)"))

    def address(self, name: str) -> EntityAddress:
        return EntityAddress(self.name, name)

    def delete_change(self, found: Actual, why: str) -> Change[EntityAddress, E]:
        # Deleting a user or a resource deletes its mailbox for good; a group holds no mail.
        destructive = self.name in ("user", "resource")
        reason = f"{why}: its mailbox and all its mail are deleted" if destructive else why
        before: Any = found.spec
        return Change("delete", self.address(found.spec.name), reason, destructive=destructive, before=before,
                      id=found.id)

    def rename(self, ctx: PlanContext, old: E, spec: E, found: Actual) -> None:
        """A rename WorkMail can't do (users, groups): delete the old one, create the new."""
        before: Any = found.spec
        ctx.add(Change(
            "replace", self.address(spec.name),
            f"renamed from {old.name}: WorkMail can't rename a {self.name}, so {old.name} is deleted"
            + (" with its mailbox" if self.name == "user" else "") + " and a new one is created",
            destructive=self.name == "user", before=before, after=spec, id=found.id,
            fields=(FieldChange("name", old.name, spec.name),),
        ))

    def update(self, ctx: PlanContext, found: Actual, spec: E, previous: E | None, renamed: bool = False) -> None:
        current: Any = found.spec
        fields: list[FieldChange] = []
        if renamed:
            fields.append(FieldChange("name", current.name, spec.name))
        enabled_now = found.state == "ENABLED"
        if enabled_now != spec.enabled:
            fields.append(FieldChange("enabled", enabled_now, spec.enabled))
        if spec.enabled:
            if differs("email", current.email if enabled_now else None, spec.email):
                fields.append(FieldChange("email", current.email if enabled_now else None, spec.email))
            current_aliases = current.aliases if enabled_now else []
            if differs("aliases", current_aliases, spec.aliases):
                fields.append(FieldChange("aliases", list(current_aliases), list(spec.aliases)))
        fields += self.attribute_changes(current, spec, previous, enabled_now)
        if not fields:
            return
        disabling = any(f.name == "enabled" and f.new is False for f in fields)
        reason = "changed: " + ", ".join(f.name for f in fields)
        if disabling:
            reason += "; disabling removes the mailbox, which WorkMail deletes for good after 30 days"
        ctx.add(Change("update", self.address(spec.name), reason, destructive=disabling and self.name != "group",
                       before=current, after=spec, fields=tuple(fields), id=found.id))

    @abstractmethod
    def attribute_changes(self, current: E, spec: E, previous: E | None, enabled_now: bool) -> list[FieldChange]:
        """The kind's own attributes that differ."""

    # Read -----------------------------------------------------------------------------

    def entity_jobs(self, reader: Reader, entity_id: str, name: str, enabled: bool) -> list[Job]:
        """What is read of one entity besides its Describe: its aliases (only an enabled entity
        has addresses in WorkMail), and what the kind adds (members, delegates, a quota)."""
        if not enabled:
            return []
        fetch = partial(reader.list_all, "ListAliases", "Aliases", EntityId=entity_id)
        return [(reader.tolerant(fetch), reader.keep_detail(reader.detail("aliases"), entity_id))]

    def build(self, reader: Reader, state: ActualState) -> None:
        found: dict[str, Any] = getattr(state, self.section)
        for entity_id in reader.included[self.section]:
            described = reader.live_description(self.section, entity_id)
            if described is not None:
                actual = self.build_one(reader, entity_id, described)
                found[actual.spec.name.lower()] = actual

    @abstractmethod
    def build_one(self, reader: Reader, entity_id: str, described: dict[str, Any]) -> Actual:
        """One entity of the state, from its Describe answer and what else was read of it."""

    # Validation ---------------------------------------------------------------------

    def validate(self, v: Validator) -> None:
        """Names and addresses are unique across users, groups and resources (the kinds run in
        turn, sharing what they met in ``v``); addresses belong to enabled entities, in domains
        the organization has; one logical id names one entity."""
        items: list[E] = getattr(v.spec, self.section)
        allowed = {d.name.lower() for d in v.spec.domains} | v.existing_domains | {v.test_domain}
        reserved = f"{JOURNALING_LOCAL_PART}@{v.test_domain}"
        names_seen = v.names_seen
        for i, entity in enumerate(items):
            path = partial(v.path, self.section, items, i)
            key = entity.name.lower()
            if key in names_seen or (v.unchanged is not None and v.name_taken(key)):
                # One namespace for users, groups and resources (the emulator's `names` index).
                v.add(f"{path()}.name", f"the name {entity.name!r} is already used by another user, group "
                                        "or resource (names are case-insensitive)")
            names_seen.add(key)
            self._validate_addresses(v, entity, path, allowed, reserved)
            self.validate_one(v, entity, path)
        # The planner follows a logical id across renames, so one id can name one entity only.
        v.duplicates(self.section, items, lambda e: e.logical_id, "this logical id", field="logical_id",
                     taken=v.unchanged.logical_ids_taken(self.section, (e.logical_id for e in items))
                     if v.unchanged is not None else ())

    def validate_one(self, v: Validator, entity: E, path: Callable[[], str]) -> None:
        """The kind's own rules for one entity."""

    def _validate_addresses(self, v: Validator, entity: E, path: Callable[[], str], allowed_domains: set[str],
                            reserved: str) -> None:
        if entity.enabled and entity.email is None:
            # Enabling is RegisterToWorkMail, whose Email is required.
            v.add(f"{path()}.email", f"an enabled {self.name} needs a primary email address")
        if not entity.enabled and entity.email is not None:
            # Disabling (DeregisterFromWorkMail) takes a mailbox's addresses away.
            v.add(f"{path()}.email", f"a disabled {self.name} has no email address; enable it or remove email")
        if entity.aliases and (entity.email is None or not entity.enabled):
            # CreateAlias needs an enabled entity, which has a primary address.
            v.add(f"{path()}.aliases", "aliases need an enabled entity with a primary email address")
        if len(entity.aliases) > MAX_ALIASES:
            v.add(f"{path()}.aliases", f"at most {MAX_ALIASES} aliases; {len(entity.aliases)} declared")
        email = entity.email
        owned = entity.aliases if email is None else [email, *entity.aliases]
        seen = v.addresses_seen
        for i, address in enumerate(owned):
            if "@" not in address:
                continue  # the model's EmailAddress check has reported it
            key = address.lower()
            taken = seen.get(key)
            if taken is None and v.unchanged is not None:
                taken = v.address_owner(key)
            if taken is None:
                seen[key] = path
                if key != reserved and key.rpartition("@")[2] in allowed_domains:
                    continue
            field = "email" if email is not None and i == 0 else f"aliases[{i - (email is not None)}]"
            domain = key.rpartition("@")[2]
            at = f"{path()}.{field}"
            if taken is not None:
                v.add(at, f"{address} is already used by {taken()} (an address belongs to one entity)")
            if key == reserved:
                v.add(at, f"{address} is reserved for journaling")
            if domain not in allowed_domains:
                v.add(at, f"the domain {domain} is not a declared or existing domain of the organization")

    # Dependencies -------------------------------------------------------------------

    def needs(self, change: Change[EntityAddress, E]) -> set[Ref]:
        if change.action == "delete":
            return set()
        return {("domain", alias.domain_of(a)) for a in alias.addresses(change.after)}

    def provides(self, change: Change[EntityAddress, E]) -> set[Ref]:
        provided: set[Ref] = {("domain-released", alias.domain_of(a)) for a in alias.addresses(change.before)}
        if change.action != "delete":
            provided.add(("entity", change.key.lower()))
        return provided

    # Apply ----------------------------------------------------------------------------

    def steps(self, change: Change[EntityAddress, E], ctx: ApplyContext) -> Steps:
        if change.action == "delete":
            gone: E = change.existing
            held = {gone.name.lower(), *(a.lower() for a in alias.addresses(gone))}
            phase = Phase.RELEASES if held & claimed(ctx) else Phase.ENTITY_DELETES
            return {phase: lambda: self.delete(gone.name, change.id, gone.enabled, ctx)}
        after = change.declared
        alias.check(after)
        shared: dict[str, Any] = {}
        steps: Steps = {}
        if change.action in ("create", "replace"):
            def create() -> None:
                password = self.password(after, ctx)
                if change.action == "replace":
                    old: E = change.existing
                    self.delete(old.name, change.id, old.enabled, ctx)
                shared["id"], shared["adopted"] = self.create(after, password, ctx)

            steps[Phase.ENTITIES] = create
        else:
            unknown = sorted(change.field_names() - ADDRESS_FIELDS - self.update_fields)
            if unknown:
                raise ChangeFailed(f"apply can't change {', '.join(unknown)} of a {self.name}", field=unknown[0])
            steps[Phase.ENTITIES] = lambda: self.apply_update(change, after, shared, ctx)
        steps.update(self.later_steps(change, after, shared, ctx))
        return steps

    def password(self, spec: E, ctx: ApplyContext) -> str | None:
        """The password a create sets (users only), read before any call."""
        return None

    def new_password(self, change: Change[EntityAddress, E], ctx: ApplyContext) -> str | None:
        """The password an update sets again (users only), read before any call."""
        return None

    def later_steps(self, change: Change[EntityAddress, E], after: E, shared: dict[str, Any],
                    ctx: ApplyContext) -> Steps:
        """Steps in later phases (a resource's booking options)."""
        return {}

    @abstractmethod
    def create_params(self, spec: E, password: str | None) -> dict[str, Any]:
        """The kind's own members of its Create request (Name and the hidden flag are common)."""

    @abstractmethod
    def after_create(self, entity_id: str, spec: E, adopted: bool, password: str | None, ctx: ApplyContext) -> None:
        """What a Create doesn't set, or what an adopted entity needs to match its declaration."""

    @abstractmethod
    def update_attributes(self, change: Change[EntityAddress, E], after: E, entity_id: str, was_enabled: bool,
                          now_enabled: bool, password: str | None, ctx: ApplyContext) -> None:
        """The calls that set the kind's own changed attributes."""

    def create(self, spec: E, password: str | None, ctx: ApplyContext) -> tuple[str, bool]:
        """Create the entity with everything it declares; return its id and whether it already existed."""
        ops = ENTITY_OPS[self.name]
        params = {"Name": spec.name, "HiddenFromGlobalAddressList": spec.hidden_from_global_address_list,
                  **self.create_params(spec, password)}
        adopted = False
        try:
            entity_id = str(ctx.call(ops.create, **params)[ops.id_member])
        except ClientError as exc:
            if error_code(exc) != "NameAvailabilityException":
                raise
            # An interrupted run created it: adopt it and bring it to the declared state.
            existing = ctx.describe_entity(self.name, spec.name)
            if existing is None:
                raise ChangeFailed(
                    f"the name {spec.name} is taken by another user, group or resource", field="name",
                    code="NameAvailabilityException",
                ) from exc
            entity_id, adopted = str(existing[ops.id_member]), True
        ctx.remember(self.name, spec.name, entity_id)
        enabled = spec.enabled and spec.email
        if enabled and spec.email:
            alias.register(self.name, entity_id, spec.email, ctx)
        self.after_create(entity_id, spec, adopted, password, ctx)
        if enabled:
            alias.add(entity_id, spec.aliases, ctx)
        return entity_id, adopted

    def apply_update(self, change: Change[EntityAddress, E], after: E, shared: dict[str, Any],
                     ctx: ApplyContext) -> None:
        before = change.before if change.before is not None else after
        names = change.field_names()
        password = self.new_password(change, ctx)
        old_name = before.name if "name" in names else after.name
        entity_id = change.id or ctx.entity_id(self.name, old_name)
        shared["id"] = entity_id
        ctx.remember(self.name, after.name, entity_id)
        enabled_field = next((f for f in change.fields if f.name == "enabled"), None)
        was_enabled = bool(enabled_field.old) if enabled_field is not None else bool(before.enabled and before.email)
        now_enabled = bool(after.enabled and after.email)
        if now_enabled and not was_enabled and after.email:
            alias.register(self.name, entity_id, after.email, ctx)
            alias.add(entity_id, after.aliases, ctx)
        elif now_enabled and names & {"email", "aliases"}:
            alias.readdress(entity_id, before, after, ctx)
        self.update_attributes(change, after, entity_id, was_enabled, now_enabled, password, ctx)
        if was_enabled and not now_enabled:
            alias.disable(self.name, entity_id, ctx)

    def delete(self, name: str, entity_id: str | None, was_enabled: bool, ctx: ApplyContext) -> None:
        ops = ENTITY_OPS[self.name]
        identifier = entity_id or name
        if was_enabled:
            alias.disable(self.name, identifier, ctx)
        try:
            ctx.call(ops.delete, **{ops.id_member: identifier})
        except ClientError as exc:
            if error_code(exc) == "EntityNotFoundException":
                return
            if error_code(exc) != "EntityStateException":
                raise
            # Enabled after all (the plan's view was older): disable, then delete.
            alias.disable(self.name, identifier, ctx)
            ctx.call(ops.delete, **{ops.id_member: identifier})
        ctx.forget(self.name, name, entity_id, identifier)


def read_addresses(reader: Reader, entity_id: str, described: dict[str, Any]) -> list[str]:
    """An enabled entity's aliases, without its primary address (ListAliases may include it),
    sorted, once each; a disabled entity has none."""
    if described.get("State") != "ENABLED":
        return []
    primary = described.get("Email")
    seen = {primary.lower()} if primary else set()
    result: list[str] = []
    for address in sorted(reader.detail("aliases").get(entity_id) or [], key=str.lower):
        if address.lower() not in seen:
            seen.add(address.lower())
            result.append(address)
    return result


def entity_kind(section: str) -> EntityKindBase[Any]:
    """The kind of the entities in a state section ("users", "groups", "resources")."""
    from . import KINDS

    for kind in KINDS.values():
        if isinstance(kind, EntityKindBase) and kind.section == section:
            return kind
    raise KeyError(section)


def claimed(ctx: ApplyContext) -> set[str]:
    """Names and addresses that the plan's entity creates and updates take: an entity the same
    plan deletes that holds one of them must go first (phase RELEASES)."""

    def compute() -> set[str]:
        taken: set[str] = set()
        for change in ctx.plan.changes:
            if change.kind in ENTITY_OPS and change.action != "delete" and change.after is not None:
                taken |= {change.after.name.lower(), *(a.lower() for a in alias.addresses(change.after))}
        return taken

    return ctx.once("entities.claimed", compute)
