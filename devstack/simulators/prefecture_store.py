"""Persistent state of the prefecture simulator: one SQLite file in its data directory."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Outage", "SimulatorStore", "StoredTransaction"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT UNIQUE,
    siren TEXT NOT NULL,
    number TEXT NOT NULL,
    decision_year INTEGER NOT NULL,
    act_unique_id TEXT NOT NULL,
    archive_sha256 TEXT NOT NULL,
    message_xml BLOB NOT NULL,
    status INTEGER NOT NULL,
    status_message TEXT NOT NULL DEFAULT '',
    submitted_at TEXT NOT NULL,
    ar_xml BLOB,
    UNIQUE (siren, number, decision_year)
);
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL REFERENCES transactions(id),
    kind TEXT NOT NULL,
    sent_on TEXT NOT NULL,
    document_name TEXT NOT NULL,
    xml BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL,
    remaining INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outage (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    since TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredTransaction:
    """One received transmission as the simulator keeps it."""

    id: int
    idempotency_key: str | None
    siren: str
    number: str
    act_unique_id: str
    archive_sha256: str
    message_xml: bytes
    status: int
    status_message: str
    submitted_at: dt.datetime
    ar_xml: bytes | None


@dataclass(frozen=True)
class Outage:
    """A fault set from the simulator's page, in force until it is lifted there."""

    kind: str
    """``indisponible`` (every call answers HTTP 503) or ``rejet`` (every deposit gets a KO)."""
    reason: str
    """The prefecture's words for a rejected deposit."""
    since: dt.datetime


class SimulatorStore:
    """Small repository over SQLite; every call is its own transaction."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.path = data_dir / "prefecture.sqlite3"
        self._lock = threading.Lock()
        db = sqlite3.connect(self.path)
        try:
            db.executescript(SCHEMA)
        finally:
            db.close()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                db.row_factory = sqlite3.Row
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.close()

    def by_key(self, key: str) -> StoredTransaction | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM transactions WHERE idempotency_key = ?", (key,))
            return _transaction(row.fetchone())

    def by_number(self, siren: str, number: str, year: int) -> StoredTransaction | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM transactions WHERE siren = ? AND number = ? AND decision_year = ?",
                (siren, number, year),
            )
            return _transaction(row.fetchone())

    def get(self, transaction_id: int) -> StoredTransaction | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM transactions WHERE id = ?", (transaction_id,))
            return _transaction(row.fetchone())

    def all(self) -> list[StoredTransaction]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM transactions ORDER BY id").fetchall()
        return [t for row in rows if (t := _transaction(row)) is not None]

    def insert(self, **values: Any) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO transactions ({columns}) VALUES ({marks})",  # noqa: S608 - fixed names
                tuple(values.values()),
            )
            return int(cursor.lastrowid or 0)

    def set_status(
        self, transaction_id: int, status: int, message: str = "", ar_xml: bytes | None = None
    ) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE transactions SET status = ?, status_message = ?, "
                "ar_xml = COALESCE(?, ar_xml) WHERE id = ?",
                (status, message, ar_xml, transaction_id),
            )

    def add_exchange(
        self, transaction_id: int, kind: str, sent_on: dt.date, document_name: str, xml: bytes
    ) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO exchanges (transaction_id, kind, sent_on, document_name, xml) "
                "VALUES (?, ?, ?, ?, ?)",
                (transaction_id, kind, sent_on.isoformat(), document_name, xml),
            )
            return int(cursor.lastrowid or 0)

    def exchanges(self, transaction_id: int | None) -> list[dict[str, Any]]:
        query = "SELECT id, transaction_id, kind, sent_on, document_name FROM exchanges"
        args: tuple[Any, ...] = ()
        if transaction_id is not None:
            query += " WHERE transaction_id = ?"
            args = (transaction_id,)
        with self._connect() as db:
            return [dict(row) for row in db.execute(query + " ORDER BY id", args)]

    def exchange_xml(self, exchange_id: int) -> bytes | None:
        with self._connect() as db:
            row = db.execute("SELECT xml FROM exchanges WHERE id = ?", (exchange_id,)).fetchone()
        return None if row is None else bytes(row["xml"])

    def add_fault(self, endpoint: str, kind: str, count: int) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO faults (endpoint, kind, remaining) VALUES (?, ?, ?)",
                (endpoint, kind, count),
            )

    def clear_faults(self) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM faults")

    def outage(self) -> Outage | None:
        with self._connect() as db:
            row = db.execute("SELECT kind, reason, since FROM outage WHERE id = 1").fetchone()
        if row is None:
            return None
        return Outage(row["kind"], row["reason"], dt.datetime.fromisoformat(row["since"]))

    def set_outage(self, kind: str, reason: str) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO outage (id, kind, reason, since) VALUES (1, ?, ?, ?)",
                (kind, reason, dt.datetime.now(dt.UTC).isoformat()),
            )

    def lift_outage(self) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM outage")

    def take_fault(self, endpoint: str) -> str | None:
        """The next fault armed for an endpoint, consuming one use of it."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, kind, remaining FROM faults WHERE endpoint = ? AND remaining > 0 "
                "ORDER BY id LIMIT 1",
                (endpoint,),
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE faults SET remaining = remaining - 1 WHERE id = ?", (row["id"],))
            return str(row["kind"])


def _transaction(row: sqlite3.Row | None) -> StoredTransaction | None:
    if row is None:
        return None
    return StoredTransaction(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        siren=row["siren"],
        number=row["number"],
        act_unique_id=row["act_unique_id"],
        archive_sha256=row["archive_sha256"],
        message_xml=bytes(row["message_xml"]),
        status=row["status"],
        status_message=row["status_message"],
        submitted_at=dt.datetime.fromisoformat(row["submitted_at"]),
        ar_xml=None if row["ar_xml"] is None else bytes(row["ar_xml"]),
    )
