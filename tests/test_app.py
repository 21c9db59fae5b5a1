"""The example app synthesizes offline, in-process, with its context parameters."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import assertions

import app as example_app


def test_example_app_synthesizes_with_context(tmp_path: Path) -> None:
    application = cdk.App(outdir=str(tmp_path), context={"workmail:alias": "acme", "workmail:domain": "acme.test"})
    stack = example_app.build(application)
    template = assertions.Template.from_stack(stack)
    template.has_output("OrganizationAlias", {"Value": "acme"})
    template.has_output("MailDomain", {"Value": "acme.test"})
    application.synth()
    assert json.loads((tmp_path / "manifest.json").read_text())["artifacts"]
    # Every WorkMail resource of the app, email event logging included, is served by one provider.
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    entry = assertions.Match.string_like_regexp("^workmail_constructs\\.handlers\\.provider\\.")
    handlers = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": entry}})
    assert len(handlers) == 2
    assert not [k for k in template.to_json()["Resources"] if k.startswith("AWS679f53fac002430cb0da5b7982bd2287")]
