"""CloudFormation's intrinsic functions, evaluated the way CloudFormation does for a local deploy.

A template refers to other resources (``Ref``, ``Fn::GetAtt``), to pseudo parameters
(``AWS::Region``) and builds strings (``Fn::Join``, ``Fn::Sub``). A local deploy evaluates
them against what it has made so far, so a custom resource receives the properties
CloudFormation would send it: every scalar a string, ``AWS::NoValue`` left out.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class TemplateError(Exception):
    """A template this local deploy can't evaluate; the message names the resource and function."""


@dataclass(frozen=True)
class Pseudo:
    """The pseudo parameters of one stack."""

    account: str
    region: str
    stack_name: str
    stack_id: str

    def value(self, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name, "AWS::StackId": self.stack_id,
            "AWS::NotificationARNs": "",
        }.get(name)


# What a deployed resource answers: its Ref, and each attribute asked by Fn::GetAtt.
Lookup = Callable[[str, str | None], Any]

_NO_VALUE = object()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class Evaluator:
    """Evaluates one template's expressions; ``lookup(logical_id, attribute)`` answers for
    resources (attribute None is the Ref)."""

    def __init__(self, template: Mapping[str, Any], pseudo: Pseudo, lookup: Lookup) -> None:
        self.template = template
        self.pseudo = pseudo
        self.lookup = lookup
        self.parameters = {name: definition.get("Default")
                           for name, definition in (template.get("Parameters") or {}).items()}
        self._conditions: dict[str, bool] = {}

    def properties(self, logical_id: str, value: Any) -> dict[str, Any]:
        """A resource's properties as CloudFormation hands them to a custom resource."""
        resolved = self.evaluate(value if value is not None else {}, logical_id)
        if not isinstance(resolved, dict):
            raise TemplateError(f"{logical_id}: Properties must be an object")
        return resolved

    def condition(self, name: str, at: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"{at}: unknown condition {name!r}")
            self._conditions[name] = bool(self._condition_value(definitions[name], at))
        return self._conditions[name]

    def evaluate(self, value: Any, at: str) -> Any:
        result = self._evaluate(value, at)
        return None if result is _NO_VALUE else result

    def _evaluate(self, value: Any, at: str) -> Any:
        if isinstance(value, list):
            return [item for item in (self._evaluate(v, at) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            function = _FUNCTIONS.get(name)
            if function is not None:
                return function(self, argument, at)
            if name.startswith("Fn::"):
                raise TemplateError(f"{at}: {name} is not something a local deploy can evaluate")
        return {key: item for key, item in ((k, self._evaluate(v, at)) for k, v in value.items())
                if item is not _NO_VALUE}

    def _ref(self, name: Any, at: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{at}: Ref takes a name, not {name!r}")
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo = self.pseudo.value(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        if name in (self.template.get("Resources") or {}):
            return self.lookup(name, None)
        raise TemplateError(f"{at}: Ref to {name!r}, which is no resource, parameter or pseudo parameter")

    def _get_att(self, argument: Any, at: str) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2 and all(isinstance(a, str) for a in argument)):
            raise TemplateError(f"{at}: Fn::GetAtt takes [resource, attribute], not {argument!r}")
        return self.lookup(argument[0], argument[1])

    def _join(self, argument: Any, at: str) -> str:
        delimiter, items = argument
        values = self._evaluate(items, at)
        return str(delimiter).join(_text(v, at) for v in values)

    def _sub(self, argument: Any, at: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
        values = {k: self._evaluate(v, at) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in values:
                return _text(values[name], at)
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return _text(self.lookup(resource, attribute), at)
            return _text(self._ref(name, at), at)

        # ``${!Literal}`` writes ``${Literal}``.
        return _SUB_VARIABLE.sub(replace, str(text)).replace("${!", "${")

    def _select(self, argument: Any, at: str) -> Any:
        index, items = self._evaluate(argument[0], at), self._evaluate(argument[1], at)
        return items[int(index)]

    def _split(self, argument: Any, at: str) -> list[str]:
        return _text(self._evaluate(argument[1], at), at).split(str(argument[0]))

    def _if(self, argument: Any, at: str) -> Any:
        name, when_true, when_false = argument
        return self._evaluate(when_true if self.condition(name, at) else when_false, at)

    def _find_in_map(self, argument: Any, at: str) -> Any:
        name, first, second = (self._evaluate(a, at) for a in argument)
        try:
            return self.template["Mappings"][name][first][second]
        except KeyError:
            raise TemplateError(f"{at}: Fn::FindInMap found nothing at {name}.{first}.{second}") from None

    def _get_azs(self, argument: Any, at: str) -> list[str]:
        return [f"{self.pseudo.region}{zone}" for zone in "abc"]

    def _base64(self, argument: Any, at: str) -> str:
        return base64.b64encode(_text(self._evaluate(argument, at), at).encode()).decode()

    def _condition_value(self, value: Any, at: str) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Condition":
                return self.condition(argument, at)
            if name == "Fn::Equals":
                left, right = (self._condition_value(a, at) for a in argument)
                return _text(left, at) == _text(right, at)
            if name == "Fn::Not":
                return not self._condition_value(argument[0], at)
            if name == "Fn::And":
                return all(self._condition_value(a, at) for a in argument)
            if name == "Fn::Or":
                return any(self._condition_value(a, at) for a in argument)
        return self._evaluate(value, at)


_FUNCTIONS: dict[str, Callable[[Evaluator, Any, str], Any]] = {
    "Ref": Evaluator._ref, "Fn::GetAtt": Evaluator._get_att, "Fn::Join": Evaluator._join, "Fn::Sub": Evaluator._sub,
    "Fn::Select": Evaluator._select, "Fn::Split": Evaluator._split, "Fn::If": Evaluator._if,
    "Fn::FindInMap": Evaluator._find_in_map, "Fn::GetAZs": Evaluator._get_azs, "Fn::Base64": Evaluator._base64,
}


def _text(value: Any, at: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"{at}: expected a string where the template has {value!r}")


def as_sent(value: Any) -> Any:
    """Properties as CloudFormation sends them to a custom resource: every scalar a string."""
    if isinstance(value, dict):
        return {k: as_sent(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_sent(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def references(value: Any) -> set[str]:
    """The logical ids ``value`` refers to (Ref, Fn::GetAtt, and ``${X}`` / ``${X.Attr}`` in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for name, argument in value.items():
            if name == "Ref" and isinstance(argument, str) and not argument.startswith("AWS::"):
                found.add(argument)
            elif name == "Fn::GetAtt":
                target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                found.add(str(target))
            elif name == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                local = set() if isinstance(argument, str) else set(argument[1])
                for match in _SUB_VARIABLE.finditer(str(text)):
                    variable = match.group(1).strip()
                    if not variable.startswith("AWS::") and variable not in local:
                        found.add(variable.split(".", 1)[0])
                if not isinstance(argument, str):
                    found |= references(argument[1])
            else:
                found |= references(argument)
    return found
