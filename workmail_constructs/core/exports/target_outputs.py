"""The export target's stack outputs, as ``MailboxExportTarget`` writes them and
``mailboxes export --target-stack`` reads them back: each output's description ends with the
command-line option it fills, so the command finds them without knowing the construct's path."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

Option = Literal["--bucket", "--kms-key", "--role", "--prefix"]
OPTIONS: tuple[Option, ...] = ("--bucket", "--kms-key", "--role", "--prefix")


class TargetOutputsError(ValueError):
    """The stack has no export target's outputs, or more than one."""


def description(what: str, option: Option) -> str:
    return f"{what} ({option})"


def read(stack: str, outputs: Iterable[dict[str, Any]]) -> dict[Option, str]:
    """Each option's value from the outputs of ``stack`` (DescribeStacks' Outputs)."""
    found: dict[Option, list[str]] = {option: [] for option in OPTIONS}
    for output in outputs:
        text = str(output.get("Description") or "")
        for option in OPTIONS:
            if text.endswith(f"({option})"):
                found[option].append(str(output.get("OutputValue")))
    missing = [option for option, values in found.items() if not values]
    if missing:
        raise TargetOutputsError(f"the stack {stack} has no MailboxExportTarget outputs for {', '.join(missing)}; "
                                 "deploy one there, or give --bucket, --kms-key and --role")
    several = [option for option, values in found.items() if len(values) > 1]
    if several:
        raise TargetOutputsError(f"the stack {stack} has {len(found[several[0]])} MailboxExportTargets; give "
                                 "--bucket, --kms-key and --role of the one to use")
    return {option: values[0] for option, values in found.items()}
