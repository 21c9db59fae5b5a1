"""``workmail-cdk diff BASE HEAD``: the WorkMail changes between two synthesized assemblies,
with no AWS, no credentials and no deploy, for inline and S3-asset specs alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runs import APP, ENV, assert_the_branch_changes, workmail_cdk


def synthesize(outdir: Path, variant: str) -> Path:
    env = {**ENV, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps({"variant": variant})}
    subprocess.run([sys.executable, "app.py"], cwd=APP, env=env, check=True, capture_output=True, timeout=300)
    return outdir


@pytest.fixture(scope="module")
def assemblies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("assemblies")
    return {variant: synthesize(root / (variant or "base"), variant) for variant in ("", "changed", "large")}


def test_the_diff_lists_what_the_branch_changes(assemblies: dict[str, Path]) -> None:
    result = workmail_cdk("diff", str(assemblies[""]), str(assemblies["changed"]), "--detailed-exitcode")
    assert result.returncode == 2, result.stderr
    lines = assert_the_branch_changes(result.stdout)
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
