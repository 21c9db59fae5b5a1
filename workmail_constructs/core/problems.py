"""A problem found in a spec or a rules file: where, and what. Apart from the checks that
find them, so that code that only reports problems imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (object by name, then field) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
