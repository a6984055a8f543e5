"""Clerk screens: catalogue of procedures, inbox, list of cases, case page, task forms."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from engine.domain.deadlines import Deadline, DeadlineError
from engine.domain.errors import Conflict, FormValidationError, InvalidInput
from engine.domain.french import PARIS, format_date_fr
from engine.domain.model import CaseStatus, HumanTask, JournalEntry
from engine.domain.task_access import CASE_READERS, asks_password, task_access
from engine.services import case_messages, council, tenant_settings
from engine.services import cases as case_services
from engine.services import task_access as task_services
from engine.services.admin import list_members
from engine.services.documents import add_checked_case_document, check_upload
from engine.services.procedure_versions import version_label
from engine.services.queries import accounts as account_queries
from engine.services.queries import cases as case_queries
from engine.services.steps import load_process
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess, page_access
from web.confirmation import confirm_signature, confirmation_for
from web.deps import PlatformDep, UowDep
from web.diagram import case_diagram
from web.display import case_rows, datetime_fr
from web.forms import errors_by_field, invalid_fields, prefilled, read_form
from web.history import history
from web.pages.common import FormDep, PagingDep, flash, see_other, tenant_page
from web.previews import PreviewsDep, preview_cache
from web.security import check_csrf
from web.task_forms import close_uploads, form_fields, read_submission

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

"""Roles that see a tenant's cases (the tenant admin manages people, not cases)."""

Clerk = Annotated[TenantAccess, Depends(page_access("agent"))]
Reader = Annotated[TenantAccess, Depends(page_access(*CASE_READERS))]


@router.get("/c/{tenant}/procedures")
def catalogue(request: Request, access: Clerk, unit: UowDep) -> Response:
    procedures = tenant_settings.enabled_procedures(unit, access.tenant.siren)
    return tenant_page(request, access, "catalogue.html", {"procedures": procedures})


@router.post("/c/{tenant}/procedures/{procedure}/demarrer")
def start(
    request: Request, procedure: str, access: Clerk, unit: UowDep, p: PlatformDep
) -> Response:
    case = case_services.start_case(
        unit,
        tenant=access.tenant.siren,
        procedure=procedure,
        data={},
        actor=access.actor,
        now=p.clock(),
    )
    unit.commit()
    flash(request, f"Dossier {case.reference} créé.")
    login = access.principal.username
    mine = [
        t
        for t in case_queries.case_tasks(unit, access.tenant.siren, case.id)
        if task_access(lane=t.lane, assignee=t.assignee, login=login, roles=access.roles).allowed
    ]
    base = f"/c/{access.tenant.siren}/dossiers/{case.id}"
    return see_other(f"{base}/taches/{mine[0].id}" if mine else base)


@router.get("/c/{tenant}/dossiers")
def case_list(
    request: Request,
    access: Reader,
    unit: UowDep,
    page: PagingDep,
    statut: str | None = None,
    procedure: str | None = None,
) -> Response:
    cases, total = case_queries.search_cases(
        unit,
        access.tenant.siren,
        status=statut or None,
        procedure=procedure or None,
        limit=page.limit,
        offset=page.offset,
    )
    context = {
        "cases": cases,
        "total": total,
        "statut": statut,
        "procedure": procedure,
        "procedures": case_queries.procedure_catalogue(unit),
        "links": page.links(request, total),
        "offset": page.offset,
    }
    return tenant_page(request, access, "cases.html", context)


