"""French legal calendar: public holidays, working days, month arithmetic and the Paris legal day.

The legal day of a French local authority is the Europe/Paris calendar day; every instant is
handled as an aware datetime and rendered in UTC for storage and BPMN timers. The Paris zone and
the French date words come from `engine.domain.french`.
"""

from __future__ import annotations

import calendar as _gregorian
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from engine.domain.errors import InvalidInput
from engine.domain.french import PARIS, format_date_fr, weekday_fr

__all__ = [
    "ALSACE_MOSELLE",
    "METROPOLE",
    "DayCount",
    "DeadlineError",
    "HolidayCalendar",
    "add_business_days",
    "add_months",
    "count_days",
    "count_months",
    "easter_sunday",
    "end_of_local_day",
    "extend_if_non_working",
    "iso8601_utc",
    "local_date",
    "merge_intervals",
    "months_from",
    "next_working_day",
    "non_working_reason",
    "public_holidays",
    "require_aware",
]


class DeadlineError(InvalidInput):
    """Bad input to a deadline computation (naive datetime, inconsistent dates, bad JSON)."""


@dataclass(frozen=True)
class HolidayCalendar:
    """Which days are public holidays (jours fériés) for a collectivité.

    The eleven national holidays of art. L3133-1 du code du travail are always included.
    """

    alsace_moselle: bool = False
    """Add the local holidays of Bas-Rhin, Haut-Rhin and Moselle (art. L3134-13 du code du
    travail): Good Friday (Vendredi saint) and 26 December (Saint-Étienne). Good Friday is, in
    law, a holiday in communes with a Protestant temple or a mixed church; it is applied to the
    whole territory here, the cautious reading for deadlines."""
    extra_days: frozenset[date] = field(default_factory=frozenset)
    """Further non-working days decided locally or overseas (e.g. abolition of slavery day in
    an overseas département): passed as data, never hard-coded."""

    def is_holiday(self, day: date) -> bool:
        """True when `day` is a public holiday in this calendar."""
        return day in _holidays_cached(day.year, self)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday and not a holiday (art. 642 CPC: Saturdays, Sundays, holidays and
        days off are not working days for the extension of a deadline)."""
        return day.weekday() < 5 and not self.is_holiday(day)


METROPOLE = HolidayCalendar()
"""National holidays only (the default)."""
ALSACE_MOSELLE = HolidayCalendar(alsace_moselle=True)
"""National holidays plus Good Friday and 26 December."""


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian computus, Meeus/Jones/Butcher)."""
    if year < 1583:
        raise DeadlineError(f"Année {year} hors du calendrier grégorien.")
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int, *, calendar: HolidayCalendar = METROPOLE) -> dict[date, str]:
    """The public holidays of `year`, each with its French name."""
    return dict(_holidays_cached(year, calendar))


