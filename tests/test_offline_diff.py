"""``workmail-cdk diff BASE HEAD``: the WorkMail changes between two synthesized assemblies,
with no AWS, no credentials and no deploy, for inline and S3-asset specs alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = Path(__file__).parent / "fixtures" / "local_deploy_app"
ENV = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
       "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "COLUMNS": "200"}


def synthesize(outdir: Path, variant: str) -> Path:
    env = {**ENV, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps({"variant": variant})}
    subprocess.run([sys.executable, "app.py"], cwd=APP, env=env, check=True, capture_output=True, timeout=300)
    return outdir


def workmail_cdk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from workmail_constructs.cli import main; main()", *args],
                          env=ENV, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("assemblies")
    return {variant: synthesize(root / (variant or "base"), variant) for variant in ("", "changed", "large")}


def test_the_diff_lists_what_the_branch_changes(assemblies: dict[str, Path]) -> None:
    result = workmail_cdk("diff", str(assemblies[""]), str(assemblies["changed"]), "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert any(line.startswith("+ user carol") for line in lines)
    assert any(line.startswith("~ user alice changed: aliases") for line in lines)
    assert any(line.startswith("~ user bob changed: display_name") for line in lines)
    assert any(line.startswith("~ access_control_rule no-imap changed: actions") for line in lines)
    assert "Plan: 2 to create, 3 to update, 0 to replace, 0 to delete (0 destructive)." in lines
    # No throwaway organization id: the reader knows none.
    assert not any("m-" in line for line in lines)


def test_the_same_assembly_has_no_changes(assemblies: dict[str, Path]) -> None:
    result = workmail_cdk("diff", str(assemblies[""]), str(assemblies[""]), "--detailed-exitcode")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No changes.")


def test_an_s3_spec_is_compared_as_well_and_removals_are_destructive(assemblies: dict[str, Path]) -> None:
    template = json.loads((assemblies["large"] / "LocalMail.template.json").read_text())
    assert "SpecLocation" in template["Resources"]["OrganizationDirectory3A39E907"]["Properties"]
    added = workmail_cdk("diff", str(assemblies["changed"]), str(assemblies["large"]), "--format", "json")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["summary"]["create"] == 700
    removed = workmail_cdk("diff", str(assemblies["large"]), str(assemblies["changed"]), "--format", "json")
    assert removed.returncode == 0, removed.stderr
    summary = json.loads(removed.stdout)["summary"]
    assert summary["delete"] == 700 and summary["destructive"] == 700
    comment = workmail_cdk("diff", str(assemblies["large"]), str(assemblies["changed"]), "--format", "markdown")
    assert comment.stdout.startswith("## WorkMail plan\n") and "Destructive changes (700)" in comment.stdout


def test_what_is_not_an_assembly_is_one_line(tmp_path: Path, assemblies: dict[str, Path]) -> None:
    result = workmail_cdk("diff", str(tmp_path), str(assemblies[""]))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {tmp_path} is not a cloud assembly (no manifest.json); synthesize into it first"]
