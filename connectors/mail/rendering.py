"""French notification templates (Jinja2, shipped in the package): subject, text and HTML.

The templates format dates and amounts with filters their caller hands in (`FORMAT_FILTERS`
names them): the French formats are the application's, kept in one place, not this library's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

__all__ = ["FORMAT_FILTERS", "Filters", "NotificationKind", "RenderedMail", "render_notification"]

TEMPLATES = Path(__file__).parent / "templates"
Filters = Mapping[str, Callable[[object], str]]
"""Jinja filters by name: each takes a template value and returns its French text."""
FORMAT_FILTERS = frozenset({"date_fr", "datetime_fr", "echeance_fr", "euros", "nombre"})
"""The filters the templates use that the caller provides: `date_fr` (« 14 mars 2025 »),
`datetime_fr` (« 14 mars 2025 à 18 h 30 »), `echeance_fr` (a deadline's end: « 10 février
2027 à 24 h »), `euros` (« 6 050 000,00 € »), `nombre` (« 15,8 »). Each raises ValueError on a
value it cannot format."""


class NotificationKind(enum.StrEnum):
    """The notifications the platform sends (the value names the template files)."""

    TASK_ASSIGNED = "task_assigned"
    COUNCIL_CONVOCATION = "council_convocation"
    CITIZEN_RECEIPT = "citizen_receipt"
    DECISION_NOTIFIED = "decision_notified"
    MISSING_DOCUMENTS = "demande_pieces"
    IMPLICIT_ACCEPTANCE = "attestation_acceptation_implicite"
    IMPLICIT_REJECTION = "information_rejet_implicite"
    BID_REJECTED = "rejet_offre"
    CONTRACT_NOTIFIED = "notification_marche"
    PROCUREMENT_ABANDONED = "procedure_sans_suite"
    ACCOUNT_RESET = "mot_de_passe_reinitialise"
    """Sent by the platform itself (not a procedure's ``modele``); never carries the password."""


@dataclass(frozen=True)
class RenderedMail:
    """A notification's three parts, ready to be put in a message."""

    subject: str
    """One line, no line break."""
    text: str
    """Plain-text part (always sent)."""
    html: str
    """HTML part (values escaped)."""


def person(value: object) -> str:
    """A person given as text or as ``{"prenom", "nom"}`` (the public form's applicant)."""
    if isinstance(value, Mapping):
        civility = " ".join(str(value.get(k) or "").strip() for k in ("prenom", "nom")).strip()
        return civility or "Madame, Monsieur"
    return str(value)


def _normalised(context: Mapping[str, object]) -> dict[str, object]:
    """The procedures pass structured values (applicant, service as DMN objects): flatten them."""
    values = dict(context)
    values.setdefault("attachments", [])
    values.setdefault("citizen_name", "Madame, Monsieur")
    values.setdefault("service_name", values.get("sender_name", "dematflow"))
    service = values.get("service_name")
    if isinstance(service, Mapping):
        values["service_name"] = str(service.get("nom") or "")
        values.setdefault("service_address", str(service.get("adresse") or ""))
        contact = [str(service[k]) for k in ("telephone", "courriel") if service.get(k)]
        values.setdefault("service_contact", ", ".join(contact))
    return values


@cache
def _environment(
    html: bool, filters: tuple[tuple[str, Callable[[object], str]], ...]
) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 - the text parts are text/plain: escaping would garble them
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters.update(filters)
    env.filters["personne"] = person
    return env


def render_notification(
    kind: NotificationKind, context: Mapping[str, object], *, filters: Filters
) -> RenderedMail:
    """Render the three parts with the caller's `filters` (every name of `FORMAT_FILTERS`);
    a missing filter or variable, or a value a filter cannot format, raises ValueError."""
    missing = FORMAT_FILTERS - filters.keys()
    if missing:
        raise ValueError(f"filtres de mise en forme absents : {', '.join(sorted(missing))}")
    given = tuple(sorted((name, filters[name]) for name in FORMAT_FILTERS))
    values = _normalised(context)
    try:
        plain = _environment(False, given)
        subject = plain.get_template(f"{kind.value}.subject.txt").render(values)
        subject = " ".join(subject.split())
        values["subject"] = subject
        text = plain.get_template(f"{kind.value}.txt").render(values)
        html = _environment(True, given).get_template(f"{kind.value}.html").render(values)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"variable manquante pour le modèle {kind.value} : {exc.message}") from exc
    return RenderedMail(subject=subject, text=text, html=html)
