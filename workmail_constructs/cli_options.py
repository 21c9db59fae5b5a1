"""Options the commands that synthesize an app share: which app, which stack, which state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def app_options(verb: str, *, state: bool = True) -> Callable[[F], F]:
    """``--app``, ``--state`` (unless the command has it another way) and ``--stack`` (the stack to ``verb``)."""

    def decorate(command: F) -> F:
        options = [
            click.option("--app", help="Command that runs the CDK app (default: the \"app\" of ./cdk.json)."),
            click.option("--stack", help=f"The stack to {verb}, when the app has more than one."),
        ]
        if state:
            options.insert(1, click.option("--state", "state_dir", default=".workmail", show_default=True,
                                           type=click.Path(file_okay=False, path_type=Path),
                                           help="Directory of the local deploy's state."))
        for option in reversed(options):
            command = option(command)
        return command

    return decorate
