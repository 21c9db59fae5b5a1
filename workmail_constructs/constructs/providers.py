"""The custom-resource providers: one set per stack, shared by every organization in it.

Each concern (organization, domain, directory) has a Provider-framework provider with an
``on_event`` and an ``is_complete`` Lambda function running the package's own handler
modules. The functions of a concern share one role, and every permission on it is the
narrowest the API allows: WorkMail actions on the ARNs of the organizations in the
stack (each organization adds its own), Secrets Manager reads on the declared secrets
only, S3 reads on the spec assets only.

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
from constructs import Construct

RUNTIME = lambda_.Runtime.PYTHON_3_12
HANDLER_PACKAGE = "workmail_constructs.handlers"
# The provider framework's waiter: WorkMail organizations take minutes to become Active and
# domain verification can take most of an hour; a custom resource may run for at most one hour.
QUERY_INTERVAL = cdk.Duration.seconds(30)
TOTAL_TIMEOUT = cdk.Duration.minutes(55)

ORGANIZATION_RESOURCE_TYPE = "Custom::WorkMailOrganization"
DOMAIN_RESOURCE_TYPE = "Custom::WorkMailDomain"
DIRECTORY_RESOURCE_TYPE = "Custom::WorkMailDirectory"

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

# The staged handler source, made once per process (its content decides the asset hash).
_STAGED: Path | None = None


def _stage_handler_code() -> Path:
    """A directory holding only what the Lambda functions import: the package's
    ``__init__.py``, ``core/`` and ``handlers/`` (sources only, no caches)."""
    global _STAGED
    if _STAGED is not None and _STAGED.exists():
        return _STAGED
    package = Path(__file__).resolve().parent.parent
    root = Path(tempfile.mkdtemp(prefix="workmail-constructs-handlers-"))
    atexit.register(shutil.rmtree, root, True)
    target = root / package.name
    target.mkdir()
    shutil.copy2(package / "__init__.py", target / "__init__.py")
    for sub in ("core", "handlers"):
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


class _Concern(Construct):
    """One concern's role, log group, functions and provider."""

    def __init__(self, scope: Construct, id: str, *, module: str, description: str,
                 timeout: cdk.Duration, memory_size: int, code: lambda_.Code,
                 framework_logs: logs.ILogGroup) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {description} custom-resource handler",
        )
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.log_group.grant_write(self.role)
        self.on_event, self.is_complete = (
            lambda_.Function(
                self, construct_id, runtime=RUNTIME, architecture=lambda_.Architecture.ARM_64,
                handler=f"{HANDLER_PACKAGE}.{module}.{entry}", code=code, role=self.role,
                timeout=timeout, memory_size=memory_size, log_group=self.log_group,
                description=f"WorkMail {description}: {entry.replace('_', ' ')}",
            )
            for construct_id, entry in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
        )
        self.provider = cr.Provider(
            self, "Provider", on_event_handler=self.on_event, is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL, total_timeout=TOTAL_TIMEOUT, log_group=framework_logs,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=framework_logs, level=sfn.LogLevel.ALL,
                # Events carry the resource properties; the logs need only the steps.
                include_execution_data=False,
            ),
        )
        _acknowledge_framework(self.provider, (self.on_event, self.is_complete))
        for function in (self.on_event, self.is_complete):
            cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-L1",
                reason=f"The handler asset is plain Python source written and tested for {RUNTIME.name}, "
                       "the runtime the handler contract fixes; a newer runtime is a deliberate upgrade.",
            ))
        self._organization_statement: iam.PolicyStatement | None = None
        self._organizations: set[str] = set()

    @property
    def service_token(self) -> str:
        return self.provider.service_token

    def add_statement(self, *, actions: Iterable[str], resources: Iterable[str]) -> iam.PolicyStatement:
        statement = iam.PolicyStatement(actions=sorted(actions), resources=list(resources))
        self.role.add_to_principal_policy(statement)
        return statement

    def allow_rollback_check(self) -> None:
        """Let the handler ask whether its stack is rolling back (an Update that undoes a
        failed one may do what the opt-ins of the old properties would refuse)."""
        self.add_statement(actions=["cloudformation:DescribeStacks"], resources=[cdk.Stack.of(self).stack_id])

    def allow_organization(self, organization_arn: str, actions: Iterable[str]) -> None:
        """Allow ``actions`` on one more organization; one statement holds every organization."""
        if organization_arn in self._organizations:
            return
        self._organizations.add(organization_arn)
        if self._organization_statement is None:
            self._organization_statement = self.add_statement(actions=actions, resources=[organization_arn])
        else:
            self._organization_statement.add_resources(organization_arn)