DEADLINE_LABELS = {
    "cgct.convocation.jours_francs": "Envoi de la convocation du conseil",
    "crpa.decision_implicite.acceptation": "Naissance d'une décision implicite d'acceptation",
    "crpa.decision_implicite.rejet": "Naissance d'une décision implicite de rejet",
    "cgct.controle_legalite.defere": "Fin du contrôle de légalité",
    "cgct.publication.duree_minimale": "Fin de la durée minimale de publication",
    "ccp.standstill": "Fin du délai de suspension avant signature du marché",
    "ccp.reception_offres": "Date limite de réception des offres",
}
PERIODS = frozenset(
    {
        "cgct.controle_legalite.defere",
        "cgct.publication.duree_minimale",
        "ccp.standstill",
        "ccp.reception_offres",  # bids are received until then: passed, the reception is closed
    }
)
"""Deadlines that are periods to wait out: once over they are « écoulés », not missed."""
MET_BY: dict[str, tuple[str, str, frozenset[str]]] = {
    "cgct.convocation.jours_francs": ("mail.sent", "modele", frozenset({"convocation_conseil"})),
    "crpa.decision_implicite.acceptation": ("task.completed", "task", frozenset({"decider"})),
    "crpa.decision_implicite.rejet": ("task.completed", "task", frozenset({"decider"})),
}
"""Deadlines something must happen before: the journal entry that meets each one."""


@dataclass(frozen=True)
class DeadlineView:
    """A deadline the case carries, as the case page shows it."""

    key: str
    """The case datum holding it."""
    label: str
    deadline: Deadline
    countdown: str
    """"dans 12 jours", "dépassé depuis 3 jours", "respecté le …", from the platform clock."""
    state: str
    """`depasse`, `proche` (a week or less), `ouvert`, `respecte` or `ecoule`, for the style."""

    @property
    def day(self) -> str:
        """The last day, in French (`lundi 2 mars 2026`)."""
        return format_date_fr(self.deadline.local_date)


def _days(count: int) -> str:
    return f"{count} jour{'s' if count > 1 else ''}"


def countdown(deadline: Deadline, now: datetime) -> tuple[str, str]:
    """French countdown to a deadline's last day (Europe/Paris calendar days) and its state."""
    today = now.astimezone(PARIS).date()
    if deadline.has_passed(now):
        return f"dépassé depuis {_days(max(1, (today - deadline.local_date).days))}", "depasse"
    left = (deadline.local_date - today).days
    if left <= 0:
        return "dernier jour aujourd'hui", "proche"
    if left == 1:
        return "dernier jour demain", "proche"
    return f"dans {_days(left)}", "proche" if left <= 7 else "ouvert"


def met_at(deadline: Deadline, events: Sequence[JournalEntry]) -> datetime | None:
    """When the case did what the deadline asks for (the first such journal entry), if it did."""
    rule = MET_BY.get(deadline.rule)
    if rule is None:
        return None
    kind, field_name, values = rule
    for entry in events:
        if entry.kind == kind and str(entry.payload.get(field_name)) in values:
            return entry.recorded_at
    return None


def deadline_state(
    deadline: Deadline,
    now: datetime,
    events: Sequence[JournalEntry] = (),
    *,
    open_case: bool = True,
) -> tuple[str, str]:
    """The countdown while a deadline runs; once met, when (« respecté le … »); a period
    waited out is « écoulé »; a closed case counts nothing down."""
    done = met_at(deadline, events)
    if done is not None:
        if done.tzinfo is None:
            done = done.replace(tzinfo=UTC)
        if done < deadline.due:
            return f"respecté le {datetime_fr(done)}", "respecte"
        return f"non respecté : fait le {datetime_fr(done)}", "depasse"
    if deadline.rule in PERIODS and deadline.has_passed(now):
        return "délai écoulé", "ecoule"
    if not open_case:
        return "sans objet : le dossier n'est plus en cours", "ecoule"
    return countdown(deadline, now)


