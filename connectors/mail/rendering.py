"""French notification templates (Jinja2, shipped in the package): subject, text and HTML."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

__all__ = ["NotificationKind", "RenderedMail", "render_notification"]

TEMPLATES = Path(__file__).parent / "templates"
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


class NotificationKind(enum.StrEnum):
    """The notifications the platform sends."""

    TASK_ASSIGNED = "task_assigned"
    COUNCIL_CONVOCATION = "council_convocation"
    CITIZEN_RECEIPT = "citizen_receipt"
    DECISION_NOTIFIED = "decision_notified"


@dataclass(frozen=True)
class RenderedMail:
    """A notification's three parts, ready to be put in a message."""

    subject: str
    """One line, no line break."""
    text: str
    """Plain-text part (always sent)."""
    html: str
    """HTML part (values escaped)."""


def date_fr(value: dt.date) -> str:
    """``14 mars 2025``; the first of the month is ``1er``."""
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {MONTHS[value.month - 1]} {value.year}"


def datetime_fr(value: dt.datetime) -> str:
    """``14 mars 2025 à 18 h 30``."""
    return f"{date_fr(value)} à {value.hour} h {value.minute:02d}"


@cache
def _environment(html: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,  # noqa: S701 - the text parts are text/plain: escaping would garble them
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["date_fr"] = date_fr
    env.filters["datetime_fr"] = datetime_fr
    return env


def render_notification(kind: NotificationKind, context: Mapping[str, object]) -> RenderedMail:
    """Render the three parts; a missing variable raises ValueError (no silent blank)."""
    try:
        subject = _environment(False).get_template(f"{kind.value}.subject.txt").render(context)
        subject = " ".join(subject.split())
        values = {**context, "subject": subject}
        text = _environment(False).get_template(f"{kind.value}.txt").render(values)
        html = _environment(True).get_template(f"{kind.value}.html").render(values)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"variable manquante pour le modèle {kind.value} : {exc.message}") from exc
    return RenderedMail(subject=subject, text=text, html=html)
