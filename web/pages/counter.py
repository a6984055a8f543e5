"""The counter (guichet): an agent registers a request received on paper or in person, for the
citizen, and prints the sealed acknowledgement to hand over or post."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from engine.domain.calendar_fr import local_date
from engine.domain.errors import FieldError, FormValidationError
from engine.services import citizen_requests as citizen
from engine.services import counter_requests as counter
from engine.services.counter_requests import CounterRequest
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.forms import FormField, read_form
from web.pages.citizen import LIMITS, field_key, form_fields, limited_form, uploads_of
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.pdf_responses import pdf_response
from web.security import check_csrf

__all__ = ["router"]

router = APIRouter(
    dependencies=[Depends(limited_form), Depends(check_csrf)], include_in_schema=False
)
Clerk = Annotated[TenantAccess, Depends(page_access("agent"))]
CONTACT_HINT = "Obligatoire sans adresse électronique : l'accusé de réception est alors posté."


def _identity(fields: list[FormField]) -> list[FormField]:
    """The requester's fields; the postal address says when it is required."""
    return [
        FormField(**{**f.__dict__, "hint": CONTACT_HINT}) if f.name == "demandeur-adresse" else f
        for f in fields
    ]


def _form_page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    p: PlatformDep,
    values: dict[str, Any],
    errors: list[FieldError] | None = None,
    *,
    status: int = 200,
) -> Response:
    siren = access.tenant.siren
    schema = counter.counter_form(unit, siren)
    by_field: dict[str, str] = {}
    for error in errors or []:
        by_field.setdefault(field_key(error.path), error.message)
    fields = form_fields(schema, values, by_field)
    fields["identity_fields"] = _identity(fields["identity_fields"])
    today = local_date(p.clock())
    context: dict[str, Any] = {
        **fields,
        "types": citizen.request_types(unit, siren),
        "limits": LIMITS,
        "channels": counter.CHANNELS,
        "channel": values.get("canal", "guichet"),
        "received_on": values.get("date_reception", today.isoformat()),
        "today": today.isoformat(),
        "earliest": (today - timedelta(days=counter.BACKDATING_DAYS)).isoformat(),
        "backdating_days": counter.BACKDATING_DAYS,
        "channel_error": by_field.get("canal"),
        "date_error": by_field.get("date_reception"),
    }
    shown: list[FormField] = [*fields["request_fields"], *fields["identity_fields"]]
    summary = [("champ-canal", "Mode de réception", by_field.get("canal"))]
    summary.append(("champ-date_reception", "Date de réception", by_field.get("date_reception")))
    summary += [(f.input_id, f.label, f.error) for f in shown]
    summary.append(("champ-pieces", "Pièces numérisées", by_field.get("pieces")))
    context["all_errors"] = [(i, label, e) for i, label, e in summary if e]
    return tenant_page(request, access, "guichet_formulaire.html", context, status=status)


@router.get("/c/{tenant}/guichet")
def counter_form(request: Request, access: Clerk, unit: UowDep, p: PlatformDep) -> Response:
    return _form_page(request, access, unit, p, {})


@router.post("/c/{tenant}/guichet")
def register(
    request: Request, access: Clerk, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    siren = access.tenant.siren
    schema = counter.counter_form(unit, siren)
    person = schema["properties"]["demandeur"]
    sub = {k.removeprefix("demandeur-"): v for k, v in form.items() if k.startswith("demandeur-")}
    data = {**read_form(schema, form), "demandeur": read_form(person, sub)}
    data.pop("pieces", None)
    given = CounterRequest(
        channel=str(form.get("canal") or ""), received_on=str(form.get("date_reception") or "")
    )
    try:
        submitted = counter.register_request(
            unit,
            tenant=siren,
            data=data,
            counter=given,
            uploads=uploads_of(form),
            agent=access.actor,
            secret=p.settings.secret_key,
            now=p.clock(),
            limits=LIMITS,
        )
    except FormValidationError as exc:
        values = {**data, "canal": given.channel, "date_reception": given.received_on}
        return _form_page(request, access, unit, p, values, exc.errors, status=422)
    unit.commit()
    flash(request, f"Demande {submitted.request.reference} enregistrée pour le compte de l'usager.")
    return see_other(f"/c/{siren}/guichet/{submitted.case.id}")


def _token(unit: UowDep, p: PlatformDep, tenant: str, case_id: uuid.UUID) -> str:
    path = citizen.follow_up_path(unit, p.settings.secret_key, tenant, case_id)
    if path is None:
        raise HTTPException(404, "Demande introuvable.")
    return path.rsplit("/", 1)[1]


@router.get("/c/{tenant}/guichet/{case_id}")
def receipt(
    request: Request, case_id: uuid.UUID, access: Clerk, unit: UowDep, p: PlatformDep
) -> Response:
    siren = access.tenant.siren
    token = _token(unit, p, siren, case_id)
    state = citizen.request_status(unit, siren, token)
    context = {
        "state": state,
        "case_id": case_id,
        "registered": counter.registered(unit, siren, case_id),
        "link": str(request.base_url).rstrip("/") + f"/demarches/{siren}/suivi/{token}",
    }
    return tenant_page(request, access, "guichet_recepisse.html", context)


@router.get("/c/{tenant}/guichet/{case_id}/accuse")
def acknowledgement(case_id: uuid.UUID, access: Clerk, unit: UowDep) -> Response:
    found = counter.acknowledgement(unit, access.tenant.siren, case_id)
    if found is None:
        raise HTTPException(
            404, "L'accusé de réception est en cours de préparation : réessayez dans un instant."
        )
    document, content = found
    return pdf_response(content, document.name)
