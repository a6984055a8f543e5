"""Public pages for citizens (no account): file a request online, follow it with a private link.

The follow-up token travels in the path of the status pages. It is never logged: the access log
names the route template (`/demarches/{tenant}/suivi/{jeton}`), never the concrete path, and
uvicorn's own access log is off. These pages send `Referrer-Policy: no-referrer` (the token
does not leave in a Referer header, even to our own pages) and `Cache-Control: no-store`.
A fragment would keep the token from the server altogether but needs a script to read it,
and the pages must work without one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.domain.errors import FieldError, FormValidationError
from engine.domain.model import Tenant
from engine.services import citizen_requests as citizen
from engine.services.citizen_requests import Upload, UploadLimits
from engine.services.login_throttle import ThrottlePolicy
from engine.services.queries import accounts as account_queries
from web.auth import client_address
from web.deps import PlatformDep, UowDep
from web.forms import FormField, fields_of, read_form
from web.pages.common import FormDep, flash, see_other
from web.pdf_responses import pdf_response
from web.security import LoginLimiter, check_csrf
from web.templating import render

__all__ = [
    "LIMITS",
    "SUBMISSION_POLICY",
    "field_key",
    "form_fields",
    "limited_form",
    "router",
    "uploads_of",
]

LIMITS = UploadLimits(max_files=5, max_bytes=10 * 1_000_000)
SUBMISSION_POLICY = ThrottlePolicy(
    per_account=10, per_address=10, window=timedelta(hours=1), slot=timedelta(minutes=5)
)
"""Requests (and pieces) one client address may send per hour, counted by the login limiter."""
HONEYPOT = "site_web"
"""A field hidden from people: only a robot fills it in."""
CONSENT = "consentement"
AUTOCOMPLETE = {
    "nom": "family-name",
    "prenom": "given-name",
    "courriel": "email",
    "telephone": "tel",
    "adresse": "street-address",
}
"""Input purposes of the requester's identity (RGAA 11.13, WCAG 1.3.5): browsers fill them."""
_MAX_BODY = LIMITS.max_files * LIMITS.max_bytes + 1_000_000
_PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


async def limited_form(request: Request) -> AsyncIterator[None]:
    """Parse the body once, within the public form's limits, before anything reads it; the
    uploaded files' temporary copies are closed after the response."""
    if request.method != "POST":
        yield
        return
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > _MAX_BODY:
        raise HTTPException(
            413,
            f"Envoi trop volumineux : {LIMITS.max_files} fichiers de "
            f"{LIMITS.max_bytes // 1_000_000} Mo au plus.",
        )
    try:
        form = await request.form(max_files=LIMITS.max_files + 1, max_fields=40)
    except StarletteHTTPException as exc:  # Starlette's multipart limits, in English
        raise HTTPException(
            400, f"Envoi refusé : {LIMITS.max_files} fichiers au plus, formulaire incomplet."
        ) from exc
    try:
        yield
    finally:
        await form.close()


router = APIRouter(
    dependencies=[Depends(limited_form), Depends(check_csrf)], include_in_schema=False
)


def _tenant(unit: UowDep, tenant: str) -> Tenant:
    found = (
        account_queries.find_tenant(unit, tenant) if len(tenant) == 9 and tenant.isdigit() else None
    )
    if found is None:
        raise HTTPException(404, "Collectivité introuvable.")
    return found


