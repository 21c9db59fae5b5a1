"""The directory of an organization as code: users, groups, resources and policies.

Everything declared here is reconciled by ONE ``Custom::WorkMailDirectory`` resource per
organization, whose properties carry the whole ``WorkMailSpec``: inline while small (a
structured object, which ``cdk diff`` shows field by field), as an S3 asset (bucket, key,
SHA-256 and a per-section summary in the properties) when large. Deploy-time values
(secret ARNs, hosted-zone ids, ARNs of resources in the stack) never go inside the
document: it holds ``$ref:NAME`` where one goes, and the values travel beside it in the
``References`` property, so they work at any size. That is what lets a directory of
10,000 users fit in a stack of at most 500 resources and a template of at most 1 MB.

The declarations (``User``, ``Group``, ``MailResource``, their aliases, members and
delegates, and the policies) behave like constructs: each has an id unique among its
siblings and a ``node.path`` under the organization's path, which becomes the spec
object's ``logical_id`` (so a renamed user keeps its identity) and names the object in
synth-time validation errors. They are plain Python objects rather than jsii constructs
because a jsii construct costs about half a millisecond to create: 30,000 of them (a
10,000-user directory with its aliases) would add over 15 seconds to every synth.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import re
import shutil
import tempfile
import threading
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import aws_cdk as cdk
import jsii
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct, IValidation

from ..core.model_checks import label
from ..core.problems import Problem
from ..core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    Effect,
    FolderName,
    GroupSpec,
    ImpersonationRoleSpec,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    ResourceSpec,
    RetentionAction,
    RetentionPolicySpec,
    UserSpec,
    WorkMailSpec,
)
from ..core.spec_reading import collection_paused, compile_function, reference, type_hints
from ..core.validate import validate
from .providers import DIRECTORY_RESOURCE_TYPE, WorkMailHandlers

if TYPE_CHECKING:
    from .organization import Organization

# Properties above this size go to S3. An Update event carries the old and the new
# properties, and CloudFormation hands the event to the provider as an asynchronous
# Lambda invocation (at most 256 KB), so each copy must stay well under half of that.
DEFAULT_INLINE_SPEC_LIMIT = 100_000

# How a deploy-time value (a CDK token) looks inside a Python string.
_TOKEN_MARKERS = ("${Token[", "#{Token[")
_PROBLEM_PATH = re.compile(r"^(?P<collection>[a-z_]+)(?:\[(?P<label>[^\]]*)\])?(?P<rest>.*)$")
_SUB_ITEM = re.compile(r"^\.(?P<field>[a-z_]+)\[(?P<index>\d+)\]")
# What core.spec.resolve_references replaces.
_PLACEHOLDER = re.compile(r"\$ref:[A-Za-z0-9_.-]{1,128}")


def is_reference(value: str) -> bool:
    """Whether ``value`` is a ``$ref:NAME`` placeholder (the handler would resolve it)."""
    return _PLACEHOLDER.fullmatch(value) is not None


def is_token(value: object) -> bool:
    """Whether ``value`` holds a deploy-time value, judged in Python (no jsii call)."""
    if isinstance(value, str):
        return any(marker in value for marker in _TOKEN_MARKERS)
    # Number tokens are encoded as huge negative doubles; a spec never holds a float.
    return isinstance(value, float)


# Declarations -------------------------------------------------------------------


class Declaration:
    """Something declared in an organization's directory, with a construct-like path.

    Declarations are plain Python objects, not constructs: a 10,000-user directory makes
    tens of thousands of them, and each would otherwise cost a jsii call. Like a construct,
    each has a ``node`` with its ``id``, its ``path`` and its ``scope`` (the node is the
    declaration itself: a directory of that size makes fewer objects so).
    """

    def __init__(self, organization: Organization, parent_path: str, id: str, scope: object,
                 siblings: dict[str, Any]) -> None:
        _claim(parent_path, id, siblings, self)
        self.organization = organization
        self.id = id
        self.path = f"{parent_path}/{id}"
        self.scope = scope

    @property
    def node(self) -> Declaration:
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path})"


D = TypeVar("D", bound="Declaration")


def _claim(parent_path: str, id: object, siblings: dict[str, Any], record: Any) -> str:
    """Keep ``record`` under ``id`` among ``siblings``, refusing an id that is not a name or is taken."""
    checked = _checked_id(parent_path, id)
    if checked in siblings:
        raise ValueError(f"{parent_path}/{checked}: there is already a declaration with id {checked!r} here")
    siblings[checked] = record
    return checked


def _checked_id(parent_path: str, id: object) -> str:
    if not isinstance(id, str) or not id or "/" in id:
        raise ValueError(f"{parent_path}: an id must be a non-empty string without '/', not {id!r}")
    return id


def _view(cls: type[D], owner: Entity[Any], collection: str, id: str, **fields: str) -> D:
    """A declaration an entity keeps as a row of a link table (an alias, member or delegate),
    made when asked for."""
    view = object.__new__(cls)
    view.organization, view.id, view.scope = owner.organization, id, owner
    view.path = f"{owner.node.path}/{collection}/{id}"
    for name, value in fields.items():
        setattr(view, name, value)
    return view


LinkCollection = Literal["Aliases", "Members", "Delegates"]


class Links:
    """One kind of link of an organization's entities (their aliases, the groups' members or the
    resources' delegates) as the rows of one table, in the order declared.

    A list per entity would be one more object per user. Python's cyclic collector counts
    objects: past some tens of thousands of new ones it walks every object of the process
    (about 0.08 s with aws_cdk imported), so a 10,000-user directory keeps one object per
    user and these tables hold the rest as strings.
    """

    def __init__(self, collection: LinkCollection) -> None:
        self.collection = collection
        self._owners: list[Entity[Any]] = []
        self._ids: list[str] = []
        self._values: list[str] = []
        # Each row's declaration path: an id is unique among its owner's links.
        self._paths: set[str] = set()
        # Owner → its rows, made when first asked for after a change.
        self._rows: dict[Entity[Any], list[int]] | None = None

    def add(self, owner: Entity[Any], id: object, value: str) -> str:
        parent = f"{owner.path}/{self.collection}"
        checked = _checked_id(parent, id)
        path = f"{parent}/{checked}"
        if path in self._paths:
            raise ValueError(f"{path}: there is already a declaration with id {id!r} here")
        self._paths.add(path)
        self._owners.append(owner)
        self._ids.append(checked)
        self._values.append(value)
        self._rows = None
        return checked

    def of(self, owner: Entity[Any]) -> list[tuple[str, str]]:
        """``owner``'s links: (id, value) in the order declared."""
        ids, values = self._ids, self._values
        return [(ids[row], values[row]) for row in self._index().get(owner, ())]

    def values_of(self, owner: Entity[Any]) -> list[str]:
        """The values of ``owner``'s links (addresses or names), in the order declared."""
        return [value for _, value in self.of(owner)]

    def values_by_owner(self) -> dict[Entity[Any], list[str]]:
        """Every owner's link values, in the order declared: new lists, for ``entity_specs`` to
        put in spec objects (the index ``of`` keeps would be one more list per user)."""
        grouped: dict[Entity[Any], list[str]] = {}
        for owner, value in zip(self._owners, self._values, strict=True):
            values = grouped.get(owner)
            if values is None:
                grouped[owner] = [value]
            else:
                values.append(value)
        return grouped

    def _index(self) -> dict[Entity[Any], list[int]]:
        if self._rows is None:
            rows: dict[Entity[Any], list[int]] = {}
            for row, entity in enumerate(self._owners):
                rows.setdefault(entity, []).append(row)
            self._rows = rows
        return self._rows


