"""`connectors.actes_transmit`: the act goes to the prefecture (@ctes) through the tiers de
télétransmission, once.

The first round reserves the transmission row of the act with its own key before anything is
sent, so a rerun sends with the same key and the tiers replays instead of sending twice; an
act number already transmitted by another case is refused. The prefecture's acknowledgement
comes later (periodic polling).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import connectors
from connectors.actes.model import ActesFile, ActesTransmission, Nature
from connectors.errors import ConnectorError, PermanentError, RetryableError
from engine.domain.connector_records import Transmission
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.training import goes_outside, in_training
from engine.operations.base import (
    Done,
    Failed,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    RunAgain,
    Verdict,
    param,
)
from engine.persistence.uow import UnitOfWork
from engine.services.documents import document_from_reference
from engine.settings import ActesSettings

if TYPE_CHECKING:
    from connectors import ActesArchive, Submission, TdtConfig

NOT_CONFIGURED = "connecteur non configuré"
ACTIVE_STATES = ("submitting", "transmitted", "acknowledged")


def tdt_config(settings: ActesSettings) -> TdtConfig:
    """The tiers de télétransmission; OperationRetry while none is configured."""
    if not settings.base_url:
        raise OperationRetry(
            f"{NOT_CONFIGURED} : tiers de télétransmission @ctes (DEMATFLOW_ACTES__BASE_URL) "
            "absent ; la transmission partira dès qu'il sera configuré."
        )
    tls = None
    if settings.client_cert and settings.client_key and settings.ca_bundle:
        tls = connectors.ClientTls(settings.client_cert, settings.client_key, settings.ca_bundle)
    elif settings.base_url.startswith("https:"):
        raise OperationRetry(
            f"{NOT_CONFIGURED} : certificat client, clé et autorité du tiers @ctes "
            "(DEMATFLOW_ACTES__CLIENT_CERT, __CLIENT_KEY, __CA_BUNDLE) manquants."
        )
    return connectors.TdtConfig(
        settings.base_url, tls=tls, timeout_seconds=settings.timeout_seconds
    )


def _decision_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise OperationFailed(
            "transmission_invalide", f"Date de décision illisible « {value} »."
        ) from exc


def _nature(value: Any) -> Nature:
    try:
        return Nature(int(str(value)))
    except ValueError as exc:
        raise OperationFailed(
            "transmission_invalide", f"Nature d'acte inconnue « {value} »."
        ) from exc


def _annexes(value: Any) -> list[Any]:
    annexes = value or []
    if not isinstance(annexes, list):
        raise OperationFailed("transmission_invalide", "Les annexes doivent être une liste.")
    return annexes


def _text(value: Any) -> str:
    return str(value or "")


@dataclass(frozen=True)
class TransmitParams:
    document: Any = param(required=True)
    """The act itself (a signed PDF of the case)."""
    nature: Nature = param(_nature, required=True)
    """@ctes nature code: 1 délibération, 2 acte réglementaire, 3 acte individuel..."""
    matiere: str = param(_text, required=True)
    """Classification code of the act's subject (e.g. "1.1")."""
    numero: str = param(_text, required=True)
    date_decision: date = param(_decision_date, required=True)
    objet: str = param(_text, required=True)
    annexes: list[Any] = param(_annexes)


@dataclass(frozen=True)
class TransmitPlan:
    transmission: ActesTransmission
    config: TdtConfig
    row: Transmission | None
    """The reserved row (None in the first round, which reserves it)."""


@dataclass(frozen=True)
class Built:
    """First round: the archive is built; its row is to be reserved."""

    transmission: ActesTransmission
    archive: ActesArchive


@dataclass(frozen=True)
class Submitted:
    row: Transmission
    archive_sha256: str
    submission: Submission


@dataclass(frozen=True)
class Refused:
    row: Transmission
    error: ConnectorError


def _actes_file(uow: UnitOfWork, tenant: str, reference: object) -> ActesFile:
    try:
        document = document_from_reference(uow, tenant, reference)
    except (InvalidInput, NotFound) as exc:
        raise OperationFailed("transmission_invalide", f"Document inutilisable : {exc}") from exc
    return ActesFile(document.name, uow.documents.content(document))


def build_transmission(
    uow: UnitOfWork, tenant: str, params: TransmitParams, settings: ActesSettings
) -> ActesTransmission:
    return ActesTransmission(
        nature=params.nature,
        matiere=params.matiere,
        number=params.numero,
        decision_date=params.date_decision,
        subject=params.objet,
        act=_actes_file(uow, tenant, params.document),
        annexes=tuple(_actes_file(uow, tenant, a) for a in params.annexes),
        siren=tenant,
        department=settings.departments.get(tenant, settings.department),
    )


