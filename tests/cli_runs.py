"""Running ``workmail-cdk`` as users do (a process of its own), and what the test app's
``changed`` variant must show in a plan or a diff."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).parent / "fixtures" / "local_deploy_app"
# Wide enough that rich wraps no line the tests look for.
ENV = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
       "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "COLUMNS": "200"}


def workmail_cdk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from workmail_constructs.cli import main; main()", *args],
                          cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600, check=False)


def assert_the_branch_changes(output: str) -> list[str]:
    """The ``changed`` variant's changes, each on a line of ``output``; its lines, spaces folded."""
    lines = [" ".join(line.split()) for line in output.splitlines()]
    assert any(line.startswith("+ user carol") for line in lines)
    assert any(line.startswith("~ user alice changed: aliases") for line in lines)
    assert any(line.startswith("~ user bob changed: display_name") for line in lines)
    assert any(line.startswith("~ access_control_rule no-imap changed: actions") for line in lines)
    return lines