def _throttle(request: Request, unit: UowDep, p: PlatformDep) -> None:
    """Counts this submission in the request's unit of work (committed even when the form is
    refused, nothing else being written then); 429 when the address sent too many."""
    limiter = LoginLimiter(clock=p.clock, policy=SUBMISSION_POLICY)
    key = f"demarche:{client_address(request)}"
    wait = limiter.begin(unit, key, key)
    if wait:
        minutes = max(1, (wait + 59) // 60)
        raise HTTPException(
            429,
            f"Trop d'envois depuis votre connexion : réessayez dans {minutes} minute(s).",
            headers={"Retry-After": str(wait)},
        )


def uploads_of(form: FormData) -> list[Upload]:
    uploads = []
    for item in form.getlist("pieces"):
        if not isinstance(item, UploadFile) or not item.filename:
            continue  # an empty file input still sends a part without a name
        content = item.file.read(LIMITS.max_bytes + 1)
        uploads.append(Upload(name=item.filename, content=content))
    return uploads


@router.get("/demarches/{tenant}")
def request_types(request: Request, tenant: str, unit: UowDep) -> Response:
    found = _tenant(unit, tenant)
    types = citizen.request_types(unit, found.siren)
    return render(request, "citoyen_demarches.html", {"tenant": found, "types": types})


# -- the form ---------------------------------------------------------------------------------


def field_key(path: str) -> str:
    head, _, rest = path.partition("/")
    if head == "demandeur" and rest:
        return f"demandeur-{rest.split('/', 1)[0]}"
    return head


def form_fields(
    schema: dict[str, Any], values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    """The generated fields: the request itself, the requester's identity (a nested object,
    rendered field by field with a prefix), and the attachments' error if any."""
    top = {k: v for k, v in schema["properties"].items() if k not in ("demandeur", "pieces")}
    flat = {**schema, "properties": top}
    person = schema["properties"]["demandeur"]
    given = values.get("demandeur") or {}
    identity = [
        dataclasses.replace(
            f,
            name=f"demandeur-{f.name}",
            error=errors.get(f"demandeur-{f.name}"),
            widget="tel" if f.name == "telephone" else f.widget,
            attrs={**f.attrs, "autocomplete": AUTOCOMPLETE.get(f.name, "on")},
        )
        for f in fields_of(person, given)
    ]
    return {
        "request_fields": fields_of(flat, values, errors),
        "identity_fields": identity,
        "pieces_error": errors.get("pieces"),
        "pieces_title": schema["properties"]["pieces"].get("title", "Pièces jointes"),
        "consent_error": errors.get(CONSENT),
        "consent_given": values.get(CONSENT, False),
    }


def _form_page(
    request: Request,
    tenant: Tenant,
    schema: dict[str, Any],
    values: dict[str, Any],
    errors: list[FieldError] | None = None,
    *,
    types: list[citizen.RequestType],
    status: int = 200,
) -> Response:
    by_field: dict[str, str] = {}
    for error in errors or []:
        by_field.setdefault(field_key(error.path), error.message)
    context = {
        "tenant": tenant,
        "types": types,
        "limits": LIMITS,
        "honeypot": HONEYPOT,
        **form_fields(schema, values, by_field),
    }
    fields: list[FormField] = [*context["request_fields"], *context["identity_fields"]]
    context["all_errors"] = [(f.input_id, f.label, f.error) for f in fields if f.error]
    if by_field.get("pieces"):
        context["all_errors"].append(("champ-pieces", "Pièces jointes", by_field["pieces"]))
    if by_field.get(CONSENT):
        context["all_errors"].append(("champ-consentement", "Consentement", by_field[CONSENT]))
    return render(request, "citoyen_formulaire.html", context, status=status)


@router.get("/demarches/{tenant}/deposer")
def request_form(request: Request, tenant: str, unit: UowDep, type: str | None = None) -> Response:
    found = _tenant(unit, tenant)
    schema = citizen.request_form(unit, found.siren)
    types = citizen.request_types(unit, found.siren)
    values = {"type_demande": type} if type else {}
    return _form_page(request, found, schema, values, types=types)


@router.post("/demarches/{tenant}/deposer")
def file_request(
    request: Request, tenant: str, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    found = _tenant(unit, tenant)
    schema = citizen.request_form(unit, found.siren)
    if form.get(HONEYPOT):
        raise HTTPException(400, "Envoi refusé.")
    _throttle(request, unit, p)
    person = schema["properties"]["demandeur"]
    sub = {k.removeprefix("demandeur-"): v for k, v in form.items() if k.startswith("demandeur-")}
    data = {**read_form(schema, form), "demandeur": read_form(person, sub)}
    data.pop("pieces", None)
    consent = form.get(CONSENT) in ("on", "oui")
    try:
        submitted = citizen.submit_request(
            unit,
            tenant=found.siren,
            data=data,
            uploads=uploads_of(form),
            consent=consent,
            secret=p.settings.secret_key,
            now=p.clock(),
            limits=LIMITS,
        )
    except FormValidationError as exc:
        unit.commit()  # the attempt's count only: nothing else was written
        values = {**data, CONSENT: consent}
        types = citizen.request_types(unit, found.siren)
        return _form_page(request, found, schema, values, exc.errors, types=types, status=422)
    unit.commit()
    flash(
        request,
        f"Votre demande a été déposée sous la référence {submitted.request.reference}. "
        "Conservez l'adresse de cette page : elle seule permet de suivre votre demande.",
    )
    return see_other(_status_url(found.siren, submitted.token))


# -- follow-up --------------------------------------------------------------------------------


def _status_url(tenant: str, token: str) -> str:
    return f"/demarches/{quote(tenant)}/suivi/{quote(token)}"


def _private(response: Response) -> Response:
    response.headers.update(_PRIVATE)
    return response


def _status_page(
    request: Request,
    unit: UowDep,
    tenant: Tenant,
    jeton: str,
    *,
    errors: list[FieldError] | None = None,
    status: int = 200,
) -> Response:
    state = citizen.request_status(unit, tenant.siren, jeton)
    context = {
        "tenant": tenant,
        "state": state,
        "base": _status_url(tenant.siren, jeton),
        "link": str(request.base_url).rstrip("/") + _status_url(tenant.siren, jeton),
        "flash": request.session.pop("flash", None),
        "limits": LIMITS,
        "pieces_error": next((e.message for e in errors or []), None),
    }
    return _private(render(request, "citoyen_suivi.html", context, status=status))


@router.get("/demarches/{tenant}/suivi/{jeton}")
def request_status(request: Request, tenant: str, jeton: str, unit: UowDep) -> Response:
    return _status_page(request, unit, _tenant(unit, tenant), jeton)


@router.post("/demarches/{tenant}/suivi/{jeton}/pieces")
def send_pieces(
    request: Request, tenant: str, jeton: str, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    found = _tenant(unit, tenant)
    citizen.find_request(unit, found.siren, jeton)  # another token: 404 before anything else
    _throttle(request, unit, p)
    try:
        citizen.submit_pieces(
            unit,
            tenant=found.siren,
            token=jeton,
            uploads=uploads_of(form),
            now=p.clock(),
            limits=LIMITS,
        )
    except FormValidationError as exc:
        unit.commit()  # the attempt's count only: nothing else was written
        return _status_page(request, unit, found, jeton, errors=exc.errors, status=422)
    unit.commit()
    flash(request, "Vos pièces ont bien été reçues ; l'instruction de votre demande reprend.")
    return _private(see_other(_status_url(found.siren, jeton)))


def _pdf(unit: UowDep, tenant: str, jeton: str, which: str) -> Response:
    _tenant(unit, tenant)
    document, content = citizen.download(unit, tenant, jeton, which)
    return _private(pdf_response(content, document.name))


@router.get("/demarches/{tenant}/suivi/{jeton}/accuse")
def acknowledgement(tenant: str, jeton: str, unit: UowDep) -> Response:
    return _pdf(unit, tenant, jeton, "acknowledgement")


@router.get("/demarches/{tenant}/suivi/{jeton}/decision")
def decision(tenant: str, jeton: str, unit: UowDep) -> Response:
    return _pdf(unit, tenant, jeton, "decision")
