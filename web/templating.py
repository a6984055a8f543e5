"""Jinja2 environment for the HTML pages: autoescaping, French dates, CSRF token in every form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.domain.task_access import task_kind
from engine.domain.training import in_training, shifted
from web.display import (
    FINDING_LABELS,
    JOB_STATE_LABELS,
    TYPOLOGY_LABELS,
    dua_fr,
    label,
    moment_fr,
)
from web.history import EVENT_LABELS
from web.security import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLE_LABELS = {
    "agent": "Agent",
    "elu": "Élu signataire",
    "archiviste": "Archiviste",
    "admin": "Administrateur de la collectivité",
}

STATUS_LABELS = {
    "running": "En cours",
    "completed": "Terminé",
    "cancelled": "Annulé",
    "error": "En erreur",
}


def date_fr(moment: datetime | None, *, with_time: bool = True) -> str:
    """`7 décembre 2026 à 18 h 30` in Europe/Paris (`web.display` holds every format)."""
    return moment_fr(moment, with_time=with_time)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date_fr"] = date_fr
    env.filters["dua"] = dua_fr
    env.filters["role"] = lambda r: ROLE_LABELS.get(r, r)
    env.filters["task_kind"] = lambda t: (
        task_kind(t.name, t.lane, t.assignee) or ROLE_LABELS.get(t.lane or "", t.lane or "")
    )
    env.filters["status"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["event"] = lambda k: EVENT_LABELS.get(k, "Événement enregistré")
    env.filters["typologie"] = lambda code: label(TYPOLOGY_LABELS, code)
    env.filters["job_state"] = lambda code: label(JOB_STATE_LABELS, code)
    env.filters["finding"] = lambda code: label(FINDING_LABELS, code)
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


ENV = _environment()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    values = {
        "request": request,
        "csrf_token": csrf_token(request),
        "user_name": request.session.get("name"),
        "formation": in_training(),
        "formation_now": shifted(datetime.now(UTC)),
        **(context or {}),
    }
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)
