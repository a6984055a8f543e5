"""connectors.send_mail through the engine: French template, journal, once, server down."""

from __future__ import annotations

import email
import email.policy
import hashlib

import pytest

from engine.bootstrap import Platform, build_operations
from engine.domain.model import Case, CaseStatus, JobState
from engine.operations.base import OperationRetry
from engine.operations.runner import run_job
from engine.settings import Settings, SmtpSettings
from tests.engine.connectors.conftest import reference, store_pdf
from tests.engine.connectors.helpers import current, jobs, journal, run
from tests.engine.support import call_operation, start
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.integration


def _start(
    platform: Platform, modele: str = "convocation_conseil", to: list[str] | None = None
) -> Case:
    pdf = store_pdf(platform, "convocation.pdf")
    return start(
        platform,
        "mail_test",
        {
            "modele": modele,
            "destinataires": to or ["elu1@commune-test.fr", "elu2@commune-test.fr"],
            "seance": "2026-03-12T18:30:00+01:00",
            "lieu": "salle du conseil, mairie",
            "objet": "Budget primitif 2026",
            "pieces": [reference(pdf)],
        },
    )


def test_mail_sent_once_and_journaled(cplatform: Platform, smtp_inbox: SmtpServer) -> None:
    case = _start(cplatform)
    (job,) = jobs(cplatform, case)
    assert run(cplatform, job).state == JobState.DONE
    assert run(cplatform, job).detail == "déjà traité"
    # the operation itself, run again with the same key (a crash after sending): no resend
    again = call_operation(
        cplatform, job.operation, dict(job.params), case_id=case.id, key=job.idempotency_key
    )
    assert len(smtp_inbox.received) == 1
    received = smtp_inbox.received[0]
    assert set(received.recipients) == {"elu1@commune-test.fr", "elu2@commune-test.fr"}
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert message["Subject"].startswith("Convocation au conseil Commune de Montpellier-le-Test")
    body = message.get_body(("plain",))
    assert body is not None and "12 mars 2026 à 18 h 30" in body.get_content()
    assert [p.get_filename() for p in message.iter_attachments()] == ["convocation.pdf"]
    (sent,) = journal(cplatform, case, "mail.sent")
    assert sent.payload["message_id"] == message["Message-ID"] == again["message_id"]
    assert sent.payload["sha256"] == hashlib.sha256(received.data).hexdigest()
    assert current(cplatform, case).status == CaseStatus.COMPLETED


def test_server_down_retries_and_loses_nothing(
    cplatform: Platform, csettings: Settings, smtp_inbox: SmtpServer, smtp_down_port: int
) -> None:
    case = _start(cplatform)
    (job,) = jobs(cplatform, case)
    down = build_operations(
        csettings.model_copy(
            update={"smtp": SmtpSettings(host="127.0.0.1", port=smtp_down_port, timeout_seconds=2)}
        )
    )
    with pytest.raises(OperationRetry, match="injoignable"):
        run_job(job.id, uow_factory=cplatform.uow, operations=down, clock=cplatform.clock)
    assert smtp_inbox.received == []
    assert current(cplatform, case).status == CaseStatus.RUNNING
    assert run(cplatform, job).state == JobState.DONE
    assert len(smtp_inbox.received) == 1


def test_deferred_recipient_gets_it_later_with_the_same_message_id(
    cplatform: Platform, smtp_inbox: SmtpServer
) -> None:
    case = _start(cplatform, to=["elu1@commune-test.fr", "tempfail@commune-test.fr"])
    (job,) = jobs(cplatform, case)
    with pytest.raises(OperationRetry, match="différés"):
        run(cplatform, job)
    assert [m.recipients for m in smtp_inbox.received] == [("elu1@commune-test.fr",)]
    with pytest.raises(OperationRetry, match="différé"):
        run(cplatform, job)  # still deferred: only that address is tried, elu1 gets no copy
    assert len(smtp_inbox.received) == 1
    (sent,) = journal(cplatform, case, "mail.sent")
    assert sent.payload["differes"].keys() == {"tempfail@commune-test.fr"}
    assert current(cplatform, case).status == CaseStatus.RUNNING


def test_unknown_template_and_unconfigured_relay(
    cplatform: Platform, csettings: Settings, smtp_inbox: SmtpServer
) -> None:
    case = _start(cplatform, modele="modele_inexistant")
    (job,) = jobs(cplatform, case)
    assert run(cplatform, job).state == JobState.FAILED
    assert "Modèle de courriel inconnu" in (current(cplatform, case).error or "")

    case = _start(cplatform)
    (job,) = jobs(cplatform, case)
    unconfigured = build_operations(csettings.model_copy(update={"smtp": SmtpSettings()}))
    with pytest.raises(OperationRetry, match="connecteur non configuré"):
        run_job(job.id, uow_factory=cplatform.uow, operations=unconfigured, clock=cplatform.clock)
    assert smtp_inbox.received == []
