"""Service-task operations backed by the connectors library: mail, @ctes transmission, publication.

Each operation is idempotent per job key: what was already done is recorded in our tables and
not done again. Connector failures come back as `OperationRetry` (passing: the worker tries
again later) or `OperationFailed` (definitive: the case shows what happened and what to do).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from email.utils import make_msgid
from typing import Any

from connectors import (
    ActesFile,
    ActesTransmission,
    Attachment,
    ClientTls,
    ConnectorError,
    Nature,
    Notification,
    NotificationKind,
    PermanentError,
    RetryableError,
    SmtpConfig,
    TdtClient,
    TdtConfig,
    build_archive,
    send_notification,
)
from engine.domain.connector_records import Transmission
from engine.domain.errors import InvalidInput, NotFound
from engine.persistence.uow import UnitOfWork
from engine.rendering.formatting import MAIL_FILTERS
from engine.services.documents import document_from_reference
from engine.services.operations import (
    Operation,
    OperationContext,
    OperationFailed,
    OperationRegistry,
    OperationRetry,
)
from engine.services.publication import publish_operation
from engine.settings import ActesSettings, Settings, SmtpSettings

NOT_CONFIGURED = "connecteur non configuré"
ACTIVE_STATES = ("submitting", "transmitted", "acknowledged")

MODELES: dict[str, NotificationKind] = {
    "convocation_conseil": NotificationKind.COUNCIL_CONVOCATION,
    "accuse_reception": NotificationKind.CITIZEN_RECEIPT,
    "notification_decision": NotificationKind.DECISION_NOTIFIED,
    "tache_attribuee": NotificationKind.TASK_ASSIGNED,
    "demande_pieces": NotificationKind.MISSING_DOCUMENTS,
    "attestation_acceptation_implicite": NotificationKind.IMPLICIT_ACCEPTANCE,
    "information_rejet_implicite": NotificationKind.IMPLICIT_REJECTION,
    "rejet_offre": NotificationKind.BID_REJECTED,
    "notification_marche": NotificationKind.CONTRACT_NOTIFIED,
    "procedure_sans_suite": NotificationKind.PROCUREMENT_ABANDONED,
}
"""The procedures' template names (``modele``) and the library's templates they use."""
CONTEXT_NAMES = {
    "seance": "session_date",
    "lieu": "session_place",
    "objet": "request_title",
    "demandeur": "citizen_name",
    "recu_le": "received_on",
    "decision_le": "decision_date",
    "date_decision_implicite": "implicit_decision_date",
    "acceptation_implicite": "implicit_acceptance",
    "voies_recours": "appeal_routes",
    "pieces_manquantes": "missing_documents",
    "service": "service_name",
    "contact_service": "service_contact",
    "ordre_du_jour": "agenda",
}
"""French case-data keys → template variables; other keys pass through unchanged."""
DATE_VARIABLES = {"session_date", "received_on", "decision_date", "implicit_decision_date"}


def smtp_config(settings: SmtpSettings) -> SmtpConfig:
    """The relay to use; OperationRetry while none is configured (nothing is lost meanwhile)."""
    if not settings.host:
        raise OperationRetry(
            f"{NOT_CONFIGURED} : serveur de courriel (DEMATFLOW_SMTP__HOST) absent ; "
            "l'envoi partira dès qu'il sera configuré."
        )
    return SmtpConfig(
        host=settings.host,
        port=settings.port,
        sender=settings.sender,
        sender_name=settings.sender_name,
        security=settings.security,
        username=settings.username,
        password=settings.password,
        timeout_seconds=settings.timeout_seconds,
    )


def tdt_config(settings: ActesSettings) -> TdtConfig:
    """The tiers de télétransmission; OperationRetry while none is configured."""
    if not settings.base_url:
        raise OperationRetry(
            f"{NOT_CONFIGURED} : tiers de télétransmission @ctes (DEMATFLOW_ACTES__BASE_URL) "
            "absent ; la transmission partira dès qu'il sera configuré."
        )
    tls = None
    if settings.client_cert and settings.client_key and settings.ca_bundle:
        tls = ClientTls(settings.client_cert, settings.client_key, settings.ca_bundle)
    elif settings.base_url.startswith("https:"):
        raise OperationRetry(
            f"{NOT_CONFIGURED} : certificat client, clé et autorité du tiers @ctes "
            "(DEMATFLOW_ACTES__CLIENT_CERT, __CLIENT_KEY, __CA_BUNDLE) manquants."
        )
    return TdtConfig(settings.base_url, tls=tls, timeout_seconds=settings.timeout_seconds)


def failure(exc: ConnectorError, code: str) -> OperationFailed:
    """A definitive connector failure as the case shows it: what happened, what to do."""
    return OperationFailed(code, str(exc))


# --- mail -------------------------------------------------------------------------------------


def _parse_day(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def mail_context(kind: NotificationKind, tenant_name: str, given: dict[str, Any]) -> dict[str, Any]:
    """Template variables: defaults from the tenant, then the procedure's context, renamed."""
    context: dict[str, Any] = {
        "council_name": tenant_name,
        "president_name": tenant_name,
        "recipient_name": "Madame, Monsieur",
        "citizen_name": "Madame, Monsieur",
        "service_name": tenant_name,
        "agenda": [],
        "missing_documents": [],
        "attachments": [],
    }
    for key, value in given.items():
        name = CONTEXT_NAMES.get(key, key)
        context[name] = _parse_day(value) if name in DATE_VARIABLES else value
        context.setdefault(key, value)  # the procurement and CRPA templates read French names
    if kind == NotificationKind.COUNCIL_CONVOCATION and not context["agenda"] and "objet" in given:
        context["agenda"] = [given["objet"]]
    return context


