"""The clock and date functions of the BPMN evaluator, in Europe/Paris, on the engine's clock.

`today()` is the Paris calendar day of the case clock (`Budget.clock`, which the script engine
wires to `engine.runtime.clock.utcnow`, frozen by the timer job and the tests); `now()` the
same instant, aware, in UTC. Day, month and year arithmetic clamps to the month end ("de date à
date", art. 641 CPC), working days follow the French public holidays, and the legal deadlines
of `engine.domain.deadlines` come back as the same JSON dict the `engine.compute_deadline`
operation stores (`due` is the exclusive end of the last day, in UTC).

Every function checks its argument types and bounds the work a count may cost before doing it;
only plain data (date, datetime in UTC, str, bool, dict) ever comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.domain import calendar_fr, deadlines
from engine.domain.errors import InvalidInput
from engine.domain.french import PARIS, FormatError, format_date_fr, format_datetime_fr
from engine.runtime.evaluator_base import Budget, EvaluationError

__all__ = ["DATE_FUNCTIONS"]

Impl = Callable[[Budget, tuple[Any, ...], dict[str, Any]], Any]

MAX_DAYS = 36_600
"""Longest count of days (100 years) a function accepts."""
MAX_MONTHS = 1_200
"""Longest count of months or years × 12 (100 years)."""
MAX_WORKING_DAYS = 2_600
"""Longest count of working days (about 10 years): each one is a loop turn."""


def _arguments(
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    positional: tuple[str, ...],
    **opt: Any,
) -> list[Any]:
    """Positional then keyword arguments by name; optional ones (`opt`) get their default."""
    names = (*positional, *opt)
    if len(args) > len(names) or any(key not in names for key in kwargs):
        raise EvaluationError(f"{name}() prend les arguments ({', '.join(names)})")
    values = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in values:
            raise EvaluationError(f"{name}() : argument {key} donné deux fois")
        values[key] = value
    missing = [key for key in positional if key not in values]
    if missing:
        raise EvaluationError(f"{name}() : argument {missing[0]} manquant")
    return [values.get(key, opt.get(key)) for key in names]


def _count(name: str, value: Any, bound: int) -> int:
    if type(value) is not int:
        raise EvaluationError(f"{name}() attend un nombre entier, pas {type(value).__name__}")
    if abs(value) > bound:
        raise EvaluationError(f"{name}() : {value} dépasse la limite de {bound}")
    return value


def _flag(name: str, value: Any) -> bool:
    if type(value) is not bool:
        raise EvaluationError(f"{name}() attend True ou False, pas {type(value).__name__}")
    return value


def _day(name: str, value: Any) -> date:
    """A calendar day: a date, the Paris day of an aware datetime, or ISO text of either."""
    if type(value) is str:
        value = _parse(name, value)
    if type(value) is datetime:
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(PARIS).date()
    if type(value) is date:
        return value
    raise EvaluationError(f"{name}() attend une date, pas {type(value).__name__}")


def _instant(name: str, value: Any) -> datetime:
    """An aware datetime (or its ISO text); a date is the start of that day in Paris."""
    if type(value) is str:
        value = _parse(name, value)
    if type(value) is date:
        return datetime(value.year, value.month, value.day, tzinfo=PARIS).astimezone(UTC)
    if type(value) is datetime:
        if value.tzinfo is None:
            raise EvaluationError(
                f"{name}() : date-heure sans fuseau horaire ({value.isoformat()}) ; "
                "ajoutez le fuseau, par exemple +01:00 ou Z"
            )
        return value
    raise EvaluationError(f"{name}() attend une date-heure, pas {type(value).__name__}")


def _parse(name: str, text: str) -> date | datetime:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text[:40])
    except ValueError:
        message = f"{name}() : date illisible {text[:40]!r} (format ISO 8601 attendu)"
        raise EvaluationError(message) from None


def _shift(value: Any, name: str, move: Callable[[date], date]) -> date | datetime:
    """Apply a day arithmetic to a date, or to a datetime's Paris day keeping its wall time."""
    if type(value) is str:
        value = _parse(name, value)
    if type(value) is date:
        return move(value)
    if type(value) is not datetime:
        raise EvaluationError(f"{name}() attend une date ou une date-heure")
    if value.tzinfo is None:
        return datetime.combine(move(value.date()), value.time())
    local = value.astimezone(PARIS)
    moved = datetime.combine(move(local.date()), local.time(), tzinfo=PARIS)
    return moved.astimezone(value.tzinfo)


