"""Periodic @ctes polling (a job): acknowledgements, rejections and prefecture letters reach the cases.

Idempotent: what was received is recorded in `actes_transmissions`/`actes_exchanges` together
with its delivery to the case, in one transaction. A case not (yet) waiting for the message
keeps it pending; the next poll delivers it. A second, different acknowledgement is never
recorded: the first one stays and the anomaly is journaled once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from connectors import (
    Acknowledgement,
    ConnectorError,
    PrefectureExchange,
    TdtClient,
    TdtConfig,
    TransmissionState,
    parse_acknowledgement,
    reconcile_acknowledgement,
)
from engine.domain.connector_records import Transmission
from engine.domain.errors import Conflict, NotFound
from engine.domain.french import PARIS
from engine.domain.model import Actor
from engine.domain.training import REAL_CLOCK, TenantClock, on_tenant_clock
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork
from engine.services.cases import deliver_message
from engine.services.messages import MessageOrigin

log = logging.getLogger(__name__)

ACTOR = Actor.system("actes")
ACK_MESSAGE = "actes_accuse_reception"
REJECT_MESSAGE = "actes_rejet"
LETTER_MESSAGE = "actes_courrier"


@dataclass
class PollReport:
    """What one polling run did (for logs and tests)."""

    polled: int = 0
    acknowledged: int = 0
    rejected: int = 0
    letters: int = 0
    delivered: int = 0
    anomalies: int = 0
    errors: int = 0


def reception_instant(day: date) -> str:
    """The AR gives a day; the legal window counts from that day, so noon in Paris is used."""
    return datetime.combine(day, time(12), PARIS).isoformat()


def poll_transmissions(
    uow_factory: Callable[[], UnitOfWork],
    config: TdtConfig,
    *,
    now: datetime,
    watch_days: int = 180,
    batch: int = 200,
    client_factory: Callable[[TdtConfig], TdtClient] = TdtClient,
) -> PollReport:
    """Ask the TdT about each transmission still watched; each answer is recorded (and delivered
    to its case) in its own transaction, so one failing transmission leaves the others done."""
    report = PollReport()
    runner = TransactionRunner(uow_factory)
    since = now - timedelta(days=watch_days)
    rows = runner.read(lambda uow: uow.actes.to_poll(watch_since=since, limit=batch))
    if not rows:
        return report
    clocks = runner.read(lambda uow: uow.tenants.training_clocks())
    with client_factory(config) as client:
        for row in rows:
            report.polled += 1
            clock = clocks.get(row.tenant, REAL_CLOCK)  # a training case hears on its own clock
            try:
                with on_tenant_clock(clock):
                    _poll_one(runner, client, row, clock.now(now), report, _days_ahead(clock, now))
            except ConnectorError as exc:
                # A passing fault (timeout, malformed answer): the next run asks again.
                report.errors += 1
                log.warning("polling @ctes %s: %s", row.act_unique_id, exc)
    runner.write(lambda uow: uow.actes.mark_polled([row.id for row in rows], now))
    return report


def _days_ahead(clock: TenantClock, real_now: datetime) -> timedelta:
    """How many days a training tenant's calendar stands ahead of the real one (zero for a real
    tenant): the prefecture simulator dates its acknowledgements by the real calendar, while the
    training commune receives them on its own day, from which the legality control counts."""
    real_day = real_now.astimezone(PARIS).date()
    return clock.now(real_now).astimezone(PARIS).date() - real_day


def _poll_one(
    runner: TransactionRunner,
    client: TdtClient,
    row: Transmission,
    now: datetime,
    report: PollReport,
    days_ahead: timedelta = timedelta(0),
) -> None:
    assert row.transaction_id is not None
    if row.state == "transmitted":
        state = client.status(row.transaction_id)
        if state.acknowledgement is not None:
            ack = state.acknowledgement
            if days_ahead:
                ack = dataclasses.replace(ack, received_on=ack.received_on + days_ahead)
            _record_ack(runner, row, ack, now, report)
        elif state.rejected:
            delivered = runner.write(_record_rejection, row, state, now)
            report.rejected += 1
            report.delivered += int(delivered)
        return
    if not row.ack_delivered:
        report.delivered += runner.write(_deliver_pending_answer, row, now)
    if row.state == "acknowledged":
        if row.ack_delivered:
            _check_duplicate_ack(runner, client, row, now, report)
        _poll_letters(runner, client, row, now, report)


def _deliver(
    uow: UnitOfWork, row: Transmission, message: str, payload: dict[str, Any], now: datetime
) -> bool:
    """Deliver inside the caller's transaction; False when the case does not wait (yet)."""
    try:
        deliver_message(
            uow,
            tenant=row.tenant,
            message=message,
            correlation=row.act_number,
            payload=payload,
            origin=MessageOrigin.connector(ACTOR),
            now=now,
        )
    except (NotFound, Conflict) as exc:
        log.info("%s pour %s pas encore remis : %s", message, row.act_unique_id, exc)
        return False
    return True