def _attachments(uow: UnitOfWork, tenant: str, references: object) -> list[Attachment]:
    if not isinstance(references, list):
        raise OperationFailed("pieces_invalides", "Les pièces jointes doivent être une liste.")
    attachments = []
    for reference in references:
        try:
            document = document_from_reference(uow, tenant, reference)
        except (InvalidInput, NotFound) as exc:
            raise OperationFailed("pieces_invalides", f"Pièce jointe inutilisable : {exc}") from exc
        content = uow.documents.content(document)
        attachments.append(Attachment(document.name, content, document.media_type))
    return attachments


def _recipients(params: dict[str, Any]) -> list[str]:
    raw = params.get("destinataires")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise OperationFailed("destinataires_absents", "Aucun destinataire pour ce courriel.")
    recipients = [str(r).strip() for r in raw if str(r).strip()]
    if any("@" not in r or "\n" in r or "," in r for r in recipients):
        raise OperationFailed("destinataires_invalides", f"Adresse invalide parmi {recipients}.")
    return list(dict.fromkeys(recipients))


def send_mail(settings: SmtpSettings) -> Operation:
    def run(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
        config = smtp_config(settings)
        modele = str(params.get("modele") or "")
        kind = MODELES.get(modele)
        if kind is None:
            raise OperationFailed(
                "modele_inconnu",
                f"Modèle de courriel inconnu « {modele} » ; modèles disponibles : "
                f"{', '.join(sorted(MODELES))}.",
            )
        with ctx.unit_of_work() as uow:
            sending = uow.mails.get(ctx.tenant, ctx.idempotency_key)
            if sending is None:
                domain = config.sender.rpartition("@")[2] or "dematflow.local"
                uow.mails.add(
                    tenant=ctx.tenant,
                    idempotency_key=ctx.idempotency_key,
                    case_id=ctx.case_id,
                    message_id=make_msgid(uuid.uuid4().hex, domain),
                    pending=_recipients(params),
                    now=ctx.now,
                )
                uow.commit()
                sending = uow.mails.get(ctx.tenant, ctx.idempotency_key)
                assert sending is not None
            if sending.state == "sent" and sending.result is not None:
                return sending.result
            tenant = uow.tenants.get(ctx.tenant)
            attachments = _attachments(uow, ctx.tenant, params.get("pieces") or [])
        given = params.get("contexte") or {}
        if not isinstance(given, dict):
            raise OperationFailed(
                "contexte_invalide", "Le contexte du courriel doit être un objet."
            )
        context = mail_context(kind, tenant.name if tenant else ctx.tenant, given)
        context.setdefault("reference", str(ctx.case_id))
        context["attachments"] = context["attachments"] or [a.filename for a in attachments]
        notification = Notification(
            kind=kind,
            to=sending.pending,
            context=context,
            attachments=tuple(attachments),
            message_id=sending.message_id,
            headers={"X-Dematflow-Dossier": str(ctx.case_id)},
        )
        try:
            sent = send_notification(notification, config=config, filters=MAIL_FILTERS)
        except RetryableError as exc:
            raise OperationRetry(str(exc)) from exc
        except PermanentError as exc:
            raise failure(exc, "courriel_refuse") from exc
        except ValueError as exc:
            raise OperationFailed("modele_incomplet", str(exc)) from exc
        return _record_mail(ctx, modele, sent)

    return run


def _record_mail(ctx: OperationContext, modele: str, sent: Any) -> dict[str, Any]:
    with ctx.unit_of_work() as uow:
        previous = uow.mails.get(ctx.tenant, ctx.idempotency_key)
        already = list((previous.result or {}).get("destinataires", [])) if previous else []
        accepted = already + [r for r in sent.recipients if r not in already]
        result = {
            "message_id": sent.message_id,
            "envoye_le": ctx.now.isoformat(),
            "destinataires": accepted,
            "refuses": dict(sent.refused),
        }
        uow.journal.append(
            tenant=ctx.tenant,
            kind="mail.sent",
            case_id=ctx.case_id,
            actor="system:mail",
            payload={
                "modele": modele,
                "message_id": sent.message_id,
                "sha256": sent.sha256,
                "taille": sent.size,
                "objet": sent.subject,
                "destinataires": list(sent.recipients),
                "refuses": dict(sent.refused),
                "differes": dict(sent.deferred),
            },
            now=ctx.now,
        )
        deferred = list(sent.deferred)
        state = "sending" if deferred else "sent"
        pending = deferred or []
        uow.mails.update(
            ctx.tenant, ctx.idempotency_key, ctx.now, state=state, pending=pending, result=result
        )
        uow.commit()
    if deferred:
        raise OperationRetry(f"Destinataires différés par le serveur : {', '.join(deferred)}.")
    return result


# --- @ctes ------------------------------------------------------------------------------------


def _decision_date(value: object) -> date:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise OperationFailed(
            "transmission_invalide", f"Date de décision illisible « {value} »."
        ) from exc


def _nature(value: object) -> Nature:
    try:
        return Nature(int(str(value)))
    except ValueError as exc:
        raise OperationFailed(
            "transmission_invalide", f"Nature d'acte inconnue « {value} »."
        ) from exc


def _actes_file(uow: UnitOfWork, tenant: str, reference: object) -> ActesFile:
    try:
        document = document_from_reference(uow, tenant, reference)
    except (InvalidInput, NotFound) as exc:
        raise OperationFailed("transmission_invalide", f"Document inutilisable : {exc}") from exc
    return ActesFile(document.name, uow.documents.content(document))


def build_transmission(
    uow: UnitOfWork, tenant: str, params: dict[str, Any], settings: ActesSettings
) -> ActesTransmission:
    annexes = params.get("annexes") or []
    if not isinstance(annexes, list):
        raise OperationFailed("transmission_invalide", "Les annexes doivent être une liste.")
    return ActesTransmission(
        nature=_nature(params.get("nature")),
        matiere=str(params.get("matiere") or ""),
        number=str(params.get("numero") or ""),
        decision_date=_decision_date(params.get("date_decision")),
        subject=str(params.get("objet") or ""),
        act=_actes_file(uow, tenant, params.get("document")),
        annexes=tuple(_actes_file(uow, tenant, a) for a in annexes),
        siren=tenant,
        department=settings.departments.get(tenant, settings.department),
    )


def _reserve(
    ctx: OperationContext, transmission: ActesTransmission, archive_sha256: str
) -> Transmission:
    """The transmission row of this act: the live one, or a new one with a new key (stored
    before anything is sent, so a rerun sends with the same key and the tiers replays)."""
    with ctx.unit_of_work() as uow:
        existing = uow.actes.for_act(ctx.tenant, transmission.act_unique_id)
        live = [row for row in existing if row.state in ACTIVE_STATES]
        if live:
            row = live[-1]
            if row.case_id != ctx.case_id:
                raise OperationFailed(
                    "acte_deja_transmis",
                    f"L'acte {transmission.act_unique_id} a déjà été transmis par un autre "
                    "dossier. Vérifier le numéro de l'acte (il est unique par année).",
                )
            return row
        key = f"{ctx.tenant}/{transmission.act_unique_id}/{len(existing) + 1}"
        row_id = uow.actes.add(
            tenant=ctx.tenant,
            case_id=ctx.case_id,
            act_number=transmission.number,
            act_unique_id=transmission.act_unique_id,
            idempotency_key=key,
            archive_sha256=archive_sha256,
            now=ctx.now,
        )
        uow.commit()
        created = uow.actes.get(ctx.tenant, row_id)
        assert created is not None
        return created


def _transmit_result(row: Transmission) -> dict[str, Any]:
    return {
        "transmission": row.transaction_id,
        "statut": "transmis",
        "identifiant_acte": row.act_unique_id,
        "empreinte": row.archive_sha256,
    }


def actes_transmit(settings: ActesSettings) -> Operation:
    def run(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
        config = tdt_config(settings)
        with ctx.unit_of_work() as uow:
            transmission = build_transmission(uow, ctx.tenant, params, settings)
        try:
            archive = build_archive(transmission)
        except PermanentError as exc:
            raise failure(exc, "transmission_invalide") from exc
        row = _reserve(ctx, transmission, archive.sha256)
        if row.transaction_id is not None:
            return _transmit_result(row)
        try:
            with TdtClient(config) as client:
                submission = client.submit(archive, idempotency_key=row.idempotency_key)
        except RetryableError as exc:
            raise OperationRetry(str(exc)) from exc
        except PermanentError as exc:
            _refused(ctx, row, exc)
            code = (
                "acte_en_double" if exc.code == "tdt_duplicate_number" else "transmission_refusee"
            )
            raise failure(exc, code) from exc
        with ctx.unit_of_work() as uow:
            uow.actes.update(
                ctx.tenant,
                row.id,
                ctx.now,
                state="transmitted",
                transaction_id=submission.transaction_id,
            )
            uow.journal.append(
                tenant=ctx.tenant,
                kind="actes.transmitted",
                case_id=ctx.case_id,
                actor="system:actes",
                payload={
                    "acte": row.act_unique_id,
                    "transaction": submission.transaction_id,
                    "archive_sha256": archive.sha256,
                    "cle": row.idempotency_key,
                    "rejoue": submission.replayed,
                },
                now=ctx.now,
            )
            uow.commit()
            stored = uow.actes.get(ctx.tenant, row.id)
        assert stored is not None
        return _transmit_result(stored)

    return run


def _refused(ctx: OperationContext, row: Transmission, exc: ConnectorError) -> None:
    with ctx.unit_of_work() as uow:
        uow.actes.update(ctx.tenant, row.id, ctx.now, state="refused", message=str(exc))
        uow.journal.append(
            tenant=ctx.tenant,
            kind="actes.refused",
            case_id=ctx.case_id,
            actor="system:actes",
            payload={"acte": row.act_unique_id, "code": exc.code, "message": str(exc)},
            now=ctx.now,
        )
        uow.commit()


def register(registry: OperationRegistry, settings: Settings) -> None:
    registry.register(
        "connectors.send_mail",
        send_mail(settings.smtp),
        queue="connectors",
        description="Envoie une notification par courriel (modèle en français)",
    )
    registry.register(
        "connectors.actes_transmit",
        actes_transmit(settings.actes),
        queue="connectors",
        description="Transmet l'acte à la préfecture (@ctes) une seule fois",
    )
    registry.register(
        "connectors.publish",
        publish_operation(settings.publication),
        queue="connectors",
        description="Publie l'acte sur le registre public de la collectivité",
    )
    # The council session resumes its deliberation cases as the prefecture's messages do.
    from engine.services.council_operations import register as register_council

    register_council(registry, settings)