@functools.lru_cache(maxsize=256)
def _holidays_cached(year: int, calendar: HolidayCalendar) -> dict[date, str]:
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "jour de l'An",
        easter + timedelta(days=1): "lundi de Pâques",
        date(year, 5, 1): "fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "lundi de Pentecôte",
        date(year, 7, 14): "fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    if calendar.alsace_moselle:
        days[easter - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    for extra in calendar.extra_days:
        if extra.year == year:
            days.setdefault(extra, "jour chômé local")
    return days


def next_working_day(day: date, *, calendar: HolidayCalendar = METROPOLE) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(start: date, days: int, *, calendar: HolidayCalendar = METROPOLE) -> date:
    """The date `days` working days (jours ouvrés: Monday-Friday, not a holiday) after `start`.

    `start` itself is not counted (art. 641 CPC: the day of the event does not count); a
    negative `days` counts backwards. `days=0` returns `start` unchanged.
    """
    if isinstance(start, datetime):
        raise DeadlineError("add_business_days attend une date (jour civil), pas une date-heure.")
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    day = start
    while remaining:
        day += timedelta(days=step)
        if calendar.is_working_day(day):
            remaining -= 1
    return day


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later ("de quantième à quantième"); when that month is
    shorter, the last day of the month (art. 641 CPC: "à défaut d'un quantième identique, le
    délai expire le dernier jour du mois")."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = _gregorian.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def require_aware(value: object, name: str) -> datetime:
    """The value as an aware datetime; a naive datetime or a bare date is refused."""
    if not isinstance(value, datetime):
        raise DeadlineError(
            f"« {name} » doit être une date-heure avec fuseau horaire, pas {type(value).__name__}."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise DeadlineError(
            f"« {name} » est une date-heure sans fuseau horaire ({value.isoformat()}) : "
            "indiquez le fuseau (par exemple +01:00 ou UTC), l'heure légale ne peut être devinée."
        )
    return value


def local_date(moment: datetime) -> date:
    """The Europe/Paris calendar day on which an aware instant falls."""
    return require_aware(moment, "moment").astimezone(PARIS).date()


def end_of_local_day(day: date) -> datetime:
    """The first instant after `day` ends in Europe/Paris (next local midnight), in UTC.

    Deadlines are exclusive upper bounds: a deadline whose last day is `day` has passed at and
    after this instant. Local midnight always exists in Europe/Paris (the clock changes at 02:00
    and 03:00), so the conversion is unambiguous, including on the 23- and 25-hour days.
    """
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=PARIS).astimezone(UTC)


def iso8601_utc(moment: datetime) -> str:
    """ISO 8601 UTC date-time with a `Z` suffix, as BPMN `timeDate` timers expect."""
    utc = require_aware(moment, "moment").astimezone(UTC)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def non_working_reason(day: date, *, calendar: HolidayCalendar = METROPOLE) -> str | None:
    """Why `day` is not a working day (`samedi`, `dimanche`, a holiday's name), or None."""
    holiday = _holidays_cached(day.year, calendar).get(day)
    if holiday is not None:
        return f"jour férié ({holiday})"
    if day.weekday() >= 5:
        return weekday_fr(day)
    return None


def merge_intervals(intervals: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Sorted, non-overlapping [start, end) day intervals."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass(frozen=True)
class DayCount:
    """The last day of a legal count and the French steps that explain how it was reached."""

    last_day: date
    """The last day (inclusive) of the deadline, Europe/Paris."""
    steps: tuple[str, ...] = ()
    """French fragments, in order, for the UI explanation."""


def extend_if_non_working(
    last: date, *, extend: bool, calendar: HolidayCalendar, why_not: str
) -> DayCount:
    """Apply art. 642 CPC to a last day (or record that the rule does not apply)."""
    reason = non_working_reason(last, calendar=calendar)
    if reason is None:
        return DayCount(last)
    where = format_date_fr(last, weekday=False)
    if not extend:
        return DayCount(last, (f"le {where} tombe un {reason} mais {why_not}",))
    moved = next_working_day(last, calendar=calendar)
    return DayCount(
        moved,
        (
            f"le {where} tombe un {reason} : report au premier jour ouvrable suivant, "
            f"le {format_date_fr(moved)} (art. 642 CPC)",
        ),
    )


def months_from(start: date, months: int) -> DayCount:
    """Months "de date à date" from the day `start`, with the month-end rule, no extension."""
    if months < 1:
        raise DeadlineError(f"Nombre de mois invalide : {months}.")
    target = add_months(start, months)
    steps = [
        f"{months} mois de date à date à compter du {format_date_fr(start)} "
        f"mènent au {format_date_fr(target)}"
    ]
    if target.day != start.day:
        steps.append(
            f"le {start.day} n'existant pas ce mois-là, le délai expire le dernier jour du mois"
        )
    return DayCount(target, tuple(steps))


def count_months(
    start: date,
    months: int,
    *,
    franc: bool = False,
    extend: bool = False,
    calendar: HolidayCalendar = METROPOLE,
    why_not: str = "le délai n'est pas reporté",
) -> DayCount:
    """Months "de date à date" from the day `start`; `franc` adds the day of expiry; `extend`
    moves a last day that is not a working day to the next one (art. 642 CPC)."""
    plain = months_from(start, months)
    target, steps = plain.last_day, list(plain.steps)
    if franc:
        target += timedelta(days=1)
        steps.append(
            "délai franc : le jour de l'échéance ne compte pas, "
            f"dernier jour le {format_date_fr(target)}"
        )
    extended = extend_if_non_working(target, extend=extend, calendar=calendar, why_not=why_not)
    return DayCount(extended.last_day, (*steps, *extended.steps))


def count_days(
    start: date,
    days: int,
    *,
    franc: bool = False,
    extend: bool = False,
    calendar: HolidayCalendar = METROPOLE,
    why_not: str = "le délai n'est pas reporté",
) -> DayCount:
    """Calendar days from the day `start`, which does not count (art. 641 CPC); `franc` adds
    the day of expiry; `extend` applies art. 642 CPC."""
    if days < 1:
        raise DeadlineError(f"Nombre de jours invalide : {days}.")
    target = start + timedelta(days=days + (1 if franc else 0))
    kind = "jours francs" if franc else "jours"
    step = (
        f"{days} {kind} à compter du {format_date_fr(start)}, jour qui ne compte pas, "
        f"mènent au {format_date_fr(target)}"
    )
    extended = extend_if_non_working(target, extend=extend, calendar=calendar, why_not=why_not)
    return DayCount(extended.last_day, (step, *extended.steps))
