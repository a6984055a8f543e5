"""Template filters: the platform's French formats under the names documents and mails use.

The formats are `engine.domain.french`'s; here they take the loose values of a case context (an
ISO 8601 text, a number as text) and get their template names. Documents (PDF) state a date
with its weekday (« lundi 16 mars 2026 à 18 h 30 ») and amounts with cents; mails, which the
`connectors.mail` library renders with the filters it is handed, state it without
(« 16 mars 2026 à 18 h 30 »). A value that cannot be formatted raises `FormatError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal

from engine.domain.french import (
    FormatError,
    format_date_fr,
    format_datetime_fr,
    format_deadline_fr,
    format_euros,
    format_number_fr,
    parse_moment,
)

__all__ = [
    "FILTERS",
    "MAIL_FILTERS",
    "french_amount",
    "french_date",
    "french_datetime",
    "french_deadline",
    "french_euros",
    "french_number",
    "iso_day",
    "plain_text",
]

NBSP = "\u00a0"


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def french_date(value: object, *, weekday: bool = True) -> str:
    """``lundi 16 mars 2026``: the day in Paris time."""
    return format_date_fr(_day(parse_moment(value)), weekday=weekday)


def french_datetime(value: object, *, weekday: bool = True) -> str:
    """``lundi 16 mars 2026 à 18 h 30`` (Paris time); a plain date gives the day only."""
    moment = parse_moment(value)
    if isinstance(moment, datetime):
        return format_datetime_fr(moment, weekday=weekday)
    return format_date_fr(moment, weekday=weekday)


def iso_day(value: object) -> str:
    """``2026-03-16``: the day in Paris time, for file names."""
    return _day(parse_moment(value)).isoformat()


def french_deadline(value: object) -> str:
    """The last day of a deadline given as its exclusive end (the next midnight, Paris time):
    ``mercredi 10 février 2027``."""
    return format_deadline_fr(parse_moment(value), weekday=True)


def french_amount(value: object) -> str:
    """``45 000,00 € HT``."""
    return f"{format_euros(value)}{NBSP}HT"


def french_euros(value: object) -> str:
    """``45 000,00 €``."""
    return format_euros(value)


def french_number(value: object) -> str:
    """``17,3``, ``1 250``: at most two decimals, no trailing zeros."""
    return format_number_fr(value, max_decimals=2)


def plain_text(value: object) -> str:
    """A scalar as text; booleans read as French words."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return str(value)  # identifiers and years: no digit grouping (use `nombre` for that)
    if isinstance(value, float | Decimal):
        return french_number(value)
    if isinstance(value, str):
        return value
    raise FormatError("texte attendu, reçu une liste ou un objet")


FILTERS: Mapping[str, Callable[[object], str]] = {
    "texte": plain_text,
    "date": french_date,
    "date_heure": french_datetime,
    "jour_iso": iso_day,
    "echeance": french_deadline,
    "montant": french_amount,
    "euros": french_euros,
    "nombre": french_number,
}
"""Names usable after ``|`` in a document placeholder: ``{montant_ht|montant}``."""

MAIL_FILTERS: Mapping[str, Callable[[object], str]] = {
    "date_fr": lambda value: french_date(value, weekday=False),
    "datetime_fr": lambda value: french_datetime(value, weekday=False),
    # A legal deadline: midnight (Paris) closes the day before, « 10 février 2027 à 24 h ».
    "echeance_fr": lambda value: format_deadline_fr(parse_moment(value), hour=True),
    "euros": french_euros,
    "nombre": french_number,
}
"""The French formats the notification templates use (``{{ session_date | datetime_fr }}``),
handed to `connectors.mail` by the engine that sends them."""
