"""The stack module of an imported organization: one ``Organization`` that adopts it, and a
declaration for everything the API reads back, in the constructs' own calls."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..core.adoption import Adopted
from ..core.spec import (
    AccessControlRuleSpec,
    AvailabilityConfigurationSpec,
    GroupSpec,
    ImpersonationRoleSpec,
    MobileDeviceAccessRuleSpec,
    ResourceSpec,
    UserSpec,
)
from .python_source import INDENT, Call, Expr, call, lines, list_of, literal

BODY = INDENT * 2
STACK_CLASS = "WorkMailOrganizationStack"
STACK_MODULE = "workmail_stack"
# Secrets Manager names the app gives EWS passwords it can't read (one per availability domain).
EWS_SECRET_PREFIX = "workmail/availability/"


def stack_module(adopted: Adopted, *, imported_on: str) -> str:
    """The source of ``workmail_stack.py``."""
    spec = adopted.spec
    org = spec.organization
    imports: set[str] = set()
    names = {"Organization"}
    body: list[str] = []

    def section(title: str, statements: list[Call], note: tuple[str, ...] = ()) -> None:
        if not statements:
            return
        body.extend(["", f"{BODY}# {title}", *(f"{BODY}# {line}" for line in note)])
        for statement in statements:
            body.extend(lines(statement, BODY))

    keywords: list[tuple[str, Expr]] = [("alias", literal(org.alias)),
                                        ("organization_id", literal(adopted.organization_id))]
    if org.directory_id:
        keywords.append(("directory_id", literal(org.directory_id)))
    if org.enable_interoperability:
        keywords.append(("enable_interoperability", "True"))
    body.extend(lines(call("Organization", ["self", literal("Organization")], keywords), BODY, prefix="org = "))
    body.append(f"{BODY}self.organization = org")
    section("Tags of the organization", [
        call("cdk.Tags.of(org).add", [literal(key), literal(value)]) for key, value in sorted(org.tags.items())
    ])
    section("Domains", [
        call("org.add_domain", [literal(domain.name)], [("default", "True")] if domain.default else [])
        for domain in spec.domains
    ], ("Without a hosted zone, the stack outputs the DNS records each domain needs.",))
    section("Users", [_user(user) for user in spec.users],
            ("Passwords are not declared: WorkMail can't report them, so every user keeps the one it has.",))
    section("Groups", [_group(group) for group in spec.groups])
    section("Resources", [_resource(resource) for resource in spec.resources])
    section("Mailbox permissions", [
        call("org.grant_mailbox_access", [literal(grant.mailbox), literal(grant.grantee),
                                          literal(list(grant.permissions))])
        for grant in spec.mailbox_permissions
    ])
    section("Access control rules (declared, so these are all the organization has)",
            [_access_rule(rule) for rule in spec.access_control_rules or []])
    if spec.impersonation_roles:
        names.add("ImpersonationRule")
    section("Impersonation roles", [_impersonation_role(role) for role in spec.impersonation_roles])
    if spec.retention_policy is not None:
        names.add("RetentionFolder")
        policy = spec.retention_policy
        folders = list_of([
            call("RetentionFolder", [literal(f.name), literal(f.action)]
                 + ([literal(f.period_days)] if f.period_days is not None else []))
            for f in policy.folders
        ])
        keywords = [("description", literal(policy.description))] if policy.description is not None else []
        section("Retention policy", [call("org.set_retention_policy", [literal(policy.name)],
                                          [*keywords, ("folders", folders)])])
    section("Mobile device access rules (declared, so these are all the organization has)",
            [_device_rule(rule) for rule in spec.mobile_device_access_rules or []])
    section("Mobile device access overrides", [
        call("org.add_mobile_device_access_override", [literal(override.user), literal(override.device_id)],
             [("effect", literal(override.effect)),
              *([("description", literal(override.description))] if override.description else [])])
        for override in spec.mobile_device_access_overrides
    ])
    if spec.inbound_dmarc_enforced is not None:
        section("Inbound DMARC", [call("org.set_inbound_dmarc", [literal(spec.inbound_dmarc_enforced)])])
    if spec.email_monitoring is not None:
        monitoring = spec.email_monitoring
        names.add("EmailEventLogging")
        imports.add("from aws_cdk import aws_logs as logs")
        keywords = [("organization", "org"), ("log_group", call(
            "logs.LogGroup.from_log_group_arn", ["self", literal("EmailEventsLogGroup"),
                                                 literal(monitoring.log_group_arn)]))]
        if monitoring.role_arn:
            imports.add("from aws_cdk import aws_iam as iam")
            keywords.append(("role", call("iam.Role.from_role_arn", [
                "self", literal("EmailEventsRole"), literal(monitoring.role_arn)], [("mutable", "False")])))
        section("Email event logging, to the log group and with the role it uses now",
                [call("EmailEventLogging", ["self", literal("EmailEvents")], keywords)])
    for number, configuration in enumerate(spec.availability_configurations, start=1):
        statement, note = _availability(configuration, number, imports)
        section(f"Availability of {configuration.domain_name}", [statement], note)

    description = literal(f"Amazon WorkMail organization {org.alias}")
    header = [
        f'"""The Amazon WorkMail organization {org.alias} ({adopted.organization_id}), imported by',
        f"``workmail-cdk import`` on {imported_on}.",
        "",
        "The organization is adopted: deploying manages the existing organization and creates",
        "no new one. Objects it has and this module doesn't declare are left alone",
        "(prune_undeclared is off). What the import couldn't declare is listed in INVENTORY.md.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "import aws_cdk as cdk",
        *sorted(imports),
        "from constructs import Construct",
        f"from workmail_constructs import {', '.join(sorted(names))}",
        "",
        "",
        f"class {STACK_CLASS}(cdk.Stack):",
        f'    """The WorkMail organization {org.alias} and everything in it."""',
        "",
        "    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:",
        *lines(call("super().__init__", ["scope", "id", f"description={description}", "**kwargs"]), BODY),
    ]
    return "\n".join(header + body) + "\n"


