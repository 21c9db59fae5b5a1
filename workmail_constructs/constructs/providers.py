"""The custom-resource provider: one per stack, shared by every WorkMail resource in it.

One Provider-framework provider serves every WorkMail custom-resource type of the stack
(organizations, domains, directories, email monitoring): one ``on_event`` and one
``is_complete`` Lambda function running the package's own handler modules (the entry
module ``handlers.provider`` routes each event by its ``ResourceType``), the framework's
three functions and one waiter state machine.

The handler functions share one role holding the union of what the stack's resources
need, each permission the narrowest the API allows:

* on the role's own policy, what creating an organization needs before its id exists:
  CreateOrganization and ListOrganizations, the Directory Service and SES actions WorkMail
  takes as the caller, the organization actions on this account's organizations, the
  customer managed keys of the organizations, and the stack's rollback check;
* on a separate policy (``OrganizationAccess``), everything scoped to the organizations of
  the stack: WorkMail actions on their ARNs only, Secrets Manager reads on the declared
  secrets only, S3 reads on the spec assets only, PassRole on the email event roles only.
  The functions don't depend on that policy (it names the organizations, which depend on
  the functions); the domain, directory and email monitoring resources do.

The code asset is the package's source, staged without bundling: ``__init__.py``,
``core/`` and ``handlers/`` (standard library + boto3 only, which the Lambda Python
runtime has), so synthesis needs no Docker and no network.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from .nag import acknowledge, nag_form

RUNTIME = lambda_.Runtime.PYTHON_3_12
HANDLER_PACKAGE = "workmail_constructs.handlers"
# The provider framework's waiter: WorkMail organizations take minutes to become Active and
# domain verification can take most of an hour; a custom resource may run for at most one hour.
QUERY_INTERVAL = cdk.Duration.seconds(30)
TOTAL_TIMEOUT = cdk.Duration.minutes(55)

# The one Lambda entry module of the provider: it routes each event by its ResourceType.
HANDLER_MODULE = f"{HANDLER_PACKAGE}.provider"
# The largest of what the resources need: a large directory's first apply reads and writes
# thousands of entities (the Lambda maximum, and memory for the spec and the state read).
HANDLER_TIMEOUT = cdk.Duration.minutes(15)
HANDLER_MEMORY_MB = 1024

ORGANIZATION_RESOURCE_TYPE = "Custom::WorkMailOrganization"
DOMAIN_RESOURCE_TYPE = "Custom::WorkMailDomain"
DIRECTORY_RESOURCE_TYPE = "Custom::WorkMailDirectory"
# Email event logging of an organization that no Organization of the same stack manages
# (an Organization's own is declared in its directory spec instead).
EMAIL_MONITORING_RESOURCE_TYPE = "Custom::WorkMailEmailMonitoring"

# WorkMail actions that can't name an organization: they act on the account
# (Administrator Guide, "How Amazon WorkMail works with IAM").
ACCOUNT_ACTIONS = ("workmail:CreateOrganization", "workmail:ListOrganizations")

# What the organization handler does to an organization it created or adopted. It can't be
# scoped to one ARN: the organization's id exists only once the handler has created it.
ORGANIZATION_ACTIONS = (
    "workmail:DescribeOrganization", "workmail:DeleteOrganization", "workmail:TagResource",
    "workmail:UntagResource", "workmail:ListTagsForResource",
)

# WorkMail creates the organization's directory through Directory Service as the caller,
# and deletes it again with DeleteDirectory: the Directory Service actions of the Guide's
# WorkMailAdministration statement (Administrator Guide, "Amazon WorkMail identity-based
# policy examples"). None of them takes a resource ARN that exists before the organization does.
DIRECTORY_SERVICE_ACTIONS = (
    "ds:AuthorizeApplication", "ds:CheckAlias", "ds:CreateAlias", "ds:CreateDirectory",
    "ds:CreateIdentityPoolDirectory", "ds:DeleteDirectory", "ds:DescribeDirectories", "ds:GetDirectoryLimits",
    "ds:ListAuthorizedApplications", "ds:UnauthorizeApplication",
)

# WorkMail sets up mail receiving in SES as the caller: the organization's receipt rule set
# when the organization is created, a domain identity (with DKIM) when a domain is
# registered, and removes them again on delete. The Guide's console policy allows ses:*
# (Administrator Guide, "Amazon WorkMail identity-based policy examples"); these are the
# SES actions behind those steps, so no wildcard is granted.
SES_ACTIONS = (
    "ses:CreateReceiptRule", "ses:CreateReceiptRuleSet", "ses:DeleteReceiptRule", "ses:DeleteReceiptRuleSet",
    "ses:DescribeActiveReceiptRuleSet", "ses:DescribeReceiptRule", "ses:DescribeReceiptRuleSet",
    "ses:SetActiveReceiptRuleSet", "ses:UpdateReceiptRule",
    "ses:VerifyDomainIdentity", "ses:VerifyDomainDkim", "ses:DeleteIdentity", "ses:GetIdentityVerificationAttributes",
    "ses:GetIdentityDkimAttributes", "ses:PutIdentityPolicy", "ses:DeleteIdentityPolicy",
)

# A customer managed key is used by WorkMail on the caller's behalf: it creates grants with
# the caller's permissions (Administrator Guide, "How Amazon WorkMail uses AWS KMS").
KMS_ORGANIZATION_ACTIONS = ("kms:CreateGrant", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey")

DOMAIN_ACTIONS = (
    "workmail:RegisterMailDomain", "workmail:DeregisterMailDomain", "workmail:GetMailDomain",
    "workmail:ListMailDomains", "workmail:UpdateDefaultMailDomain", "workmail:DescribeOrganization",
)

# Every WorkMail operation the reconcile core reads or writes an organization's directory
# with (core/read.py, core/apply.py), except creating, deleting and replacing the
# organization and registering domains: those belong to the other two resources, and a
# directory update that planned them fails for want of permission instead of acting.
DIRECTORY_ACTIONS = tuple(f"workmail:{operation}" for operation in (
    "AssociateDelegateToResource", "AssociateMemberToGroup", "CreateAlias", "CreateAvailabilityConfiguration",
    "CreateGroup", "CreateImpersonationRole", "CreateMobileDeviceAccessRule", "CreateResource", "CreateUser",
    "DeleteAccessControlRule", "DeleteAlias", "DeleteAvailabilityConfiguration", "DeleteEmailMonitoringConfiguration",
    "DeleteGroup", "DeleteImpersonationRole", "DeleteMailboxPermissions", "DeleteMobileDeviceAccessOverride",
    "DeleteMobileDeviceAccessRule", "DeleteResource", "DeleteRetentionPolicy", "DeleteUser", "DeregisterFromWorkMail",
    "DescribeEmailMonitoringConfiguration", "DescribeEntity", "DescribeGroup", "DescribeInboundDmarcSettings",
    "DescribeOrganization", "DescribeResource", "DescribeUser", "DisassociateDelegateFromResource",
    "DisassociateMemberFromGroup", "GetDefaultRetentionPolicy", "GetImpersonationRole", "GetMailDomain",
    "GetMailboxDetails", "ListAccessControlRules", "ListAliases", "ListAvailabilityConfigurations",
    "ListGroupMembers", "ListGroups", "ListImpersonationRoles", "ListMailDomains", "ListMailboxPermissions",
    "ListMobileDeviceAccessOverrides", "ListMobileDeviceAccessRules", "ListResourceDelegates", "ListResources",
    "ListTagsForResource", "ListUsers", "PutAccessControlRule", "PutEmailMonitoringConfiguration",
    "PutInboundDmarcSettings", "PutMailboxPermissions", "PutMobileDeviceAccessOverride", "PutRetentionPolicy",
    "RegisterToWorkMail", "ResetPassword", "TagResource", "UntagResource", "UpdateAvailabilityConfiguration",
    "UpdateGroup", "UpdateImpersonationRole", "UpdateMailboxQuota", "UpdateMobileDeviceAccessRule",
    "UpdatePrimaryEmailAddress", "UpdateResource", "UpdateUser",
))


# Everything the handlers do within one organization: the directory's reconcile and the
# domains' registration. Granted on the ARNs of the stack's organizations only.
ORGANIZATION_SCOPED_ACTIONS = tuple(sorted(set(DIRECTORY_ACTIONS) | set(DOMAIN_ACTIONS)))
# Email event logging of an organization managed elsewhere: only its configuration.
EMAIL_MONITORING_ACTIONS = (
    "workmail:DeleteEmailMonitoringConfiguration", "workmail:DescribeEmailMonitoringConfiguration",
    "workmail:PutEmailMonitoringConfiguration",
)
# The service WorkMail writes email events as: a role handed to it must trust this
# principal, and PassRole is limited to it (Administrator Guide, "Enabling email event logging").
WORKMAIL_EVENTS_SERVICE = "events.workmail.amazonaws.com"

# The staged handler source, made once per process (its content decides the asset hash).
_STAGED: Path | None = None


def _stage_handler_code() -> Path:
    """A directory holding only what the Lambda functions import: the package's
    ``__init__.py``, ``core/``, ``handlers/`` and ``hooks/`` (sources only, no caches)."""
    global _STAGED
    if _STAGED is not None and _STAGED.exists():
        return _STAGED
    package = Path(__file__).resolve().parent.parent
    root = Path(tempfile.mkdtemp(prefix="workmail-constructs-handlers-"))
    atexit.register(shutil.rmtree, root, True)
    target = root / package.name
    target.mkdir()
    shutil.copy2(package / "__init__.py", target / "__init__.py")
    # hooks/: the flow rules dispatcher builds its answers with the hook library.
    for sub in ("core", "handlers", "hooks"):
        for source in sorted((package / sub).rglob("*.py")):
            destination = target / source.relative_to(package)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    _STAGED = root
    return root


def handler_code_directory() -> Path:
    """Where the handler asset is staged from (exposed for tests and tools)."""
    return _stage_handler_code()


def _arn_for_secret(secret: secretsmanager.ISecret) -> str:
    """The ARN a policy must name to cover every version of ``secret``: the full ARN when
    known, otherwise the partial ARN followed by the six characters Secrets Manager appends."""
    full = secret.secret_full_arn
    return full if full is not None else f"{secret.secret_arn}-??????"



class WorkMailHandlers(Construct):
    """The stack's WorkMail custom-resource provider (one per stack; use ``of``)."""

    ID = "WorkMailConstructsHandlers"

    @classmethod
    def of(cls, scope: IConstruct) -> WorkMailHandlers:
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, WorkMailHandlers):
            return existing
        return cls(stack, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stack = cdk.Stack.of(self)
        code = lambda_.Code.from_asset(str(_stage_handler_code()))
        # One log group for the handlers, the framework's functions and its state machine.
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Runs the WorkMail custom-resource handlers",
        )
        self.log_group.grant_write(self.role)
        self.on_event, self.is_complete = (
            lambda_.Function(
                self, construct_id, runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64,
                handler=f"{HANDLER_MODULE}.{entry}", code=code, role=self.role,
                timeout=HANDLER_TIMEOUT, memory_size=HANDLER_MEMORY_MB, log_group=self.log_group,
                description=f"WorkMail custom resources: {entry.replace('_', ' ')}",
            )
            for construct_id, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
        )

        # What the organization handler needs before an organization exists, on the role itself
        # (an Organization resource depends on it).
        any_organization = stack.format_arn(service="workmail", resource="organization", resource_name="*")
        for actions, resources in (
            (ACCOUNT_ACTIONS, ["*"]), (ORGANIZATION_ACTIONS, [any_organization]),
            (DIRECTORY_SERVICE_ACTIONS, ["*"]), (SES_ACTIONS, ["*"]),
            # Whether the stack is rolling back: an Update that undoes a failed one may do what
            # the opt-ins of the old properties would refuse.
            (("cloudformation:DescribeStacks",), [stack.stack_id]),
        ):
            self.role.add_to_principal_policy(iam.PolicyStatement(actions=sorted(actions), resources=resources))

        # The framework's functions: one role for onEvent, one for isComplete and onTimeout
        # (one role for all three would be a dependency cycle through the state machine).
        framework_roles = [
            iam.Role(self, role_id, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                     description=f"Runs the CDK provider framework's {what} of the WorkMail custom resources")
            for role_id, what in (("FrameworkOnEventRole", "onEvent"),
                                  ("FrameworkWaiterRole", "isComplete and onTimeout"))
        ]
        for role in framework_roles:
            self.log_group.grant_write(role)
        self.provider = cr.Provider(
            self, "Provider", on_event_handler=self.on_event, is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL, total_timeout=TOTAL_TIMEOUT, log_group=self.log_group,
            framework_on_event_role=framework_roles[0], framework_complete_and_timeout_role=framework_roles[1],
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL,
                # Events carry the resource properties; the logs need only the steps.
                include_execution_data=False,
            ),
        )

        self._access: iam.Policy | None = None
        self._statements: dict[tuple[str, ...], iam.PolicyStatement] = {}
        self._organizations: set[tuple[tuple[str, ...], str]] = set()
        self._secrets: dict[str, secretsmanager.ISecret] = {}
        self._spec_objects: set[str] = set()
        self._passed_roles: set[str] = set()
        self._keys: set[str] = set()
        self._acknowledge(stack, any_organization, framework_roles)

    @property
    def service_token(self) -> str:
        return self.provider.service_token

    # Permissions ------------------------------------------------------------------

    @property
    def access_policy(self) -> iam.Policy:
        """The role's policy of organization-scoped permissions (made on first use)."""
        if self._access is None:
            self._access = iam.Policy(self, "OrganizationAccess", roles=[self.role])
        return self._access

    def depend_on_permissions(self, resource: cdk.CustomResource, *, organization_scoped: bool = True) -> None:
        """Make ``resource`` wait for the role (and, unless it creates the organization, for
        the organization-scoped policy): its handler must be allowed before it runs."""
        resource.node.add_dependency(self.role)
        if organization_scoped:
            resource.node.add_dependency(self.access_policy)

    def _statement(self, actions: Iterable[str], resource: str,
                   conditions: dict[str, object] | None = None) -> None:
        """Allow ``actions`` on one more resource; one statement per set of actions and conditions."""
        key = (*sorted(actions), repr(sorted(conditions.items())) if conditions else "")
        statement = self._statements.get(key)
        if statement is None:
            statement = iam.PolicyStatement(actions=sorted(actions), resources=[resource], conditions=conditions)
            self._statements[key] = statement
            self.access_policy.add_statements(statement)
        else:
            statement.add_resources(resource)

    def allow_organization(self, organization_arn: str,
                           actions: Iterable[str] = ORGANIZATION_SCOPED_ACTIONS) -> None:
        """Allow ``actions`` on one more organization."""
        key = (tuple(sorted(actions)), organization_arn)
        if key in self._organizations:
            return
        self._organizations.add(key)
        self._statement(key[0], organization_arn)

    def allow_kms_key(self, key: kms.IKey) -> None:
        """Let the organization handler create an organization encrypted with ``key``."""
        if key.key_arn in self._keys:
            return
        self._keys.add(key.key_arn)
        key.grant(self.role, *KMS_ORGANIZATION_ACTIONS)

    def allow_secret(self, secret: secretsmanager.ISecret) -> None:
        """Let the directory handler read ``secret`` (and decrypt it, with a customer managed key)."""
        arn = _arn_for_secret(secret)
        if arn in self._secrets:
            return
        self._secrets[arn] = secret
        # A secret referenced by name is matched with "-??????" (the six characters Secrets
        # Manager appends): no "*", so nothing for cdk-nag to flag.
        self._statement(["secretsmanager:GetSecretValue"], arn)
        key = secret.encryption_key
        if key is not None:
            region = cdk.Stack.of(self).region
            key.grant_decrypt(kms.ViaServicePrincipal(f"secretsmanager.{region}.amazonaws.com", self.role))

    @property
    def secret_count(self) -> int:
        return len(self._secrets)

    def allow_spec_object(self, asset: s3_assets.Asset) -> None:
        """Let the directory handler read one spec asset (and nothing else in the bucket)."""
        arn = asset.bucket.arn_for_objects(asset.s3_object_key)
        if arn in self._spec_objects:
            return
        self._spec_objects.add(arn)
        self._statement(["s3:GetObject"], arn)

    def allow_pass_role(self, role: iam.IRole) -> None:
        """Let the handler hand ``role`` to WorkMail for email event logging, and to nothing
        else (as AmazonWorkMailFullAccess does: Administrator Guide, "Amazon WorkMail
        identity-based policy examples")."""
        if role.role_arn in self._passed_roles:
            return
        self._passed_roles.add(role.role_arn)
        self._statement(["iam:PassRole"], role.role_arn,
                        {"StringEquals": {"iam:PassedToService": WORKMAIL_EVENTS_SERVICE}})

    # cdk-nag -------------------------------------------------------------------------

    def _acknowledge(self, stack: cdk.Stack, any_organization: str, framework_roles: list[iam.Role]) -> None:
        """Acknowledge what cdk-nag's AWS Solutions rules find in the provider, with the reason
        (in both cdk-nag 3's and cdk-nag 2's form: see ``nag``)."""
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", (
            "CreateOrganization and ListOrganizations take no resource (Administrator Guide, "
            '"How Amazon WorkMail works with IAM"); the Directory Service and SES actions WorkMail makes as the '
            "caller act on a directory, a receipt rule set and domain identities that exist only once the "
            "organization or the domain does."))
        acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag_form(stack, any_organization)}]", (
            "The organization handler creates organizations, whose ids it learns only from CreateOrganization; "
            "it is limited to this account's organizations in this region."))
        for function in (self.on_event, self.is_complete):
            acknowledge(function, "AwsSolutions-L1", (
                f"The handler asset is plain Python source written and tested for {RUNTIME.name}, the runtime the "
                "handler contract fixes; a newer runtime is a deliberate upgrade."))
        invoked = [_arn_finding(stack, f) for f in (self.on_event, self.is_complete)]
        for role in framework_roles:
            for finding in invoked:
                acknowledge(role, f"AwsSolutions-IAM5[Resource::{finding}]", (
                    "The provider framework invokes the WorkMail handler in any version ('<function ARN>:*'); the "
                    "statement is the framework's own and names only the two handler functions."))
        waiter = self.provider.node.try_find_child("waiter-state-machine")
        if waiter is not None:
            acknowledge(waiter, "AwsSolutions-IAM5[Resource::*]", (
                "The provider framework's waiter state machine sets up its own CloudWatch Logs delivery; the log "
                "delivery actions take no resource ARN."))
            for child in ("framework-isComplete", "framework-onTimeout"):
                found = self.provider.node.try_find_child(child)
                if isinstance(found, lambda_.Function):
                    acknowledge(waiter, f"AwsSolutions-IAM5[Resource::{_arn_finding(stack, found)}]", (
                        "The waiter state machine invokes the framework's own function in any version "
                        "('<function ARN>:*'); the statement is the framework's and names only its functions."))
            acknowledge(waiter, "AwsSolutions-SF2", (
                "The waiter state machine only polls is_complete; X-Ray would add cost without insight (the "
                "handlers log every change they make)."))


def _arn_finding(stack: cdk.Stack, function: lambda_.Function) -> str:
    """How cdk-nag names ``<function ARN>:*`` of ``function`` in a finding."""
    cfn = function.node.default_child
    assert isinstance(cfn, cdk.CfnElement)
    return f"<{stack.get_logical_id(cfn)}.Arn>:*"
