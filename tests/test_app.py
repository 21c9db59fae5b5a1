"""The example app synthesizes offline, in-process, with its context parameters."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
from aws_cdk import assertions  # noqa: E402

import app as example_app  # noqa: E402


def test_example_app_synthesizes_with_context(tmp_path: Path) -> None:
    application = cdk.App(outdir=str(tmp_path), context={"workmail:alias": "acme", "workmail:domain": "acme.test"})
    stack = example_app.build(application)
    template = assertions.Template.from_stack(stack)
    template.has_output("OrganizationAlias", {"Value": "acme"})
    template.has_output("MailDomain", {"Value": "acme.test"})
    application.synth()
    assert json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
