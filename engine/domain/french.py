"""French formats for people: dates, times, amounts, in Paris time (CLDR fr_FR, Babel).

One module for the pages, the mails and the documents, so that they read alike:
« 7 décembre 2026 », « lundi 7 décembre 2026 », « 1er mars 2026 », « 18 h 30 » (the French
administrative time, never « 18:30 »), « 7 décembre 2026 à 18 h 30 », « 12 500,50 € ».
Grouping and currency spaces are CLDR's: a narrow no-break space (U+202F) between thousands, a
no-break space (U+00A0) before « € ». Month and weekday names come from CLDR, not from a list
of our own. Date-times must be aware: a naive one is refused (`FormatError`), since the legal
hour cannot be guessed; a store that drops the zone (SQLite) says so first (`engine.domain.times`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

__all__ = [
    "LOCALE",
    "PARIS",
    "FormatError",
    "format_date_fr",
    "format_datetime_fr",
    "format_deadline_fr",
    "format_euros",
    "format_number_fr",
    "format_time_fr",
    "in_paris",
    "parse_moment",
    "to_decimal",
    "weekday_fr",
]

PARIS = ZoneInfo("Europe/Paris")
"""The legal time zone of metropolitan France (CET/CEST)."""
LOCALE = "fr_FR"
_LARGEST = Decimal(10) ** 15
_CENT = Decimal("0.01")


class FormatError(ValueError):
    """A value cannot be formatted as asked; the message is French."""


def _excerpt(value: object) -> str:
    return str(value)[:40]


def in_paris(moment: datetime) -> datetime:
    """An aware instant as Paris wall-clock time; a naive one is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FormatError(f"date-heure sans fuseau horaire « {moment.isoformat()} »")
    return moment.astimezone(PARIS)


def parse_moment(value: object) -> date | datetime:
    """A date, or an aware date-time in Paris time, from a value or its ISO 8601 text.

    `2026-03-16` gives a date; `2026-03-16T17:30:00Z` gives 18:30 in Paris; a naive date-time
    (`2026-03-16T17:30`) is refused, like any text that is not a date."""
    if isinstance(value, datetime):
        return in_paris(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise FormatError(f"date attendue, reçu « {_excerpt(value)} »")
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FormatError(f"date illisible « {_excerpt(text)} »") from exc
    return in_paris(parsed)


def _day(day: date) -> date:
    return in_paris(day).date() if isinstance(day, datetime) else day


def format_date_fr(day: date, *, weekday: bool = True) -> str:
    """`lundi 2 mars 2026`, `dimanche 1er mars 2026`; `2 mars 2026` without the weekday.

    A date-time gives its Paris day."""
    day = _day(day)
    pattern = ("EEEE " if weekday else "") + ("d'er'" if day.day == 1 else "d") + " MMMM y"
    return format_date(day, pattern, locale=LOCALE)


def weekday_fr(day: date) -> str:
    """`samedi`: the day of the week, in French."""
    return format_date(_day(day), "EEEE", locale=LOCALE)


def format_time_fr(moment: time | datetime) -> str:
    """`18 h 30`, `9 h 05`: the French administrative form (a date-time in Paris time)."""
    clock = in_paris(moment).time() if isinstance(moment, datetime) else moment
    return format_time(clock, "H 'h' mm", locale=LOCALE)


def format_datetime_fr(moment: datetime, *, weekday: bool = False) -> str:
    """`7 décembre 2026 à 18 h 30` in Paris time (`lundi 7 décembre 2026 à 18 h 30`)."""
    local = in_paris(moment)
    return f"{format_date_fr(local.date(), weekday=weekday)} à {format_time_fr(local.time())}"


def format_deadline_fr(due: date | datetime, *, weekday: bool = False, hour: bool = False) -> str:
    """The last day of a deadline given as its end: Paris midnight closes the day before.

    The deadlines return `due` as the instant the deadline has passed, so midnight on the
    11th reads `10 février 2027` (`10 février 2027 à 24 h` with `hour`). Any other instant is
    its own day (`à 18 h 00` with `hour`); a date is that day."""
    if not isinstance(due, datetime):
        return format_date_fr(due, weekday=weekday)
    local = in_paris(due)
    if local.time() == time(0):
        last = date.fromordinal(local.toordinal() - 1)
        return format_date_fr(last, weekday=weekday) + (" à 24 h" if hour else "")
    if hour:
        return format_datetime_fr(local, weekday=weekday)
    return format_date_fr(local.date(), weekday=weekday)


def to_decimal(value: object) -> Decimal:
    """A number from a number or its text (`12500.5`, `12500,5`); booleans, infinities, NaN
    and values of 10¹⁵ or more are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise FormatError(f"nombre attendu, reçu « {_excerpt(value)} »")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation as exc:
        raise FormatError(f"nombre illisible « {_excerpt(value)} »") from exc
    if not number.is_finite() or abs(number) >= _LARGEST:
        raise FormatError(f"nombre hors limites « {_excerpt(value)} »")
    return number


def format_number_fr(value: object, *, max_decimals: int | None = None) -> str:
    """`12 500`, `3,45`, `-1 000,5`: a decimal comma, thousands grouped.

    Every significant decimal is kept, or at most `max_decimals` (rounded half up, trailing
    zeros dropped)."""
    number = to_decimal(value)
    if max_decimals is not None:
        number = number.quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
    return format_decimal(number, locale=LOCALE, decimal_quantization=False)


def format_euros(value: object, *, cents: bool = True) -> str:
    """`12 500,50 €`, `12 500,00 €`; without `cents`, a whole amount reads `12 500 €`.

    Rounded half up to the cent (`0,005` is `0,01`), as French accounts do."""
    number = to_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    if not cents and number == number.to_integral_value():
        return format_currency(number, "EUR", "#,##0\u00a0¤", locale=LOCALE, currency_digits=False)
    return format_currency(number, "EUR", locale=LOCALE)
