"""docs/leaving-workmail.md as written: the example app deployed locally, every mailbox
exported to its MailboxExportTarget (found by --target-stack), the decommission planned and
carried out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli_runs import workmail_cdk

ROOT = Path(__file__).parent.parent


def test_the_leaving_walk_runs_as_documented(tmp_path: Path) -> None:
    for name in ("app.py", "cdk.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    deployed = workmail_cdk("deploy", "--local", cwd=tmp_path)
    assert deployed.returncode == 0, deployed.stderr
    assert "WorkMailExample.MailboxExports" in deployed.stdout and "= workmail-export/" in deployed.stdout
    exported = workmail_cdk("mailboxes", "export", "--local", "--all", "--target-stack", "WorkMailExample",
                            cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    (report,) = tmp_path.glob("mailbox-exports-*.json")
    written = json.loads(report.read_text())
    assert written["bucket"].startswith("workmailexample-mailboxexports")
    assert written["summary"]["verified"] == written["summary"]["mailboxes"] == 6
    # Within 24 hours, a second pass takes every export on instead of starting another.
    again = workmail_cdk("mailboxes", "export", "--local", "--all", "--target-stack", "WorkMailExample",
                         "--journal", "final-exports.jsonl", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "final-exports.json").read_text())["summary"]["taken on"] == 6
    planned = workmail_cdk("decommission", "--local", "--format", "json", cwd=tmp_path)
    plan = json.loads(planned.stdout)
    assert all(e["fresh"] for e in plan["exports"]) and len(plan["exports"]) == 6
    assert [c["kind"] for c in plan["deletion"]["changes"]][-1] == "organization"
    # The demo's domain isn't a WorkMail domain in real DNS, and CI may have no DNS at all.
    done = workmail_cdk("decommission", "--local", "--apply", "--confirm", "example-org", "--skip-mx-check",
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Decommissioned example-org" in done.stderr
