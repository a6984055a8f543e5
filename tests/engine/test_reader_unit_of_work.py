"""A reading unit of work: reads beside a writer without queueing, and cannot write."""

from __future__ import annotations

import threading

import pytest

from engine.bootstrap import Platform
from engine.services.admin import create_tenant
from engine.services.tenant_clock import tenant_clock
from tests.engine.support import OPERATOR

SIREN = "213400005"


def test_a_reader_reads_while_a_writer_holds_the_database(platform: Platform) -> None:
    with platform.uow() as uow:
        create_tenant(uow, siren=SIREN, name="Commune lue", actor=OPERATOR, now=platform.clock())
        uow.commit()
    read: list[bool] = []

    def _read() -> None:
        with platform.reader() as uow:
            read.append(not tenant_clock(uow, SIREN).training)

    with platform.uow() as writer:  # on SQLite, holds the writer lock (BEGIN IMMEDIATE)
        writer.tenants.get(SIREN)
        reader = threading.Thread(target=_read)
        reader.start()
        # A reader that queued for the lock would still be waiting when the writer ends
        # (the busy timeout is 30 s); it must be done long before.
        reader.join(timeout=10)
        done_beside_the_writer = not reader.is_alive()
    reader.join()
    assert done_beside_the_writer and read == [True]


def test_a_reader_cannot_commit(platform: Platform) -> None:
    with platform.reader() as uow, pytest.raises(RuntimeError, match="read-only"):
        uow.commit()