def _live_row(uow: UnitOfWork, ctx: OperationContext, act_id: str) -> Transmission | None:
    """The live transmission of this act, when this case made it; refused for another case."""
    live = [row for row in uow.actes.for_act(ctx.tenant, act_id) if row.state in ACTIVE_STATES]
    if not live:
        return None
    if live[-1].case_id != ctx.case_id:
        raise OperationFailed(
            "acte_deja_transmis",
            f"L'acte {act_id} a déjà été transmis par un autre "
            "dossier. Vérifier le numéro de l'acte (il est unique par année).",
        )
    return live[-1]


def _transmit_result(row: Transmission) -> dict[str, Any]:
    return {
        "transmission": row.transaction_id,
        "statut": "transmis",
        "identifiant_acte": row.act_unique_id,
        "empreinte": row.archive_sha256,
    }


def _prepare(uow: UnitOfWork, ctx: OperationContext, params: TransmitParams) -> TransmitPlan | Done:
    config = tdt_config(ctx.settings.actes)
    if in_training() and goes_outside(config.base_url):
        raise OperationFailed(
            "formation",
            "Espace de formation : les actes ne partent que vers le simulateur de la préfecture.",
        )
    transmission = build_transmission(uow, ctx.tenant, params, ctx.settings.actes)
    row = _live_row(uow, ctx, transmission.act_unique_id)
    if row is not None and row.transaction_id is not None:
        return Done(_transmit_result(row))
    return TransmitPlan(transmission, config, row)


def _transmit(plan: TransmitPlan) -> Built | Submitted | Refused:
    try:
        archive = connectors.build_archive(plan.transmission)
    except PermanentError as exc:
        raise OperationFailed("transmission_invalide", str(exc)) from exc
    if plan.row is None:
        return Built(plan.transmission, archive)
    try:
        with connectors.TdtClient(plan.config) as client:
            submission = client.submit(archive, idempotency_key=plan.row.idempotency_key)
    except RetryableError as exc:
        raise OperationRetry(str(exc)) from exc
    except PermanentError as exc:
        return Refused(plan.row, exc)
    return Submitted(plan.row, archive.sha256, submission)


def _record(
    uow: UnitOfWork, ctx: OperationContext, outcome: Built | Submitted | Refused
) -> Verdict:
    if isinstance(outcome, Built):
        _reserve(uow, ctx, outcome)
        return RunAgain()
    row = outcome.row
    if isinstance(outcome, Refused):
        exc = outcome.error
        uow.actes.update(ctx.tenant, row.id, ctx.now, state="refused", message=str(exc))
        uow.journal.append(
            tenant=ctx.tenant,
            kind="actes.refused",
            case_id=ctx.case_id,
            actor="system:actes",
            payload={"acte": row.act_unique_id, "code": exc.code, "message": str(exc)},
            now=ctx.now,
        )
        duplicate = exc.code == "tdt_duplicate_number"
        return Failed("acte_en_double" if duplicate else "transmission_refusee", str(exc))
    submission = outcome.submission
    uow.actes.update(
        ctx.tenant, row.id, ctx.now, state="transmitted", transaction_id=submission.transaction_id
    )
    uow.journal.append(
        tenant=ctx.tenant,
        kind="actes.transmitted",
        case_id=ctx.case_id,
        actor="system:actes",
        payload={
            "acte": row.act_unique_id,
            "transaction": submission.transaction_id,
            "archive_sha256": outcome.archive_sha256,
            "cle": row.idempotency_key,
            "rejoue": submission.replayed,
        },
        now=ctx.now,
    )
    stored = uow.actes.get(ctx.tenant, row.id)
    assert stored is not None
    return _transmit_result(stored)


def _reserve(uow: UnitOfWork, ctx: OperationContext, built: Built) -> None:
    """A new row with a new key for this act, stored before anything is sent."""
    transmission = built.transmission
    if _live_row(uow, ctx, transmission.act_unique_id) is not None:
        return
    existing = uow.actes.for_act(ctx.tenant, transmission.act_unique_id)
    uow.actes.add(
        tenant=ctx.tenant,
        case_id=ctx.case_id,
        act_number=transmission.number,
        act_unique_id=transmission.act_unique_id,
        idempotency_key=f"{ctx.tenant}/{transmission.act_unique_id}/{len(existing) + 1}",
        archive_sha256=built.archive.sha256,
        now=ctx.now,
    )


TRANSMIT = Operation(
    name="connectors.actes_transmit",
    params=TransmitParams,
    prepare=_prepare,
    act=_transmit,
    record=_record,
    queue="connectors",
    description="Transmet l'acte à la préfecture (@ctes) une seule fois",
)

OPERATIONS = (TRANSMIT,)