def _ack_payload(row: Transmission) -> dict[str, Any]:
    assert row.ack_received_on is not None
    return {
        "identifiant": row.ack_id,
        "date_reception": reception_instant(row.ack_received_on),
        "transmission": row.transaction_id,
    }


def _record_ack(
    runner: TransactionRunner,
    row: Transmission,
    ack: Acknowledgement,
    now: datetime,
    report: PollReport,
) -> None:
    try:
        ack = reconcile_acknowledgement(ack, expected_act_id=row.act_unique_id)
    except ConnectorError as exc:
        _anomaly(runner, row, exc, now, report)
        return
    delivered = runner.write(_store_ack, row, ack, now)
    report.acknowledged += 1
    report.delivered += int(delivered)


def _store_ack(uow: UnitOfWork, row: Transmission, ack: Acknowledgement, now: datetime) -> bool:
    """Record the AR, journal it and deliver it to the case; whether the case took it."""
    uow.actes.update(
        row.tenant,
        row.id,
        now,
        state="acknowledged",
        ack_id=ack.act_unique_id,
        ack_received_on=ack.received_on,
        ack_xml=ack.xml.decode("iso-8859-1"),
    )
    uow.journal.append(
        tenant=row.tenant,
        kind="actes.acknowledged",
        case_id=row.case_id,
        actor=ACTOR.user_id,
        payload={
            "acte": ack.act_unique_id,
            "transaction": row.transaction_id,
            "date_reception": ack.received_on.isoformat(),
        },
        now=now,
    )
    updated = uow.actes.get(row.tenant, row.id)
    assert updated is not None
    delivered = _deliver(uow, updated, ACK_MESSAGE, _ack_payload(updated), now)
    uow.actes.update(row.tenant, row.id, now, ack_delivered=delivered)
    return delivered


def _record_rejection(
    uow: UnitOfWork, row: Transmission, state: TransmissionState, now: datetime
) -> bool:
    """Record the rejection, journal it and deliver it to the case; whether the case took it."""
    motif = state.message or state.status.label
    uow.actes.update(row.tenant, row.id, now, state="rejected", message=motif)
    uow.journal.append(
        tenant=row.tenant,
        kind="actes.rejected",
        case_id=row.case_id,
        actor=ACTOR.user_id,
        payload={"acte": row.act_unique_id, "transaction": row.transaction_id, "motif": motif},
        now=now,
    )
    payload = {"motif": motif, "statut": state.status.label, "transmission": row.transaction_id}
    delivered = _deliver(uow, row, REJECT_MESSAGE, payload, now)
    uow.actes.update(row.tenant, row.id, now, ack_delivered=delivered)
    return delivered


