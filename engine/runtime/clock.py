"""The engine's clock for timers, the refusal of naive date-times in timer values, and ISO 8601
durations counted on the Paris calendar.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` directly. To fire timers
from a periodic job at the time the job decides (and to test legal deadlines without waiting
months), the timer module's `datetime` is replaced by a subclass whose `now()` reads the
time set by `frozen_now`, falling back to the real clock. Only SpiffWorkflow's timer module
sees it; everything else is unchanged.

A timer's duration (`P1D`, `P2M`, `PT2H`) starts when its task is reached. SpiffWorkflow turns
years, months and days into a count of 24-hour days from the UTC start, so across a change of
time « P1D » from 12:00 in Paris fell due at 13:00 the next day in spring (an hour late) and at
11:00 in autumn (an hour early). Here the calendar parts count on the Paris calendar, as
`add_days`/`add_months` do in expressions (`engine.runtime.evaluator_dates`): the same wall time
on the day reached (months « de quantième à quantième », the month's last day when it is
shorter); hours, minutes and seconds then count as elapsed time. A wall time that the spring
change skips (02:00–03:00 on the last Sunday of March) moves forward by the gap (02:30 is 03:30
summer time); one that the autumn change repeats is its first occurrence (summer time).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from engine.domain.calendar_fr import add_months
from engine.domain.errors import ModelError

PARIS = ZoneInfo("Europe/Paris")

_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("engine_now", default=None)


class _EngineDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        frozen = _NOW.get()
        if frozen is None:
            return datetime.now(tz)
        return frozen.astimezone(tz) if tz is not None else frozen.replace(tzinfo=None)


def _aware_datetime(expression: str) -> datetime:
    value = datetime.fromisoformat(expression)
    if value.tzinfo is None:
        raise ModelError(f"date-heure sans fuseau « {expression} » dans un minuteur")
    return value.astimezone(UTC)


_spiff_from_start = spiff_timer.TimerEventDefinition.get_timedelta_from_start


def _calendar_duration(parsed: dict[str, Any], start: datetime | None = None) -> timedelta:
    """The time from `start` (now by default) to the end of the parsed ISO 8601 duration, its
    calendar parts counted on the Paris calendar (see the module docstring)."""
    begin = (start or utcnow()).astimezone(UTC)
    months = parsed.get("years", 0) * 12 + parsed.get("months", 0)
    days = parsed.get("weeks", 0) * 7 + parsed.get("days", 0)
    if type(months) is not int or type(days) is not int:  # a fraction of a month: as before
        return _spiff_from_start(dict(parsed), begin)  # type: ignore[no-any-return]
    elapsed = timedelta(
        hours=parsed.get("hours", 0),
        minutes=parsed.get("minutes", 0),
        seconds=parsed.get("seconds", 0),
    )
    if not months and not days:
        return elapsed
    local = begin.astimezone(PARIS)
    day: date = add_months(local.date(), months) + timedelta(days=days)
    wall = datetime.combine(day, local.time(), tzinfo=PARIS)  # fold=0: gap forward, first of two
    return wall.astimezone(UTC) - begin + elapsed


spiff_timer.datetime = _EngineDatetime
spiff_timer.TimerEventDefinition.get_datetime = staticmethod(_aware_datetime)
spiff_timer.TimerEventDefinition.get_timedelta_from_start = staticmethod(_calendar_duration)


def utcnow() -> datetime:
    frozen = _NOW.get()
    return frozen if frozen is not None else datetime.now(UTC)


@contextlib.contextmanager
def frozen_now(now: datetime) -> Iterator[None]:
    """Within this block, timers see `now` (an aware datetime) as the current time."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    token = _NOW.set(now.astimezone(UTC))
    try:
        yield
    finally:
        _NOW.reset(token)