class Alias(Declaration):
    """An additional address of a user, group or resource (``Entity.add_alias`` makes it)."""

    address: str


S = TypeVar("S", UserSpec, GroupSpec, ResourceSpec)


class Entity(Declaration, Generic[S]):
    """A user, group or resource: a name in the organization's one namespace.

    An entity keeps its declared fields as its own attributes (``_name``, ``_email``, ...) and
    its links in the organization's tables; ``spec`` makes its spec object from them. A spec
    object and a list per entity would triple the objects of a 10,000-user directory (see
    ``Links``).
    """

    collection = ""
    spec_class: type[S]
    # Stores the declared fields (the spec's, by keyword) as the entity's attributes: called
    # once, right after the entity is made (``Organization.add_user`` and the like).
    _keep: Callable[..., None]
    _name: str
    _email: str | None

    def __init__(self, organization: Organization, id: str, siblings: dict[str, Declaration]) -> None:
        super().__init__(organization, f"{organization.path}/{self.collection.title()}", id, organization,
                         siblings)

    @property
    def spec(self) -> S:
        """The entity's spec object, made from its fields and links (a new object each time)."""
        tables = self.organization._links
        links = (tables[_LINK_TABLES[name]].values_of(self) for name in _link_fields(self.spec_class))
        return _maker(self.spec_class)(self, *links)  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return self._name

    @property
    def email(self) -> str | None:
        return self._email

    def add_alias(self, address: str, *, id: str | None = None) -> Alias:
        """Give the entity another address (in one of the organization's domains)."""
        alias_id = self.organization._links["Aliases"].add(self, id or address, address)
        return _view(Alias, self, "Aliases", alias_id, address=address)

    @property
    def aliases(self) -> list[Alias]:
        """The aliases declared, in order (the spec's ``aliases`` are in the same order)."""
        return [_view(Alias, self, "Aliases", i, address=a) for i, a in self.organization._links["Aliases"].of(self)]


