"""The worker killed (SIGKILL, whole worker) right after the prefecture accepted an act, and
right after the mail relay accepted a mail, before either is recorded: after redelivery the
act is transmitted once and the mail delivered once.

The window is held open by the receiving side, not by the product: the prefecture simulator
stores the act then answers late (its `timeout_after_commit` fault), the mail drop stores the
mail then answers late. The worker is killed while it waits for that answer.

- @ctes: the transmission's key is recorded before the act is sent; the retry sends with the
  same key and the tiers answers with the transaction it already has (replayed): one act.
- Mail: SMTP has no such key. The Message-ID is recorded before the first try and every retry
  sends the same one; the receiver drops the second copy (devstack's mail drop does, as do
  receivers that suppress duplicates by Message-ID). What holds against any relay: the mail is
  handed over at least once, a second copy only when the worker dies in this window, and the
  case, its journal and its record of the sending are written once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from devstack.maildrop import MailDrop
from devstack.process import free_port
from engine.bootstrap import Platform
from engine.domain.model import JobState
from engine.settings import ActesSettings, Settings, SmtpSettings
from tests.engine.connectors.conftest import PROCEDURES, reference, start_actes_case, store_pdf
from tests.engine.connectors.helpers import (
    arm,
    case_data,
    clear_faults,
    jobs,
    journal,
    tiers_transactions,
)
from tests.engine.support import SIREN_A, start
from tests.faults.support import fault_settings
from tests.fixtures.prefecture import Simulator
from tests.fixtures.processes import producer, wait_for, worker

pytestmark = pytest.mark.faults

HOLD_S = 8.0
"""How long the receiving side holds its answer after storing (the worker is killed then)."""


class HeldMailDrop(MailDrop):
    """The mail drop, holding its « 250 » after storing the first message it keeps."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.stored = threading.Event()
        self.hold = True
        self.deliveries = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.deliveries += 1
        answer = await super().handle_DATA(server, session, envelope)
        if self.hold and answer == "250 OK":
            self.hold = False
            self.stored.set()
            await asyncio.sleep(HOLD_S)
        return answer


@pytest.fixture
def mail_drop(tmp_path: Path) -> Iterator[tuple[HeldMailDrop, int]]:
    handler = HeldMailDrop(tmp_path / "courriels")
    handler.directory.mkdir()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def settings(
    private_pg_database_url: str,
    private_redis_url: str,
    tmp_path: Path,
    prefecture: Simulator,
    mail_drop: tuple[HeldMailDrop, int],
) -> Iterator[Settings]:
    pki = prefecture.pki
    assert pki is not None
    base = fault_settings(private_pg_database_url, private_redis_url, tmp_path / "data")
    yield base.model_copy(
        update={
            "smtp": SmtpSettings(
                host="127.0.0.1",
                port=mail_drop[1],
                sender="mairie@commune-test.fr",
                timeout_seconds=HOLD_S * 2,
            ),
            "actes": ActesSettings(
                base_url=prefecture.base_url,
                client_cert=pki.client_cert,
                client_key=pki.client_key,
                ca_bundle=pki.ca,
                timeout_seconds=HOLD_S * 2,
            ),
        }
    )
    clear_faults(prefecture)


def test_act_accepted_then_worker_killed_is_transmitted_once(
    settings: Settings, prefecture: Simulator, tmp_path: Path
) -> None:
    arm(prefecture, "timeout_after_commit")  # stored, then answered 5 s late
    with producer(settings, PROCEDURES) as p:
        case = start_actes_case(p)
        act_id = f"034-{SIREN_A}-20260302-{case_data(p, case)['numero_acte']}-DE"
        with worker(settings, tmp_path / "worker-1.log") as first:
            wait_for(lambda: bool(tiers_transactions(prefecture, act_id)), 60, "the act", first)
            first.kill_hard()  # the prefecture has the act; the worker had not recorded it
        (job,) = jobs(p, case, "connectors.actes_transmit")
        assert job.state == JobState.RUNNING and not journal(p, case, "actes.transmitted")
        with worker(settings, tmp_path / "worker-2.log") as second:
            wait_for(lambda: _done(p, case, "connectors.actes_transmit"), 60, "the retry", second)
        assert len(tiers_transactions(prefecture, act_id)) == 1, "the act was sent twice"
        (sent,) = journal(p, case, "actes.transmitted")
        assert sent.payload["rejoue"] is True, "the retry found the accepted transmission"
        (job,) = jobs(p, case, "connectors.actes_transmit")
        assert (job.attempts, job.interruptions) == (1, 1)
        data = case_data(p, case)
        assert data["transmission"]["transmission"] == sent.payload["transaction"]


def test_mail_accepted_then_worker_killed_is_delivered_once(
    settings: Settings, mail_drop: tuple[HeldMailDrop, int], tmp_path: Path
) -> None:
    drop, _port = mail_drop
    with producer(settings, PROCEDURES) as p:
        case = _start_mail_case(p)
        with worker(settings, tmp_path / "worker-1.log") as first:
            wait_for(drop.stored.is_set, 60, "the mail", first)
            first.kill_hard()  # the relay has the mail; the worker had not recorded it
        assert not journal(p, case, "mail.sent")
        with worker(settings, tmp_path / "worker-2.log") as second:
            wait_for(lambda: _done(p, case, "connectors.send_mail"), 60, "the retry", second)
        files = sorted(drop.directory.glob("*.eml"))
        # Handed over twice (SMTP cannot tell the retry it arrived), kept once by the receiver.
        assert drop.deliveries == 2
        assert len(files) == 1, "the receiver kept one copy"
        message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
        (sent,) = journal(p, case, "mail.sent")
        # The retry sent the Message-ID reserved before the first try: the same message.
        assert sent.payload["message_id"] == message["Message-ID"]
        (job,) = jobs(p, case, "connectors.send_mail")
        assert job.state == JobState.DONE and (job.attempts, job.interruptions) == (1, 1)


def _start_mail_case(p: Platform) -> Any:
    pdf = store_pdf(p, "convocation.pdf")
    return start(
        p,
        "mail_test",
        {
            "modele": "convocation_conseil",
            "destinataires": ["elu1@commune-test.fr", "elu2@commune-test.fr"],
            "seance": "2026-03-12T18:30:00+01:00",
            "lieu": "salle du conseil, mairie",
            "objet": "Budget primitif 2026",
            "pieces": [reference(pdf)],
        },
    )


def _done(p: Platform, case: Any, operation: str) -> bool:
    return all(j.state == JobState.DONE for j in jobs(p, case, operation))


def test_the_mail_drop_keeps_one_copy_per_message_id_and_recipients(tmp_path: Path) -> None:
    import smtplib
    from email.message import EmailMessage

    from devstack.maildrop import start_mail_drop

    port, stop = start_mail_drop(tmp_path / "courriels")
    try:
        message = EmailMessage()
        message["Message-ID"] = "<essai-1@commune-test.fr>"
        message["Subject"] = "Convocation"
        message.set_content("Bonjour")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for recipients in (["a@x.fr", "b@x.fr"], ["b@x.fr", "a@x.fr"], ["c@x.fr"]):
                smtp.send_message(message, "mairie@x.fr", recipients)
    finally:
        stop()
    # The second is a copy for the same people; the third, a recipient sent to later.
    assert len(list((tmp_path / "courriels").glob("*.eml"))) == 2
