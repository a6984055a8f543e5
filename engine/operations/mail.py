"""`connectors.send_mail`: a notification by e-mail (French templates), sent once per job.

The first round reserves the sending (its Message-ID and recipients) before anything is sent;
then the mail goes out and what the relay accepted, refused or deferred is recorded. A deferred
recipient is tried again later with the same Message-ID; one who got it never gets a copy.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from typing import Any

from connectors import (
    Attachment,
    Notification,
    NotificationKind,
    PermanentError,
    RetryableError,
    SentMessage,
    SmtpConfig,
    send_notification,
)
from engine.domain.errors import InvalidInput, NotFound
from engine.domain.training import goes_outside, in_training
from engine.operations.base import (
    Done,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    RetryLater,
    RunAgain,
    Verdict,
    param,
    passing,
)
from engine.persistence.uow import UnitOfWork
from engine.rendering.formatting import MAIL_FILTERS
from engine.services.documents import document_from_reference
from engine.services.mail_relay import relay_config
from engine.settings import SmtpSettings

NOT_CONFIGURED = "connecteur non configuré"

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
    return relay_config(settings)


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


def _template(value: Any) -> str:
    modele = str(value or "")
    if modele not in MODELES:
        raise OperationFailed(
            "modele_inconnu",
            f"Modèle de courriel inconnu « {modele} » ; modèles disponibles : "
            f"{', '.join(sorted(MODELES))}.",
        )
    return modele


def _recipients(value: Any) -> list[str]:
    raw = [value] if isinstance(value, str) else value
    if not isinstance(raw, list) or not raw:
        raise OperationFailed("destinataires_absents", "Aucun destinataire pour ce courriel.")
    recipients = [str(r).strip() for r in raw if str(r).strip()]
    if any("@" not in r or "\n" in r or "," in r for r in recipients):
        raise OperationFailed("destinataires_invalides", f"Adresse invalide parmi {recipients}.")
    return list(dict.fromkeys(recipients))


def _documents(value: Any) -> list[Any]:
    references = value or []
    if not isinstance(references, list):
        raise OperationFailed("pieces_invalides", "Les pièces jointes doivent être une liste.")
    return references


def _context(value: Any) -> dict[str, Any]:
    given = value or {}
    if not isinstance(given, dict):
        raise OperationFailed("contexte_invalide", "Le contexte du courriel doit être un objet.")
    return given


@dataclass(frozen=True)
class MailParams:
    modele: str = param(_template, required=True)
    """The template (see MODELES)."""
    destinataires: list[str] = param(_recipients, required=True)
    pieces: list[Any] = param(_documents)
    """Documents of the case to attach."""
    contexte: dict[str, Any] = param(_context)
    """Template variables (French case-data names are renamed, see CONTEXT_NAMES)."""


@dataclass(frozen=True)
class Reserve:
    recipients: list[str]
    domain: str


@dataclass(frozen=True)
class Send:
    modele: str
    notification: Notification
    config: SmtpConfig


def _attachments(uow: UnitOfWork, tenant: str, references: list[Any]) -> list[Attachment]:
    attachments = []
    for reference in references:
        try:
            document = document_from_reference(uow, tenant, reference)
        except (InvalidInput, NotFound) as exc:
            raise OperationFailed("pieces_invalides", f"Pièce jointe inutilisable : {exc}") from exc
        content = uow.documents.content(document)
        attachments.append(Attachment(document.name, content, document.media_type))
    return attachments


def _prepare(uow: UnitOfWork, ctx: OperationContext, params: MailParams) -> Reserve | Send | Done:
    config = smtp_config(ctx.settings.smtp)
    if in_training() and goes_outside(ctx.settings.smtp.host or ""):
        raise OperationFailed(
            "formation",
            "Espace de formation : les courriels ne partent que vers la boîte de développement.",
        )
    sending = uow.mails.get(ctx.tenant, ctx.idempotency_key)
    if sending is None:
        return Reserve(params.destinataires, config.sender.rpartition("@")[2] or "dematflow.local")
    if sending.state == "sent" and sending.result is not None:
        return Done(sending.result)
    tenant = uow.tenants.get(ctx.tenant)
    attachments = _attachments(uow, ctx.tenant, params.pieces)
    kind = MODELES[params.modele]
    context = mail_context(kind, tenant.name if tenant else ctx.tenant, params.contexte)
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
    return Send(params.modele, notification, config)


def _send(plan: Reserve | Send) -> Reserve | tuple[str, SentMessage]:
    if isinstance(plan, Reserve):
        return passing(plan)
    try:
        return plan.modele, send_notification(
            plan.notification, config=plan.config, filters=MAIL_FILTERS
        )
    except RetryableError as exc:
        raise OperationRetry(str(exc)) from exc
    except PermanentError as exc:
        raise OperationFailed("courriel_refuse", str(exc)) from exc
    except ValueError as exc:
        raise OperationFailed("modele_incomplet", str(exc)) from exc


def _record(
    uow: UnitOfWork, ctx: OperationContext, outcome: Reserve | tuple[str, SentMessage]
) -> Verdict:
    if isinstance(outcome, Reserve):
        if uow.mails.get(ctx.tenant, ctx.idempotency_key) is None:
            uow.mails.add(
                tenant=ctx.tenant,
                idempotency_key=ctx.idempotency_key,
                case_id=ctx.case_id,
                message_id=make_msgid(uuid.uuid4().hex, outcome.domain),
                pending=outcome.recipients,
                now=ctx.now,
            )
        return RunAgain()
    modele, sent = outcome
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
    uow.mails.update(
        ctx.tenant, ctx.idempotency_key, ctx.now, state=state, pending=deferred, result=result
    )
    if deferred:
        return RetryLater(f"Destinataires différés par le serveur : {', '.join(deferred)}.")
    return result


SEND_MAIL: Operation[MailParams, Reserve | Send, Reserve | tuple[str, SentMessage]] = Operation(
    name="connectors.send_mail",
    params=MailParams,
    prepare=_prepare,
    act=_send,
    record=_record,
    queue="connectors",
    description="Envoie une notification par courriel (modèle en français)",
)

OPERATIONS = (SEND_MAIL,)