def _non_default(spec: Any, skip: tuple[str, ...]) -> list[tuple[str, Expr]]:
    """Keyword arguments for the fields of ``spec`` that differ from their defaults."""
    keywords: list[tuple[str, Expr]] = []
    for item in fields(spec):
        if item.name in skip:
            continue
        value = getattr(spec, item.name)
        default = item.default_factory() if callable(item.default_factory) else item.default
        if value != default:
            keywords.append((item.name, literal(value)))
    return keywords


def _enabled(spec: GroupSpec | ResourceSpec) -> list[tuple[str, Expr]]:
    # The constructs enable a group or resource that has an email address unless told otherwise.
    return [] if spec.enabled == (spec.email is not None) else [("enabled", literal(spec.enabled))]


def _user(user: UserSpec) -> Call:
    return call("org.add_user", [literal(user.name)], [
        ("display_name", literal(user.display_name)),
        *_non_default(user, ("name", "display_name", "password", "logical_id")),
    ])


def _group(group: GroupSpec) -> Call:
    return call("org.add_group", [literal(group.name)],
                [*_non_default(group, ("name", "enabled", "logical_id")), *_enabled(group)])


def _resource(resource: ResourceSpec) -> Call:
    return call("org.add_resource", [literal(resource.name)], [
        ("type", literal(resource.type)),
        *_non_default(resource, ("name", "type", "enabled", "booking_options", "logical_id")),
        *_enabled(resource), *_non_default(resource.booking_options, ()),
    ])


def _access_rule(rule: AccessControlRuleSpec) -> Call:
    return call("org.add_access_control_rule", [literal(rule.name)], [
        ("effect", literal(rule.effect)), ("description", literal(rule.description)),
        *_non_default(rule, ("name", "effect", "description")),
    ])


def _device_rule(rule: MobileDeviceAccessRuleSpec) -> Call:
    return call("org.add_mobile_device_access_rule", [literal(rule.name)],
                [("effect", literal(rule.effect)), *_non_default(rule, ("name", "effect"))])


def _impersonation_role(role: ImpersonationRoleSpec) -> Call:
    keywords: list[tuple[str, Expr]] = [("type", literal(role.type)), *_non_default(role, ("name", "type", "rules"))]
    if role.rules:
        keywords.append(("rules", list_of([
            call("ImpersonationRule", [], [("rule_id", literal(rule.rule_id)), ("effect", literal(rule.effect)),
                                           *_non_default(rule, ("rule_id", "effect"))])
            for rule in role.rules
        ])))
    return call("org.add_impersonation_role", [literal(role.name)], keywords)


def _availability(configuration: AvailabilityConfigurationSpec, number: int,
                  imports: set[str]) -> tuple[Call, tuple[str, ...]]:
    domain = configuration.domain_name
    if configuration.ews is not None:
        imports.add("from aws_cdk import aws_secretsmanager as secretsmanager")
        secret = EWS_SECRET_PREFIX + domain
        return call("org.add_availability_configuration", [literal(domain)], [
            ("ews_endpoint", literal(configuration.ews.endpoint)),
            ("ews_username", literal(configuration.ews.username)),
            ("ews_password", call("secretsmanager.Secret.from_secret_name_v2",
                                  ["self", literal(f"EwsPassword{number}"), literal(secret)])),
        ]), ("The EWS password can't be read back. Before a deploy changes this configuration (the",
             f"only time it is read), store the password in the secret {secret}.")
    imports.add("from aws_cdk import aws_lambda as lambda_")
    return call("org.add_availability_configuration", [literal(domain)], [
        ("lambda_function", call("lambda_.Function.from_function_arn", [
            "self", literal(f"AvailabilityProvider{number}"), literal(configuration.lambda_arn)])),
    ]), ()
