"""``workmail-cdk flow validate`` and ``flow test``, run as users run them, and flow rules
declared in a CDK app (validated at synth, tried out with ``flow test --app``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from tests.cli_runs import workmail_cdk
from workmail_constructs import Organization

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:lambda:us-east-1:123456789012:function:scan"
RULES = {"inbound": [
    {"name": "block-spam", "action": "DROP", "senders": ["spam.example"], "recipients": ["*"], "lambda": None,
     "smtp_gateway": None},
    {"name": "newsletter", "action": "DEFAULT", "senders": ["news@spam.example"], "recipients": ["*"]},
], "outbound": [
    {"name": "no-competitor", "action": "BOUNCE", "senders": ["corp.example"], "recipients": ["competitor.example"]},
]}
BAD = {"inbound": [
    {"name": "scan", "action": "RUN_LAMBDA", "senders": ["a+b@x.example"], "recipients": ["corp.example"],
     "lambda": {"function_arn": ARN, "synchronous": True, "fallback_action": "RUN_LAMBDA", "timeout_minutes": 241}},
]}


def write(tmp_path: Path, data: Any, name: str = "rules.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_validate_a_valid_file(tmp_path: Path) -> None:
    result = workmail_cdk("flow", "validate", "--rules", str(write(tmp_path, RULES)))
    assert result.returncode == 0, result.stderr
    assert "valid (2 inbound, 1 outbound rules)" in result.stdout


def test_validate_lists_every_problem_with_its_rule_and_field(tmp_path: Path) -> None:
    result = workmail_cdk("flow", "validate", "--rules", str(write(tmp_path, BAD)))
    assert result.returncode == 1
    paths = [line.split(":", 1)[0] for line in result.stdout.splitlines()]
    assert sorted(paths) == ["inbound[scan].lambda.fallback_action", "inbound[scan].lambda.timeout_minutes",
                             "inbound[scan].recipients", "inbound[scan].senders[0]"]
    as_json = workmail_cdk("flow", "validate", "--rules", str(write(tmp_path, BAD)), "--format", "json")
    assert as_json.returncode == 1
    document = json.loads(as_json.stdout)
    assert document["valid"] is False and [p["path"] for p in document["problems"]] == paths


def test_an_address_rule_overrides_its_domain_rule(tmp_path: Path) -> None:
    rules = str(write(tmp_path, RULES))
    newsletter = workmail_cdk("flow", "test", "--rules", rules, "--direction", "inbound", "--sender",
                              "news@spam.example", "--recipient", "alice@corp.example")
    assert newsletter.returncode == 0, newsletter.stderr
    assert "DEFAULT" in newsletter.stdout and "rule newsletter (matched on Sender)" in newsletter.stdout
    other = workmail_cdk("flow", "test", "--rules", rules, "--direction", "inbound", "--sender", "x@spam.example",
                         "--recipient", "alice@corp.example", "--format", "json")
    assert json.loads(other.stdout) == [{"recipient": "alice@corp.example", "action": "DROP", "rule": "block-spam",
                                         "hook_results": []}]


def test_json_has_one_object_per_recipient_in_order(tmp_path: Path) -> None:
    result = workmail_cdk("flow", "test", "--rules", str(write(tmp_path, RULES)), "--direction", "outbound",
                          "--from", "bob@corp.example", "--recipient", "x@partner.example", "--recipient",
                          "y@competitor.example", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"recipient": "x@partner.example", "action": None, "rule": None, "hook_results": []},
        {"recipient": "y@competitor.example", "action": "BOUNCE", "rule": "no-competitor", "hook_results": []},
    ]


@pytest.mark.parametrize(("args", "message"), [
    (("--direction", "inbound", "--sender", "a@b.example", "--recipient", "c@d.example"), "--rules FILE or --app"),
    (("--rules", "RULES", "--direction", "inbound", "--recipient", "c@d.example"), "--sender or --from"),
    (("--rules", "BAD", "--direction", "inbound", "--sender", "a@b.example", "--recipient", "c@d.example"),
     "has problems"),
    (("--rules", "NOTJSON", "--direction", "inbound", "--sender", "a@b.example", "--recipient", "c@d.example"),
     "is not JSON"),
])
def test_bad_input_is_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    files = {"RULES": write(tmp_path, RULES), "BAD": write(tmp_path, BAD, "bad.json")}
    (tmp_path / "not.json").write_text("{inbound")
    files["NOTJSON"] = tmp_path / "not.json"
    result = workmail_cdk("flow", "test", *(str(files.get(a, a)) for a in args))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_flow_test_takes_the_rules_of_the_example_app() -> None:
    # app.py declares a DROP for bulk-mail.example and a DEFAULT for its invoices address.
    app = f"{sys.executable} app.py"
    invoices = workmail_cdk("flow", "test", "--app", app, "--direction", "inbound", "--sender",
                            "invoices@bulk-mail.example", "--recipient", "alice@example.com", "--format", "json",
                            cwd=ROOT)
    assert invoices.returncode == 0, invoices.stderr
    assert json.loads(invoices.stdout)[0]["rule"] == "allow-its-invoices"
    other = workmail_cdk("flow", "test", "--app", app, "--direction", "inbound", "--sender", "news@bulk-mail.example",
                         "--recipient", "alice@example.com", "--format", "json", cwd=ROOT)
    assert json.loads(other.stdout)[0] == {"recipient": "alice@example.com", "action": "DROP",
                                           "rule": "block-bulk-mailer", "hook_results": []}


def test_declared_rules_are_validated_at_synth_naming_the_construct(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Flows")
    org = Organization(stack, "Org", alias="acme")
    org.add_email_flow_rule("spam", direction="inbound", action="DROP", senders=["spam+x.example"])
    org.add_email_flow_rule("relay", direction="inbound", action="ROUTE_TO_SMTP_GATEWAY", senders=["*"],
                            smtp_gateway="gw", id="Relay")
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    message = str(raised.value)
    assert "Flows/Org/EmailFlowRules/Inbound/spam (email_flow_rules[spam].senders[0])" in message
    assert "Flows/Org/EmailFlowRules/Inbound/Relay (email_flow_rules[relay].action)" in message


def test_a_run_lambda_rule_lets_this_organization_invoke_its_function(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Hooked", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    org = Organization(stack, "Org", alias="acme")
    function = lambda_.Function(stack, "Hook", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                                code=lambda_.Code.from_inline("def handler(e, c): return {}"))
    for direction in ("inbound", "outbound"):
        org.add_email_flow_rule(f"scan-{direction}", direction=direction, action="RUN_LAMBDA", senders=["*"],  # type: ignore[arg-type]
                                lambda_function=function, synchronous=True, fallback_action="DEFAULT",
                                timeout_minutes=10)
    template = app.synth().get_stack_by_name("Hooked").template
    permissions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert len(permissions) == 1
    assert permissions[0]["Principal"] == "workmail.eu-west-1.amazonaws.com"
    assert permissions[0]["SourceAccount"] == "123456789012"
    assert "Fn::GetAtt" in json.dumps(permissions[0]["SourceArn"])
    spec = org.to_spec()
    assert [r.name for r in spec.email_flow_rules] == ["scan-inbound", "scan-outbound"]


# The dispatcher, deployed with the declared rules -----------------------------------------


def _dispatched_app(tmp_path: Path, rules: int, inline_limit: int = 3000) -> tuple[dict[str, Any], Any]:
    from workmail_constructs import EmailFlowDispatcher

    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Flows", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    org = Organization(stack, "Org", alias="acme")
    hook = lambda_.Function(stack, "Hook", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                            code=lambda_.Code.from_inline("def handler(e, c): return {}"))
    dispatcher = EmailFlowDispatcher(stack, "Dispatcher", organization=org, inline_rules_limit=inline_limit)
    org.add_email_flow_rule("scan", direction="inbound", action="RUN_LAMBDA", senders=["*"], lambda_function=hook,
                            synchronous=True, fallback_action="DEFAULT", timeout_minutes=5)
    for n in range(rules):
        org.add_email_flow_rule(f"block{n}", direction="inbound", action="DROP", senders=[f"spam{n}.example"])
    template = app.synth().get_stack_by_name("Flows").template
    return template, (org, dispatcher)


def _dispatcher_function(template: dict[str, Any]) -> dict[str, Any]:
    (function,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
                   and r["Properties"].get("Handler") == "workmail_constructs.handlers.dispatcher.handler"]
    return function


def test_the_dispatcher_carries_the_rules_and_may_do_only_its_job(tmp_path: Path) -> None:
    template, (org, _) = _dispatched_app(tmp_path, rules=2)
    function = _dispatcher_function(template)
    variables = function["Environment"]["Variables"]
    rules = json.loads(variables["WORKMAIL_FLOW_RULES"])
    assert [r["name"] for r in rules["inbound"]] == ["scan", "block0", "block1"]
    # The hook's ARN is a deploy-time value: the rules name it, the environment holds it.
    assert rules["inbound"][0]["lambda"]["function_arn"] == "$ref:WORKMAIL_FLOW_HOOK_0"
    assert "Fn::GetAtt" in json.dumps(variables["WORKMAIL_FLOW_HOOK_0"])
    assert function["Timeout"] == 15
    statements = [s for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                  for s in r["Properties"]["PolicyDocument"]["Statement"]]
    reads = [s for s in statements if s["Action"] == "workmailmessageflow:GetRawMessageContent"]
    assert len(reads) == 1 and "message/" in json.dumps(reads[0]["Resource"]) and "/*" in json.dumps(
        reads[0]["Resource"])
    assert any(s["Action"] == "lambda:InvokeFunction" for s in statements)
    permissions = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    assert {p["Principal"] for p in permissions} == {"workmail.eu-west-1.amazonaws.com"}
    assert len(permissions) == 2  # the dispatcher's and the hook's
    spec = org.to_spec()
    assert spec.flow_dispatcher_arn is not None


def test_many_rules_travel_as_an_s3_asset(tmp_path: Path) -> None:
    template, (_, dispatcher) = _dispatched_app(tmp_path, rules=200)
    variables = _dispatcher_function(template)["Environment"]["Variables"]
    assert "WORKMAIL_FLOW_RULES" not in variables
    assert {"WORKMAIL_FLOW_RULES_BUCKET", "WORKMAIL_FLOW_RULES_KEY", "WORKMAIL_FLOW_RULES_SHA256"} <= set(variables)
    assert dispatcher.rules_asset is not None


def test_with_a_dispatcher_the_console_needs_two_rules(tmp_path: Path) -> None:
    from workmail_constructs.core.kinds.flow_rule import flow_rule_steps

    _, (org, _) = _dispatched_app(tmp_path, rules=3)
    spec = org.to_spec()
    spec.flow_dispatcher_arn = "arn:aws:lambda:eu-west-1:123456789012:function:dispatcher"
    steps = flow_rule_steps(spec)
    assert [s.topic for s in steps] == ["email flow dispatcher (inbound)"]
    assert "senders *, recipients *, action Run Lambda" in steps[0].text and spec.flow_dispatcher_arn in (
        steps[0].text)
    spec.flow_dispatcher_arn = None
    assert len(flow_rule_steps(spec)) == 4


def test_the_deployed_dispatcher_reads_its_rules_and_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    from workmail_constructs.handlers import dispatcher

    rules = {"inbound": [{"name": "scan", "action": "RUN_LAMBDA", "senders": ["*"], "recipients": ["*"],
                          "lambda": {"function_arn": "$ref:WORKMAIL_FLOW_HOOK_0", "synchronous": True,
                                     "fallback_action": "DEFAULT", "timeout_minutes": 5}}]}
    monkeypatch.setenv(dispatcher.RULES_ENV, json.dumps(rules))
    monkeypatch.setenv("WORKMAIL_FLOW_HOOK_0", ARN)
    assert dispatcher._from_environment().rulesets["inbound"].rules[0].lambda_arn == ARN
    monkeypatch.delenv("WORKMAIL_FLOW_HOOK_0")
    with pytest.raises(ValueError, match="WORKMAIL_FLOW_HOOK_0"):
        dispatcher._from_environment()


def test_rules_from_s3_are_checked_against_their_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import io

    from workmail_constructs.handlers import dispatcher

    body = json.dumps(RULES).encode()

    class S3:
        def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
            assert (Bucket, Key) == ("assets", "rules.json")
            return {"Body": io.BytesIO(body)}

    monkeypatch.setenv(dispatcher.RULES_BUCKET_ENV, "assets")
    monkeypatch.setenv(dispatcher.RULES_KEY_ENV, "rules.json")
    monkeypatch.setenv(dispatcher.RULES_SHA256_ENV, hashlib.sha256(body).hexdigest())
    assert dispatcher._rules_document(lambda service: S3()) == RULES
    monkeypatch.setenv(dispatcher.RULES_SHA256_ENV, "0" * 64)
    with pytest.raises(ValueError, match="don't match their SHA-256"):
        dispatcher._rules_document(lambda service: S3())


# A message through the dispatcher and a real hook, in the emulator ---------------------------

HOOK_ARN = "arn:aws:lambda:us-east-1:123456789012:function:tag-external"
EXAMPLES = ROOT / "examples" / "hooks"


def test_flow_test_eml_runs_the_example_hook_and_the_mailbox_shows_its_change() -> None:
    result = workmail_cdk("flow", "test", "--rules", str(EXAMPLES / "rules.json"), "--direction", "inbound",
                          "--eml", str(EXAMPLES / "partner.eml"), "--recipient", "alice@corp.example",
                          "--hook", f"{HOOK_ARN}={EXAMPLES / 'tag_external_subject.py'}", "--format", "json")
    assert result.returncode == 0, result.stderr
    (alice,) = json.loads(result.stdout)
    assert alice["rule"] == "tag-external" and alice["action"] == "DEFAULT"
    assert alice["delivered_subject"] == "[External] Quarterly numbers"
    assert [h["ok"] for h in alice["hook_results"]] == [True]


def test_a_hook_without_local_code_gets_its_fallback_and_the_message_is_unchanged() -> None:
    result = workmail_cdk("flow", "test", "--rules", str(EXAMPLES / "rules.json"), "--direction", "inbound",
                          "--eml", str(EXAMPLES / "partner.eml"), "--recipient", "alice@corp.example", "--format",
                          "json")
    assert result.returncode == 0, result.stderr
    (alice,) = json.loads(result.stdout)
    assert alice["delivered_subject"] == "Quarterly numbers"
    (hook,) = alice["hook_results"]
    assert not hook["ok"] and "no local code" in hook["detail"] and "fallback DEFAULT" in hook["detail"]


def test_sender_and_from_replace_the_messages_headers() -> None:
    result = workmail_cdk("flow", "test", "--rules", str(EXAMPLES / "rules.json"), "--direction", "inbound",
                          "--eml", str(EXAMPLES / "partner.eml"), "--recipient", "alice@corp.example",
                          "--from", "deals@spam.example", "--format", "json")
    assert result.returncode == 0, result.stderr
    (alice,) = json.loads(result.stdout)
    assert (alice["rule"], alice["action"], alice["delivered_subject"]) == ("block-spam", "DROP", None)


def test_a_dropped_message_is_never_delivered(tmp_path: Path) -> None:
    spam = (EXAMPLES / "partner.eml").read_bytes().replace(b"partner@partner.example", b"deals@spam.example")
    (tmp_path / "spam.eml").write_bytes(spam)
    result = workmail_cdk("flow", "test", "--rules", str(EXAMPLES / "rules.json"), "--direction", "inbound",
                          "--eml", str(tmp_path / "spam.eml"), "--recipient", "alice@corp.example",
                          "--hook", f"{HOOK_ARN}={EXAMPLES / 'tag_external_subject.py'}")
    assert result.returncode == 0, result.stderr
    assert "DROP" in result.stdout and "rule block-spam" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--hook", f"{HOOK_ARN}=nowhere.py"), "--hook runs with a message"),
    (("--eml", "EML", "--hook", "no-equals-sign"), "ARN=FILE.py"),
    (("--eml", "EML", "--hook", f"{HOOK_ARN}=nowhere.py"), "no file nowhere.py"),
])
def test_bad_eml_input_is_one_line(args: tuple[str, ...], message: str) -> None:
    files = {"EML": str(EXAMPLES / "partner.eml")}
    result = workmail_cdk("flow", "test", "--rules", str(EXAMPLES / "rules.json"), "--direction", "inbound",
                          "--recipient", "alice@corp.example", *(files.get(a, a) for a in args))
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