def deadlines_of(
    data: dict[str, Any],
    now: datetime,
    events: Sequence[JournalEntry] = (),
    *,
    open_case: bool = True,
) -> list[DeadlineView]:
    """The computed deadlines stored in the case data (each with its rule and inputs)."""
    found = []
    for key, value in data.items():
        if not (isinstance(value, dict) and {"schema", "rule", "due"} <= value.keys()):
            continue
        try:
            deadline = Deadline.from_dict(value)
        except DeadlineError:
            continue
        label = DEADLINE_LABELS.get(deadline.rule, deadline.legal_basis)
        state = deadline_state(deadline, now, events, open_case=open_case)
        found.append(DeadlineView(key, label, deadline, *state))
    return sorted(found, key=lambda view: view.deadline.due)


def members_by_login(unit: UnitOfWork, tenant: str) -> dict[str, str]:
    """Login -> display name of the tenant's members (one query, for a whole page)."""
    return {m.username: m.display_name for m in list_members(unit, tenant)}


def council_names(unit: UnitOfWork, tenant: str) -> dict[str, str]:
    """Councillor's mail -> name, for the fields picked among the council (convocations)."""
    return {c.email: c.name for c in council.councillors(unit, tenant)}


def agenda_subjects(data: Mapping[str, Any]) -> dict[str, str]:
    """A séance's project number -> « 2. Objet (projet 2027_PDEL0001) », from its checked
    agenda, for the projects picked at the convocation."""
    agenda = data.get("agenda")
    points = agenda.get("ordre_du_jour") if isinstance(agenda, Mapping) else None
    subjects: dict[str, str] = {}
    for point in points if isinstance(points, list) else []:
        if isinstance(point, Mapping) and point.get("numero_projet") and point.get("objet"):
            number = point["numero_projet"]
            subjects[str(number)] = f"{point.get('numero')}. {point['objet']} (projet {number})"
    return subjects


def _case_page(
    request: Request,
    access: TenantAccess,
    unit: UnitOfWork,
    p: PlatformDep,
    case_id: uuid.UUID,
    *,
    upload_error: str | None = None,
    status: int = 200,
) -> Response:
    folder = case_queries.case_folder(unit, access.tenant.siren, case_id)
    case, tasks, events, documents = folder.case, folder.tasks, folder.events, folder.documents
    process = load_process(unit, case.spec_hash)
    people = members_by_login(unit, access.tenant.siren)
    open_case = case.status is CaseStatus.RUNNING
    deadlines = deadlines_of(case.data, p.clock(), events, open_case=open_case)
    shown_above = frozenset(view.key for view in deadlines)
    context = {
        "case": case,
        "procedure_title": process.bundle.title,
        "procedure_version": version_label(unit, case.spec_hash),
        "tasks": tasks,
        "actionable": task_services.actionable(
            unit, tenant=access.tenant.siren, actor=access.actor, tasks=tasks, now=p.clock()
        ),
        "people": people,
        "history": history(events, people, {str(d.id): d.name for d in documents}),
        "data_rows": case_rows(
            case.data,
            process.forms,
            people=people | council_names(unit, access.tenant.siren) | agenda_subjects(case.data),
            hide=shown_above,
        ),
        "documents": documents,
        "previews": {str(k): v for k, v in preview_cache(p).available(documents, unit).items()},
        "deadlines": deadlines,
        "size_label": size_label,
        "can_upload": "agent" in access.roles and open_case,
        "max_upload_label": size_label(p.settings.max_upload_bytes),
        "max_upload": p.settings.max_upload_bytes,
        "upload_error": upload_error,
        "message_actions": case_messages.sendable_messages(
            unit, tenant=access.tenant.siren, case_id=case_id, actor=access.actor
        )
        if open_case
        else [],
        "progress_diagram": case_diagram(unit, access.tenant.siren, case_id, people),
    }
    return tenant_page(request, access, "case.html", context, status=status)


@router.get("/c/{tenant}/dossiers/{case_id}")
def case_page(
    request: Request, case_id: uuid.UUID, access: Reader, unit: UowDep, p: PlatformDep
) -> Response:
    return _case_page(request, access, unit, p, case_id)