def entity_specs(entities: Sequence[Entity[S]]) -> list[S]:
    """The spec objects of ``entities`` (all of one kind), made from their fields and links."""
    if not entities:
        return []
    cls = type(entities[0])
    make = _maker(cls.spec_class)
    tables = entities[0].organization._links
    links = [tables[_LINK_TABLES[name]].values_by_owner() for name in _link_fields(cls.spec_class)]
    if len(links) == 1:
        (values,) = links
        return [make(entity, values.get(entity) or []) for entity in entities]
    return [make(entity, *(values.get(entity) or [] for values in links)) for entity in entities]


# Spec fields an entity's links fill → the organization's table that holds them.
_LINK_TABLES: dict[str, LinkCollection] = {"aliases": "Aliases", "members": "Members", "delegates": "Delegates"}


@cache
@typing.no_type_check
def _link_fields(spec_class: type) -> tuple[str, ...]:
    """The spec fields an entity's link tables fill, in the spec's order."""
    return tuple(f.name for f in dataclasses.fields(spec_class) if f.name in _LINK_TABLES)


@cache
@typing.no_type_check
def _keeper(spec_class: type) -> Callable[..., None]:
    """``Entity._keep``: stores the fields of ``spec_class`` but its links and logical id, given by
    keyword, as the entity's attributes ``_<field>``. Compiled: setting twenty attributes one by
    one, or passing them on as ``**fields``, would double ``add_user``'s time."""
    names = [f.name for f in dataclasses.fields(spec_class) if f.name not in (*_LINK_TABLES, "logical_id")]
    return compile_function(f"keep_{spec_class.__name__}", ["o", "*", *names], [f"o._{n} = {n}" for n in names],
                            {})


@cache
@typing.no_type_check
def _maker(spec_class: type) -> Callable[..., Any]:
    """The spec object of an entity, from its attributes and (in the spec's order) its links'
    values: ``make(entity, aliases)``, ``make(group, members, aliases)``."""
    arguments = [n if n in _LINK_TABLES else "o.path" if n == "logical_id" else f"o._{n}"
                 for n in (f.name for f in dataclasses.fields(spec_class))]
    # Positional, in the fields' order: the cheapest call of a dataclass's __init__.
    return compile_function(f"make_{spec_class.__name__}", ["o", *_link_fields(spec_class)],
                            [f"return C({', '.join(arguments)})"], {"C": spec_class})


class User(Entity[UserSpec]):
    """A WorkMail user (create with ``Organization.add_user``)."""

    collection = "users"
    spec_class = UserSpec
    _keep = _keeper(UserSpec)


class GroupMember(Declaration):
    """One member (user or group) of a group (``Group.add_member`` makes it)."""

    member: str


class Group(Entity[GroupSpec]):
    """A WorkMail group (create with ``Organization.add_group``)."""

    collection = "groups"
    spec_class = GroupSpec
    _keep = _keeper(GroupSpec)

    def add_member(self, member: User | Group | str, *, id: str | None = None) -> GroupMember:
        """Add a user or a group (by object or by name) to the group."""
        name = self._keep_member(member, id)
        return _view(GroupMember, self, "Members", id or name, member=name)

    def _keep_member(self, member: User | Group | str, id: str | None = None) -> str:
        """``add_member`` without its view; the member's name."""
        name = self.organization._name_of(member, (User, Group), "a user or group", self.path)
        self.organization._links["Members"].add(self, id or name, name)
        return name

    @property
    def members(self) -> list[GroupMember]:
        """The members declared, in order (the spec's ``members`` are in the same order)."""
        return [_view(GroupMember, self, "Members", i, member=m)
                for i, m in self.organization._links["Members"].of(self)]


class ResourceDelegate(Declaration):
    """A user or group that answers a resource's booking requests (``MailResource.add_delegate``
    makes it)."""

    delegate: str


