"""Validation of a declared spec before any API call.

A spec that WorkMail would refuse half-way through an apply leaves an organization
half-changed, so everything that can be known without calling the API is checked
first, and every problem is reported at once with the path of the object (by its
name) and the field: ``users[alice].email``, ``groups[eng].members[2]``.

Three sources of rules:

- **botocore's service model** (``model_checks``): each spec field is checked against
  the shape of the API member its value is sent as.
- **The Administrator Guide** (quotas, flow-rule patterns, booking delegates, ...),
  each rule citing the Guide section it comes from.
- **Consistency the API would refuse later**: references by name that must resolve,
  names and addresses that must be unique, addresses in domains the organization has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .kinds.base import kind_word
from .kinds.domain import TEST_DOMAIN_SUFFIX
from .kinds.flow_rule import check_rules
from .model_checks import WrongType, label, model_problems, output_list_max, spec_clean
from .problems import Problem
from .spec import (
    GroupSpec,
    ResourceSpec,
    SpecError,
    UserSpec,
    WorkMailSpec,
)
from .spec_delta import UnchangedEntities
from .spec_reading import collection_paused, type_errors

WORKMAIL_DIRECTORY = "WorkMailDirectory"


class SpecValidationError(SpecError):
    """A spec WorkMail would refuse; ``problems`` holds every problem found, ``path`` the first one's."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__("", f"{len(self.problems)} {noun} in the WorkMail spec:\n{lines}")
        self.path = self.problems[0].path if self.problems else ""


# The validator ----------------------------------------------------------------


def validate(
    spec: WorkMailSpec,
    *,
    existing_domains: Iterable[str] = (),
    existing_entities: Iterable[str] = (),
    directory_type: str = WORKMAIL_DIRECTORY,
    unchanged: UnchangedEntities | None = None,
) -> list[Problem]:
    """Every problem of ``spec``, in the order found; an empty list means it can be applied.

    ``existing_domains`` are mail domains the organization has without declaring them;
    ``existing_entities`` are names of users, groups or resources that exist without
    being declared, so references to them resolve. ``directory_type`` is the
    organization's directory (DescribeOrganization.DirectoryType). ``unchanged``: ``spec``
    is narrowed to an update's changes (``spec_delta``); the entities it leaves out are
    declared too, and checked against (names, addresses, logical ids, references).
    """
    # The rules below read the spec's fields as their declared types; a spec built in
    # Python with a wrong type (a dict for a UserSpec, a plain-text password) is refused
    # for that alone, before any rule could trip over it. The walk of the model's checks
    # visits every object anyway, so it checks their types on the way.
    with collection_paused():
        try:
            if type(spec) is not WorkMailSpec:
                raise WrongType
            model = [] if spec_clean(spec) else list(model_problems(spec, lambda: ""))
        except WrongType:
            return [Problem(error.path, error.message) for error in type_errors(spec, WorkMailSpec)]
        return model + Validator(spec, existing_domains, existing_entities, directory_type, unchanged).run()


def check(
    spec: WorkMailSpec,
    *,
    existing_domains: Iterable[str] = (),
    existing_entities: Iterable[str] = (),
    directory_type: str = WORKMAIL_DIRECTORY,
    unchanged: UnchangedEntities | None = None,
) -> None:
    """Raise ``SpecValidationError`` listing every problem of ``spec``, if it has any."""
    problems = validate(spec, existing_domains=existing_domains, existing_entities=existing_entities,
                        directory_type=directory_type, unchanged=unchanged)
    if problems:
        raise SpecValidationError(problems)


Entity = UserSpec | GroupSpec | ResourceSpec
def _first_by_name(items: Iterable[Any], attr: str = "name") -> dict[str, Any]:
    index: dict[str, Any] = {}
    for item in items:
        key = getattr(item, attr)
        if isinstance(key, str):
            index.setdefault(key.lower(), item)
    return index


