"""The flow rules file: email flow rules anyone can write, for ``workmail-cdk flow``.

A JSON object ``{"inbound": [RULE, ...], "outbound": [RULE, ...]}``, each list in the
console's order, where a RULE is::

    {"name": "block-spam", "action": "DROP", "senders": ["spam.example"], "recipients": ["*"],
     "lambda": null, "smtp_gateway": null}

and ``lambda``, for a RUN_LAMBDA rule, is ``{"function_arn": ARN, "synchronous": bool,
"fallback_action": ACTION, "timeout_minutes": int}``. Problems are named by direction, rule
name and the file's own field names: ``inbound[block-spam].senders[0]``,
``outbound[scan].lambda.fallback_action``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from .problems import Problem
from .spec import EmailFlowRuleSpec, FlowAction, FlowDirection

DIRECTIONS: tuple[FlowDirection, ...] = ("inbound", "outbound")
_RULE_KEYS = ("name", "action", "senders", "recipients", "lambda", "smtp_gateway")
_LAMBDA_KEYS = ("function_arn", "synchronous", "fallback_action", "timeout_minutes")
# The spec's field → the file's.
_FILE_FIELDS = {"lambda_arn": "lambda.function_arn", "synchronous": "lambda.synchronous",
                "fallback_action": "lambda.fallback_action", "timeout_minutes": "lambda.timeout_minutes"}


@dataclass
class RulesFile:
    """The rules a file declares, and what is wrong with it (nothing, for a valid file)."""

    rules: list[EmailFlowRuleSpec]
    problems: list[Problem]


def read_rules(data: Any) -> RulesFile:
    """The rules of a parsed rules file, checked as the spec checks declared rules."""
    # The Guide's checks need botocore's service model; parse_rules alone doesn't.
    from .kinds.flow_rule import check_rules

    read, paths = _parsed(data)

    def file_path(spec_path: str) -> str:
        # A rule's name may hold dots: split at the end of the rule's own path.
        head = next((p for p in sorted(set(paths), key=len, reverse=True) if spec_path.startswith(p + ".")), None)
        if head is None:
            return spec_path
        rest = spec_path[len(head) + 1:]
        field = rest.split("[", 1)[0]
        return f"{head}.{_FILE_FIELDS[field]}{rest[len(field):]}" if field in _FILE_FIELDS else spec_path

    check_rules(read.rules, lambda path, message: read.problems.append(Problem(file_path(path), message)),
                paths.__getitem__)
    return read


def parse_rules(data: Any) -> RulesFile:
    """The rules of a parsed rules file, checked for shape only: for rules checked before
    (a dispatcher's, validated when its app was synthesized), without importing botocore."""
    return _parsed(data)[0]


def _parsed(data: Any) -> tuple[RulesFile, list[str]]:
    """The rules and shape problems of a rules file, and each rule's path."""
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(path, message))

    if not isinstance(data, dict):
        add("(file)", 'must be a JSON object {"inbound": [...], "outbound": [...]}')
        return RulesFile([], problems), []
    for key in sorted(set(data) - set(DIRECTIONS)):
        add(str(key), "is not a direction; the file has only inbound and outbound")
    rules: list[EmailFlowRuleSpec] = []
    paths: list[str] = []
    for direction in DIRECTIONS:
        items = data.get(direction, [])
        if not isinstance(items, list):
            add(direction, "must be a list of rules")
            continue
        seen: set[str] = set()
        for index, item in enumerate(items):
            rule = _rule(item, direction, index, add)
            if rule is None:
                continue
            path = f"{direction}[{rule.name}]"
            if rule.name.lower() in seen:
                add(f"{path}.name", "this rule name is used twice in this direction")
            seen.add(rule.name.lower())
            rules.append(rule)
            paths.append(path)
    return RulesFile(rules, problems), paths


def _rule(item: Any, direction: FlowDirection, index: int, add: Any) -> EmailFlowRuleSpec | None:
    where = f"{direction}[{index}]"
    if not isinstance(item, dict):
        add(where, "must be a rule object")
        return None
    name = item.get("name")
    if not isinstance(name, str) or not name:
        add(f"{where}.name", "every rule needs a name")
        return None
    where = f"{direction}[{name}]"
    fine = True
    for key in sorted(set(item) - set(_RULE_KEYS)):
        add(f"{where}.{key}", f"is not a rule field; the fields are {', '.join(_RULE_KEYS)}")
        fine = False
    action = item.get("action")
    if not isinstance(action, str):
        add(f"{where}.action", "must be an action name, such as DROP or DEFAULT")
        fine = False
    patterns = {}
    for field in ("senders", "recipients"):
        value = item.get(field, [])
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            add(f"{where}.{field}", "must be a list of patterns (strings)")
            fine = False
        patterns[field] = value
    gateway = item.get("smtp_gateway")
    if gateway is not None and not isinstance(gateway, str):
        add(f"{where}.smtp_gateway", "must be the SMTP gateway's name, or null")
        fine = False
    hook = item.get("lambda")
    settings: dict[str, Any] = {}
    if hook is not None:
        if not isinstance(hook, dict):
            add(f"{where}.lambda", "must be an object with function_arn, synchronous, fallback_action, "
                                   "timeout_minutes, or null")
            return None
        for key in sorted(set(hook) - set(_LAMBDA_KEYS)):
            add(f"{where}.lambda.{key}", f"is not a lambda field; the fields are {', '.join(_LAMBDA_KEYS)}")
            fine = False
        settings = {"lambda_arn": hook.get("function_arn"), "synchronous": hook.get("synchronous", False),
                    "fallback_action": hook.get("fallback_action"), "timeout_minutes": hook.get("timeout_minutes")}
        for key, kind, what in (("lambda_arn", str, "a Lambda function ARN"), ("synchronous", bool, "true or false"),
                                ("fallback_action", str, "an action name")):
            value = settings[key]
            if value is not None and not isinstance(value, kind):
                add(f"{where}.{_FILE_FIELDS[key]}", f"must be {what}")
                fine = False
    if not fine:
        return None
    return EmailFlowRuleSpec(
        name=name, direction=direction, action=cast(FlowAction, action), senders=list(patterns["senders"]),
        recipients=list(patterns["recipients"]), smtp_gateway=gateway, **settings,
    )


def rules_data(rules: list[EmailFlowRuleSpec]) -> dict[str, list[dict[str, Any]]]:
    """``rules`` in the file's format (the inverse of ``read_rules``)."""
    data: dict[str, list[dict[str, Any]]] = {direction: [] for direction in DIRECTIONS}
    for rule in rules:
        hook = None
        if rule.lambda_arn is not None:
            hook = {"function_arn": rule.lambda_arn, "synchronous": rule.synchronous,
                    "fallback_action": rule.fallback_action, "timeout_minutes": rule.timeout_minutes}
        data[rule.direction].append({"name": rule.name, "action": rule.action, "senders": list(rule.senders),
                                     "recipients": list(rule.recipients), "lambda": hook,
                                     "smtp_gateway": rule.smtp_gateway})
    return data
