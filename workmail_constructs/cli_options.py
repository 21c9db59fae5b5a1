"""Options the commands that synthesize an app share: which app, which stack, which state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def app_options(verb: str) -> Callable[[F], F]:
    """``--app``, ``--state`` and ``--stack`` (the stack to ``verb``)."""

    def decorate(command: F) -> F:
        for option in reversed((
            click.option("--app", help="Command that runs the CDK app (default: the \"app\" of ./cdk.json)."),
            click.option("--state", "state_dir", default=".workmail", show_default=True,
                         type=click.Path(file_okay=False, path_type=Path),
                         help="Directory of the local deploy's state."),
            click.option("--stack", help=f"The stack to {verb}, when the app has more than one."),
        )):
            command = option(command)
        return command

    return decorate