class MailResource(Entity[ResourceSpec]):
    """A bookable room or piece of equipment (create with ``Organization.add_resource``)."""

    collection = "resources"
    spec_class = ResourceSpec
    _keep = _keeper(ResourceSpec)

    def add_delegate(self, delegate: User | Group | str, *, id: str | None = None) -> ResourceDelegate:
        """Let a user or group answer the resource's booking requests."""
        name = self.organization._name_of(delegate, (User, Group), "a user or group", self.path)
        self.organization._links["Delegates"].add(self, id or name, name)
        return _view(ResourceDelegate, self, "Delegates", id or name, delegate=name)

    @property
    def delegates(self) -> list[ResourceDelegate]:
        """The delegates declared, in order (the spec's ``delegates`` are in the same order)."""
        return [_view(ResourceDelegate, self, "Delegates", i, delegate=d)
                for i, d in self.organization._links["Delegates"].of(self)]


class MailboxAccess(Declaration):
    """Permissions of one user or group on another entity's mailbox."""

    def __init__(self, organization: Organization, parent_path: str, id: str,
                 siblings: dict[str, Declaration], spec: MailboxPermissionSpec) -> None:
        super().__init__(organization, parent_path, id, organization, siblings)
        self.spec = spec


class AccessControlRule(Declaration):
    """An access control rule: who may use which protocols from where."""

    def __init__(self, organization: Organization, id: str, siblings: dict[str, Declaration],
                 spec: AccessControlRuleSpec) -> None:
        super().__init__(organization, f"{organization.path}/AccessControlRules", id, organization, siblings)
        self.spec = spec


class MobileDeviceAccessRule(Declaration):
    """A mobile device access rule of the organization."""

    def __init__(self, organization: Organization, id: str, siblings: dict[str, Declaration],
                 spec: MobileDeviceAccessRuleSpec) -> None:
        super().__init__(organization, f"{organization.path}/MobileDeviceAccessRules", id, organization,
                         siblings)
        self.spec = spec


class MobileDeviceAccessOverride(Declaration):
    """Allows or denies one user's one device, whatever the rules say."""

    def __init__(self, organization: Organization, parent_path: str, id: str, siblings: dict[str, Declaration],
                 spec: MobileDeviceAccessOverrideSpec) -> None:
        super().__init__(organization, parent_path, id, organization, siblings)
        self.spec = spec


@dataclass(frozen=True)
class ImpersonationRule:
    """One rule of an impersonation role: which users the role may (or may not) act as."""

    rule_id: str
    effect: Effect
    name: str | None = None
    description: str | None = None
    target_users: Sequence[User | str] = ()
    not_target_users: Sequence[User | str] = ()


class ImpersonationRole(Declaration):
    """An impersonation role: lets an application act as users of the organization."""

    def __init__(self, organization: Organization, id: str, siblings: dict[str, Declaration],
                 spec: ImpersonationRoleSpec) -> None:
        super().__init__(organization, f"{organization.path}/ImpersonationRoles", id, organization, siblings)
        self.spec = spec

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class RetentionFolder:
    """What the retention policy does with mail in one folder after ``period_days``."""

    name: FolderName
    action: RetentionAction
    period_days: int | None = None


class RetentionPolicy(Declaration):
    """The organization's mailbox retention policy."""

    def __init__(self, organization: Organization, siblings: dict[str, Declaration],
                 spec: RetentionPolicySpec) -> None:
        super().__init__(organization, organization.path, "RetentionPolicy", organization, siblings)
        self.spec = spec


class AvailabilityConfiguration(Declaration):
    """Where WorkMail looks up free/busy times of another domain's users."""

    def __init__(self, organization: Organization, id: str, siblings: dict[str, Declaration],
                 spec: AvailabilityConfigurationSpec) -> None:
        super().__init__(organization, f"{organization.path}/AvailabilityConfigurations", id, organization,
                         siblings)
        self.spec = spec


# The directory resource -----------------------------------------------------------


