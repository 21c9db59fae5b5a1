"""The emulator's state: named tables of JSON records, kept in memory and persisted to SQLite.

Every piece of state (organizations, entities, address and name indexes, rules,
jobs, timers) is a record in a table, so there is no derived state to rebuild
after a restart. Reads are served from memory; a request's writes are flushed to
SQLite in one transaction when the request ends, so a crash loses at most the
request in flight and never half of one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]

# Organization-independent tables live under this pseudo organization id.
GLOBAL = ""


class Table:
    """One named collection of records inside one organization (or GLOBAL)."""

    def __init__(self, store: Store, org: str, name: str, rows: dict[str, Record]) -> None:
        self._store = store
        self._org = org
        self._name = name
        self._rows = rows

    def get(self, key: str) -> Record | None:
        return self._rows.get(key)

    def put(self, key: str, record: Record) -> Record:
        """Insert or replace; call it again after changing a record in place so it is persisted."""
        self._rows[key] = record
        self._store.mark(self._org, self._name, key)
        return record

    def delete(self, key: str) -> Record | None:
        record = self._rows.pop(key, None)
        if record is not None:
            self._store.mark(self._org, self._name, key)
        return record

    def values(self) -> list[Record]:
        return list(self._rows.values())

    def keys(self) -> list[str]:
        return list(self._rows.keys())

    def items(self) -> Iterator[tuple[str, Record]]:
        return iter(list(self._rows.items()))

    def ordered(self, sort_key: Callable[[Record], str], name: str) -> list[Record]:
        """The records sorted by ``sort_key``, cached until the table next changes.

        List operations page through large tables (a 10,000-user directory) one page
        per call; sorting once per change instead of once per page keeps a page cheap.
        ``name`` identifies the ordering, as key functions are often fresh lambdas.
        """
        return self._store.ordered(self._org, self._name, self._rows, sort_key, name)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)


class Store:
    """All tables, with write-through persistence when a SQLite path is given."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._data: dict[tuple[str, str], dict[str, Record]] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        self._versions: dict[tuple[str, str], int] = {}
        self._orderings: dict[tuple[str, str, str], tuple[int, list[Record]]] = {}
        self._db: sqlite3.Connection | None = None
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records ("
                " org TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,"
                " PRIMARY KEY (org, tbl, key))"
            )
            for org, tbl, key, body in self._db.execute("SELECT org, tbl, key, body FROM records"):
                self._data.setdefault((org, tbl), {})[key] = json.loads(body)

    def table(self, org: str, name: str) -> Table:
        return Table(self, org, name, self._data.setdefault((org, name), {}))

    def drop_organization(self, org: str) -> None:
        """Remove every table of an organization (its records, not the organization record itself)."""
        for (table_org, name), rows in list(self._data.items()):
            if table_org == org:
                for key in rows:
                    self.mark(org, name, key)
                rows.clear()

    def mark(self, org: str, name: str, key: str) -> None:
        self._dirty.add((org, name, key))
        self._versions[(org, name)] = self._versions.get((org, name), 0) + 1

    def ordered(
        self, org: str, name: str, rows: dict[str, Record], sort_key: Callable[[Record], str], ordering: str
    ) -> list[Record]:
        version = self._versions.get((org, name), 0)
        cached = self._orderings.get((org, name, ordering))
        if cached is not None and cached[0] == version:
            return cached[1]
        records = sorted(rows.values(), key=sort_key)
        self._orderings[(org, name, ordering)] = (version, records)
        return records

    def flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        if self._db is None:
            return
        upserts = []
        deletes = []
        for org, name, key in dirty:
            record = self._data.get((org, name), {}).get(key)
            if record is None:
                deletes.append((org, name, key))
            else:
                upserts.append((org, name, key, json.dumps(record, separators=(",", ":"))))
        db = self._db
        db.execute("BEGIN")
        try:
            if deletes:
                db.executemany("DELETE FROM records WHERE org=? AND tbl=? AND key=?", deletes)
            if upserts:
                db.executemany("INSERT OR REPLACE INTO records (org, tbl, key, body) VALUES (?, ?, ?, ?)", upserts)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None