class Validator:
    """One validation: the spec, indexes of what it declares, and the problems found so far.

    The kinds' ``validate`` hooks (``core/kinds``) check their own objects through it.
    """

    def __init__(
        self, spec: WorkMailSpec, existing_domains: Iterable[str], existing_entities: Iterable[str],
        directory_type: str, unchanged: UnchangedEntities | None = None,
    ) -> None:
        self.spec = spec
        self.unchanged = unchanged
        self.problems: list[Problem] = []
        self.existing_domains = {d.lower() for d in existing_domains}
        self.existing_entities = {e.lower() for e in existing_entities}
        # A directory of the organization's own (DirectoryId) is never the WorkMail directory.
        self.workmail_directory = directory_type == WORKMAIL_DIRECTORY and not spec.organization.directory_id
        self.test_domain = f"{spec.organization.alias}{TEST_DOMAIN_SUFFIX}".lower()
        # Users, groups and resources share one namespace (case-insensitive), as in WorkMail.
        self.entities: dict[str, Entity] = {}
        for collection in ("users", "groups", "resources"):
            for entity in getattr(spec, collection):
                if isinstance(entity.name, str):
                    self.entities.setdefault(entity.name.lower(), entity)
        self.roles = _first_by_name(spec.impersonation_roles)
        # Names and addresses met so far, across users, groups and resources.
        self.names_seen: set[str] = set()
        self.addresses_seen: dict[str, Callable[[], str]] = {}

    def name_taken(self, key: str) -> bool:
        """Whether an entity met so far, or one left out of a narrowed spec, is called ``key`` (lower-cased)."""
        return key in self.names_seen or (self.unchanged is not None and self.unchanged.name_taken(key))

    def address_owner(self, key: str) -> Callable[[], str] | None:
        """The path of the entity met so far, or left out of a narrowed spec, that has the address ``key``."""
        taken = self.addresses_seen.get(key)
        if taken is None and self.unchanged is not None:
            owner = self.unchanged.address_owner(key)
            if owner is not None:
                return lambda: owner
        return taken

    def add(self, path: str | Callable[[], str], message: str) -> None:
        """Report a problem; ``path`` may be a function that makes it (paths are built only for problems)."""
        self.problems.append(Problem(path if isinstance(path, str) else path(), message))

    def run(self) -> list[Problem]:
        from .kinds import KINDS

        for kind in KINDS.values():
            kind.validate(self)
        self._email_flow_rules()
        return self.problems

    @staticmethod
    def path(collection: str, items: Sequence[Any], index: int) -> str:
        return f"{collection}[{label(items[index], index)}]"

    @classmethod
    def item_path(cls, collection: str, items: Sequence[Any], index: int, field: str) -> str:
        return f"{cls.path(collection, items, index)}.{field}"

    def duplicates(
        self, collection: str, items: Sequence[Any], key: Callable[[Any], Any], what: str, field: str = "name",
        taken: Iterable[Any] = (),
    ) -> None:
        """Report every item whose key an earlier item already has (``key`` lower-cases
        what WorkMail compares case-insensitively; None keys are not compared)."""
        seen: set[Any] = set(taken)
        for i, item in enumerate(items):
            value = key(item)
            if value is None:
                continue
            if value in seen:
                self.add(f"{self.path(collection, items, i)}.{field}", f"{what} is declared more than once")
            seen.add(value)

    def resolve(self, name: str, path: str | Callable[[], str], kinds: tuple[type, ...], what: str) -> Entity | None:
        """The declared entity ``name`` refers to, reporting a name that resolves to nothing
        or to the wrong kind; None also for an existing entity that is not declared."""
        if not isinstance(name, str):
            return None
        entity = self.entities.get(name.lower())
        if entity is None and self.unchanged is not None:
            entity = self.unchanged.entity(name.lower())
        if entity is None:
            if name.lower() not in self.existing_entities:
                self.add(path, f"{name!r} is not a declared {what}, nor an existing one")
            return None
        if not isinstance(entity, kinds):
            self.add(path, f"{name!r} is a {kind_word(entity)}; expected a {what}")
            return None
        return entity

    def limit(self, collection: str, operation: str, member: str, what: str) -> None:
        """Collections WorkMail can't hold more of than its list responses can return: the
        model's maxima are the only numbers the Guide and API give for these."""
        items = getattr(self.spec, collection) or []
        most = output_list_max(operation, member)
        if len(items) > most:
            self.add(collection, f"at most {most} {what} per organization ({operation}.{member} holds at most "
                                 f"{most}); {len(items)} declared")

    def _email_flow_rules(self) -> None:
        rules = self.spec.email_flow_rules
        # Rule names are unique (Administrator Guide, "Creating email flow rules"), within each
        # direction's list.
        self.duplicates("email_flow_rules", rules, lambda r: (r.direction, str(r.name).lower()),
                        "this rule name in this direction")
        check_rules(rules, self.add, lambda i: self.path("email_flow_rules", rules, i))
