"""What a local deploy has made, kept between deploys under the state directory.

One JSON file per stack (``stacks/<name>.json``): each resource's type, physical id,
attributes, the properties it was last deployed with and what it depends on. A second
deploy compares against it, as CloudFormation compares a stack's template with the
previous one. Generated secret values are kept apart, in ``secrets.json``, readable by
the owner only.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .resources import Handling


@dataclass
class ResourceRecord:
    type: str
    physical_id: str
    handling: Handling
    properties: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    deletion_policy: str | None = None


@dataclass
class StackRecord:
    name: str
    stack_id: str
    region: str
    account: str
    resources: dict[str, ResourceRecord] = field(default_factory=dict)

    @classmethod
    def new(cls, name: str, region: str, account: str) -> StackRecord:
        return cls(name, f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid.uuid4()}", region, account)


class StateDirectory:
    """The state directory of local deploys (``.workmail`` by default), private to its owner."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        # The emulator's state and the generated secrets are in here.
        os.chmod(self.root, 0o700)
        (self.root / "stacks").mkdir(exist_ok=True)

    @property
    def emulator_state(self) -> Path:
        return self.root / "emulator.sqlite"

    @property
    def assembly(self) -> Path:
        return self.root / "cdk.out"

    def load(self, name: str) -> StackRecord | None:
        path = self._stack_file(name)
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        resources = {logical_id: ResourceRecord(**record) for logical_id, record in data.pop("resources").items()}
        return StackRecord(**data, resources=resources)

    def save(self, stack: StackRecord) -> None:
        _write_private(self._stack_file(stack.name), json.dumps(asdict(stack), indent=1, sort_keys=True))

    def forget(self, name: str) -> None:
        self._stack_file(name).unlink(missing_ok=True)

    def secret(self, arn: str) -> str | None:
        return self._secrets().get(arn)

    def keep_secret(self, arn: str, value: str | None) -> None:
        values = self._secrets()
        if value is None:
            values.pop(arn, None)
        else:
            values[arn] = value
        _write_private(self.root / "secrets.json", json.dumps(values, indent=1, sort_keys=True))

    def _secrets(self) -> dict[str, str]:
        path = self.root / "secrets.json"
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def _stack_file(self, name: str) -> Path:
        return self.root / "stacks" / f"{name}.json"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by the owner only, whole or not at all."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(temporary, path)
