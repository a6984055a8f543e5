"""Citizens' requests filed online: request types, the public form, the follow-up link, status.

A request starts the `demande-usager` case as the platform on behalf of the public, with the
attachments stored through the documents intake; the process then produces, seals and mails the
acknowledgement itself. The follow-up link carries a token derived from the request id with the
platform's secret key (HMAC): only its SHA-256 is stored, and the token can be derived again by
whoever holds the key (the acknowledgement mail), never read back from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from engine.domain.calendar_fr import local_date
from engine.domain.deadlines import (
    Deadline,
    DeadlineError,
    MissingDocumentsRequest,
    implicit_decision,
)
from engine.domain.errors import (
    Conflict,
    FieldError,
    FormValidationError,
    InvalidInput,
    NotFound,
)
from engine.domain.french import format_date_fr
from engine.domain.model import Actor, Case, CaseStatus, Document
from engine.domain.tenant_records import PublicRequest
from engine.domain.training import training_reference
from engine.persistence.uow import UnitOfWork
from engine.runtime.facade import decide
from engine.services.cases import deliver_message, start_case
from engine.services.documents import (
    PDF,
    CheckedUpload,
    check_upload,
    clean_name,
    document_from_reference,
    receive_upload,
)
from engine.services.forms import validate_form
from engine.services.messages import MessageOrigin
from engine.services.steps import load_process
from engine.services.tenant_settings import spec_to_start

__all__ = [
    "PROCEDURE",
    "PUBLIC_ACTOR",
    "Filing",
    "RequestStatus",
    "RequestType",
    "Submitted",
    "Upload",
    "UploadLimits",
    "check_request",
    "download",
    "file_request",
    "find_request",
    "follow_up_path",
    "request_form",
    "request_status",
    "request_types",
    "submit_pieces",
    "submit_request",
    "token_hash",
]

PROCEDURE = "demande-usager"
FORM = "demande.json"
RULES_DECISION = "regles_demande"
"""The DMN decision giving each request type its silence rule (regles_demande.dmn)."""
PIECES_MESSAGE = "pieces_complementaires"
PUBLIC_ACTOR = Actor.system("usager")
"""The platform acting on behalf of the public: no account, the journal says so."""


@dataclass(frozen=True)
class RequestType:
    """A request type the commune offers, with what its silence means (from the DMN)."""

    code: str
    label: str
    acceptance: bool
    """Silence kept until the date means acceptance (L231-1), otherwise rejection (L231-4)."""
    months: int
    legal_basis: str


@dataclass(frozen=True)
class Upload:
    """One file sent by the citizen, not trusted until the intake has checked it."""

    name: str
    content: bytes


@dataclass(frozen=True)
class UploadLimits:
    """What the public form accepts, shown on the form and enforced here."""

    max_files: int = 5
    max_bytes: int = 10 * 1_000_000
    """Per file."""


@dataclass(frozen=True)
class Submitted:
    request: PublicRequest
    token: str
    """Shown once (confirmation page); only its hash is stored."""
    case: Case


@dataclass(frozen=True)
class ImplicitDecision:
    """When silence becomes a decision, and what it means, as the citizen reads it."""

    last_day: date | None
    """None while the delay does not run (missing pieces awaited, acceptance regime)."""
    acceptance: bool
    explanation: str
    legal_basis: str
    suspended: bool
    """Pieces are requested: the delay is suspended until they arrive (L114-5)."""

    @property
    def last_day_fr(self) -> str:
        return format_date_fr(self.last_day) if self.last_day else ""


@dataclass(frozen=True)
class RequestStatus:
    reference: str
    received_at: datetime
    subject: str
    type_label: str
    stage: str
    """Plain French: "en cours d'instruction", "pièces demandées le …", "décision rendue"."""
    stage_detail: str
    implicit: ImplicitDecision | None
    missing_pieces: tuple[str, ...]
    pieces_due: str | None
    awaiting_pieces: bool
    has_acknowledgement: bool
    has_decision: bool
    decision_label: str = "Décision (PDF)"
    """What the decision's document is: an express decision, the certificate of an implicit
    acceptance, or the information on an implicit rejection."""
    by_mail: bool = True
    """The citizen gave an e-mail address (a request registered at the counter may have none:
    everything then goes by post)."""


# -- request types and form -------------------------------------------------------------------


def _parsed(uow: UnitOfWork, tenant: str) -> Any:
    if uow.tenants.get(tenant) is None:
        raise NotFound("Collectivité introuvable.")
    try:
        spec_row = spec_to_start(uow, tenant, PROCEDURE)
    except Conflict as exc:  # disabled by the tenant: the public side does not exist
        raise NotFound("Cette collectivité ne propose pas de démarche en ligne.") from exc
    return load_process(uow, spec_row.hash)


def request_form(uow: UnitOfWork, tenant: str) -> dict[str, Any]:
    """The JSON Schema of the public form, as deployed for this tenant."""
    form = _parsed(uow, tenant).forms.get(FORM)
    if form is None:
        raise NotFound("Formulaire de demande introuvable.")
    return dict(form)


def request_types(uow: UnitOfWork, tenant: str) -> list[RequestType]:
    """The form's request types, each with what the process's DMN decision gives for it."""
    parsed = _parsed(uow, tenant)
    form = parsed.forms.get(FORM) or {}
    prop = form.get("properties", {}).get("type_demande", {})
    labels = prop.get("x-labels", {})
    types = []
    for code in prop.get("enum", ()):
        outputs = decide(parsed, RULES_DECISION, {"type_demande": code}) or {}
        types.append(
            RequestType(
                code=str(code),
                label=str(labels.get(code) or outputs.get("libelle_type") or code),
                acceptance=bool(outputs.get("acceptation_implicite", True)),
                months=int(outputs.get("delai_mois", 2)),
                legal_basis=str(outputs.get("base_legale", "")),
            )
        )
    return types


# -- follow-up token --------------------------------------------------------------------------


def _token(secret: str, request_id: uuid.UUID) -> str:
    mac = hmac.new(secret.encode(), f"suivi-demande:{request_id}".encode(), hashlib.sha256)
    return mac.hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def follow_up_path(uow: UnitOfWork, secret: str, tenant: str, case_id: uuid.UUID) -> str | None:
    """The citizen's follow-up address of a case filed online (None for a clerk's case), derived
    again from the key: for the mails sent later in the procedure."""
    request = uow.public_requests.by_case(tenant, case_id)
    if request is None:
        return None
    return f"/demarches/{tenant}/suivi/{_token(secret, request.id)}"


def find_request(uow: UnitOfWork, tenant: str, token: str) -> PublicRequest:
    """The request this token follows; NotFound for any other token, malformed or not."""
    if len(token) != 64 or any(c not in "0123456789abcdef" for c in token):
        raise NotFound("Demande introuvable.")
    found = uow.public_requests.by_token_hash(tenant, token_hash(token))
    if found is None:
        raise NotFound("Demande introuvable.")
    return found


# -- filing -----------------------------------------------------------------------------------


def _check_uploads(
    uploads: list[Upload], limits: UploadLimits
) -> tuple[list[CheckedUpload], list[FieldError]]:
    """Each upload through the documents intake (as a citizen's: active content refused)."""
    checked: list[CheckedUpload] = []
    errors = []
    if len(uploads) > limits.max_files:
        errors.append(FieldError("pieces", f"{limits.max_files} fichiers au plus."))
    for upload in uploads:
        name = clean_name(upload.name)
        if len(upload.content) > limits.max_bytes:
            errors.append(
                FieldError(
                    "pieces",
                    f"« {name} » dépasse la taille maximale "
                    f"({limits.max_bytes // 1_000_000} Mo par fichier).",
                )
            )
            continue
        if upload.content and upload.content.lstrip()[:5] != b"%PDF-":
            errors.append(FieldError("pieces", f"« {name} » n'est pas un fichier PDF."))
            continue
        try:
            checked.append(
                check_upload(
                    upload.name, upload.content, max_bytes=limits.max_bytes, from_citizen=True
                )
            )
        except InvalidInput as exc:
            errors.append(FieldError("pieces", f"« {name} » : {exc}"))
    return checked, errors


def _reference(document: Document) -> dict[str, Any]:
    """How the form's `pieces` items refer to a stored document."""
    return {k: v for k, v in document.reference().items() if k in ("id", "nom", "sha256", "taille")}


def _store(
    uow: UnitOfWork,
    tenant: str,
    uploads: list[CheckedUpload],
    limits: UploadLimits,
    now: datetime,
    actor: Actor = PUBLIC_ACTOR,
) -> list[Document]:
    return [
        receive_upload(uow, u, tenant=tenant, actor=actor, now=now, max_bytes=limits.max_bytes)
        for u in uploads
    ]


def check_request(
    schema: dict[str, Any],
    data: dict[str, Any],
    uploads: list[Upload],
    limits: UploadLimits,
    problems: list[FieldError],
) -> list[CheckedUpload]:
    """The form's data against its schema and each upload through the intake; every problem
    (with those the caller found) raised at once, nothing written."""
    checked, upload_problems = _check_uploads(uploads, limits)
    placeholders = [
        {"id": "a-verifier", "nom": clean_name(u.name), "sha256": "0" * 64, "taille": 0}
        for u in uploads
    ]
    found = [*upload_problems, *problems]
    try:
        validate_form(schema, {**data, "pieces": placeholders})
    except FormValidationError as exc:
        found = [*exc.errors, *found]
    if found:
        raise FormValidationError(found)
    return checked


@dataclass(frozen=True)
class Filing:
    """How a checked request enters the platform: who files it, when it was received, and the
    journal line that says so."""

    actor: Actor
    received_at: datetime
    """Starts the deadlines (`recu_le`): the moment of the online filing, or the day a paper
    request reached the counter."""
    kind: str
    message: str
    """`{reference}` is replaced by the request's reference."""
    extra: dict[str, Any]
    """More case data set by the platform (the channel, who registered it)."""


def file_request(
    uow: UnitOfWork,
    *,
    tenant: str,
    data: dict[str, Any],
    uploads: list[CheckedUpload],
    filing: Filing,
    secret: str,
    now: datetime,
    limits: UploadLimits,
) -> Submitted:
    """Store the pieces, start the case, add the follow-up link row and the journal line, in
    this unit of work (the caller commits)."""
    documents = _store(uow, tenant, uploads, limits, now, filing.actor)
    number = uow.tenants.next_counter(tenant, f"demande-usager:{now.year}")
    reference = training_reference(f"DEM-{now.year}-{number:06d}")
    case_data = {
        **data,
        "pieces": [_reference(d) for d in documents],
        # Set here, never by the form: the citizen cannot choose them.
        **filing.extra,
        "reference": reference,
        "recu_le": filing.received_at.isoformat(),
    }
    case = start_case(
        uow, tenant=tenant, procedure=PROCEDURE, data=case_data, actor=filing.actor, now=now
    )
    for document in documents:
        uow.documents.attach(tenant, document.id, case.id)
    request = PublicRequest(
        id=uuid.uuid4(),
        tenant=tenant,
        case_id=case.id,
        reference=reference,
        created_at=filing.received_at,
    )
    token = _token(secret, request.id)
    uow.public_requests.add(request, token_sha256=token_hash(token))
    uow.journal.append(
        tenant=tenant,
        kind=filing.kind,
        case_id=case.id,
        actor=filing.actor.user_id,
        payload={
            "message": filing.message.replace("{reference}", reference),
            "reference": reference,
            "pieces": len(documents),
        },
        now=now,
    )
    return Submitted(request=request, token=token, case=case)


def submit_request(
    uow: UnitOfWork,
    *,
    tenant: str,
    data: dict[str, Any],
    uploads: list[Upload],
    consent: bool,
    secret: str,
    now: datetime,
    limits: UploadLimits | None = None,
) -> Submitted:
    """Validate everything first (every problem listed), then file the request in this unit of
    work: documents, case, link row and journal. The caller commits; nothing is written on error."""
    limits = limits or UploadLimits()
    schema = request_form(uow, tenant)
    problems = []
    if not consent:
        problems.append(
            FieldError(
                "consentement",
                "cochez la case pour indiquer que vous avez pris connaissance de ces informations",
            )
        )
    checked = check_request(schema, data, uploads, limits, problems)
    filing = Filing(
        actor=PUBLIC_ACTOR,
        received_at=now,
        kind="citizen.request.filed",
        message="Demande {reference} déposée en ligne par l'usager",
        extra={},
    )
    return file_request(
        uow,
        tenant=tenant,
        data=data,
        uploads=checked,
        filing=filing,
        secret=secret,
        now=now,
        limits=limits,
    )


def _awaiting_pieces(uow: UnitOfWork, request: PublicRequest) -> bool:
    waiting = uow.cases.waiting_for_message(request.tenant, PIECES_MESSAGE, request.reference)
    return request.case_id in waiting


def submit_pieces(
    uow: UnitOfWork,
    *,
    tenant: str,
    token: str,
    uploads: list[Upload],
    now: datetime,
    limits: UploadLimits | None = None,
) -> Case:
    """The missing pieces, sent from the status page: delivered to the waiting case, which
    resumes (the delay restarts or ends its suspension from their receipt, L114-5)."""
    limits = limits or UploadLimits()
    request = find_request(uow, tenant, token)
    if not _awaiting_pieces(uow, request):
        raise Conflict("Aucune pièce n'est demandée pour cette demande actuellement.")
    checked, problems = _check_uploads(uploads, limits)
    if not uploads:
        problems.insert(0, FieldError("pieces", "Joignez au moins une pièce (PDF)."))
    if problems:
        raise FormValidationError(problems)
    documents = _store(uow, tenant, checked, limits, now)
    for document in documents:
        uow.documents.attach(tenant, document.id, request.case_id)
    return deliver_message(
        uow,
        tenant=tenant,
        message=PIECES_MESSAGE,
        correlation=request.reference,
        payload={"recues_le": now.isoformat(), "pieces": [_reference(d) for d in documents]},
        origin=MessageOrigin.connector(PUBLIC_ACTOR),
        now=now,
    )


# -- status -----------------------------------------------------------------------------------


def _day(value: Any) -> str:
    """A stored ISO date-time shown as a French day (Europe/Paris)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return format_date_fr(moment.date(), weekday=False)
    return format_date_fr(local_date(moment), weekday=False)


def _rule_for(uow: UnitOfWork, tenant: str, code: Any) -> RequestType | None:
    return next((t for t in request_types(uow, tenant) if t.code == code), None)


def _suspensions(data: dict[str, Any]) -> list[MissingDocumentsRequest]:
    requests = []
    for item in data.get("suspensions") or []:
        asked = item.get("demandees_le") or item.get("demande_le")
        received = item.get("recues_le") or item.get("recu_le")
        requests.append(
            MissingDocumentsRequest(
                requested_at=datetime.fromisoformat(str(asked).replace("Z", "+00:00")),
                time_limit=date.fromisoformat(str(item.get("delai"))[:10]),
                received_at=(
                    datetime.fromisoformat(str(received).replace("Z", "+00:00"))
                    if received
                    else None
                ),
            )
        )
    return requests


def _implicit(
    uow: UnitOfWork, tenant: str, data: dict[str, Any], awaiting: bool
) -> ImplicitDecision | None:
    """The case's own computation when the worker has made it, else the same deadlines library
    on the case's inputs (the acknowledgement is being prepared)."""
    acceptance = data.get("acceptation_implicite")
    months = data.get("delai_mois")
    basis = str(data.get("base_legale") or "")
    if acceptance is None or months is None:
        rule = _rule_for(uow, tenant, data.get("type_demande"))
        if rule is None:
            return None
        acceptance, months, basis = rule.acceptance, rule.months, rule.legal_basis
    stored = data.get("echeance_implicite")
    deadline: Deadline | None
    try:
        if isinstance(stored, dict) and "echeance" in stored:
            deadline = None if stored["echeance"] is None else Deadline.from_dict(stored)
        else:
            deadline = implicit_decision(
                datetime.fromisoformat(str(data.get("recu_le"))),
                acceptance=bool(acceptance),
                months=int(months),
                missing_documents=_suspensions(data),
            )
    except (DeadlineError, ValueError):
        return None
    if deadline is None:
        return ImplicitDecision(
            last_day=None,
            acceptance=bool(acceptance),
            explanation="Le délai ne court pas : les pièces manquantes sont attendues.",
            legal_basis=basis or "Art. L114-5 CRPA",
            suspended=True,
        )
    return ImplicitDecision(
        last_day=deadline.local_date,
        acceptance=bool(acceptance),
        explanation=deadline.explanation,
        legal_basis=deadline.legal_basis,
        suspended=awaiting,
    )


def _stage(case: Case, data: dict[str, Any], awaiting: bool) -> tuple[str, str]:
    statut = data.get("statut")
    if statut in ("accordée", "refusée"):
        when = (data.get("notification") or {}).get("envoye_le")
        detail = f"Votre demande a été {statut}."
        return (f"Décision rendue le {_day(when)}" if when else "Décision rendue", detail)
    if statut in ("acceptée implicitement", "rejetée implicitement"):
        return ("Décision implicite", f"Votre demande a été {statut}.")
    if case.status == CaseStatus.CANCELLED:
        return ("Demande close", "Cette demande a été close par le service.")
    if awaiting:
        asked = (data.get("demande_pieces_envoi") or {}).get("envoye_le")
        stage = f"Pièces demandées le {_day(asked)}" if asked else "Pièces demandées"
        return (stage, "Le service attend des pièces complémentaires de votre part.")
    if case.status == CaseStatus.COMPLETED:
        return ("Demande traitée", "Le traitement de votre demande est terminé.")
    if "accuse_scelle" not in data:
        return ("Demande reçue", "Votre accusé de réception est en cours de préparation.")
    return ("En cours d'instruction", "Le service examine votre demande.")


def request_status(uow: UnitOfWork, tenant: str, token: str) -> RequestStatus:
    request = find_request(uow, tenant, token)
    case = uow.cases.get(tenant, request.case_id)
    data = case.data
    awaiting = _awaiting_pieces(uow, request)
    stage, detail = _stage(case, data, awaiting)
    rule = _rule_for(uow, tenant, data.get("type_demande"))
    due = data.get("delai_production")
    return RequestStatus(
        reference=request.reference,
        received_at=request.created_at,
        subject=str(data.get("objet", "")),
        type_label=rule.label if rule else str(data.get("libelle_type", "")),
        stage=stage,
        stage_detail=detail,
        implicit=_implicit(uow, tenant, data, awaiting),
        missing_pieces=tuple(str(p) for p in data.get("pieces_manquantes") or ())
        if awaiting
        else (),
        pieces_due=_day(due) if awaiting and due else None,
        awaiting_pieces=awaiting,
        has_acknowledgement=_document_ref(data, "acknowledgement") is not None,
        has_decision=_document_ref(data, "decision") is not None,
        decision_label=_decision_label(data),
        by_mail=bool((data.get("demandeur") or {}).get("courriel")),
    )


def _decision_label(data: dict[str, Any]) -> str:
    if "notification" in data:
        return "Décision (PDF)"
    return {
        "acceptée implicitement": "Attestation d'acceptation implicite (PDF)",
        "rejetée implicitement": "Information sur le rejet implicite (PDF)",
    }.get(str(data.get("statut")), "Décision (PDF)")


def _document_ref(data: dict[str, Any], which: str) -> Any:
    if which == "acknowledgement":
        return (data.get("accuse_scelle") or {}).get("document")
    if which == "decision":
        # Shown once notified, never before: an express decision, or the implicit one's notice.
        if "notification" in data:
            return (data.get("decision_signee") or {}).get("document")
        if "information_envoyee" in data:
            return (data.get("information_scellee") or {}).get("document")
    return None


def download(uow: UnitOfWork, tenant: str, token: str, which: str) -> tuple[Document, bytes]:
    """The sealed acknowledgement or the notified decision of this request."""
    request = find_request(uow, tenant, token)
    case = uow.cases.get(tenant, request.case_id)
    reference = _document_ref(case.data, which)
    if reference is None:
        raise NotFound("Ce document n'est pas encore disponible.")
    document = document_from_reference(uow, tenant, reference)
    if document.media_type != PDF:
        raise NotFound("Ce document n'est pas disponible.")
    return document, uow.documents.content(document)
