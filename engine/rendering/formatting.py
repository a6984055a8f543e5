"""French formatting of context values: dates, deadlines, amounts, numbers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from engine.domain.calendar_fr import PARIS, format_date_fr

__all__ = [
    "FILTERS",
    "FormatError",
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


class FormatError(ValueError):
    """A value cannot be formatted as asked; the message is French."""


def _moment(value: object) -> date | datetime:
    """A date (``2026-03-16``) or an aware date-time in Paris time (``...T10:30:00Z``)."""
    if isinstance(value, datetime):
        parsed: date | datetime = value
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = (
                date.fromisoformat(text)
                if len(text) == 10
                else datetime.fromisoformat(text.replace("Z", "+00:00"))
            )
        except ValueError as exc:
            raise FormatError(f"date illisible « {text[:40]} »") from exc
    else:
        raise FormatError(f"date attendue, reçu « {str(value)[:40]} »")
    if isinstance(parsed, datetime):
        if parsed.tzinfo is None:
            raise FormatError(f"date-heure sans fuseau horaire « {parsed.isoformat()} »")
        return parsed.astimezone(PARIS)
    return parsed


def _day_text(day: date) -> str:
    return format_date_fr(day)


def french_date(value: object) -> str:
    """``lundi 16 mars 2026``: the day in Paris time."""
    moment = _moment(value)
    return _day_text(moment.date() if isinstance(moment, datetime) else moment)


def french_datetime(value: object) -> str:
    """``lundi 16 mars 2026 à 18 h 30`` (Paris time); a plain date gives the day only."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _day_text(moment)
    return f"{_day_text(moment.date())} à {moment.hour} h {moment.minute:02d}"


def iso_day(value: object) -> str:
    """``2026-03-16``: the day in Paris time, for file names."""
    moment = _moment(value)
    return (moment.date() if isinstance(moment, datetime) else moment).isoformat()


def french_deadline(value: object) -> str:
    """The last day of a deadline given as its exclusive end (the next midnight, Paris time).

    The deadlines library returns ``due`` as the instant the deadline has passed; a document
    states the last day on which it still runs (``mercredi 10 février 2027``).
    """
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return _day_text(moment)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return _day_text(moment.date() - timedelta(days=1))
    return _day_text(moment.date())


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FormatError(f"nombre attendu, reçu « {str(value)[:40]} »")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise FormatError(f"nombre illisible « {str(value)[:40]} »") from exc
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise FormatError(f"nombre hors limites « {str(value)[:40]} »")
    return number


def _grouped(number: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = f"{abs(number.quantize(quantum, rounding=ROUND_HALF_UP)):f}"
    whole, _, fraction = text.partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    sign = "-" if number < 0 else ""
    return sign + NBSP.join(groups) + ("," + fraction if fraction else "")


def french_amount(value: object) -> str:
    """``45 000,00 € HT`` (no-break spaces)."""
    return f"{_grouped(_decimal(value), 2)}{NBSP}€{NBSP}HT"


def french_euros(value: object) -> str:
    """``45 000,00 €`` (no-break spaces)."""
    return f"{_grouped(_decimal(value), 2)}{NBSP}€"


def french_number(value: object) -> str:
    """``17,3``, ``1 250``: at most two decimals, no trailing zeros."""
    number = _decimal(value)
    if number == number.to_integral_value():
        return _grouped(number, 0)
    return _grouped(number, 2).rstrip("0").rstrip(",")


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


FILTERS = {
    "texte": plain_text,
    "date": french_date,
    "date_heure": french_datetime,
    "jour_iso": iso_day,
    "echeance": french_deadline,
    "montant": french_amount,
    "euros": french_euros,
    "nombre": french_number,
}
"""Names usable after ``|`` in a template placeholder: ``{montant_ht|montant}``."""
