"""@ctes through the engine: transmit once, acknowledgement/rejection/letters reach the case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from engine.bootstrap import Platform
from engine.domain.french import PARIS
from engine.domain.model import CaseStatus, JobState
from engine.domain.training import TenantClock
from engine.jobs.actes_polling import poll_transmissions
from engine.operations.actes import tdt_config
from engine.operations.base import OperationRetry
from tests.engine.connectors.conftest import start_actes_case
from tests.engine.connectors.helpers import (
    arm,
    case_data,
    clear_faults,
    current,
    jobs,
    journal,
    poll,
    run,
    run_open_jobs,
    tiers_transactions,
)
from tests.engine.support import SIREN_A, complete, ready
from tests.fixtures.prefecture import Simulator

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _faults_cleared(prefecture: Simulator) -> Iterator[None]:
    yield
    clear_faults(prefecture)


def _act_id(numero: str) -> str:
    return f"034-{SIREN_A}-20260302-{numero}-DE"


def test_transmit_acknowledge_publish_and_letter(
    cplatform: Platform, prefecture: Simulator
) -> None:
    case = start_actes_case(cplatform)
    numero = case_data(cplatform, case)["numero_acte"]
    (outcome,) = run_open_jobs(cplatform, case)
    assert outcome.state == JobState.DONE
    data = case_data(cplatform, case)
    assert data["transmission"]["statut"] == "transmis"
    assert data["transmission"]["identifiant_acte"] == _act_id(numero)
    (sent,) = journal(cplatform, case, "actes.transmitted")
    assert sent.payload["transaction"] == data["transmission"]["transmission"]
    assert not sent.payload["rejoue"]

    # the job runs again (redelivered by the broker): nothing is sent twice
    (job,) = jobs(cplatform, case, "connectors.actes_transmit")
    assert run(cplatform, job).detail == "déjà traité"
    assert len(tiers_transactions(prefecture, _act_id(numero))) == 1

    report = poll(cplatform)
    assert report.acknowledged >= 1
    data = case_data(cplatform, case)
    assert data["identifiant_ar"] == _act_id(numero)
    assert data["date_ar"].startswith(data["accuse_reception"]["date_reception"][:10])
    assert data["statut"] == "transmise"
    (received,) = journal(cplatform, case, "message.received")
    assert received.payload["correlation"] == numero

    # polling again delivers nothing twice
    poll(cplatform)
    assert len(journal(cplatform, case, "message.received")) == 1

    (publish_outcome,) = run_open_jobs(cplatform, case)
    assert publish_outcome.state == JobState.DONE
    assert case_data(cplatform, case)["publication"]["url"].endswith(
        case_data(cplatform, case)["publication"]["publication"]
    )

    # the prefecture writes (lettre d'observations): the clerk gets a task, once
    transaction = data["transmission"]["transmission"]
    with prefecture.admin() as http:
        http.post(
            f"/admin/transactions/{transaction}/exchanges",
            json={"kind": "4A", "text": "Motivation insuffisante"},
        ).raise_for_status()
    poll(cplatform)
    assert set(ready(cplatform, case)) == {"repondre_courrier"}
    courrier = case_data(cplatform, case)["courrier"]
    assert courrier["type"] == "4A" and courrier["objet"] == "Lettre d'observations"
    poll(cplatform)
    assert len(journal(cplatform, case, "actes.letter_received")) == 1
    complete(cplatform, case, "repondre_courrier", {"reponse": "Motivation complétée."})
    assert current(cplatform, case).status == CaseStatus.COMPLETED


def test_lost_answers_then_job_rerun_sends_once(cplatform: Platform, prefecture: Simulator) -> None:
    """The tiers records the act but every answer is lost: the job retries later and the
    idempotency key stored with the transmission makes the tiers replay, not resend."""
    case = start_actes_case(cplatform)
    numero = case_data(cplatform, case)["numero_acte"]
    arm(prefecture, "error_after_commit", count=3)
    (job,) = jobs(cplatform, case, "connectors.actes_transmit")
    with pytest.raises(OperationRetry) as caught:
        run(cplatform, job)
    assert "Rien n'est perdu" in str(caught.value)
    assert len(tiers_transactions(prefecture, _act_id(numero))) == 1
    assert current(cplatform, case).status == CaseStatus.RUNNING

    assert run(cplatform, job).state == JobState.DONE
    (sent,) = journal(cplatform, case, "actes.transmitted")
    assert sent.payload["rejoue"] is True
    assert len(tiers_transactions(prefecture, _act_id(numero))) == 1


def test_timeouts_and_malformed_answers_lose_nothing(
    cplatform: Platform, prefecture: Simulator
) -> None:
    case = start_actes_case(cplatform)
    numero = case_data(cplatform, case)["numero_acte"]
    arm(prefecture, "timeout", count=3)
    (job,) = jobs(cplatform, case, "connectors.actes_transmit")
    with pytest.raises(OperationRetry, match="pas répondu à temps"):
        run(cplatform, job)
    assert tiers_transactions(prefecture, _act_id(numero)) == []
    assert run(cplatform, job).state == JobState.DONE

    arm(prefecture, "malformed", endpoint="status", count=3)
    report = poll(cplatform)
    assert report.errors >= 1
    assert "accuse_reception" not in case_data(cplatform, case)
    clear_faults(prefecture)
    poll(cplatform)
    assert case_data(cplatform, case)["identifiant_ar"] == _act_id(numero)


def test_rejection_reaches_the_case(cplatform: Platform, prefecture: Simulator) -> None:
    case = start_actes_case(cplatform)
    run_open_jobs(cplatform, case)
    transaction = case_data(cplatform, case)["transmission"]["transmission"]
    with prefecture.admin() as http:
        http.post(
            f"/admin/transactions/{transaction}/reject",
            json={"reason": "Matière incohérente avec l'objet"},
        ).raise_for_status()
    poll(cplatform)
    data = case_data(cplatform, case)
    assert data["statut"] == "rejetée"
    assert data["rejet_actes"]["motif"] == "Matière incohérente avec l'objet"
    assert current(cplatform, case).status == CaseStatus.COMPLETED
    (rejected,) = journal(cplatform, case, "actes.rejected")
    assert rejected.payload["motif"] == "Matière incohérente avec l'objet"


def test_different_second_acknowledgement_is_an_anomaly_once(
    cplatform: Platform, prefecture: Simulator
) -> None:
    case = start_actes_case(cplatform)
    run_open_jobs(cplatform, case)
    poll(cplatform)
    first = case_data(cplatform, case)["accuse_reception"]
    arm(prefecture, "other_ar", endpoint="status", count=2)
    assert poll(cplatform).anomalies >= 1
    poll(cplatform)
    (anomaly,) = journal(cplatform, case, "actes.anomaly")
    assert "second accusé de réception différent" in anomaly.payload["message"]
    assert case_data(cplatform, case)["accuse_reception"] == first


def test_invalid_act_fails_with_what_to_do(cplatform: Platform, prefecture: Simulator) -> None:
    case = start_actes_case(cplatform, matiere="12.x")
    (outcome,) = run_open_jobs(cplatform, case)
    assert outcome.state == JobState.FAILED
    updated = current(cplatform, case)
    assert updated.status == CaseStatus.ERROR
    assert updated.error is not None and "matière" in updated.error
    assert "Corriger" in updated.error


def test_same_number_in_another_case_is_refused(cplatform: Platform, prefecture: Simulator) -> None:
    first = start_actes_case(cplatform)
    run_open_jobs(cplatform, first)
    numero = case_data(cplatform, first)["numero_acte"]
    second = start_actes_case(cplatform, numero_acte=numero)
    (outcome,) = run_open_jobs(cplatform, second)
    assert outcome.state == JobState.FAILED
    assert "déjà été transmis" in (current(cplatform, second).error or "")
    assert len(tiers_transactions(prefecture, _act_id(numero))) == 1


def test_training_commune_receives_the_acknowledgement_on_its_own_day(
    cplatform: Platform, prefecture: Simulator
) -> None:
    """The simulator dates its AR by the real calendar; a training commune whose clock stands
    70 days ahead receives it on its training day, so the legality control counts from there
    (not two months before the training date, already over when the AR arrives)."""
    case = start_actes_case(cplatform)
    (outcome,) = run_open_jobs(cplatform, case)
    assert outcome.state == JobState.DONE
    with cplatform.uow() as uow:
        uow.tenants.set_clock(SIREN_A, TenantClock(training=True, offset=timedelta(days=70)))
        uow.commit()
    real_now = datetime.now(UTC)
    assert poll(cplatform).acknowledged >= 1
    training_day = (real_now + timedelta(days=70)).astimezone(PARIS).date()
    data = case_data(cplatform, case)
    assert data["accuse_reception"]["date_reception"][:10] == training_day.isoformat()
    (acknowledged,) = journal(cplatform, case, "actes.acknowledged")
    assert acknowledged.payload["date_reception"] == training_day.isoformat()
    poll(cplatform)  # the same AR again: no anomaly for the shifted date
    assert not journal(cplatform, case, "actes.anomaly")


def _poll_batch(platform: Platform, batch: int) -> None:
    poll_transmissions(
        platform.uow, tdt_config(platform.settings.actes), now=platform.clock(), batch=batch
    )


def test_the_watch_goes_round_and_new_acts_come_first(
    cplatform: Platform, prefecture: Simulator
) -> None:
    """More acknowledged acts are watched (for prefecture letters) than one poll asks about: a
    new act still gets its acknowledgement at the next poll, and a letter about any watched act
    arrives within one round. Before, the oldest acknowledged acts filled every poll: past 200
    of them (days, for 300 communes), no acknowledgement was ever collected again."""
    watched = [start_actes_case(cplatform) for _ in range(3)]
    for case in watched:
        run_open_jobs(cplatform, case)
    poll(cplatform)
    assert all(case_data(cplatform, case).get("identifiant_ar") for case in watched)

    new = start_actes_case(cplatform)
    run_open_jobs(cplatform, new)
    _poll_batch(cplatform, 2)
    assert case_data(cplatform, new).get("identifiant_ar")

    last = watched[-1]
    transaction = case_data(cplatform, last)["transmission"]["transmission"]
    with prefecture.admin() as http:
        http.post(
            f"/admin/transactions/{transaction}/exchanges",
            json={"kind": "4A", "text": "Motivation insuffisante"},
        ).raise_for_status()
    with cplatform.uow() as uow:  # other tests' acts are watched too
        in_watch = len(uow.actes.to_poll(watch_since=datetime(2000, 1, 1, tzinfo=UTC), limit=10**6))
    for _ in range(in_watch + 1):  # one place of two for the watched acts
        _poll_batch(cplatform, 2)
    assert len(journal(cplatform, last, "actes.letter_received")) == 1
