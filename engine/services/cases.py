"""Use cases on cases: start, read, complete a human task, cancel, deliver a message or a
signal, retry."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime
from typing import Any

from engine.domain.errors import (
    Conflict,
    FormValidationError,
    InvalidInput,
    ModelError,
    NotFound,
)
from engine.domain.journal import canonical_json
from engine.domain.model import Actor, Case, CaseStatus, JobState, JournalEntry
from engine.domain.training import training_reference
from engine.persistence.uow import UnitOfWork as SqlUnitOfWork
from engine.ports import UnitOfWork
from engine.runtime.facade import CaseRuntime
from engine.services.delegations import check_task_actor
from engine.services.form_checks import timed_checks
from engine.services.forms import validate_form
from engine.services.messages import MessageOrigin, check_delivery, check_signal
from engine.services.steps import (
    job_key,
    load_case,
    load_process,
    save_failed,
    save_loaded,
    save_step,
)
from engine.services.tenant_settings import spec_to_start

MAX_DATA_BYTES = 1_000_000
STALE = "Le dossier a été modifié entre-temps ; rechargez la page et recommencez."
log = logging.getLogger(__name__)


def _data_digest(data: dict[str, Any]) -> str:
    encoded = canonical_json(data)
    if len(encoded) > MAX_DATA_BYTES:
        raise InvalidInput("Données trop volumineuses.")
    return hashlib.sha256(encoded).hexdigest()


def start_case(
    uow: SqlUnitOfWork,
    *,
    tenant: str,
    procedure: str,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> Case:
    # The SQL unit of work: the tenant's catalogue (spec_to_start) is not behind the port yet.
    if uow.tenants.get(tenant) is None:
        raise NotFound("Collectivité inconnue.")
    # The tenant's catalogue decides: procedure enabled, latest or pinned version.
    spec_row = spec_to_start(uow, tenant, procedure)
    digest = _data_digest(data)
    parsed = load_process(uow, spec_row.hash)
    runtime = CaseRuntime.start(parsed, data)
    number = uow.tenants.next_counter(tenant, f"dossier:{now.year}")
    title = str(data.get("objet") or data.get("titre") or parsed.bundle.title)[:500]
    case = Case(
        id=uuid.uuid4(),
        tenant=tenant,
        procedure=procedure,
        spec_hash=spec_row.hash,
        reference=training_reference(f"{now.year}-{number:06d}"),
        title=title,
        status=CaseStatus.RUNNING,
        version=0,
        created_at=now,
        updated_at=now,
        created_by=actor.user_id,
    )
    case = save_step(uow, case, runtime, now=now, expected_version=None)
    uow.journal.append(
        tenant=tenant,
        kind="case.started",
        case_id=case.id,
        actor=actor.user_id,
        payload={
            "procedure": procedure,
            "spec": spec_row.hash,
            "data_sha256": digest,
            "reference": case.reference,
        },
        now=now,
    )
    return case


def get_case(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> Case:
    return uow.cases.get(tenant, case_id)


def timeline(uow: UnitOfWork, tenant: str, case_id: uuid.UUID) -> list[JournalEntry]:
    uow.cases.get(tenant, case_id)
    return uow.journal.for_case(tenant, case_id)


def complete_task(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> Case:
    """Complete a ready human task with data valid against its form; one step, one version."""
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    if case.status != CaseStatus.RUNNING:
        raise Conflict("Ce dossier n'est plus en cours.")
    stale = expected_version is not None and expected_version != case.version
    try:
        task = runtime.ready_task(task_id)
    except NotFound:
        if stale:  # done meanwhile (a second submission): say the case moved on
            raise Conflict(STALE) from None
        if runtime.knows_task(task_id):  # it exists: a concurrent request completed it first
            raise Conflict(
                "Cette tâche vient d'être faite par quelqu'un d'autre ; rechargez la page."
            ) from None
        raise
    # Who may act before anything else (engine.domain.task_access): a refusal says the same on
    # every channel, whatever the version the client read.
    acting_for = check_task_actor(
        uow, tenant=tenant, lane=task.lane, assignee=task.assignee, actor=actor, now=now
    )
    if stale:
        raise Conflict(STALE)
    validate_form(task.form, data)
    # Legal minimum delays counted from now (e.g. a bid deadline at least 35 days after the
    # contract notice): only the engine knows the clock and the case data.
    late = timed_checks(task.form, data, runtime.data, now)
    if late:
        raise FormValidationError(late)
    digest = _data_digest(data)
    # Who completed the task, written by the engine after validation so a form cannot forge it:
    # a signing operation signs for this user and nobody else (a deputy signs as themselves,
    # "pour" the person they stand in for).
    done_by: dict[str, Any] = {
        "utilisateur": actor.user_id,
        "nom": actor.display_name,
        "le": now.isoformat(),
    }
    delegation: dict[str, Any] = {}
    if acting_for is not None:
        delegation = {
            "pour": f"user:{acting_for.login}",
            "pour_nom": acting_for.display_name,
            "mention": f"par délégation de {acting_for.display_name}",
        }
    data = {**data, f"{task.name}_par": {**done_by, **delegation}}
    try:
        runtime.complete_task(task_id, data)
    except ModelError as exc:
        return save_failed(uow, loaded, exc, actor=actor.user_id, now=now)
    updated = save_loaded(uow, loaded, now=now)
    uow.journal.append(
        tenant=tenant,
        kind="task.completed",
        case_id=case_id,
        actor=actor.user_id,
        payload={
            "task": task.name,
            "title": task.title,
            "task_id": str(task_id),
            "data_sha256": digest,
            **delegation,
        },
        now=now,
    )
    return updated


def cancel_case(
    uow: UnitOfWork, *, tenant: str, case_id: uuid.UUID, reason: str, actor: Actor, now: datetime
) -> Case:
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Le motif d'annulation est obligatoire.")
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    if case.status in (CaseStatus.COMPLETED, CaseStatus.CANCELLED):
        raise Conflict("Ce dossier est déjà clos.")
    runtime.cancel()
    updated = save_loaded(uow, loaded, now=now, status=CaseStatus.CANCELLED, cancel_reason=reason)
    uow.journal.append(
        tenant=tenant,
        kind="case.cancelled",
        case_id=case_id,
        actor=actor.user_id,
        payload={"reason": reason},
        now=now,
    )
    return updated


def deliver_message(
    uow: UnitOfWork,
    *,
    tenant: str,
    message: str,
    correlation: str | None,
    payload: dict[str, Any],
    origin: MessageOrigin,
    now: datetime,
) -> Case:
    """Deliver an outside message (e.g. the prefecture's acknowledgement) to the waiting case.

    `origin` is set by the entry point: people and the operator may deliver only what the
    procedure declares for them (`check_delivery`); a model failure is the sender's 422."""
    digest = _data_digest(payload)
    waiting = uow.cases.waiting_for_message(tenant, message, correlation)
    if not waiting:
        raise NotFound(f"Aucun dossier n'attend le message « {message} » ({correlation}).")
    if len(waiting) > 1:
        raise Conflict(f"Plusieurs dossiers attendent « {message} » ({correlation}).")
    loaded = load_case(uow, tenant, waiting[0])
    case, runtime = loaded.case, loaded.runtime
    check_delivery(load_process(uow, case.spec_hash).bundle, message, origin, payload)
    try:
        delivered = runtime.deliver_message(message, payload)
    except ModelError as exc:
        log.warning("message %s refusé par le modèle du dossier %s : %s", message, case.id, exc)
        raise InvalidInput(
            f"Le dossier n'a pas pu traiter le message « {message} » : son contenu ne correspond "
            "pas à ce que la procédure attend."
        ) from None
    if not delivered:
        raise Conflict("Le dossier n'attend plus ce message.")
    updated = save_loaded(uow, loaded, now=now)
    journaled: dict[str, Any] = {
        "message": message,
        "correlation": correlation,
        "payload_sha256": digest,
        "origin": origin.channel,
    }
    if origin.reason:
        journaled["reason"] = origin.reason
    uow.journal.append(
        tenant=tenant,
        kind="message.received",
        case_id=case.id,
        actor=origin.actor.user_id,
        payload=journaled,
        now=now,
    )
    return updated


def deliver_signal(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    signal: str,
    origin: MessageOrigin,
    now: datetime,
) -> Case:
    """Send a signal to one case from outside: only a signal its procedure declares (`signals:`)
    for the sender's channel or role; its catch events (intermediate, boundary, event
    sub-process start) fire. A model failure is the sender's 422 and leaves the case as it was."""
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    check_signal(load_process(uow, case.spec_hash).bundle, signal, origin)
    if case.status != CaseStatus.RUNNING:
        raise Conflict("Le dossier n'est pas en cours : il ne reçoit plus de signal.")
    try:
        delivered = runtime.deliver_signal(signal)
    except ModelError as exc:
        log.warning("signal %s refusé par le modèle du dossier %s : %s", signal, case.id, exc)
        raise InvalidInput(
            f"Le dossier n'a pas pu traiter le signal « {signal} » : son modèle a échoué."
        ) from None
    if not delivered:
        raise Conflict(f"Le dossier n'attend pas le signal « {signal} » à cette étape.")
    updated = save_loaded(uow, loaded, now=now)
    journaled: dict[str, Any] = {"signal": signal, "origin": origin.channel}
    if origin.reason:
        journaled["reason"] = origin.reason
    uow.journal.append(
        tenant=tenant,
        kind="signal.received",
        case_id=case.id,
        actor=origin.actor.user_id,
        payload=journaled,
        now=now,
    )
    return updated


def retry_case(
    uow: UnitOfWork, *, tenant: str, case_id: uuid.UUID, actor: Actor, now: datetime
) -> Case:
    """Operator retry of a case in error: each waiting service task gets a new job attempt."""
    loaded = load_case(uow, tenant, case_id)
    case, runtime = loaded.case, loaded.runtime
    if case.status != CaseStatus.ERROR:
        raise Conflict("Seul un dossier en erreur peut être relancé.")
    jobs = uow.jobs.for_case(tenant, case_id)
    updated = save_loaded(uow, loaded, now=now, status=CaseStatus.RUNNING)
    for call in runtime.service_calls():
        previous = [j for j in jobs if j.task_id == call.task_id]
        if any(j.state not in (JobState.FAILED, JobState.DEAD) for j in previous):
            continue
        uow.jobs.add_once(
            tenant=tenant,
            case_id=case_id,
            task_id=call.task_id,
            operation=call.operation,
            params=call.params,
            idempotency_key=job_key(case_id, call.task_id, len(previous) + 1),
            now=now,
        )
    uow.journal.append(
        tenant=tenant,
        kind="case.retried",
        case_id=case_id,
        actor=actor.user_id,
        payload={"previous_error": case.error},
        now=now,
    )
    return updated
