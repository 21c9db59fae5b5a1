"""``workmail-cdk flow``: email flow rules checked and tried out offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from .cli_options import app_options

if TYPE_CHECKING:
    from .core.flow_evaluation import Outcome
    from .core.flow_rules_file import RulesFile
    from .core.spec import EmailFlowRuleSpec, FlowDirection

# What `flow validate` exits with for rules that are not valid (click's usage errors are 2).
INVALID_EXIT = 1


@click.group()
def flow() -> None:
    """Email flow rules (which WorkMail's API can't read or write): validate them, and see
    what they do to a message."""


rules_option = click.option("--rules", "rules_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                            help='A rules file: {"inbound": [RULE...], "outbound": [RULE...]} (docs/flow-rules.md).')


@flow.command("validate")
@click.option("--rules", "rules_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help='The rules file: {"inbound": [RULE...], "outbound": [RULE...]} (docs/flow-rules.md).')
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(rules_file: Path, output_format: str) -> None:
    """Check a rules file against the Guide's rules: patterns, actions per direction, the Run
    Lambda settings and the quotas. Exit 0 when valid, 1 with every problem otherwise.

    \b
    Example:
      workmail-cdk flow validate --rules rules.json
    """
    read = _read(rules_file)
    if output_format == "json":
        click.echo(json.dumps({"valid": not read.problems, "rules": len(read.rules), "problems": [
            {"path": p.path, "message": p.message} for p in read.problems]}, indent=2))
    elif read.problems:
        for problem in read.problems:
            click.echo(str(problem))
    else:
        counts = {d: sum(r.direction == d for r in read.rules) for d in ("inbound", "outbound")}
        click.echo(f"{rules_file}: valid ({counts['inbound']} inbound, {counts['outbound']} outbound rules)")
    if read.problems:
        if output_format == "text":
            click.echo(f"{len(read.problems)} problem(s) in {rules_file}", err=True)
        sys.exit(INVALID_EXIT)


@flow.command("test")
@rules_option
@app_options("take the rules from", state=False)
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), required=True)
@click.option("--sender", help="The message's Sender header.")
@click.option("--from", "from_address", help="The message's From header.")
@click.option("--recipient", "recipients", multiple=True, required=True, help="A recipient (repeatable).")
@click.option("--outbound-tie-break", type=click.Choice(["listed", "most-restrictive"]), default="listed",
              show_default=True, help="Between outbound rules as specific: the Guide's listed order, or the most "
                                      "restrictive action first (docs/flow-rules.md).")
@click.option("--specificity", type=click.Choice(["sender-first", "recipient-first"]), default="sender-first",
              show_default=True, help="Which match ranks rules first: the sender pattern's or the recipient's.")
@click.option("--eml", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A message (RFC 5322 file): also run the dispatcher and the hooks on it, in an emulator, and "
                   "show what was delivered. Its Sender and From headers are matched (--sender and --from "
                   "replace them).")
@click.option("--hook", "hooks", multiple=True, metavar="ARN=FILE.py[:FUNCTION]",
              help="With --eml: the local code of a Run Lambda rule's function (repeatable).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def test(rules_file: Path | None, app: str | None, stack: str | None, direction: str, sender: str | None,
         from_address: str | None, recipients: tuple[str, ...], outbound_tie_break: str, specificity: str,
         eml: Path | None, hooks: tuple[str, ...], output_format: str) -> None:
    """Show what the rules do to a message, recipient by recipient: the deciding rule and its
    action, as the WorkMail console's "Test configuration" would.

    With --eml, the message is also run through the flow rules dispatcher and the Run Lambda
    hooks (--hook: your function's file), in an emulator, as WorkMail would run them, and each
    recipient's mailbox shows the message as delivered.

    \b
    Example:
      workmail-cdk flow test --rules rules.json --direction inbound --sender news@spam.example \\
          --recipient alice@corp.example --recipient bob@corp.example
      workmail-cdk flow test --rules examples/hooks/rules.json --direction inbound \\
          --eml examples/hooks/partner.eml --recipient alice@corp.example \\
          --hook arn:aws:lambda:us-east-1:123456789012:function:tag-external=examples/hooks/tag_external_subject.py
    """
    from .core.flow_evaluation import FlowSettings, OutboundTieBreak, SpecificityOrder, evaluate
    from .core.spec import FlowDirection

    if (rules_file is None) == (app is None):
        raise click.UsageError("give the rules with --rules FILE or --app CMD (one of them)")
    if hooks and eml is None:
        raise click.UsageError("--hook runs with a message: give --eml too")
    rules = _valid_rules(rules_file) if rules_file is not None else _app_rules(app, stack)
    if eml is not None:
        _run_eml(rules, cast(FlowDirection, direction), eml, list(recipients), hooks, output_format,
                 sender=sender, from_address=from_address)
        return
    if not sender and not from_address:
        raise click.UsageError("give the message's --sender or --from (or both)")
    settings = FlowSettings(outbound_tie_break=cast(OutboundTieBreak, outbound_tie_break),
                            specificity=cast(SpecificityOrder, specificity))
    outcomes = evaluate(rules, cast(FlowDirection, direction), sender=sender, from_address=from_address,
                        recipients=list(recipients), settings=settings)
    if output_format == "json":
        click.echo(json.dumps([_outcome_data(o) for o in outcomes], indent=2))
        return
    header = ", ".join(f"{name} {value}" for name, value in (("Sender", sender), ("From", from_address)) if value)
    click.echo(f"{direction} message, {header}:")
    width = max(len(o.recipient) for o in outcomes)
    for outcome in outcomes:
        click.echo(f"  {outcome.recipient:<{width}}  {_describe(outcome)}")


def _run_eml(rules: list[EmailFlowRuleSpec], direction: FlowDirection, eml: Path, recipients: list[str],
             hooks: tuple[str, ...], output_format: str, *, sender: str | None, from_address: str | None) -> None:
    from .local.flow_run import FlowRunError, load_hook, run_message

    try:
        functions = dict(load_hook(spec) for spec in hooks)
        run = run_message(rules, direction, eml.read_bytes(), recipients, functions, sender=sender,
                          from_address=from_address)
    except FlowRunError as exc:
        raise click.ClickException(str(exc)) from None
    results = {r.recipient: r for r in run.recipients}
    hook_results = [vars(h) for h in run.dispatched.hook_results]
    if output_format == "json":
        click.echo(json.dumps([
            {"recipient": r.recipient, "action": r.action, "rule": r.rule,
             "hook_results": [h for h in hook_results if r.recipient in h["recipients"]],
             "delivered_subject": r.delivered_subject}
            for r in run.recipients], indent=2))
        return
    click.echo(f"{direction} message {eml.name}, run through the dispatcher:")
    width = max(len(r) for r in results)
    for result in run.recipients:
        delivered = f"; delivered with subject {result.delivered_subject!r}" if result.delivered_subject else ""
        click.echo(f"  {result.recipient:<{width}}  {result.action or 'DEFAULT':<17} "
                   f"rule {result.rule or '(none)'}{delivered}")
    for hook in run.dispatched.hook_results:
        state = "answered" if hook.ok else f"failed: {hook.detail}"
        click.echo(f"  hook {hook.rule} ({hook.function_arn}): {state}")
    for note in run.dispatched.notes:
        click.echo(f"  note: {note}")


def _read(rules_file: Path) -> RulesFile:
    from .core.flow_rules_file import read_rules

    try:
        data = json.loads(rules_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{rules_file}: {exc}", param_hint="--rules") from None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{rules_file} is not JSON: {exc}", param_hint="--rules") from None
    return read_rules(data)


def _valid_rules(rules_file: Path) -> list[EmailFlowRuleSpec]:
    read = _read(rules_file)
    if read.problems:
        shown = "; ".join(str(p) for p in read.problems[:3])
        more = f" (and {len(read.problems) - 3} more)" if len(read.problems) > 3 else ""
        raise click.BadParameter(f"{rules_file} has problems: {shown}{more}; see `workmail-cdk flow validate`",
                                 param_hint="--rules")
    return read.rules


def _app_rules(app: str | None, stack: str | None) -> list[EmailFlowRuleSpec]:
    """The flow rules the app's directory declares (synthesized offline, with stand-ins)."""
    import tempfile

    from .local.config import DEFAULT_ACCOUNT, DEFAULT_REGION
    from .local.deploy.assembly import AssemblyError, app_command, synthesized_stack
    from .local.deploy.declared import DeclaredError, declared_directories

    directory = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="workmail-flow-") as scratch:
        try:
            artifact = synthesized_stack(app_command(app, directory), directory, Path(scratch) / "cdk.out", stack)
            declared = declared_directories(artifact, None, default_region=DEFAULT_REGION,
                                            default_account=DEFAULT_ACCOUNT, stand_ins=True)
        except (AssemblyError, DeclaredError) as exc:
            raise click.ClickException(str(exc)) from None
    rules = [rule for one in declared for rule in one.spec.email_flow_rules]
    if not rules:
        raise click.ClickException(f"the stack {artifact.name} declares no email flow rules")
    return rules


def _describe(outcome: Outcome) -> str:
    if outcome.rule is None:
        return "no rule matches: WorkMail's normal flow"
    header = "Sender" if outcome.matched_on == "sender" else "From"
    text = f"{outcome.action:<21} rule {outcome.rule.name} (matched on {header})"
    if outcome.action == "RUN_LAMBDA":
        mode = ("synchronous: its answer decides, else the fallback " + str(outcome.rule.fallback_action)
                if outcome.rule.synchronous else "asynchronous: delivered as usual while it runs")
        text += f"; {mode}"
    return text


def _outcome_data(outcome: Outcome) -> dict[str, Any]:
    # Hooks run only on a message's content; with headers alone none runs.
    return {"recipient": outcome.recipient, "action": outcome.action,
            "rule": outcome.rule.name if outcome.rule is not None else None, "hook_results": []}
