"""Lock order on PostgreSQL: a case's row before its tenant's journal head, and a transaction
the server aborts (deadlock, serialization failure) is run again at once by the job runner.

The two paths the pipeline benchmark caught deadlocking: the @ctes poller journals the
acknowledgement and then delivers it to the case (journal head, then case row); the job runner
advances the case and then journals the job (case row, then journal head)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from engine.bootstrap import Platform
from engine.domain.errors import Conflict
from engine.operations import runner
from engine.persistence.db import TransactionAborted
from engine.persistence.uow import UnitOfWork
from engine.services.steps import load_case, save_loaded
from tests.engine.support import SIREN_A, make_tenants, start

MEET_PATIENCE = 3.0
"""How long a path waits at the meeting point for the other. With one lock order the other
path is queued on a lock and never comes: then this one goes on alone (no timing is asserted)."""


@pytest.fixture
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: SQLite has one writer at a time, hence no row locks to order."""
    return pg_database_url


@pytest.fixture
def pg_platform(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def _meet(barrier: threading.Barrier) -> None:
    with contextlib.suppress(threading.BrokenBarrierError):  # the other waits on our lock
        barrier.wait(timeout=MEET_PATIENCE)


def _in_thread(body: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    def _run() -> None:
        try:
            body()
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=_run)
    thread.start()
    return thread


def test_journal_then_advance_and_advance_then_journal_do_not_deadlock(
    pg_platform: Platform,
) -> None:
    platform = pg_platform
    case = start(platform, "arrete")
    now = platform.clock()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    committed: list[str] = []

    def _journal(uow: UnitOfWork, kind: str) -> None:
        uow.journal.append(
            tenant=SIREN_A, kind=kind, case_id=case.id, actor="tests", payload={}, now=now
        )

    def connector_path() -> None:  # as actes_polling._store_ack: journal, then deliver
        with platform.uow() as uow:
            loaded = load_case(uow, SIREN_A, case.id)
            _journal(uow, "actes.acknowledged")
            _meet(barrier)
            save_loaded(uow, loaded, now=now)
            uow.commit()
        committed.append("connector")

    def worker_path() -> None:  # as the job runner's _apply: advance, then journal
        with platform.uow() as uow:
            loaded = load_case(uow, SIREN_A, case.id)
            save_loaded(uow, loaded, now=now)
            _meet(barrier)
            _journal(uow, "job.succeeded")
            uow.commit()
        committed.append("worker")

    threads = [_in_thread(connector_path, errors), _in_thread(worker_path, errors)]
    for thread in threads:
        thread.join()

    # One lock order: the second to reach the case waits for the first and then loses cleanly
    # on the case's version (Conflict, which the runner retries); never a deadlock.
    assert [e for e in errors if not isinstance(e, Conflict)] == []
    assert len(committed) + len(errors) == 2 and committed
    with platform.uow() as uow:
        stored = uow.cases.get(SIREN_A, case.id)
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
    assert stored is not None and stored.version == case.version + len(committed)
    assert ("actes.acknowledged" in kinds) == ("connector" in committed)
    assert ("job.succeeded" in kinds) == ("worker" in committed)


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