def size_label(size: int) -> str:
    """`50 Mo`, `292 Ko`, `1,5 Mo` (binary units, as file managers show them)."""
    if size < 1024 * 1024:
        return f"{size // 1024} Ko"
    mo = size / (1024 * 1024)
    return f"{mo:.0f} Mo" if mo >= 10 or mo.is_integer() else f"{mo:.1f} Mo".replace(".", ",")


def _read_upload(upload: UploadFile | None, limit: int) -> tuple[str, bytes]:
    if upload is None or not upload.filename:
        raise InvalidInput("Choisissez un fichier PDF à ajouter.")
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        size = size_label(upload.size or len(content))
        raise InvalidInput(
            f"Fichier trop volumineux : {size} (taille maximale : {size_label(limit)})."
        )
    return upload.filename, content


@router.post("/c/{tenant}/dossiers/{case_id}/documents")
def upload_document(
    request: Request,
    case_id: uuid.UUID,
    access: Clerk,
    unit: UowDep,
    p: PlatformDep,
    previews: PreviewsDep,
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A PDF added to the case; refused whole (nothing written) when any check fails.

    Asked by the upload script (`X-Requested-With`), it answers JSON instead of a page. The
    file is a declared parameter so that FastAPI closes its spooled copy whatever happens."""
    case_queries.find_case(
        unit, access.tenant.siren, case_id
    )  # another tenant's case: 404 before anything
    scripted = request.headers.get("x-requested-with") == "XMLHttpRequest"
    try:
        name, content = _read_upload(fichier, p.settings.max_upload_bytes)
        limit = p.settings.max_upload_bytes
        checked = check_upload(name, content, max_bytes=limit, from_citizen=False)
        document = add_checked_case_document(
            unit,
            checked,
            tenant=access.tenant.siren,
            case_id=case_id,
            actor=access.actor,
            now=p.clock(),
            max_bytes=limit,
        )
    except (InvalidInput, Conflict) as exc:
        if scripted:
            return JSONResponse({"erreur": str(exc)}, status_code=422)
        return _case_page(request, access, unit, p, case_id, upload_error=str(exc), status=422)
    unit.commit()
    previews.ensure(document.sha256, lambda: checked.content)  # ready for the page that follows
    removed = f" Contenu actif retiré : {', '.join(checked.removed)}." if checked.removed else ""
    flash(request, f"Document « {document.name} » ajouté au dossier.{removed}")
    location = f"/c/{access.tenant.siren}/dossiers/{case_id}#documents"
    if scripted:
        return JSONResponse({"location": location})
    return see_other(location)


def _task(
    unit: UnitOfWork, access: TenantAccess, p: PlatformDep, case_id: uuid.UUID, task_id: uuid.UUID
) -> HumanTask:
    """The task, if this person may act on it (engine.domain.task_access), else 403/404."""
    return task_services.open_task(
        unit,
        tenant=access.tenant.siren,
        case_id=case_id,
        task_id=task_id,
        actor=access.actor,
        now=p.clock(),
    ).task


def schema_form_page(
    request: Request,
    access: TenantAccess,
    unit: UnitOfWork,
    case_id: uuid.UUID,
    schema: Mapping[str, Any] | None,
    template: str,
    context: Callable[[Any, list[Any]], Mapping[str, Any]],
    *,
    prefill: bool = False,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    """A page with a form generated from `schema` on a case: a task's or a message's.

    `context(case, documents)` gives the page's own entries. With `prefill` and no `values`
    (first display), the fields start from the case's data."""
    case = case_queries.find_case(unit, access.tenant.siren, case_id)
    documents = case_queries.case_documents(unit, access.tenant.siren, case_id)
    platform = request.app.state.platform
    fields = form_fields(
        unit,
        access,
        schema,
        case_data=case.data,
        documents=documents,
        values=prefilled(schema, case.data) if prefill and values is None else values,
        errors=errors,
        now=platform.clock(),
    )
    page = {
        "case": case,
        "documents": documents,
        "fields": fields,
        "invalid": invalid_fields(fields),
        "general": general or [],
        "max_upload_label": size_label(platform.settings.max_upload_bytes),
        **context(case, documents),
    }
    return tenant_page(request, access, template, page, status=status)


def _task_page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    case_id: uuid.UUID,
    task: HumanTask,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    on_behalf = None
    if task.assignee and task.assignee != access.principal.username:
        row = account_queries.user_by_username(unit, task.assignee)
        on_behalf = str(row.display_name) if row is not None else task.assignee

    def context(_case: Any, documents: list[Any]) -> dict[str, Any]:
        previews = preview_cache(request.app.state.platform).available(documents, unit)
        return {
            "on_behalf": on_behalf,
            "previews": previews,
            "preview_ids": {str(k) for k, ready in previews.items() if ready},
            "task": task,
            "confirm": confirmation_for(unit, access) if asks_password(task.lane) else None,
        }

    return schema_form_page(
        request,
        access,
        unit,
        case_id,
        task.form,
        "task.html",
        context,
        prefill=True,
        values=values,
        errors=errors,
        general=general,
        status=status,
    )


@router.get("/c/{tenant}/dossiers/{case_id}/taches/{task_id}")
def task_form(
    request: Request,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    access: Reader,
    unit: UowDep,
    p: PlatformDep,
) -> Response:
    task = _task(unit, access, p, case_id, task_id)
    return _task_page(request, access, unit, case_id, task)


@router.post("/c/{tenant}/dossiers/{case_id}/taches/{task_id}")
def submit_task(
    request: Request,
    case_id: uuid.UUID,
    task_id: uuid.UUID,
    access: Reader,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    task = _task(unit, access, p, case_id, task_id)
    if asks_password(task.lane):
        refused = confirm_signature(
            request, unit, access, form.get("confirmation"), form.get("code_confirmation")
        )
        if refused:
            general = [f"{refused.rstrip('.')} : votre décision n'a pas été enregistrée."]
            show = read_form(task.form, form)
            close_uploads(form)
            return _task_page(
                request, access, unit, case_id, task, values=show, general=general, status=403
            )
    submission = read_submission(
        unit,
        access,
        case_id,
        task.form,
        form,
        max_bytes=p.settings.max_upload_bytes,
        now=p.clock(),
    )
    data = submission.data
    if submission.add_row or submission.errors or submission.general:
        if submission.uploaded:
            unit.commit()  # the PDFs joined the case: kept, and picked when the form comes back
        show = dict(data)
        row = submission.add_row
        if row is not None and row in dict((task.form or {}).get("properties", {})):
            show[row] = [*show.get(row, []), {}]
            return _task_page(request, access, unit, case_id, task, values=show)
        return _task_page(
            request,
            access,
            unit,
            case_id,
            task,
            values=show,
            errors=submission.errors,
            general=submission.general,
            status=422,
        )
    version = form.get("version")
    try:
        case_services.complete_task(
            unit,
            tenant=access.tenant.siren,
            case_id=case_id,
            task_id=task_id,
            data=data,
            actor=access.actor,
            now=p.clock(),
            expected_version=int(version)
            if isinstance(version, str) and version.isdigit()
            else None,
        )
    except FormValidationError as exc:
        if submission.uploaded:
            unit.commit()  # refused before the case moved: the PDFs stay, picked as above
        errors, general = errors_by_field(task.form, exc.errors)
        return _task_page(
            request,
            access,
            unit,
            case_id,
            task,
            values=data,
            errors=errors,
            general=general,
            status=422,
        )
    except Conflict as exc:
        return _task_page(
            request, access, unit, case_id, task, values=data, general=[str(exc)], status=409
        )
    unit.commit()
    flash(request, f"« {task.title} » : enregistré.")
    return see_other(f"/c/{access.tenant.siren}/dossiers/{case_id}")