class WorkMailHandlers(Construct):
    """The stack's WorkMail custom-resource providers (one per stack; use ``of``)."""

    ID = "WorkMailConstructsHandlers"

    @classmethod
    def of(cls, scope: Construct) -> WorkMailHandlers:
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, WorkMailHandlers):
            return existing
        return cls(stack, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._code = lambda_.Code.from_asset(str(_stage_handler_code()))
        self._framework_logs = logs.LogGroup(
            self, "FrameworkLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self._organization: _Concern | None = None
        self._domain: _Concern | None = None
        self._directory: _Concern | None = None
        self._secrets: dict[str, secretsmanager.ISecret] = {}
        self._secret_statement: iam.PolicyStatement | None = None
        self._spec_objects: set[str] = set()
        self._keys: set[str] = set()

    # Concerns, created on first use ----------------------------------------------

    @property
    def organization(self) -> _Concern:
        if self._organization is None:
            concern = _Concern(
                self, "Organization", module="organization", description="organization",
                timeout=cdk.Duration.minutes(5), memory_size=256, code=self._code,
                framework_logs=self._framework_logs,
            )
            stack = cdk.Stack.of(self)
            any_organization = stack.format_arn(service="workmail", resource="organization", resource_name="*")
            concern.add_statement(actions=ACCOUNT_ACTIONS, resources=["*"])
            concern.add_statement(actions=ORGANIZATION_ACTIONS, resources=[any_organization])
            concern.add_statement(actions=DIRECTORY_SERVICE_ACTIONS, resources=["*"])
            concern.add_statement(actions=SES_ACTIONS, resources=["*"])
            concern.allow_rollback_check()
            cdk.Validations.of(concern.role).acknowledge(
                cdk.Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=(
                    "CreateOrganization and ListOrganizations take no resource (Administrator Guide, "
                    '"How Amazon WorkMail works with IAM"); the Directory '
                    "Service and SES actions WorkMail makes as the caller act on a directory and a receipt rule "
                    "set that exist only once the organization does.")),
                cdk.Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:workmail:<AWS::Region>:<AWS::AccountId>:"
                       "organization/*]",
                    reason="The organization handler creates organizations, whose ids it learns only from "
                           "CreateOrganization; it is limited to this account's organizations in this region."),
            )
            self._organization = concern
        return self._organization

    @property
    def domain(self) -> _Concern:
        if self._domain is None:
            concern = _Concern(
                self, "Domain", module="domain", description="mail domain",
                timeout=cdk.Duration.minutes(2), memory_size=256, code=self._code,
                framework_logs=self._framework_logs,
            )
            concern.add_statement(actions=SES_ACTIONS, resources=["*"])
            cdk.Validations.of(concern.role).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="WorkMail creates and deletes the domain's SES identity as the caller when a domain is "
                       "registered or deregistered; the identity does not exist before that.",
            ))
            self._domain = concern
        return self._domain

    @property
    def directory(self) -> _Concern:
        if self._directory is None:
            # A large directory's first apply reads and writes thousands of entities: the
            # Lambda maximum, and memory for the spec and the state read.
            self._directory = _Concern(
                self, "Directory", module="directory", description="directory",
                timeout=cdk.Duration.minutes(15), memory_size=1024, code=self._code,
                framework_logs=self._framework_logs,
            )
            self._directory.allow_rollback_check()
        return self._directory

    # Permissions ------------------------------------------------------------------

    def allow_kms_key(self, key: kms.IKey) -> None:
        """Let the organization handler create an organization encrypted with ``key``."""
        if key.key_arn in self._keys:
            return
        self._keys.add(key.key_arn)
        key.grant(self.organization.role, *KMS_ORGANIZATION_ACTIONS)

    def allow_secret(self, secret: secretsmanager.ISecret) -> None:
        """Let the directory handler read ``secret`` (and decrypt it, with a customer managed key)."""
        arn = _arn_for_secret(secret)
        if arn in self._secrets:
            return
        self._secrets[arn] = secret
        role = self.directory.role
        if self._secret_statement is None:
            self._secret_statement = iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[arn])
            role.add_to_principal_policy(self._secret_statement)
        else:
            self._secret_statement.add_resources(arn)
        if "-??????" in arn:
            cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_nag_form(cdk.Stack.of(self), arn)}]",
                reason="A secret referenced by name: Secrets Manager appends six random characters to its ARN, "
                       "which the policy must match.",
            ))
        key = secret.encryption_key
        if key is not None:
            region = cdk.Stack.of(self).region
            key.grant_decrypt(kms.ViaServicePrincipal(f"secretsmanager.{region}.amazonaws.com", role))

    @property
    def secret_count(self) -> int:
        return len(self._secrets)

    def allow_spec_object(self, asset: s3_assets.Asset) -> None:
        """Let the directory handler read one spec asset (and nothing else in the bucket)."""
        arn = asset.bucket.arn_for_objects(asset.s3_object_key)
        if arn in self._spec_objects:
            return
        self._spec_objects.add(arn)
        self.directory.add_statement(actions=["s3:GetObject"], resources=[arn])


