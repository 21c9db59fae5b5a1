"""Planning: a pure function from (previous spec, declared spec, actual state) to changes.

Planning never calls the API. Ownership follows the design notes: what is declared is
managed; what was declared before and is now gone is deleted; what was never declared
is left alone unless the spec opts in to ``prune``. Within a declared object, its
attributes, aliases, members and delegates are authoritative: the declared object is
the whole truth about them. Sections that are optional in the spec (access control
rules, mobile device rules, the retention policy, DMARC) are unmanaged while None.

Identity is by name, case-insensitively, as in WorkMail. An entity that keeps its
``logical_id`` under a new name is a rename: a replacement for users and groups
(WorkMail can't rename them), an update for resources (UpdateResource takes a name).

A read may be scoped (see ``incremental_scope``): then only the entities and sections
that were read are compared, and everything else is taken to be as declared before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .changes import Change, FieldChange, ManualStep, Plan
from .read import ReadScope
from .spec import (
    USER_TEXT_ATTRIBUTES,
    AvailabilityConfigurationSpec,
    EmailMonitoringSpec,
    RetentionPolicySpec,
    WorkMailSpec,
)
from .state import ActualGroup, ActualResource, ActualState

# The mailbox size WorkMail gives a user when none is set: 50 GB (Administrator Guide, "Amazon WorkMail quotas").
DEFAULT_MAILBOX_QUOTA_MB = 51200

USER_ATTRIBUTES = (*USER_TEXT_ATTRIBUTES, "role", "hidden_from_global_address_list", "identity_provider_user_id")
# Organization settings fixed at creation: WorkMail has no UpdateOrganization.
ORGANIZATION_IMMUTABLE = ("alias", "directory_id", "kms_key_arn", "enable_interoperability")
ENTITY_SECTIONS = ("users", "groups", "resources")
# Links go before the objects they link, objects before the domains their addresses use.
DELETE_ORDER = (
    "group_member", "resource_delegate", "mailbox_permission", "access_control_rule", "mobile_device_access_override",
    "mobile_device_access_rule", "impersonation_role", "availability_configuration", "retention_policy",
    "email_monitoring", "inbound_dmarc", "user", "group", "resource", "domain", "organization",
)


class PlanError(ValueError):
    """The inputs can't be planned (for example, an adopted organization that doesn't exist)."""


def plan(
    declared: WorkMailSpec | None,
    actual: ActualState,
    previous: WorkMailSpec | None = None,
    *,
    scope: ReadScope | None = None,
) -> Plan:
    """The ordered changes that make ``actual`` match ``declared``.

    ``declared`` None means the spec is being removed (a stack deletion): the organization
    is deleted only when its removal policy is ``destroy``, and otherwise left as it is.
    ``scope`` is the scope of a scoped read; None means ``actual`` was read in full.
    """
    result = Plan(organization_id=actual.organization.organization_id if actual.organization else None)
    if declared is None:
        _plan_removal(previous, actual, result)
        return result
    planner = _Planner(declared, actual, previous, scope, result)
    planner.run()
    return result


# Field comparison -------------------------------------------------------------------


def _norm(value: Any) -> Any:
    """Compare as WorkMail does: case-insensitive addresses and names, order-free sets."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return sorted((_norm(v) for v in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # Nested objects (impersonation rules, folders) compare field by field, lists order-free.
        return tuple((f.name, _norm(getattr(value, f.name))) for f in dataclasses.fields(value))
    return value