def _deliver_pending_answer(uow: UnitOfWork, row: Transmission, now: datetime) -> bool:
    """Deliver an answer recorded earlier that its case did not wait for yet."""
    if row.state == "acknowledged":
        delivered = _deliver(uow, row, ACK_MESSAGE, _ack_payload(row), now)
    else:
        payload = {"motif": row.message or "", "transmission": row.transaction_id}
        delivered = _deliver(uow, row, REJECT_MESSAGE, payload, now)
    if delivered:
        uow.actes.update(row.tenant, row.id, now, ack_delivered=True)
    return delivered


def _check_duplicate_ack(
    runner: TransactionRunner,
    client: TdtClient,
    row: Transmission,
    now: datetime,
    report: PollReport,
) -> None:
    """A duplicate AR is harmless; a different one is journaled once and never recorded."""
    assert row.transaction_id is not None
    state = client.status(row.transaction_id)
    known_xml = runner.read(lambda uow: uow.actes.ack_xml(row.tenant, row.id))
    if state.acknowledgement is None or known_xml is None:
        return
    known = parse_acknowledgement(known_xml)
    try:
        reconcile_acknowledgement(
            state.acknowledgement, expected_act_id=row.act_unique_id, known=known
        )
    except ConnectorError as exc:
        _anomaly(runner, row, exc, now, report)


def _anomaly(
    runner: TransactionRunner,
    row: Transmission,
    exc: ConnectorError,
    now: datetime,
    report: PollReport,
) -> None:
    report.anomalies += 1
    if row.message != exc.message:  # else already journaled
        runner.write(_journal_anomaly, row, exc, now)


def _journal_anomaly(
    uow: UnitOfWork, row: Transmission, exc: ConnectorError, now: datetime
) -> None:
    uow.actes.update(row.tenant, row.id, now, message=exc.message)
    uow.journal.append(
        tenant=row.tenant,
        kind="actes.anomaly",
        case_id=row.case_id,
        actor=ACTOR.user_id,
        payload={"acte": row.act_unique_id, "message": exc.message, "action": exc.action},
        now=now,
    )


def _poll_letters(
    runner: TransactionRunner,
    client: TdtClient,
    row: Transmission,
    now: datetime,
    report: PollReport,
) -> None:
    assert row.transaction_id is not None
    exchanges = client.exchanges(row.transaction_id)
    seen = runner.read(lambda uow: uow.actes.exchange_states(row.tenant, row.id))
    for exchange in sorted(
        exchanges, key=lambda e: (e.sent_on, int(e.id) if e.id.isdigit() else 0)
    ):
        if seen.get(exchange.id):
            continue
        recorded, delivered = runner.write(
            _receive_letter, row, exchange, now, new=exchange.id not in seen
        )
        report.letters += recorded
        report.delivered += delivered
        if not delivered:
            return  # letters reach the case in order: the next one waits for this one


def _receive_letter(
    uow: UnitOfWork, row: Transmission, exchange: PrefectureExchange, now: datetime, *, new: bool
) -> tuple[bool, bool]:
    """Record a prefecture letter (when `new`) and deliver it; (recorded, delivered)."""
    if new:
        uow.actes.add_exchange(
            tenant=row.tenant,
            transmission_id=row.id,
            exchange_id=exchange.id,
            kind=exchange.kind.value,
            sent_on=exchange.sent_on,
            document_name=exchange.document_name,
            now=now,
        )
        uow.journal.append(
            tenant=row.tenant,
            kind="actes.letter_received",
            case_id=row.case_id,
            actor=ACTOR.user_id,
            payload={
                "acte": row.act_unique_id,
                "courrier": exchange.id,
                "type": exchange.kind.value,
                "libelle": exchange.kind.label,
            },
            now=now,
        )
    payload = {
        "type": exchange.kind.value,
        "objet": exchange.kind.label,
        "date": exchange.sent_on.isoformat(),
        "courrier": exchange.id,
        "document": exchange.document_name,
    }
    delivered = _deliver(uow, row, LETTER_MESSAGE, payload, now)
    if delivered:
        uow.actes.mark_exchange_delivered(row.tenant, exchange.id)
    return new, delivered
