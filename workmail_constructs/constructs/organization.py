"""A WorkMail organization as a CDK construct, and references to existing organizations.

``Organization`` is the ``Custom::WorkMailOrganization`` resource plus everything
declared in it: domains (``add_domain``), the directory (``add_user``, ``add_group``,
``add_resource``, ``grant_mailbox_access``) and the policies. At synth time the declared
state is assembled into a ``WorkMailSpec``, validated with the core's rules (errors name
the construct path of the offending object) and handed to the handlers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from ..core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    BookingOptionsSpec,
    Effect,
    EmailMonitoringSpec,
    EwsProviderSpec,
    FlowAction,
    FlowDirection,
    FolderConfigurationSpec,
    ImpersonationRoleSpec,
    ImpersonationRoleType,
    ImpersonationRuleSpec,
    MailboxPermission,
    MailboxPermissionSpec,
    MobileDeviceAccessOverrideSpec,
    MobileDeviceAccessRuleSpec,
    OrganizationSpec,
    RemovalPolicy,
    ResourceType,
    RetentionPolicySpec,
    SecretRef,
    UserRole,
    WorkMailSpec,
)
from .directory import (
    DEFAULT_INLINE_SPEC_LIMIT,
    AccessControlRule,
    AvailabilityConfiguration,
    Declaration,
    Directory,
    Group,
    ImpersonationRole,
    ImpersonationRule,
    LinkCollection,
    Links,
    Locator,
    MailboxAccess,
    MailResource,
    MobileDeviceAccessOverride,
    MobileDeviceAccessRule,
    RetentionFolder,
    RetentionPolicy,
    SpecValidation,
    User,
    entity_specs,
    is_token,
    spec_data,
)
from .domain import DEFAULT_RECORD_TTL, Domain
from .flow_rules import EmailFlowRule, declare_flow_rule
from .lambda_permissions import allow_workmail_invoke
from .monitoring import OrganizationMetrics
from .providers import ORGANIZATION_RESOURCE_TYPE, WorkMailHandlers

if TYPE_CHECKING:
    from .flow_dispatcher import EmailFlowDispatcher

READ_ACTIONS = ("workmail:Describe*", "workmail:Get*", "workmail:List*", "workmail:Search*")
USER_MANAGEMENT_ACTIONS = tuple(f"workmail:{operation}" for operation in (
    "CreateUser", "DeleteUser", "UpdateUser", "DescribeUser", "ListUsers", "RegisterToWorkMail",
    "DeregisterFromWorkMail", "ResetPassword", "CreateAlias", "DeleteAlias", "ListAliases",
    "UpdatePrimaryEmailAddress", "UpdateMailboxQuota", "GetMailboxDetails", "DescribeEntity",
))
GROUP_MANAGEMENT_ACTIONS = tuple(f"workmail:{operation}" for operation in (
    "CreateGroup", "DeleteGroup", "UpdateGroup", "DescribeGroup", "ListGroups", "ListGroupMembers",
    "AssociateMemberToGroup", "DisassociateMemberFromGroup", "RegisterToWorkMail", "DeregisterFromWorkMail",
    "CreateAlias", "DeleteAlias", "ListAliases", "UpdatePrimaryEmailAddress", "DescribeEntity",
))

# With more distinct secrets than this, the directory handler's role policy nears IAM's
# 10,240-character limit for a role's inline policies.
SECRETS_WARNING_THRESHOLD = 40


@runtime_checkable
class IOrganization(Protocol):
    """A WorkMail organization: one this app manages, or a reference to an existing one."""

    @property
    def organization_id(self) -> str: ...

    @property
    def organization_arn(self) -> str: ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant: ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def grant_manage_users(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def grant_manage_groups(self, grantee: iam.IGrantable) -> iam.Grant: ...


class OrganizationBase(cdk.Resource, OrganizationMetrics):
    """What managed and referenced organizations have in common: identity and grants."""

    organization_id: str
    organization_arn: str

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Allow ``grantee`` the WorkMail ``actions`` on this organization (and nothing else)."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=list(actions),
                                          resource_arns=[self.organization_arn])

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow reading everything in the organization: WorkMail's Describe*, Get*, List* and
        Search* actions on its ARN (the Guide's read-only statement: Administrator Guide,
        "Amazon WorkMail identity-based policy examples")."""
        return self.grant(grantee, *READ_ACTIONS)

    def grant_manage_users(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow creating, changing, enabling, disabling and deleting users, their aliases,
        passwords and mailbox quotas."""
        return self.grant(grantee, *USER_MANAGEMENT_ACTIONS)

    def grant_manage_groups(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow creating, changing and deleting groups, their members and aliases."""
        return self.grant(grantee, *GROUP_MANAGEMENT_ACTIONS)


class _ImportedOrganization(OrganizationBase):
    def __init__(self, scope: Construct, id: str, *, organization_id: str, organization_arn: str,
                 default_mail_domain: str | None, directory_id: str | None, web_url: str | None) -> None:
        super().__init__(scope, id, environment_from_arn=organization_arn)
        self.organization_id = organization_id
        self.organization_arn = organization_arn
        self.default_mail_domain = default_mail_domain
        self.directory_id = directory_id
        self.web_url = web_url


def _organization_arn(scope: Construct, organization_id: str, region: str | None, account: str | None) -> str:
    return cdk.Stack.of(scope).format_arn(
        service="workmail", resource="organization", resource_name=organization_id, region=region, account=account,
    )


def _removal_word(policy: cdk.RemovalPolicy, path: str) -> RemovalPolicy:
    if policy in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return "retain"
    if policy == cdk.RemovalPolicy.DESTROY:
        return "destroy"
    raise ValueError(f"{path}: removal_policy must be RETAIN or DESTROY for a WorkMail organization, not {policy}")


def _secret_id(secret: secretsmanager.ISecret) -> str:
    """What the handler passes to GetSecretValue: the full ARN, else the name, when known at
    synth time (a literal in the spec document), else the ARN (a deploy-time reference)."""
    for candidate in (secret.secret_full_arn, secret.secret_name):
        if candidate and not is_token(candidate):
            return candidate
    return secret.secret_arn


@jsii.implements(cdk.IAspect)
class _Finalize:
    """Assembles the spec once everything has been declared (at synth, after tags apply)."""

    def __init__(self, organization: Organization) -> None:
        self.organization = organization
        self.done = False

    def visit(self, node: IConstruct) -> None:
        if self.done or node.node.path != self.organization.path:
            return
        self.done = True
        self.organization._finalize()


@jsii.implements(cdk.ITaggable)
class Organization(OrganizationBase):
    """A WorkMail organization managed by this stack.

    :param alias: the organization's alias (its test domain is ``<alias>.awsapps.com``).
    :param directory_id: an AWS Directory Service directory to use instead of WorkMail's own.
    :param kms_key: a customer managed symmetric KMS key to encrypt mailboxes with
        (default: WorkMail's AWS managed key). It can never change afterwards.
    :param enable_interoperability: interoperability with Microsoft Exchange (needs an AD
        Connector ``directory_id``).
    :param removal_policy: RETAIN (default) keeps the organization, its domains and all
        mail when the stack is deleted; DESTROY deletes them.
    :param allow_replacement: allow a change of alias, directory, KMS key or
        interoperability, which creates a new, empty organization.
    :param allow_destructive_changes: allow directory updates that destroy data (deleting
        or disabling users and resources, whose mailboxes go with them).
    :param organization_id: adopt this existing organization instead of creating one.
    :param prune_undeclared: delete users, groups and resources that exist in the
        organization but are not declared here.
    :param inline_spec_limit: the spec goes into the template up to this many bytes and
        to S3 above it.

    Attributes (deploy-time values from the resource): ``organization_id``,
    ``organization_arn``, ``default_mail_domain``, ``directory_id``, ``web_url``, ``state``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        directory_id: str | None = None,
        kms_key: kms.IKey | None = None,
        enable_interoperability: bool = False,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        allow_replacement: bool = False,
        allow_destructive_changes: bool = False,
        organization_id: str | None = None,
        prune_undeclared: bool = False,
        inline_spec_limit: int = DEFAULT_INLINE_SPEC_LIMIT,
    ) -> None:
        super().__init__(scope, id)
        # Read once: every declaration's path starts with it, and each jsii read costs.
        self.path = path = self.node.path
        self.alias = alias
        self.removal_policy = removal_policy
        self._tags = cdk.TagManager(cdk.TagType.KEY_VALUE, ORGANIZATION_RESOURCE_TYPE)
        self._handlers = WorkMailHandlers.of(self)
        self.kms_key = kms_key
        if kms_key is not None:
            self._handlers.allow_kms_key(kms_key)
        self._spec = OrganizationSpec(
            alias=alias, directory_id=directory_id, kms_key_arn=kms_key.key_arn if kms_key is not None else None,
            enable_interoperability=enable_interoperability, removal_policy=_removal_word(removal_policy, path),
            organization_id=organization_id,
        )
        self._prune = prune_undeclared

        self.resource = cdk.CustomResource(
            self, "Resource", service_token=self._handlers.service_token,
            resource_type=ORGANIZATION_RESOURCE_TYPE,
            properties={"AllowReplacement": "true" if allow_replacement else "false"},
            removal_policy=removal_policy,
        )
        # Only the role's own policy: the organization-scoped one names this organization.
        self._handlers.depend_on_permissions(self.resource, organization_scoped=False)
        self.organization_id = self.resource.get_att_string("OrganizationId")
        self.organization_arn = self.resource.get_att_string("Arn")
        self.default_mail_domain = self.resource.get_att_string("DefaultMailDomain")
        self.directory_id = self.resource.get_att_string("DirectoryId")
        self.web_url = self.resource.get_att_string("WebUrl")
        self.state = self.resource.get_att_string("State")

        # Declarations, in the order the spec lists them.
        self._domains: list[Domain] = []
        self._users: list[User] = []
        self._groups: list[Group] = []
        self._resources: list[MailResource] = []
        self._entity_ids: dict[str, dict[str, Declaration]] = {"users": {}, "groups": {}, "resources": {}}
        self._links: dict[LinkCollection, Links] = {name: Links(name) for name in ("Aliases", "Members", "Delegates")}
        self._mailbox_access: list[MailboxAccess] = []
        self._mailbox_ids: dict[str, dict[str, Declaration]] = {}
        self._access_rules: list[AccessControlRule] | None = None
        self._device_rules: list[MobileDeviceAccessRule] | None = None
        self._device_overrides: list[MobileDeviceAccessOverride] = []
        self._override_ids: dict[str, dict[str, Declaration]] = {}
        self._impersonation_roles: list[ImpersonationRole] = []
        self._retention_policy: RetentionPolicy | None = None
        self._availability: list[AvailabilityConfiguration] = []
        self._flow_rules: list[EmailFlowRule] = []
        self._flow_dispatcher: EmailFlowDispatcher | None = None
        self._inbound_dmarc: bool | None = None
        self._email_monitoring: EmailMonitoringSpec | None = None
        self._email_monitoring_owner: Construct | None = None
        self._ids: dict[str, dict[str, Declaration]] = {}
        self._secret_ids: dict[int, tuple[secretsmanager.ISecret, str]] = {}
        self._secret_refs: dict[tuple[str, str | None, str | None], SecretRef] = {}
        self._locator = Locator(self)

        self.directory = Directory(self, "Directory", allow_destructive=allow_destructive_changes,
                                   inline_limit=inline_spec_limit)
        cdk.Aspects.of(self).add(_Finalize(self), priority=cdk.AspectPriority.READONLY)
        self.node.add_validation(SpecValidation(self))

    # References ---------------------------------------------------------------------

    @classmethod
    def from_organization_id(cls, scope: Construct, id: str, organization_id: str,
                             region: str | None = None) -> OrganizationBase:
        """A reference to an existing organization (in this account), which this app does not manage."""
        return cls.from_organization_attributes(scope, id, organization_id=organization_id, region=region)

    @classmethod
    def from_organization_attributes(
        cls, scope: Construct, id: str, *, organization_id: str, organization_arn: str | None = None,
        region: str | None = None, account: str | None = None, default_mail_domain: str | None = None,
        directory_id: str | None = None, web_url: str | None = None,
    ) -> OrganizationBase:
        """A reference to an existing organization from what is known about it."""
        arn = organization_arn or _organization_arn(scope, organization_id, region, account)
        return _ImportedOrganization(scope, id, organization_id=organization_id, organization_arn=arn,
                                     default_mail_domain=default_mail_domain, directory_id=directory_id,
                                     web_url=web_url)

    # Tags and removal ---------------------------------------------------------------

    @property
    def tags(self) -> cdk.TagManager:
        """The organization's tags (``Tags.of(scope).add(...)`` reaches them)."""
        return self._tags

    def apply_removal_policy(self, policy: cdk.RemovalPolicy) -> None:
        """RETAIN keeps the organization and its domains on stack deletion; DESTROY deletes them."""
        self._spec.removal_policy = _removal_word(policy, self.path)
        self.removal_policy = policy
        self.resource.apply_removal_policy(policy)
        for domain in self._domains:
            domain.resource.apply_removal_policy(policy)

    # Domains ------------------------------------------------------------------------

    def add_domain(
        self, name: str, *, hosted_zone: route53.IHostedZone | None = None, default: bool = False,
        wait_for_verification: bool = False, spf_record: bool = True, dmarc_record: bool = True,
        record_ttl: cdk.Duration = DEFAULT_RECORD_TTL, id: str | None = None,
    ) -> Domain:
        """Register a mail domain; see ``Domain`` for the options."""
        for existing in self._domains:
            if existing.domain_name.lower() == name.lower():
                raise ValueError(f"{self.node.path}/{id or name}: the domain {name} is already declared, "
                                 f"as {existing.node.path}; declare each domain once")
        if self.node.try_find_child(id or name) is not None:
            raise ValueError(f"{self.node.path}/{id or name}: the id {id or name!r} is already taken here; "
                             "give this domain another id")
        domain = Domain(self, id or name, organization=self, domain_name=name, hosted_zone=hosted_zone,
                        default=default, wait_for_verification=wait_for_verification, spf_record=spf_record,
                        dmarc_record=dmarc_record, record_ttl=record_ttl)
        # Users' addresses need their domain registered first, and verified: WorkMail refuses an
        # address in a domain that isn't (RegisterToWorkMail, CreateAlias: MailDomainStateException).
        # Records the stack publishes are what verifies it, so they come before the directory.
        self.directory.resource.node.add_dependency(domain.resource, *domain.records)
        self._domains.append(domain)
        return domain

    @property
    def domains(self) -> list[Domain]:
        return list(self._domains)

    # Users, groups, resources -------------------------------------------------------

    def add_user(
        self, name: str, *, display_name: str, email: str | None = None, enabled: bool = True,
        role: UserRole = "USER", first_name: str | None = None, last_name: str | None = None,
        initials: str | None = None, telephone: str | None = None, street: str | None = None,
        job_title: str | None = None, city: str | None = None, company: str | None = None,
        zip_code: str | None = None, department: str | None = None, country: str | None = None,
        office: str | None = None, hidden_from_global_address_list: bool = False,
        identity_provider_user_id: str | None = None, aliases: Iterable[str] = (),
        mailbox_quota_mb: int | None = None, password: secretsmanager.ISecret | None = None,
        password_version: str | None = None, password_json_key: str | None = None, id: str | None = None,
    ) -> User:
        """Declare a user.

        :param password: the Secrets Manager secret holding the initial password; it is
            read only by the handler, never put in a template or spec.
        :param password_version: a Secrets Manager version id or staging label of
            ``password`` to use; changing it is what makes the handler set the password
            again (WorkMail can't report a password, so nothing else can tell).
        :param password_json_key: the key of the password in a JSON secret.
        :param id: the declaration's id (default: the name). Keep it when renaming, so the
            rename is planned as one replacement of the user.
        """
        if password is None and (password_version is not None or password_json_key is not None):
            raise ValueError(f"{self.path}/Users/{id or name}: password_version and password_json_key "
                             "need a password secret")
        user = User(self, id or name, self._entity_ids["users"])
        user._keep(
            name=name, display_name=display_name, email=email, enabled=enabled, role=role, first_name=first_name,
            last_name=last_name, initials=initials, telephone=telephone, street=street, job_title=job_title,
            city=city, company=company, zip_code=zip_code, department=department, country=country, office=office,
            hidden_from_global_address_list=hidden_from_global_address_list,
            identity_provider_user_id=identity_provider_user_id, mailbox_quota_mb=mailbox_quota_mb,
            password=self._secret_ref(password, password_version, password_json_key) if password else None,
        )
        self._keep_aliases(user, aliases)
        self._users.append(user)
        return user

    def add_group(
        self, name: str, *, email: str | None = None, enabled: bool | None = None,
        members: Iterable[User | Group | str] = (), aliases: Iterable[str] = (),
        hidden_from_global_address_list: bool = False, id: str | None = None,
    ) -> Group:
        """Declare a group; it is enabled (has a mailbox address) when it has an ``email``
        unless ``enabled`` says otherwise."""
        group = Group(self, id or name, self._entity_ids["groups"])
        group._keep(name=name, email=email, enabled=email is not None if enabled is None else enabled,
                    hidden_from_global_address_list=hidden_from_global_address_list)
        for member in members:
            group._keep_member(member)
        self._keep_aliases(group, aliases)
        self._groups.append(group)
        return group

    def add_resource(
        self, name: str, *, type: ResourceType, email: str | None = None, enabled: bool | None = None,
        description: str | None = None, hidden_from_global_address_list: bool = False,
        auto_accept_requests: bool = True, auto_decline_recurring_requests: bool = False,
        auto_decline_conflicting_requests: bool = True, delegates: Iterable[User | Group | str] = (),
        aliases: Iterable[str] = (), id: str | None = None,
    ) -> MailResource:
        """Declare a bookable ROOM or EQUIPMENT resource; enabled when it has an ``email``
        unless ``enabled`` says otherwise. A resource that does not accept requests
        automatically needs delegates to answer them."""
        resource = MailResource(self, id or name, self._entity_ids["resources"])
        resource._keep(
            name=name, type=type, email=email, enabled=email is not None if enabled is None else enabled,
            description=description, hidden_from_global_address_list=hidden_from_global_address_list,
            booking_options=BookingOptionsSpec(
                auto_accept_requests=auto_accept_requests,
                auto_decline_recurring_requests=auto_decline_recurring_requests,
                auto_decline_conflicting_requests=auto_decline_conflicting_requests,
            ),
        )
        for delegate in delegates:
            resource.add_delegate(delegate)
        self._keep_aliases(resource, aliases)
        self._resources.append(resource)
        return resource

    def _keep_aliases(self, entity: User | Group | MailResource, addresses: Iterable[str]) -> None:
        """``entity.add_alias`` for each address, without the views it returns."""
        table = self._links["Aliases"]
        for address in addresses:
            table.add(entity, address, address)

    @property
    def users(self) -> list[User]:
        return list(self._users)

    @property
    def groups(self) -> list[Group]:
        return list(self._groups)

    @property
    def resources(self) -> list[MailResource]:
        return list(self._resources)

    def grant_mailbox_access(
        self, mailbox: User | MailResource | Group | str, grantee: User | Group | str,
        permissions: Sequence[MailboxPermission], *, id: str | None = None,
    ) -> MailboxAccess:
        """Give a user or group FULL_ACCESS, SEND_AS and/or SEND_ON_BEHALF on a mailbox."""
        at = f"{self.path}/MailboxPermissions"
        owner = self._name_of(mailbox, (User, MailResource, Group), "a user, resource or group", at)
        who = self._name_of(grantee, (User, Group), "a user or group", at)
        spec = MailboxPermissionSpec(mailbox=owner, grantee=who, permissions=list(permissions))
        access = MailboxAccess(self, f"{at}/{owner}", id or who, self._mailbox_ids.setdefault(owner, {}), spec)
        self._mailbox_access.append(access)
        return access

    # Policies -----------------------------------------------------------------------

    def add_access_control_rule(
        self, name: str, *, effect: Effect, description: str, actions: Iterable[str] = (),
        not_actions: Iterable[str] = (), ip_ranges: Iterable[str] = (), not_ip_ranges: Iterable[str] = (),
        users: Iterable[User | str] = (), not_users: Iterable[User | str] = (),
        impersonation_roles: Iterable[ImpersonationRole | str] = (),
        not_impersonation_roles: Iterable[ImpersonationRole | str] = (), id: str | None = None,
    ) -> AccessControlRule:
        """Add an access control rule. Declaring one makes the rules managed: the declared
        rules are then all the organization has (WorkMail's default rule included)."""
        at = f"{self.path}/AccessControlRules"
        spec = AccessControlRuleSpec(
            name=name, effect=effect, description=description, actions=list(actions),
            not_actions=list(not_actions), ip_ranges=list(ip_ranges), not_ip_ranges=list(not_ip_ranges),
            users=[self._name_of(u, (User,), "a user", at) for u in users],
            not_users=[self._name_of(u, (User,), "a user", at) for u in not_users],
            impersonation_roles=[self._role_name(r, at) for r in impersonation_roles],
            not_impersonation_roles=[self._role_name(r, at) for r in not_impersonation_roles],
        )
        rule = AccessControlRule(self, id or name, self._siblings("access_control_rules"), spec)
        if self._access_rules is None:
            self._access_rules = []
        self._access_rules.append(rule)
        return rule

    def set_retention_policy(self, name: str, *, description: str | None = None,
                             folders: Iterable[RetentionFolder] = ()) -> RetentionPolicy:
        """Set the mailbox retention policy (one per organization)."""
        spec = RetentionPolicySpec(name=name, description=description, folders=[
            FolderConfigurationSpec(name=f.name, action=f.action, period_days=f.period_days)
            for f in folders
        ])
        self._retention_policy = RetentionPolicy(self, self._siblings(""), spec)
        return self._retention_policy

    def add_mobile_device_access_rule(
        self, name: str, *, effect: Effect, description: str | None = None,
        device_types: Iterable[str] = (), not_device_types: Iterable[str] = (),
        device_models: Iterable[str] = (), not_device_models: Iterable[str] = (),
        device_operating_systems: Iterable[str] = (), not_device_operating_systems: Iterable[str] = (),
        device_user_agents: Iterable[str] = (), not_device_user_agents: Iterable[str] = (), id: str | None = None,
    ) -> MobileDeviceAccessRule:
        """Add a mobile device access rule. Declaring one makes the rules managed."""
        spec = MobileDeviceAccessRuleSpec(
            name=name, effect=effect, description=description, device_types=list(device_types),
            not_device_types=list(not_device_types), device_models=list(device_models),
            not_device_models=list(not_device_models), device_operating_systems=list(device_operating_systems),
            not_device_operating_systems=list(not_device_operating_systems),
            device_user_agents=list(device_user_agents), not_device_user_agents=list(not_device_user_agents),
        )
        rule = MobileDeviceAccessRule(self, id or name, self._siblings("mobile_device_access_rules"), spec)
        if self._device_rules is None:
            self._device_rules = []
        self._device_rules.append(rule)
        return rule

    def add_mobile_device_access_override(
        self, user: User | str, device_id: str, *, effect: Effect, description: str | None = None,
    ) -> MobileDeviceAccessOverride:
        """Allow or deny one device of one user, whatever the rules say."""
        at = f"{self.path}/MobileDeviceAccessOverrides"
        name = self._name_of(user, (User,), "a user", at)
        spec = MobileDeviceAccessOverrideSpec(user=name, device_id=device_id, effect=effect, description=description)
        override = MobileDeviceAccessOverride(self, f"{at}/{name}", device_id,
                                              self._override_ids.setdefault(name, {}), spec)
        self._device_overrides.append(override)
        return override

    def add_impersonation_role(
        self, name: str, *, type: ImpersonationRoleType, description: str | None = None,
        rules: Iterable[ImpersonationRule] = (), id: str | None = None,
    ) -> ImpersonationRole:
        """Add an impersonation role (FULL_ACCESS or READ_ONLY) with its rules."""
        at = f"{self.path}/ImpersonationRoles/{id or name}"
        spec = ImpersonationRoleSpec(name=name, type=type, description=description, rules=[
            ImpersonationRuleSpec(
                rule_id=rule.rule_id, effect=rule.effect, name=rule.name, description=rule.description,
                target_users=[self._name_of(u, (User,), "a user", at) for u in rule.target_users],
                not_target_users=[self._name_of(u, (User,), "a user", at) for u in rule.not_target_users],
            )
            for rule in rules
        ])
        role = ImpersonationRole(self, id or name, self._siblings("impersonation_roles"), spec)
        self._impersonation_roles.append(role)
        return role

    def set_inbound_dmarc(self, enforced: bool) -> None:
        """Enforce (or not) the senders' DMARC policies on inbound mail."""
        self._inbound_dmarc = enforced

    def add_availability_configuration(
        self, domain_name: str, *, ews_endpoint: str | None = None, ews_username: str | None = None,
        ews_password: secretsmanager.ISecret | None = None, ews_password_version: str | None = None,
        ews_password_json_key: str | None = None, lambda_function: lambda_.IFunction | None = None,
        id: str | None = None,
    ) -> AvailabilityConfiguration:
        """Tell WorkMail where to look up free/busy times for users of ``domain_name``: an
        EWS endpoint (with credentials from Secrets Manager) or a Lambda function (which is
        given permission for WorkMail of this organization, and only it, to invoke it)."""
        at = f"{self.path}/AvailabilityConfigurations/{id or domain_name}"
        ews_given = [v is not None for v in (ews_endpoint, ews_username, ews_password)]
        if any(ews_given) and not all(ews_given):
            raise ValueError(f"{at}: an EWS provider needs ews_endpoint, ews_username and ews_password")
        if all(ews_given) == (lambda_function is not None):
            raise ValueError(f"{at}: give exactly one provider: the EWS settings or lambda_function")
        ews = None
        lambda_arn = None
        if ews_password is not None:
            assert ews_endpoint is not None and ews_username is not None
            ews = EwsProviderSpec(endpoint=ews_endpoint, username=ews_username, password=self._secret_ref(
                ews_password, ews_password_version, ews_password_json_key))
        else:
            assert lambda_function is not None
            lambda_arn = lambda_function.function_arn
            self._allow_availability_invoke(lambda_function)
        spec = AvailabilityConfigurationSpec(domain_name=domain_name, ews=ews, lambda_arn=lambda_arn)
        configuration = AvailabilityConfiguration(self, id or domain_name,
                                                  self._siblings("availability_configurations"), spec)
        self._availability.append(configuration)
        return configuration

    def add_email_flow_rule(
        self, name: str, *, direction: FlowDirection, action: FlowAction, senders: Iterable[str],
        recipients: Iterable[str] = ("*",), lambda_function: lambda_.IFunction | None = None,
        synchronous: bool = False, fallback_action: FlowAction | None = None, timeout_minutes: int | None = None,
        smtp_gateway: str | None = None, id: str | None = None,
    ) -> EmailFlowRule:
        """Declare an inbound or outbound email flow rule, after those declared before it.

        WorkMail's API can't create flow rules: the plan lists each as a console step, and
        ``workmail-cdk flow test --app`` shows what the rules do to a message (docs/flow-rules.md).
        A RUN_LAMBDA rule runs ``lambda_function`` (given permission for this organization's
        WorkMail to invoke it); a synchronous one takes only the recipient ``*`` and needs a
        ``fallback_action``, with ``timeout_minutes`` from 0 to 240.
        """
        rule = declare_flow_rule(self, name, direction=direction, action=action, senders=senders,
                                 recipients=recipients, lambda_function=lambda_function, synchronous=synchronous,
                                 fallback_action=fallback_action, timeout_minutes=timeout_minutes,
                                 smtp_gateway=smtp_gateway, id=id)
        self._flow_rules.append(rule)
        return rule

    def _attach_flow_dispatcher(self, dispatcher: EmailFlowDispatcher) -> None:
        if self._flow_dispatcher is not None:
            raise ValueError(f"{dispatcher.node.path}: {self.path} already has a flow rules dispatcher, "
                             f"{self._flow_dispatcher.node.path}; an organization has one")
        self._flow_dispatcher = dispatcher

    @property
    def email_flow_rules(self) -> list[EmailFlowRule]:
        """The flow rules declared, inbound and outbound, in order."""
        return list(self._flow_rules)

    def _declare_email_monitoring(self, owner: Construct, *, log_group_arn: str,
                                  role: iam.IRole) -> cdk.CustomResource:
        """Declare the organization's email event logging (``EmailEventLogging`` does): the
        directory resource puts and removes the configuration. Returns that resource."""
        if self._email_monitoring_owner is not None:
            raise ValueError(f"{owner.node.path}: {self.path} already has email event logging, declared by "
                             f"{self._email_monitoring_owner.node.path}; an organization has one configuration")
        self._email_monitoring_owner = owner
        self._email_monitoring = EmailMonitoringSpec(log_group_arn=log_group_arn, role_arn=role.role_arn)
        # PutEmailMonitoringConfiguration hands the role to WorkMail.
        self._handlers.allow_pass_role(role)
        return self.directory.resource

    def _allow_availability_invoke(self, function: lambda_.IFunction) -> None:
        # WorkMail invokes a custom availability provider as this regional principal (Administrator
        # Guide, "Building a Custom Availability Provider Lambda function"), and
        # TestAvailabilityConfiguration refuses a function anyone may invoke.
        allow_workmail_invoke(self, function, service="availability.workmail",
                              permission_id=f"WorkMailAvailability{self.node.addr[:8]}")

    # The spec -------------------------------------------------------------------------

    def to_spec(self) -> WorkMailSpec:
        """The declared state as the handlers will receive it."""
        return WorkMailSpec(
            organization=dataclasses.replace(self._spec, tags=self._current_tags()),
            domains=[d.spec for d in self._domains],
            users=entity_specs(self._users),
            groups=entity_specs(self._groups),
            resources=entity_specs(self._resources),
            mailbox_permissions=[m.spec for m in self._mailbox_access],
            access_control_rules=[r.spec for r in self._access_rules] if self._access_rules is not None else None,
            retention_policy=self._retention_policy.spec if self._retention_policy is not None else None,
            mobile_device_access_rules=[r.spec for r in self._device_rules] if self._device_rules is not None
            else None,
            mobile_device_access_overrides=[o.spec for o in self._device_overrides],
            impersonation_roles=[r.spec for r in self._impersonation_roles],
            inbound_dmarc_enforced=self._inbound_dmarc,
            email_monitoring=self._email_monitoring,
            availability_configurations=[a.spec for a in self._availability],
            email_flow_rules=[r.spec for r in self._flow_rules],
            flow_dispatcher_arn=self._flow_dispatcher.function_arn if self._flow_dispatcher is not None else None,
            prune=self._prune,
        )

    def locate(self, problem_path: str) -> str:
        """The construct path of the object a spec path (``users[alice].email``) is about."""
        return self._locator.locate(problem_path)

    def _collections(self) -> dict[str, Sequence[Any]]:
        return {
            "domains": self._domains, "users": self._users, "groups": self._groups, "resources": self._resources,
            "mailbox_permissions": self._mailbox_access, "access_control_rules": self._access_rules or [],
            "mobile_device_access_rules": self._device_rules or [],
            "mobile_device_access_overrides": self._device_overrides,
            "impersonation_roles": self._impersonation_roles, "availability_configurations": self._availability,
            "email_flow_rules": self._flow_rules,
        }

    def _current_tags(self) -> dict[str, str]:
        rendered = self._tags.render_tags() or []
        return {str(tag["Key"]): str(tag["Value"]) for tag in rendered}

    def _finalize(self) -> None:
        self._spec.tags = self._current_tags()
        cfn = self.resource.node.default_child
        assert isinstance(cfn, cdk.CfnResource)
        # A structured object (a readable diff); deploy-time values (a KMS key's ARN) sit in it
        # directly: it is small and always inline.
        cfn.add_property_override("Spec", spec_data(self._spec))
        if self._flow_dispatcher is not None:
            self._flow_dispatcher.finalize([rule.spec for rule in self._flow_rules])
        self.directory.finalize()
        if self._handlers.secret_count > SECRETS_WARNING_THRESHOLD:
            cdk.Annotations.of(self).add_warning_v2(
                "workmail-constructs:many-secrets",
                f"{self._handlers.secret_count} distinct secrets: the handlers' role names each one, "
                "and IAM limits a role's inline policies to 10,240 characters; share a secret between users or "
                "use JSON keys of one secret.",
            )

    # Helpers ------------------------------------------------------------------------

    def _siblings(self, collection: str) -> dict[str, Declaration]:
        return self._ids.setdefault(collection, {})

    def _secret_ref(self, secret: secretsmanager.ISecret, version: str | None, json_key: str | None) -> SecretRef:
        # A secret seen before is not asked again: each question is a call into jsii, and
        # 10,000 users may share one secret.
        known = self._secret_ids.get(id(secret))
        if known is None:
            if isinstance(secret, str) or not hasattr(secret, "secret_arn"):
                # The value is not echoed: it may be a password.
                raise TypeError(f"{self.path}: passwords must be secretsmanager.ISecret references; plain-text "
                                "passwords are refused so they never reach a template or a spec")
            known = (secret, _secret_id(secret))
            self._secret_ids[id(secret)] = known
            self._handlers.allow_secret(secret)
        # One SecretRef (frozen) for each use of a secret, shared by the users that make it.
        key = (known[1], version, json_key)
        ref = self._secret_refs.get(key)
        if ref is None:
            ref = self._secret_refs[key] = SecretRef(secret_id=known[1], version_id=version, json_key=json_key)
        return ref

    def _name_of(self, value: object, kinds: tuple[type, ...], what: str, at: str) -> str:
        """The name ``value`` refers to: a name as given, or a declaration of this organization."""
        if isinstance(value, str):
            return value
        if isinstance(value, kinds) and isinstance(value, Declaration):
            if value.organization is not self:
                raise ValueError(f"{at}: {value.node.path} belongs to another organization")
            name = getattr(value, "name", None)
            assert isinstance(name, str)
            return name
        raise TypeError(f"{at}: expected {what} (the object or its name), not {value!r}")

    def _role_name(self, role: ImpersonationRole | str, at: str) -> str:
        return self._name_of(role, (ImpersonationRole,), "an impersonation role", at)