@dataclass
class RenderedSpec:
    """The spec as the resource carries it.

    The document is the spec (``spec_data``) with every deploy-time value replaced by the
    placeholder ``$ref:NAME``; ``references`` maps each NAME to that value (a CDK token),
    which travels beside the document in the ``References`` property. ``sections`` holds
    the compact JSON of each top-level section and ``body`` the whole document's: what an
    S3 spec holds, and what the inline limit measures. ``data`` is the document as objects;
    ``counts`` the number of objects in each top-level section. It keeps none of the spec's
    objects: they are freed once validated (see ``_Checking``).
    """

    sections: dict[str, str]
    references: dict[str, Any]
    expressions: dict[str, Any]
    body: bytes
    counts: dict[str, int]
    # Whether a literal value of the spec looks like a placeholder (refused: see finalize).
    literal_placeholders: bool = False

    @property
    def size(self) -> int:
        return len(self.body)

    @property
    def data(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


def spec_data(value: Any) -> Any:
    """A spec object as JSON-ready data without the fields left at their defaults.

    ``from_data`` fills them back in, so this reads back to an equal spec while the
    document a 10,000-user directory ships is about a fifth smaller (and faster to make).
    It also leaves no empty list or object where the default is something else, so
    nothing depends on CloudFormation keeping empty values. The spec's ``version`` is
    always written, so a reader can tell which format it has.
    """
    return json.loads(_compact(value))


def _compact(value: Any) -> str:
    """The compact JSON of ``value``, a spec object or data holding spec objects."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_fields)


def _fields(value: Any) -> dict[str, Any]:
    """A spec object's fields that differ from their defaults, as JSON data: spec objects in
    them written the same way (also the JSON encoder's ``default``, for a spec object held
    where its class doesn't declare one)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _writer(type(value))(value)  # type: ignore[no-any-return]
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@cache
@typing.no_type_check
def _writer(cls: type) -> Callable[[Any], dict[str, Any]]:
    """``_fields`` for one spec class, written as Python source and compiled. The spec objects
    its fields hold (a user's password, a list of users) are written by their classes' writers
    here, so the encoder then walks plain data in C: 22,000 calls back into Python for a
    10,000-user directory took a third of its rendering."""
    namespace: dict[str, Any] = {}
    hints = type_hints(cls)
    lines = ["d = {}"]
    for i, f in enumerate(dataclasses.fields(cls)):
        lines.append(f"x = o.{f.name}")
        if f.default_factory is not dataclasses.MISSING:
            namespace[f"D{i}"] = f.default_factory()
            lines.append(f"if x is not None and x != D{i}:")
        elif f.default is not dataclasses.MISSING and f.default is not None and f.name != "version":
            namespace[f"D{i}"] = f.default
            lines.append(f"if x is not None and x != D{i}:")
        else:
            lines.append("if x is not None:")
        held, many = _held_spec_class(hints[f.name])
        if held is None:
            lines.append(f"    d[{f.name!r}] = x")
            continue
        namespace[f"W{i}"] = _writer(held)
        lines.append(f"    d[{f.name!r}] = [W{i}(y) for y in x]" if many else f"    d[{f.name!r}] = W{i}(x)")
    lines.append("return d")
    return compile_function(f"write_{cls.__name__}", ["o"], lines, namespace)


@typing.no_type_check
def _held_spec_class(annotation: Any) -> tuple[type | None, bool]:
    """The spec class a field of ``annotation`` holds (``X``, ``X | None``, ``list[X]``), and
    whether it holds a list of them; ``(None, False)`` for any other field."""
    options = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(options) == 1:
        annotation = options[0]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return (item, True) if dataclasses.is_dataclass(item) else (None, False)
    return (annotation, False) if dataclasses.is_dataclass(annotation) else (None, False)


class References:
    """Deploy-time values of one spec document, each under a name that is stable across synths.

    A value's name comes from what CloudFormation makes of it: the logical id of the
    resource it refers to (``Ref``: ``PasswordsA1B2C3D4``; ``Fn::GetAtt``:
    ``MailboxKey1234ABCD.Arn``), or a digest of its expression when it is made of several
    parts. Logical ids come from construct paths, so adding a user renames nothing, and
    the same value used by 10,000 users is one reference.
    """

    def __init__(self, stack: cdk.Stack) -> None:
        self.stack = stack
        self.values: dict[str, Any] = {}
        self.expressions: dict[str, Any] = {}
        self._by_text: dict[str, str] = {}

    def placeholder(self, value: Any) -> str:
        text = str(value)
        name = self._by_text.get(text)
        if name is None:
            if isinstance(value, float):
                # A number token: the reference holds it as a string, as CloudFormation passes it.
                value = cdk.Tokenization.stringify_number(value)
            expression = self.stack.resolve(value)
            name = _reference_name(expression)
            self._by_text[text] = name
            self.values[name] = value
            self.expressions[name] = expression
        return reference(name)


def _reference_name(expression: Any) -> str:
    if isinstance(expression, dict) and len(expression) == 1:
        ((function, argument),) = expression.items()
        base = None
        if function == "Ref" and isinstance(argument, str):
            base = argument
        elif function == "Fn::GetAtt" and isinstance(argument, list) and all(isinstance(a, str) for a in argument):
            base = ".".join(argument)
        if base is not None:
            name = re.sub(r"[^A-Za-z0-9_.-]+", ".", base)
            if len(name) <= 128:
                return name
    digest = hashlib.sha256(json.dumps(expression, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    found = re.findall(r'"(?:Ref|Fn::GetAtt)":\s*\[?"([A-Za-z0-9]+)"', json.dumps(expression))
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", ".", found[0])[:100] if found else "Value"
    return f"{prefix}.{digest[:16]}"


# A JSON string that holds a deploy-time value, and a number token (a huge negative float:
# a spec holds no other float), as they appear in the compact JSON of the document.
_TOKEN = re.compile(r"[$#]\{Token\[[^\]\"\\]*\]\}")
_TOKEN_STRING = re.compile(r'"(?:[^"\\]|\\.)*?(?:\$\{Token\[|#\{Token\[)(?:[^"\\]|\\.)*"')
_NUMBER_TOKEN = re.compile(r"(?<=[:,\[])-\d\.\d+e\+\d{3}(?=[,\]}])")


def render(spec: WorkMailSpec, stack: cdk.Stack) -> RenderedSpec:
    """The spec document with deploy-time values moved out to named references.

    The values are found in the document's JSON text rather than by walking its objects:
    a 10,000-user document is a few MB of text, which a regular expression and ``str``
    handle in a fraction of the time a walk in Python takes. Each section is rendered on
    its own, so an S3 spec's summary digests the very text the document holds.
    """
    references = References(stack)
    sections = {key: _compact(value) for key, value in _fields(spec).items()}
    literal_placeholders = any("$ref:" in text for text in sections.values())
    for key, text in sections.items():
        if any(marker in text for marker in _TOKEN_MARKERS) or "e+" in text:
            sections[key] = _references_out(text, references)
    body = "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{text}" for key, text in sections.items()) + "}"
    values = {section: getattr(spec, section) for section in SUMMARY_SECTIONS}
    counts = {section: len(value) if isinstance(value, list) else int(section in sections)
              for section, value in values.items()}
    return RenderedSpec(sections, references.values, references.expressions, body.encode(), counts,
                        literal_placeholders)


def _references_out(text: str, references: References) -> str:
    """``text`` (compact JSON) with each deploy-time value replaced by its placeholder."""
    # A value that is a token and nothing else (a secret's ARN, a zone's id): one replace
    # per distinct token, however many users share it. ``str.find`` goes from one token to
    # the next several times faster than a regular expression scans the text between.
    at = text.find("{Token[")
    while at >= 0:
        token = _TOKEN.match(text, at - 1) if at >= 2 else None
        if token is not None and text[at - 2] == '"' and text.startswith('"', token.end()):
            text = text.replace(json.dumps(token.group(0)), json.dumps(references.placeholder(token.group(0))))
            at = text.find("{Token[", at - 2)
        else:
            at = text.find("{Token[", at + 1)
    if any(marker in text for marker in _TOKEN_MARKERS):
        # Tokens inside longer strings ("arn:...:${Token[...]}"): the whole string is the value.
        text = _TOKEN_STRING.sub(lambda m: json.dumps(references.placeholder(json.loads(m.group(0)))), text)
    if "e+" not in text:
        return text
    return _NUMBER_TOKEN.sub(lambda m: json.dumps(references.placeholder(float(m.group(0)))), text)


# Every top-level section of the spec: the summary of an S3 spec counts and digests each.
SUMMARY_SECTIONS = tuple(f.name for f in dataclasses.fields(WorkMailSpec) if f.name != "version")


def spec_summary(rendered: RenderedSpec) -> dict[str, dict[str, str]]:
    """``{section: {"Count": "n", "Digest": "<16 hex>"}}``: how many objects each section of
    the document holds and the first 16 hex digits of the SHA-256 of its JSON as the
    document holds it (compact, fields in the spec's order; ``null`` when absent), so a diff
    of an S3 spec shows which kinds changed. The handler ignores it."""
    summary = {}
    for section in SUMMARY_SECTIONS:
        text = rendered.sections.get(section, "null")
        summary[section] = {"Count": str(rendered.counts[section]),
                            "Digest": hashlib.sha256(text.encode()).hexdigest()[:16]}
    return summary


class Directory(Construct):
    """The ``Custom::WorkMailDirectory`` resource of one organization.

    Created by ``Organization``; its spec is filled in when the app is synthesized (an
    aspect runs ``finalize``), once every user, group and policy has been declared.

    Properties: ``OrganizationId``, ``AllowDestructive``, ``References`` (the deploy-time
    values the document refers to as ``$ref:NAME``) and either ``Spec`` (the document as a
    structured object, so ``cdk diff`` shows which user or group changed, field by field)
    or, above the inline limit, ``SpecLocation`` (``{"Bucket", "Key", "Sha256"}`` of an S3
    asset) with ``SpecSummary`` (counts and digests per section).
    """

    def __init__(self, scope: Organization, id: str, *, allow_destructive: bool, inline_limit: int) -> None:
        super().__init__(scope, id)
        self._organization = scope
        self._inline_limit = inline_limit
        handlers = WorkMailHandlers.of(self)
        self.resource = cdk.CustomResource(
            self, "Resource", service_token=handlers.service_token, resource_type=DIRECTORY_RESOURCE_TYPE,
            properties={
                "OrganizationId": scope.organization_id,
                "AllowDestructive": "true" if allow_destructive else "false",
            },
        )
        # The handler must be allowed to act on this organization before it runs.
        handlers.allow_organization(scope.organization_arn)
        handlers.depend_on_permissions(self.resource)
        self.asset: s3_assets.Asset | None = None
        self.spec_file: Path | None = None
        self.rendered: RenderedSpec | None = None
        self.problems: list[str] = []
        self._checking: _Checking | None = None

    def spec_problems(self) -> list[Problem]:
        """The core's validation problems of the spec (waiting for the check started at finalize)."""
        if self._checking is None:
            return validate(self._organization.to_spec())
        return self._checking.result()

    @property
    def mode(self) -> str:
        """``inline`` or ``asset``: how the spec reached the resource (after synthesis)."""
        return "asset" if self.asset is not None else "inline"

    def finalize(self) -> None:
        """Put the spec in the resource's properties (or in S3) and beside the templates."""
        with collection_paused():
            spec = self._organization.to_spec()
        try:
            with collection_paused():
                self._finalize(spec)
        finally:
            # Validating a large directory is pure Python. Started once the rendering is
            # done (not beside it, where the two would take turns holding the GIL), it runs
            # while this process waits for CDK to prepare the app in its own, and the
            # validation phase only collects the result. It pauses the collector itself, so
            # it starts outside this pause (which would end while it runs).
            self._checking = _Checking(spec)

    def _finalize(self, spec: WorkMailSpec) -> None:
        stack = cdk.Stack.of(self)
        rendered = render(spec, stack)
        self.rendered = rendered
        if rendered.literal_placeholders:
            self._refuse_placeholders(spec)
        cfn = self.resource.node.default_child
        assert isinstance(cfn, cdk.CfnResource)
        if rendered.references:
            cfn.add_property_override("References", rendered.references)
        readable = _readable(rendered) if rendered.references else rendered.body
        spec_file = self._write_spec_file(stack, readable)
        if rendered.size <= self._inline_limit:
            cfn.add_property_override("Spec", rendered.data)
            return
        # The handler refuses an object whose digest differs: the spec it applies is the one synthesized.
        digest = hashlib.sha256(rendered.body).hexdigest()
        source = spec_file if readable is rendered.body else _staged_document(rendered.body, digest)
        # The document's digest is known: CDK need not read the file again to fingerprint it.
        self.asset = s3_assets.Asset(self, "SpecAsset", path=str(source), asset_hash=digest,
                                     asset_hash_type=cdk.AssetHashType.CUSTOM)
        cfn.add_property_override("SpecLocation", {
            "Bucket": self.asset.s3_bucket_name, "Key": self.asset.s3_object_key, "Sha256": digest,
        })
        cfn.add_property_override("SpecSummary", spec_summary(rendered))
        WorkMailHandlers.of(self).allow_spec_object(self.asset)

    def _refuse_placeholders(self, spec: WorkMailSpec) -> None:
        """A literal ``$ref:NAME`` would be read as a reference by the handler: refuse it."""
        for path in _value_paths(spec, lambda v: isinstance(v, str) and is_reference(v)):
            self.problems.append(
                f"{self._organization.locate(path)} ({path}): a value of the form $ref:NAME is reserved for "
                "deploy-time references in the spec document; use another value"
            )

    def _write_spec_file(self, stack: cdk.Stack, body: bytes) -> Path:
        """The spec beside the templates, so tools read declared state without parsing CloudFormation."""
        stage = cdk.Stage.of(self)
        assert stage is not None, "a stack is always in a stage"
        outdir = Path(stage.outdir)
        outdir.mkdir(parents=True, exist_ok=True)
        relative = self._organization.path.split("/", 1)[-1].replace("/", ".")
        spec_file = outdir / f"{stack.artifact_id}.{relative}.workmail-spec.json"
        spec_file.write_bytes(body)
        self.spec_file = spec_file
        self.resource.node.add_metadata("workmail-constructs:spec", spec_file.name)
        return spec_file


_DOCUMENTS: Path | None = None


def _staged_document(body: bytes, digest: str) -> Path:
    """A file holding ``body`` (whose SHA-256 is ``digest``) for an S3 asset (the asset copies it
    into the cloud assembly)."""
    global _DOCUMENTS
    if _DOCUMENTS is None or not _DOCUMENTS.exists():
        _DOCUMENTS = Path(tempfile.mkdtemp(prefix="workmail-constructs-specs-"))
        atexit.register(shutil.rmtree, _DOCUMENTS, True)
    path = _DOCUMENTS / f"{digest}.json"
    path.write_bytes(body)
    return path


def _readable(rendered: RenderedSpec) -> bytes:
    """The document with each reference shown as its CloudFormation expression (a JSON string)."""
    text = rendered.body.decode()
    for name, expression in rendered.expressions.items():
        shown = json.dumps(json.dumps(expression, separators=(",", ":")), ensure_ascii=False)
        text = text.replace(json.dumps(reference(name)), shown)
    return text.encode()


def _value_paths(spec: WorkMailSpec, matches: Callable[[Any], bool]) -> list[str]:
    """The validation-style paths (``users[alice].password``) of every value ``matches`` picks."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{path}[{label(item, i) if dataclasses.is_dataclass(item) else i}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}[{key}]")
        elif matches(value):
            found.append(_owning_field(path))

    walk(spec, "")
    return found


def _token_paths(spec: WorkMailSpec) -> list[str]:
    """The validation-style paths (``users[alice].password``) of every deploy-time value."""
    return _value_paths(spec, is_token)


def _owning_field(path: str) -> str:
    """A secret's parts are one field for validation: ``users[a].password.secret_id`` → ``users[a].password``."""
    for suffix in (".secret_id", ".version_id", ".json_key"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def problems_to_messages(organization: Organization, problems: Iterable[Problem]) -> list[str]:
    """Validation problems as messages naming the construct path of the offending object,
    leaving out problems about values known only at deploy time."""
    problems = list(problems)
    if not problems:
        return []
    tokens = _token_paths(organization.to_spec())
    messages = []
    for problem in problems:
        if any(problem.path == t or problem.path.startswith((f"{t}.", f"{t}[")) for t in tokens):
            continue
        messages.append(f"{organization.locate(problem.path)} ({problem.path}): {problem.message}")
    return messages


class Locator:
    """Finds the declaration a validation path (``groups[eng].members[2]``) is about."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self._index: dict[tuple[str, str], list[Any]] | None = None

    def _build(self) -> dict[tuple[str, str], list[Any]]:
        index: dict[tuple[str, str], list[Any]] = {}
        for collection, items in self.organization._collections().items():
            for i, item in enumerate(items):
                index.setdefault((collection, label(item.spec, i)), []).append(item)
        return index

    def locate(self, path: str) -> str:
        match = _PROBLEM_PATH.match(path)
        org_path = self.organization.path
        if match is None:
            return org_path
        collection, key, rest = match["collection"], match["label"], match["rest"]
        if collection == "organization" or key is None:
            singles = {"retention_policy": self.organization._retention_policy,
                       "email_monitoring": self.organization._email_monitoring_owner}
            single = singles.get(collection)
            return single.node.path if single is not None else org_path
        if self._index is None:
            self._index = self._build()
        found = self._index.get((collection, key), [])
        if not found:
            return org_path
        # Objects declared twice under one name share a label: name them all.
        return ", ".join(dict.fromkeys(_sub_path(item, rest) for item in found))


def _sub_path(item: Any, rest: str) -> str:
    """The path of the alias, member or delegate ``rest`` points at, else of ``item``."""
    sub = _SUB_ITEM.match(rest)
    if sub is not None and sub["field"] in ("aliases", "members", "delegates"):
        # The spec's lists and the entity's declarations of them are in the same order.
        items = getattr(item, sub["field"], None)
        index = int(sub["index"])
        if isinstance(items, list) and index < len(items):
            return str(items[index].node.path)
    return str(item.node.path)


@jsii.implements(IValidation)
class SpecValidation:
    """Runs the core's spec validation at synth time, naming construct paths."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization

    def validate(self) -> list[str]:
        directory = self.organization.directory
        return [*directory.problems, *problems_to_messages(self.organization, directory.spec_problems())]


class _Checking:
    """``validate(spec)`` on a thread of its own; ``result`` waits for it (and re-raises).

    The thread lets go of the spec when done: a 10,000-user spec is some 40,000 objects,
    which every full pass of Python's cyclic collector (the interpreter's own as it exits
    among them) would walk again.
    """

    def __init__(self, spec: WorkMailSpec) -> None:
        self._spec: WorkMailSpec | None = spec
        self._problems: list[Problem] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="workmail-spec-validation", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        spec, self._spec = self._spec, None
        assert spec is not None
        try:
            self._problems = validate(spec)
        except BaseException as error:  # handed to the caller of result()
            self._error = error

    def result(self) -> list[Problem]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._problems
