"""The documented examples run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_reconcile_example_runs() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "reconcile_with_emulator.py")],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Applied 7 changes" in result.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 2 to delete (1 destructive)." in result.stdout
    assert "### ⚠️ Destructive changes (1)" in result.stdout
