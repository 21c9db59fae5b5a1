"""The files of an imported organization's CDK app, written into an output directory."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.adoption import Adopted
from ..core.state import ActualState
from .inventory import inventory
from .python_source import literal
from .stack_source import STACK_CLASS, STACK_MODULE, stack_module

APP = "app.py"
CDK_JSON = "cdk.json"
SPEC = "spec.json"
INVENTORY = "INVENTORY.md"


class OutputExists(Exception):
    """The output directory already has files of an app; nothing was written."""


def app_files(adopted: Adopted, actual: ActualState, *, imported_on: str) -> dict[str, str]:
    """File name → content of the imported app."""
    return {
        APP: _app(adopted),
        CDK_JSON: json.dumps({"app": f"python3 {APP}"}, indent=2) + "\n",
        f"{STACK_MODULE}.py": stack_module(adopted, imported_on=imported_on),
        SPEC: adopted.spec.to_json(indent=1) + "\n",
        INVENTORY: inventory(adopted, actual, imported_on=imported_on),
    }


def stack_name(adopted: Adopted) -> str:
    # An alias is letters, digits and single hyphens, so it makes a valid stack name.
    return f"WorkMail-{adopted.spec.organization.alias}"


def write_app(files: dict[str, str], out: Path) -> list[Path]:
    """Write ``files`` into ``out`` (made if missing); refuses, writing nothing, when any exists."""
    existing = sorted(name for name in files if (out / name).exists())
    if existing:
        raise OutputExists(f"{out} already has {', '.join(existing)}; choose an empty directory for --out "
                           "(nothing was written)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    (out / APP).chmod(0o755)
    return written


def _app(adopted: Adopted) -> str:
    org = adopted.spec.organization
    return "\n".join([
        "#!/usr/bin/env python3",
        f'"""The CDK app of the Amazon WorkMail organization {org.alias} ({adopted.organization_id}).',
        "",
        "    cdk synth                    # or: workmail-cdk plan --profile P --region R",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import os",
        "import sys",
        "from pathlib import Path",
        "",
        "# jsii warns about the Node.js version on every synth unless told not to.",
        'os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")',
        'os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")',
        "# The stack module sits beside this file, wherever the app is run from.",
        "sys.path.insert(0, str(Path(__file__).resolve().parent))",
        "",
        "import aws_cdk as cdk  # noqa: E402",
        f"from {STACK_MODULE} import {STACK_CLASS}  # noqa: E402",
        "",
        "app = cdk.App()",
        f"{STACK_CLASS}(app, {literal(stack_name(adopted))},",
        f"    env=cdk.Environment(account={literal(adopted.account)}, region={literal(adopted.region)}))",
        "app.synth()",
        "",
    ])
