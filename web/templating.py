"""Jinja2 environment for the HTML pages: autoescaping, French dates, CSRF token in every form."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.domain.task_access import task_kind
from web.security import CSRF_FIELD, csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]

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

EVENT_LABELS = {
    "case.started": "Dossier créé",
    "task.completed": "Étape terminée",
    "job.succeeded": "Traitement automatique réussi",
    "job.failed": "Traitement automatique en échec",
    "message.received": "Message reçu",
    "case.cancelled": "Dossier annulé",
    "case.retried": "Dossier relancé",
    "timer.fired": "Délai échu",
}


def date_fr(moment: datetime | None, *, with_time: bool = True) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(PARIS)
    day = f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
    return f"{day} à {local:%H:%M}" if with_time else day


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date_fr"] = date_fr
    env.filters["role"] = lambda r: ROLE_LABELS.get(r, r)
    env.filters["task_kind"] = lambda t: (
        task_kind(t.name, t.lane, t.assignee) or ROLE_LABELS.get(t.lane or "", t.lane or "")
    )
    env.filters["status"] = lambda s: STATUS_LABELS.get(s, s)
    env.filters["event"] = lambda k: EVENT_LABELS.get(k, k)
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
        **(context or {}),
    }
    html = ENV.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)