def _acknowledge_framework(provider: cr.Provider, handlers: Iterable[lambda_.IFunction]) -> None:
    """Acknowledge what cdk-nag finds in the CDK provider framework's own resources, which
    the framework creates and this library can't change."""
    stack = cdk.Stack.of(provider)
    invoked = [*handlers]
    for child in ("framework-isComplete", "framework-onTimeout"):
        found = provider.node.try_find_child(child)
        if isinstance(found, lambda_.Function):
            invoked.append(found)
    for function in invoked:
        cfn = function.node.default_child
        assert isinstance(cfn, cdk.CfnElement)
        cdk.Validations.of(provider).acknowledge(cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(cfn)}.Arn>:*]",
            reason="The provider framework invokes this function in any version ('<function ARN>:*'); the "
                   "policy is the framework's own and names only the functions it calls.",
        ))
    cdk.Validations.of(provider).acknowledge(cdk.Acknowledgment(
        id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason="The provider framework's own functions use the AWS managed basic execution role, which the "
               "framework attaches itself and offers no way to replace.",
    ))
    waiter = provider.node.try_find_child("waiter-state-machine")
    if waiter is not None:
        cdk.Validations.of(waiter).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="The provider framework's waiter state machine sets up its own CloudWatch Logs delivery; "
                       "the log delivery actions take no resource ARN.",
            ),
            cdk.Acknowledgment(
                id="AwsSolutions-SF2",
                reason="The waiter state machine only polls is_complete; X-Ray would add cost without insight "
                       "(the handlers log every change they make).",
            ),
        )


def _nag_form(stack: cdk.Stack, value: str) -> str:
    """How cdk-nag spells a (possibly tokenized) ARN in a finding id: intrinsics as <...>."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts: list[str] = []
    items = resolved.get("Fn::Join", ["", [resolved]])[1] if isinstance(resolved, dict) else [resolved]
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif "Ref" in item:
            parts.append(f"<{item['Ref']}>")
        elif "Fn::GetAtt" in item:
            parts.append(f"<{'.'.join(item['Fn::GetAtt'])}>")
        else:
            parts.append("<?>")
    return "".join(parts)