def _today(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> date:
    _arguments("today", args, kwargs, ())
    return budget.clock().astimezone(PARIS).date()


def _now(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> datetime:
    _arguments("now", args, kwargs, ())
    return budget.clock().astimezone(UTC)


def _add_days(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, days = _arguments("add_days", args, kwargs, ("d", "days"))
    count = _count("add_days", days, MAX_DAYS)
    return _shift(value, "add_days", lambda day: day + timedelta(days=count))


def _add_months(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, months = _arguments("add_months", args, kwargs, ("d", "months"))
    count = _count("add_months", months, MAX_MONTHS)
    return _shift(value, "add_months", lambda day: calendar_fr.add_months(day, count))


def _add_years(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    value, years = _arguments("add_years", args, kwargs, ("d", "years"))
    count = _count("add_years", years, MAX_MONTHS // 12)
    return _shift(value, "add_years", lambda day: calendar_fr.add_months(day, 12 * count))


def _add_working_days(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> date:
    value, days = _arguments("add_working_days", args, kwargs, ("d", "days"))
    count = _count("add_working_days", days, MAX_WORKING_DAYS)
    budget.step(1 + abs(count) // 4)
    return calendar_fr.add_business_days(_day("add_working_days", value), count)


def _next_working_day(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> date:
    (value,) = _arguments("next_working_day", args, kwargs, ("d",))
    return calendar_fr.next_working_day(_day("next_working_day", value))


def _is_working_day(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    (value,) = _arguments("is_working_day", args, kwargs, ("d",))
    return calendar_fr.METROPOLE.is_working_day(_day("is_working_day", value))


def _local_date(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> date:
    (value,) = _arguments("local_date", args, kwargs, ("moment",))
    return _day("local_date", _instant("local_date", value))


def _end_of_day(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> datetime:
    (value,) = _arguments("end_of_day", args, kwargs, ("d",))
    return calendar_fr.end_of_local_day(_day("end_of_day", value))


def _format_date(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    value, weekday = _arguments("format_date", args, kwargs, ("d",), weekday=False)
    return format_date_fr(_day("format_date", value), weekday=_flag("format_date", weekday))


def _format_datetime(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    value, weekday = _arguments("format_datetime", args, kwargs, ("moment",), weekday=False)
    moment = _instant("format_datetime", value)
    return format_datetime_fr(moment, weekday=_flag("format_datetime", weekday))


def _deadline_days(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    start, days, franc, extend = _arguments(
        "deadline_days", args, kwargs, ("start", "days"), franc=False, working_day=False
    )
    deadline = deadlines.days_later_end_of_day(
        _instant("deadline_days", start),
        days=_count("deadline_days", days, MAX_DAYS),
        rule="evaluateur.jours",
        legal_basis="Art. 641 et 642 CPC",
        franc=_flag("deadline_days", franc),
        extend_to_working_day=_flag("deadline_days", extend),
    )
    return deadline.to_dict()


def _deadline_months(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    start, months, franc, extend = _arguments(
        "deadline_months", args, kwargs, ("start", "months"), franc=False, working_day=False
    )
    deadline = deadlines.months_later_end_of_day(
        _instant("deadline_months", start),
        months=_count("deadline_months", months, MAX_MONTHS),
        rule="evaluateur.mois",
        legal_basis="Art. 641 et 642 CPC",
        franc=_flag("deadline_months", franc),
        extend_to_working_day=_flag("deadline_months", extend),
    )
    return deadline.to_dict()


def _deadline_working_days(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    start, days = _arguments("deadline_working_days", args, kwargs, ("start", "days"))
    count = _count("deadline_working_days", days, MAX_WORKING_DAYS)
    budget.step(1 + abs(count) // 4)
    deadline = deadlines.business_days_later(
        _instant("deadline_working_days", start),
        days=count,
        rule="evaluateur.jours_ouvres",
        legal_basis="Jours ouvrés (samedis, dimanches et jours fériés exclus)",
    )
    return deadline.to_dict()


def _appeal_deadline(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    (start,) = _arguments("appeal_deadline", args, kwargs, ("notified",))
    deadline = deadlines.months_later_end_of_day(
        _instant("appeal_deadline", start),
        months=2,
        rule="cja.recours_contentieux",
        legal_basis="Art. R421-1 CJA ; art. 642 CPC",
        franc=True,
        extend_to_working_day=True,
        subject="Délai de recours contentieux",
    )
    return deadline.to_dict()


def _french_errors(impl: Impl) -> Impl:
    """Domain refusals (naive date-times, counts out of range) become evaluation errors."""

    def checked(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return impl(budget, args, kwargs)
        except (InvalidInput, FormatError) as exc:
            raise EvaluationError(str(exc)) from None
        except (OverflowError, ValueError) as exc:
            raise EvaluationError(f"date hors des bornes du calendrier : {exc}") from None

    return checked


DATE_FUNCTIONS: dict[str, Impl] = {
    name: _french_errors(impl)
    for name, impl in {
        "today": _today,
        "now": _now,
        "add_days": _add_days,
        "add_months": _add_months,
        "add_years": _add_years,
        "add_working_days": _add_working_days,
        "next_working_day": _next_working_day,
        "is_working_day": _is_working_day,
        "local_date": _local_date,
        "end_of_day": _end_of_day,
        "format_date": _format_date,
        "format_datetime": _format_datetime,
        "deadline_days": _deadline_days,
        "deadline_months": _deadline_months,
        "deadline_working_days": _deadline_working_days,
        "appeal_deadline": _appeal_deadline,
    }.items()
}
"""Clock and calendar functions by name; `evaluator_library.FUNCTIONS` includes them all."""
