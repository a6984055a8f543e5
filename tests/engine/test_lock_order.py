"""Lock order on PostgreSQL: a case's row before its tenant's journal head, and a transaction
the server aborts (deadlock, serialization failure) is run again at once by the job runner.

The two paths the pipeline benchmark caught deadlocking: the @ctes poller journals the
acknowledgement and then delivers it to the case (journal head, then case row); the job runner
advances the case and then journals the job (case row, then journal head)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from engine.bootstrap import Platform
from engine.operations import runner
from engine.persistence.db import TransactionAborted
from engine.persistence.uow import UnitOfWork
from tests.engine.support import SIREN_A, make_tenants


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: SQLite has one writer at a time, hence no row locks to order."""
    return pg_database_url


@pytest.fixture
def pg_platform(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def test_a_transaction_aborted_by_the_server_is_run_again_by_the_job_runner(
    pg_platform: Platform,
) -> None:
    """40P01 (deadlock) and 40001 (serialization failure): nothing was written; the runner
    runs the write again itself instead of leaving the job to the outbox relay."""
    for sqlstate in ("40P01", "40001"):
        runs: list[int] = []

        def body(uow: UnitOfWork, sqlstate: str = sqlstate, runs: list[int] = runs) -> Any:
            runs.append(1)
            if len(runs) == 1:
                uow.connection.execute(
                    text(
                        f"DO $$ BEGIN RAISE EXCEPTION 'aborted' USING ERRCODE = '{sqlstate}'; END $$"
                    )
                )
            return uow.tenants.next_counter(SIREN_A, f"retry-{sqlstate}")

        assert runner._write(pg_platform.uow, body) == 1
        assert len(runs) == 2


def test_a_transaction_aborted_by_the_server_is_transaction_aborted(
    pg_platform: Platform,
) -> None:
    with pg_platform.uow() as uow, pytest.raises(TransactionAborted):
        uow.connection.execute(
            text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
        )
