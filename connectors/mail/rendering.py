"""French notification templates (Jinja2, shipped in the package): subject, text and HTML."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

__all__ = ["NotificationKind", "RenderedMail", "render_notification"]

TEMPLATES = Path(__file__).parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"
NARROW_NBSP = "\u202f"
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


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


def _moment(value: object) -> dt.date:
    """A date, a datetime or an ISO 8601 string; aware date-times are shown in Paris time."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"date illisible « {value} »") from exc
    if isinstance(value, dt.datetime):
        return value.astimezone(PARIS) if value.tzinfo is not None else value
    if isinstance(value, dt.date):
        return value
    raise ValueError(f"date attendue, reçu « {value!r} »")


def date_fr(value: object) -> str:
    """``14 mars 2025``; the first of the month is ``1er``."""
    day_value = _moment(value)
    day = "1er" if day_value.day == 1 else str(day_value.day)
    return f"{day} {MONTHS[day_value.month - 1]} {day_value.year}"


def datetime_fr(value: object) -> str:
    """``14 mars 2025 à 18 h 30`` (Paris time for aware values)."""
    moment = _moment(value)
    if not isinstance(moment, dt.datetime):
        return date_fr(moment)
    return f"{date_fr(moment)} à {moment.hour} h {moment.minute:02d}"


def deadline_fr(value: object) -> str:
    """A legal deadline: midnight (Paris) closes the day before, ``le 10 février 2027 à 24 h``."""
    moment = _moment(value)
    if isinstance(moment, dt.datetime) and (moment.hour, moment.minute) == (0, 0):
        return f"{date_fr(moment - dt.timedelta(days=1))} à 24 h"
    return datetime_fr(moment)


def euros(value: object) -> str:
    """``6 050 000,00 €`` (French grouping with a narrow no-break space)."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"montant illisible « {value} »") from exc
    units, cents = f"{amount:,.2f}".split(".")
    grouped = units.replace(",", NARROW_NBSP)
    return f"{grouped},{cents}{NBSP}€"


def number(value: object) -> str:
    """``15,8`` (decimal comma), integers unchanged."""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


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
def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 - the text parts are text/plain: escaping would garble them
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
    )
    env.filters["date_fr"] = date_fr
    env.filters["datetime_fr"] = datetime_fr
    env.filters["echeance_fr"] = deadline_fr
    env.filters["euros"] = euros
    env.filters["personne"] = person
    env.filters["nombre"] = number
    return env


def render_notification(kind: NotificationKind, context: Mapping[str, object]) -> RenderedMail:
    """Render the three parts; a missing variable or an unreadable date raises ValueError."""
    values = _normalised(context)
    try:
        subject = _environment(False).get_template(f"{kind.value}.subject.txt").render(values)
        subject = " ".join(subject.split())
        values["subject"] = subject
        text = _environment(False).get_template(f"{kind.value}.txt").render(values)
        html = _environment(True).get_template(f"{kind.value}.html").render(values)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"variable manquante pour le modèle {kind.value} : {exc.message}") from exc
    return RenderedMail(subject=subject, text=text, html=html)
