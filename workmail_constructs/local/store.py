"""The emulator's state: named tables of JSON records, kept in memory and backed by SQLite.

Every piece of state (organizations, entities, address and name indexes, rules,
jobs, timers) is a record in a table, so there is no derived state to rebuild
after a restart. Reads are served from memory.

Changes are transactional. The engine runs each request (and each timer) between
``begin`` and ``commit``: the commit writes the request's changes to SQLite in one
transaction, and ``rollback`` puts back every record the request touched from the
last commit, so a request that fails changes nothing, in memory or on disk. The
committed copy lives in SQLite: in the state file, or in an in-memory database
when the emulator keeps no file.
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

# Marks a SQLite file as the emulator's ("WMEM"), so another program's database is refused.
APPLICATION_ID = 0x574D454D
SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records ("
    " org TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL,"
    " PRIMARY KEY (org, tbl, key))"
)
_RECORD_COLUMNS = ["org", "tbl", "key", "body"]


class StateFileError(ValueError):
    """The state file can't be used: a missing folder, not a database, or another program's database."""


class Table:
    """One named collection of records inside one organization (or GLOBAL).

    Records are live: a handler may change one in place, then ``put`` it. Every
    record a request reaches is noted, so a rollback can put it back.
    """

    def __init__(self, store: Store, org: str, name: str, rows: dict[str, Record]) -> None:
        self._store = store
        self._org = org
        self._name = name
        self._rows = rows

    def get(self, key: str) -> Record | None:
        record = self._rows.get(key)
        if record is not None:
            self._store.touch(self._org, self._name, key)
        return record

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
        self._store.touch_table(self._org, self._name)
        return list(self._rows.values())

    def keys(self) -> list[str]:
        return list(self._rows.keys())

    def items(self) -> Iterator[tuple[str, Record]]:
        self._store.touch_table(self._org, self._name)
        return iter(list(self._rows.items()))

    def ordered(self, sort_key: Callable[[Record], str], name: str) -> list[Record]:
        """The records sorted by ``sort_key``, cached until the table next changes.

        List operations page through large tables (a 10,000-user directory) one page
        per call; sorting once per change instead of once per page keeps a page cheap.
        ``name`` identifies the ordering, as key functions are often fresh lambdas.
        """
        self._store.touch_table(self._org, self._name)
        return self._store.ordered(self._org, self._name, self._rows, sort_key, name)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)


class Store:
    """All tables, with a committed copy in SQLite (a file when a path is given, else memory)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._data: dict[tuple[str, str], dict[str, Record]] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        self._touched: set[tuple[str, str, str]] = set()
        self._touched_tables: set[tuple[str, str]] = set()
        self._versions: dict[tuple[str, str], int] = {}
        self._orderings: dict[tuple[str, str, str], tuple[int, list[Record]]] = {}
        self.path = Path(path) if path is not None else None
        self._db: sqlite3.Connection | None = _open(self.path)
        for org, tbl, key, body in self._db.execute("SELECT org, tbl, key, body FROM records"):
            self._data.setdefault((org, tbl), {})[key] = json.loads(body)

    def table(self, org: str, name: str) -> Table:
        return Table(self, org, name, self._data.setdefault((org, name), {}))

    def dump(self) -> dict[str, dict[str, Record]]:
        """Every record held in memory, by ``org/table``: what the emulator knows right now."""
        return {f"{org}/{name}": json.loads(json.dumps(rows)) for (org, name), rows in sorted(self._data.items())
                if rows}

    def dump_committed(self) -> dict[str, dict[str, Record]]:
        """Every record committed to SQLite, by ``org/table``: what a restart would find."""
        dumped: dict[str, dict[str, Record]] = {}
        for org, name, key, body in self._connection().execute(
            "SELECT org, tbl, key, body FROM records ORDER BY org, tbl, key"
        ):
            dumped.setdefault(f"{org}/{name}", {})[key] = json.loads(body)
        return dumped

    def drop_organization(self, org: str) -> None:
        """Remove every table of an organization (its records, not the organization record itself)."""
        for (table_org, name), rows in list(self._data.items()):
            if table_org == org:
                for key in rows:
                    self.mark(org, name, key)
                rows.clear()

    # Change tracking ----------------------------------------------------------
    def touch(self, org: str, name: str, key: str) -> None:
        self._touched.add((org, name, key))

    def touch_table(self, org: str, name: str) -> None:
        self._touched_tables.add((org, name))

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

    # Transactions -------------------------------------------------------------
    def commit(self) -> None:
        """Write every changed record to SQLite in one transaction; on failure, roll back and raise."""
        dirty = self._dirty
        if dirty:
            upserts = []
            deletes = []
            for org, name, key in dirty:
                record = self._data.get((org, name), {}).get(key)
                if record is None:
                    deletes.append((org, name, key))
                else:
                    upserts.append((org, name, key, json.dumps(record, separators=(",", ":"))))
            db = self._connection()
            try:
                db.execute("BEGIN")
                if deletes:
                    db.executemany("DELETE FROM records WHERE org=? AND tbl=? AND key=?", deletes)
                if upserts:
                    db.executemany(
                        "INSERT OR REPLACE INTO records (org, tbl, key, body) VALUES (?, ?, ?, ?)", upserts
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                self.rollback()
                raise
        self._forget_changes()

    def rollback(self) -> None:
        """Put back, from the last commit, every record touched since then."""
        db = self._connection()
        for org, name in self._touched_tables:
            rows = self._data.setdefault((org, name), {})
            rows.clear()
            for key, body in db.execute("SELECT key, body FROM records WHERE org=? AND tbl=?", (org, name)):
                rows[key] = json.loads(body)
            self._versions[(org, name)] = self._versions.get((org, name), 0) + 1
        for org, name, key in self._touched | self._dirty:
            if (org, name) in self._touched_tables:
                continue
            rows = self._data.setdefault((org, name), {})
            row = db.execute(
                "SELECT body FROM records WHERE org=? AND tbl=? AND key=?", (org, name, key)
            ).fetchone()
            if row is None:
                rows.pop(key, None)
            else:
                rows[key] = json.loads(row[0])
            self._versions[(org, name)] = self._versions.get((org, name), 0) + 1
        self._forget_changes()

    def _forget_changes(self) -> None:
        self._dirty = set()
        self._touched = set()
        self._touched_tables = set()

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the emulator's state is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self.commit()
            self._db.close()
            self._db = None


def _open(path: Path | None) -> sqlite3.Connection:
    """Open (or create) the state database, refusing anything that is not the emulator's."""
    if path is None:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.execute(_SCHEMA)
        return db
    if not path.parent.is_dir():
        raise StateFileError(f"can't keep state in {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise StateFileError(f"can't keep state in {path}: it is a folder, not a file")
    try:
        db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateFileError(f"can't open the state file {path}: {exc}") from None
    try:
        _check_and_init(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _check_and_init(db: sqlite3.Connection, path: Path) -> None:
    try:
        application_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    except sqlite3.DatabaseError as exc:
        raise StateFileError(f"{path} is not a WorkMail emulator state file ({exc})") from None
    if application_id not in (0, APPLICATION_ID):
        raise StateFileError(f"{path} is another program's SQLite database, not a WorkMail emulator state file")
    if tables:
        columns = [row[1] for row in db.execute("PRAGMA table_info(records)")]
        if tables != ["records"] or columns != _RECORD_COLUMNS:
            raise StateFileError(
                f"{path} is another program's SQLite database (it holds the tables {', '.join(sorted(tables))}), "
                "not a WorkMail emulator state file"
            )
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except sqlite3.Error as exc:
        raise StateFileError(f"can't use the state file {path}: {exc}") from None
