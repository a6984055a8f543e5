"""Database engines: SQLite (embedded default) tuned for one writer, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext

from engine.domain.errors import Unavailable


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False}
        )
        _tune_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )
    event.listen(engine, "handle_error", _unavailable)
    return engine


class TransactionAborted(Unavailable):
    """The server aborted the transaction to let a concurrent one through: a deadlock
    (SQLSTATE 40P01) or a serialization failure (40001). Nothing of it is written; running it
    again from the start succeeds. The job runner does so at once (`operations/runner._write`);
    elsewhere it is an `Unavailable` (503, the worker's short retry)."""


ABORTED_SQLSTATES = frozenset({"40P01", "40001"})


def _unavailable(context: ExceptionContext) -> None:
    """A lost or refused connection becomes the engine's `Unavailable` (the web answers 503,
    the worker retries), a deadlock or serialization failure its `TransactionAborted`; other
    database errors keep their type. The transaction in progress is rolled back by the server:
    nothing of it is written."""
    sqlstate = getattr(context.original_exception, "sqlstate", None)
    if sqlstate in ABORTED_SQLSTATES:
        raise TransactionAborted(
            "transaction interrompue par une écriture concurrente ; réessayez"
        ) from context.original_exception
    if context.is_disconnect or context.connection is None:
        if context.is_pre_ping:
            return  # the pool opens a fresh connection, which raises here if it fails too
        raise Unavailable(
            "la base de données ne répond pas ; réessayez dans quelques instants"
        ) from context.original_exception


def _tune_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE: a writer takes the lock up front instead of
    failing with 'database is locked' when it upgrades from reading to writing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A reader (READ_ONLY) takes no lock: in WAL mode it reads the last committed state
        # beside the writer instead of queueing behind it.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


READ_ONLY = "dematflow_read_only"
"""Execution option of a connection that only reads (see `UnitOfWork(read_only=True)`)."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