def _lower_set(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def _differs(field_name: str, old: Any, new: Any) -> bool:
    if field_name == "email":
        return str(old or "").lower() != str(new or "").lower()
    if field_name in ("aliases", "members", "delegates"):
        return _lower_set(old or []) != _lower_set(new or [])
    if isinstance(old, list) or isinstance(new, list):
        return bool(_norm(old or []) != _norm(new or []))
    if isinstance(old, str) or isinstance(new, str):
        # An unset attribute and an empty one are the same to WorkMail.
        return (old or "") != (new or "")
    return bool(old != new)


def _field_changes(before: Any, after: Any, names: Iterable[str]) -> list[FieldChange]:
    return [
        FieldChange(name, getattr(before, name), getattr(after, name))
        for name in names
        if _differs(name, getattr(before, name), getattr(after, name))
    ]


def _data_fields(spec: Any, skip: tuple[str, ...] = ()) -> list[str]:
    return [f.name for f in dataclasses.fields(spec) if f.name not in skip]


S = TypeVar("S")


def _by_name(items: Iterable[S], key: Callable[[S], str]) -> dict[str, S]:
    return {key(item).lower(): item for item in items}


class _Planner:
    def __init__(
        self, declared: WorkMailSpec, actual: ActualState, previous: WorkMailSpec | None,
        scope: ReadScope | None, plan: Plan,
    ) -> None:
        self.declared = declared
        self.actual = actual
        self.previous = previous
        self.scope = scope
        self.plan = plan
        self.creates: list[Change] = []
        self.deletes: list[Change] = []

    # Scope --------------------------------------------------------------------------
    def read(self, section: str) -> bool:
        """Whether ``section`` was read in full."""
        return self.scope is None or section in self.actual.read_sections

    def known(self, section: str, name: str) -> bool:
        """Whether the actual state of the named entity is known (read)."""
        if self.read(section):
            return True
        assert self.scope is not None
        return name.lower() in self.scope.names(section)

    def owned(self, previous_names: set[str], name: str) -> bool:
        """Whether an existing object that is not declared now should be deleted."""
        return self.declared.prune or name.lower() in previous_names

    def add(self, change: Change) -> None:
        (self.deletes if change.action == "delete" else self.creates).append(change)

    def run(self) -> None:
        self.organization()
        self.domains()
        self.entities()
        self.memberships()
        self.mailbox_permissions()
        self.policies()
        self.flow_rules()
        # Deletes after everything else, most dependent first, as apply runs them.
        self.deletes.sort(key=lambda c: DELETE_ORDER.index(c.kind))
        self.plan.changes = self.creates + self.deletes

    # Organization -------------------------------------------------------------------
    def organization(self) -> None:
        declared = self.declared.organization
        found = self.actual.organization
        if found is None:
            if declared.organization_id:
                raise PlanError(
                    f"organization.organization_id: the organization {declared.organization_id} to adopt "
                    "does not exist (or is deleted)."
                )
            self.add(Change("create", "organization", declared.alias, "declared, does not exist", after=declared))
            self._start_empty()
            return
        current = found.spec
        # Settings WorkMail does not report are compared with what was declared before.
        known_before = self.previous.organization if self.previous else None
        immutable = []
        for name in ORGANIZATION_IMMUTABLE:
            new = getattr(declared, name)
            old = getattr(current, name)
            if name in ("kms_key_arn",) or (name == "directory_id" and new is None):
                old = getattr(known_before, name) if known_before else new
            if name == "directory_id" and new is None:
                continue
            if _differs(name, old, new):
                immutable.append(FieldChange(name, old, new))
        if immutable:
            names = ", ".join(f.name for f in immutable)
            self.add(Change(
                "replace", "organization", declared.alias,
                f"{names} can't change on an existing organization: a new organization replaces it, and the "
                "old one is deleted with all its mailboxes",
                destructive=True, before=current, after=declared, fields=tuple(immutable), id=found.organization_id,
            ))
            # The new organization starts empty: everything declared is created in it.
            self._start_empty()
            return
        if current.tags != declared.tags:
            self.add(Change("update", "organization", declared.alias, "changed: tags", before=current, after=declared,
                            fields=(FieldChange("tags", current.tags, declared.tags),), id=found.organization_id))

    def _start_empty(self) -> None:
        """Plan against a new, empty organization: everything declared is created."""
        self.actual = ActualState()
        self.scope = None

    # Domains ------------------------------------------------------------------------
    def domains(self) -> None:
        if not self.read("domains"):
            return
        previous = _lower_set(d.name for d in self.previous.domains) if self.previous else set()
        declared = _by_name(self.declared.domains, lambda d: d.name)
        for key, domain in declared.items():
            found = self.actual.domains.get(key)
            if found is None:
                self.add(Change("create", "domain", domain.name, "declared, not registered", after=domain))
            elif domain.default and not found.spec.default:
                self.add(Change("update", "domain", domain.name, "declared as the default domain",
                                before=found.spec, after=domain,
                                fields=(FieldChange("default", False, True),)))
        for key, found in self.actual.domains.items():
            if key in declared or found.is_test_domain or not self.owned(previous, key):
                continue
            self.add(Change("delete", "domain", found.spec.name,
                            "no longer declared: mail for the domain stops reaching WorkMail",
                            destructive=True, before=found.spec))

    # Users, groups, resources -------------------------------------------------------
    def entities(self) -> None:
        self._entities("users", "user", self.declared.users, self.previous.users if self.previous else [],
                       self.actual.users)
        self._entities("groups", "group", self.declared.groups, self.previous.groups if self.previous else [],
                       self.actual.groups)
        self._entities("resources", "resource", self.declared.resources,
                       self.previous.resources if self.previous else [], self.actual.resources)

    def _entities(
        self, section: str, kind: str, declared_list: list[Any], previous_list: list[Any],
        actual: dict[str, Any],
    ) -> None:
        declared = _by_name(declared_list, lambda e: e.name)
        previous = _by_name(previous_list, lambda e: e.name)
        previous_by_logical = {e.logical_id: e for e in previous_list if e.logical_id}
        renamed_from: dict[str, Any] = {}
        for key, spec in declared.items():
            old = previous_by_logical.get(spec.logical_id) if spec.logical_id else None
            if old is not None and old.name.lower() != key and old.name.lower() not in declared:
                renamed_from[key] = old
        handled: set[str] = set()
        for key, spec in declared.items():
            if not self.known(section, key):
                continue
            found = actual.get(key)
            old = renamed_from.get(key)
            if found is None and old is not None and old.name.lower() in actual:
                handled.add(old.name.lower())
                self._rename(kind, old, spec, actual[old.name.lower()])
            elif found is None:
                self.add(Change("create", kind, spec.name, "declared, does not exist", after=spec))
            else:
                self._update(kind, found, spec, previous.get(key))
        for key, found in actual.items():
            if key in declared or key in handled or found.state == "DELETED":
                continue
            if getattr(found, "role", "USER") in ("SYSTEM_USER", "RESOURCE"):
                continue  # WorkMail's own accounts are never managed
            if not self.known(section, key) or not self.owned(set(previous), key):
                continue
            self.add(self._delete(kind, found, "no longer declared" if key in previous else "not declared (prune)"))

    def _delete(self, kind: str, found: Any, why: str) -> Change:
        # Deleting a user or a resource deletes its mailbox for good; a group holds no mail.
        destructive = kind in ("user", "resource")
        reason = f"{why}: its mailbox and all its mail are deleted" if destructive else why
        return Change("delete", kind, found.spec.name, reason, destructive=destructive, before=found.spec,
                      id=found.id)

    def _rename(self, kind: str, old: Any, spec: Any, found: Any) -> None:
        if kind == "resource":
            self._update(kind, found, spec, old, renamed=True)
            return
        self.add(Change(
            "replace", kind, spec.name,
            f"renamed from {old.name}: WorkMail can't rename a {kind}, so {old.name} is deleted"
            + (" with its mailbox" if kind == "user" else "") + " and a new one is created",
            destructive=kind == "user", before=found.spec, after=spec, id=found.id,
            fields=(FieldChange("name", old.name, spec.name),),
        ))

    def _update(self, kind: str, found: Any, spec: Any, previous: Any, renamed: bool = False) -> None:
        current = found.spec
        fields: list[FieldChange] = []
        if renamed:
            fields.append(FieldChange("name", current.name, spec.name))
        enabled_now = found.state == "ENABLED"
        if enabled_now != spec.enabled:
            fields.append(FieldChange("enabled", enabled_now, spec.enabled))
        if spec.enabled:
            if _differs("email", current.email if enabled_now else None, spec.email):
                fields.append(FieldChange("email", current.email if enabled_now else None, spec.email))
            current_aliases = current.aliases if enabled_now else []
            if _differs("aliases", current_aliases, spec.aliases):
                fields.append(FieldChange("aliases", list(current_aliases), list(spec.aliases)))
        if kind == "user":
            fields += _field_changes(current, spec, USER_ATTRIBUTES)
            quota = spec.mailbox_quota_mb
            if spec.enabled and quota is not None and enabled_now and current.mailbox_quota_mb != quota:
                fields.append(FieldChange("mailbox_quota_mb", current.mailbox_quota_mb, quota))
            elif spec.enabled and quota is not None and not enabled_now:
                fields.append(FieldChange("mailbox_quota_mb", None, quota))
            # Passwords can't be read back: a new secret reference (or version) is the only signal.
            if previous is not None and spec.password is not None and previous.password != spec.password:
                fields.append(FieldChange("password", previous.password, spec.password))
        elif kind == "group":
            fields += _field_changes(current, spec, ("hidden_from_global_address_list",))
        else:
            fields += _field_changes(current, spec, ("type", "description", "hidden_from_global_address_list"))
            if current.booking_options != spec.booking_options:
                fields.append(FieldChange("booking_options", current.booking_options, spec.booking_options))
        if not fields:
            return
        names = ", ".join(f.name for f in fields)
        disabling = any(f.name == "enabled" and f.new is False for f in fields)
        reason = f"changed: {names}"
        if disabling:
            reason += "; disabling removes the mailbox, which WorkMail deletes for good after 30 days"
        self.add(Change("update", kind, spec.name, reason, destructive=disabling and kind != "group",
                        before=current, after=spec, fields=tuple(fields), id=found.id))

    # Members and delegates ----------------------------------------------------------
    def memberships(self) -> None:
        self._links("groups", "group_member", self.declared.groups, self.actual.groups, lambda g: g.members)
        self._links("resources", "resource_delegate", self.declared.resources, self.actual.resources,
                    lambda r: r.delegates)

    def _links(
        self, section: str, kind: str, declared_list: list[Any], actual: dict[str, Any],
        links: Callable[[Any], list[str]],
    ) -> None:
        for owner in declared_list:
            key = owner.name.lower()
            if not self.known(section, key):
                continue
            found: ActualGroup | ActualResource | None = actual.get(key)
            have = {m.lower(): m for m in links(found.spec)} if found is not None else {}
            want = {m.lower(): m for m in links(owner)}
            for member_key, member in want.items():
                if member_key not in have:
                    self.add(Change("create", kind, f"{owner.name}/{member}", "declared", after=member))
            for member_key, member in have.items():
                if member_key not in want:
                    self.add(Change("delete", kind, f"{owner.name}/{member}", "no longer declared", before=member))

    # Mailbox permissions ------------------------------------------------------------
    def mailbox_permissions(self) -> None:
        declared = {(p.mailbox.lower(), p.grantee.lower()): p for p in self.declared.mailbox_permissions}
        previous = (
            {(p.mailbox.lower(), p.grantee.lower()) for p in self.previous.mailbox_permissions}
            if self.previous else set()
        )
        full = self.read("mailbox_permissions")
        read_mailboxes = {m for m, _ in self.actual.mailbox_permissions}
        for key, permission in declared.items():
            if not full and not self._mailbox_known(key[0]):
                continue
            found = self.actual.mailbox_permissions.get(key)
            if found is None:
                self.add(Change("create", "mailbox_permission", f"{permission.mailbox}/{permission.grantee}",
                                "declared", after=permission))
            elif set(found.permissions) != set(permission.permissions):
                self.add(Change("update", "mailbox_permission", f"{permission.mailbox}/{permission.grantee}",
                                "changed: permissions", before=found, after=permission,
                                fields=(FieldChange("permissions", found.permissions, permission.permissions),)))
        for key, found in self.actual.mailbox_permissions.items():
            if key in declared or not (self.declared.prune or key in previous):
                continue
            if not full and key[0] not in read_mailboxes:
                continue
            self.add(Change("delete", "mailbox_permission", f"{found.mailbox}/{found.grantee}",
                            "no longer declared", before=found))

    def _mailbox_known(self, mailbox: str) -> bool:
        scope = self.scope
        return scope is None or mailbox in {m.lower() for m in scope.mailbox_permissions}

    # Policies -----------------------------------------------------------------------
    def policies(self) -> None:
        previous = self.previous
        d = self.declared
        if d.access_control_rules is not None and self.read("access_control_rules"):
            self._named("access_control_rule", d.access_control_rules, self.actual.access_control_rules,
                        authoritative=True, key=lambda r: r.name)
        if d.mobile_device_access_rules is not None and self.read("mobile_device_access_rules"):
            actual_rules = {k: v.spec for k, v in self.actual.mobile_device_access_rules.items()}
            ids = {k: v.id for k, v in self.actual.mobile_device_access_rules.items()}
            self._named("mobile_device_access_rule", d.mobile_device_access_rules, actual_rules,
                        authoritative=True, key=lambda r: r.name, ids=ids)
        if self.read("mobile_device_access_overrides"):
            self._named("mobile_device_access_override", d.mobile_device_access_overrides,
                        {f"{u}/{dev}": o for (u, dev), o in self.actual.mobile_device_access_overrides.items()},
                        authoritative=False, key=lambda o: f"{o.user}/{o.device_id}",
                        previous=[f"{o.user}/{o.device_id}" for o in previous.mobile_device_access_overrides]
                        if previous else [])
        if self.read("impersonation_roles"):
            roles = {k: v.spec for k, v in self.actual.impersonation_roles.items()}
            ids = {k: v.id for k, v in self.actual.impersonation_roles.items()}
            self._named("impersonation_role", d.impersonation_roles, roles, authoritative=False,
                        key=lambda r: r.name, ids=ids,
                        previous=[r.name for r in previous.impersonation_roles] if previous else [])
        if self.read("availability_configurations"):
            self._availability()
        if self.read("retention_policy"):
            self._retention()
        if d.inbound_dmarc_enforced is not None and self.read("inbound_dmarc"):
            current = self.actual.inbound_dmarc_enforced
            if current != d.inbound_dmarc_enforced:
                self.add(Change("update", "inbound_dmarc", "inbound-dmarc", "enforcement differs",
                                before=current, after=d.inbound_dmarc_enforced,
                                fields=(FieldChange("enforced", current, d.inbound_dmarc_enforced),)))
        if self.read("email_monitoring"):
            self._monitoring()

    def _named(
        self, kind: str, declared_list: list[Any], actual: dict[str, Any], *, authoritative: bool,
        key: Callable[[Any], str], ids: dict[str, str] | None = None, previous: list[str] | None = None,
    ) -> None:
        declared = _by_name(declared_list, key)
        owned = _lower_set(previous or [])
        ids = ids or {}
        for name, spec in declared.items():
            found = actual.get(name)
            if found is None:
                self.add(Change("create", kind, key(spec), "declared, does not exist", after=spec))
                continue
            fields = [
                FieldChange(f, getattr(found, f), getattr(spec, f))
                for f in _data_fields(spec) if _differs(f, getattr(found, f), getattr(spec, f))
            ]
            if fields:
                self.add(Change("update", kind, key(spec), "changed: " + ", ".join(f.name for f in fields),
                                before=found, after=spec, fields=tuple(fields), id=ids.get(name)))
        for name, found in actual.items():
            if name in declared or not (authoritative or self.declared.prune or name in owned):
                continue
            reason = "not in the declared list" if authoritative else "no longer declared"
            self.add(Change("delete", kind, key(found), reason, before=found, id=ids.get(name)))

    def _availability(self) -> None:
        declared = _by_name(self.declared.availability_configurations, lambda a: a.domain_name)
        previous = _by_name(self.previous.availability_configurations if self.previous else [],
                            lambda a: a.domain_name)
        for name, spec in declared.items():
            found = self.actual.availability_configurations.get(name)
            if found is None:
                self.add(Change("create", "availability_configuration", spec.domain_name, "declared", after=spec))
                continue
            fields = _availability_fields(found, spec, previous.get(name))
            if fields:
                self.add(Change("update", "availability_configuration", spec.domain_name,
                                "changed: " + ", ".join(f.name for f in fields), before=found, after=spec,
                                fields=tuple(fields)))
        for name, found in self.actual.availability_configurations.items():
            if name not in declared and (self.declared.prune or name in previous):
                self.add(Change("delete", "availability_configuration", found.domain_name, "no longer declared",
                                before=found))

    def _retention(self) -> None:
        declared = self.declared.retention_policy
        found = self.actual.retention_policy
        if declared is None:
            if found is not None and self.previous is not None and self.previous.retention_policy is not None:
                self.add(Change("delete", "retention_policy", found.spec.name, "no longer declared",
                                before=found.spec, id=found.id))
            return
        if found is None:
            self.add(Change("create", "retention_policy", declared.name, "declared", after=declared))
            return
        fields = _retention_fields(found.spec, declared)
        if fields:
            self.add(Change("update", "retention_policy", declared.name,
                            "changed: " + ", ".join(f.name for f in fields), before=found.spec, after=declared,
                            fields=tuple(fields), id=found.id))

    def _monitoring(self) -> None:
        declared = self.declared.email_monitoring
        found = self.actual.email_monitoring
        if declared is None:
            if found is not None and self.previous is not None and self.previous.email_monitoring is not None:
                self.add(Change("delete", "email_monitoring", "email-monitoring", "no longer declared",
                                before=found))
            return
        if found is None:
            self.add(Change("create", "email_monitoring", "email-monitoring", "declared", after=declared))
            return
        fields = _monitoring_fields(found, declared)
        if fields:
            self.add(Change("update", "email_monitoring", "email-monitoring", "configuration differs",
                            before=found, after=declared, fields=tuple(fields)))

    # Email flow rules ---------------------------------------------------------------
    def flow_rules(self) -> None:
        for rule in self.declared.email_flow_rules:
            self.plan.manual.append(ManualStep(
                f"email flow rule {rule.name}",
                f"WorkMail's API has no operations for email flow rules, so the {rule.direction} rule "
                f"'{rule.name}' ({rule.action} for senders {', '.join(rule.senders) or '-'} to recipients "
                f"{', '.join(rule.recipients) or '-'}) is not applied by this tool. Create it in the WorkMail "
                "console under Organization settings > "
                f"{'Inbound' if rule.direction == 'inbound' else 'Outbound'} rules.",
            ))


def _availability_fields(
    found: AvailabilityConfigurationSpec, spec: AvailabilityConfigurationSpec,
    previous: AvailabilityConfigurationSpec | None,
) -> list[FieldChange]:
    fields = []
    if _differs("lambda_arn", found.lambda_arn, spec.lambda_arn):
        fields.append(FieldChange("lambda_arn", found.lambda_arn, spec.lambda_arn))
    old_ews, new_ews = found.ews, spec.ews
    if (old_ews is None) != (new_ews is None):
        fields.append(FieldChange("provider", "EWS" if old_ews else "LAMBDA", "EWS" if new_ews else "LAMBDA"))
    elif old_ews is not None and new_ews is not None:
        for name in ("endpoint", "username"):
            if _differs(name, getattr(old_ews, name), getattr(new_ews, name)):
                fields.append(FieldChange(f"ews.{name}", getattr(old_ews, name), getattr(new_ews, name)))
        # The service never returns the EWS password; a new secret reference is the only signal.
        old_secret = previous.ews.password if previous is not None and previous.ews is not None else None
        if old_secret is not None and old_secret != new_ews.password:
            fields.append(FieldChange("ews.password", old_secret, new_ews.password))
    return fields


def _retention_fields(found: RetentionPolicySpec, spec: RetentionPolicySpec) -> list[FieldChange]:
    fields = []
    if found.name != spec.name:
        fields.append(FieldChange("name", found.name, spec.name))
    if (found.description or "") != (spec.description or ""):
        fields.append(FieldChange("description", found.description, spec.description))

    def folders(policy: RetentionPolicySpec) -> dict[str, tuple[str, int | None]]:
        return {f.name: (f.action, f.period_days) for f in policy.folders if f.action != "NONE"}

    if folders(found) != folders(spec):
        fields.append(FieldChange("folders", found.folders, spec.folders))
    return fields


def _monitoring_fields(found: EmailMonitoringSpec, spec: EmailMonitoringSpec) -> list[FieldChange]:
    fields = []
    if found.log_group_arn != spec.log_group_arn:
        fields.append(FieldChange("log_group_arn", found.log_group_arn, spec.log_group_arn))
    # Without a declared role WorkMail uses its service-linked role, which it then reports.
    if spec.role_arn is not None and found.role_arn != spec.role_arn:
        fields.append(FieldChange("role_arn", found.role_arn, spec.role_arn))
    return fields


def _plan_removal(previous: WorkMailSpec | None, actual: ActualState, result: Plan) -> None:
    if previous is None or actual.organization is None:
        return
    organization = previous.organization
    if organization.removal_policy == "destroy":
        result.changes.append(Change(
            "delete", "organization", organization.alias,
            "the spec is removed and its removal policy is destroy: every mailbox and all mail are deleted",
            destructive=True, before=actual.organization.spec, id=actual.organization.organization_id,
        ))


# Incremental planning ---------------------------------------------------------------


def incremental_scope(previous: WorkMailSpec | None, declared: WorkMailSpec) -> ReadScope | None:
    """What to read for a plan of the declared change from ``previous`` to ``declared``.

    None means a full read is needed (no previous spec, or the organization changed).
    Otherwise the scope names the entities whose declarations differ (added, removed or
    changed, including both names of a rename) and the policy sections that differ, so
    the read and the plan cost in proportion to the change, not to the organization.
    """
    if previous is None or previous.organization != declared.organization or previous.prune != declared.prune:
        return None
    # The organization is read too (2 calls): the plan needs to know it is there and Active.
    scope = ReadScope(organization=True)
    if previous.domains != declared.domains:
        scope.sections.add("domains")
    for section in ENTITY_SECTIONS:
        before = _by_name(getattr(previous, section), lambda e: e.name)
        after = _by_name(getattr(declared, section), lambda e: e.name)
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        _scope_names(scope, section).update(changed)
    before_permissions = {(p.mailbox.lower(), p.grantee.lower()): p for p in previous.mailbox_permissions}
    after_permissions = {(p.mailbox.lower(), p.grantee.lower()): p for p in declared.mailbox_permissions}
    for key in set(before_permissions) | set(after_permissions):
        if before_permissions.get(key) != after_permissions.get(key):
            mailbox = key[0]
            section = _section_of(declared, mailbox) or _section_of(previous, mailbox) or "users"
            _scope_names(scope, section).add(mailbox)
            scope.mailbox_permissions.add(mailbox)
    for section in (
        "access_control_rules", "retention_policy", "mobile_device_access_rules", "mobile_device_access_overrides",
        "impersonation_roles", "email_monitoring", "availability_configurations",
    ):
        if getattr(previous, section) != getattr(declared, section):
            scope.sections.add(section)
    if previous.inbound_dmarc_enforced != declared.inbound_dmarc_enforced:
        scope.sections.add("inbound_dmarc")
    return scope


def _scope_names(scope: ReadScope, section: str) -> set[str]:
    names: set[str] = getattr(scope, section)
    return names


def _section_of(spec: WorkMailSpec, name: str) -> str | None:
    for section in ENTITY_SECTIONS:
        if any(e.name.lower() == name for e in getattr(spec, section)):
            return section
    return None
