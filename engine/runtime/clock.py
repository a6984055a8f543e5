"""The engine's clock for timers, and the refusal of naive date-times in timer values.

SpiffWorkflow's timer definitions call `datetime.now(timezone.utc)` directly. To fire timers
from a periodic job at the time the job decides (and to test legal deadlines without waiting
months), the timer module's `datetime` is replaced by a subclass whose `now()` reads the
time set by `frozen_now`, falling back to the real clock. Only SpiffWorkflow's timer module
sees it; everything else is unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from engine.domain.errors import ModelError

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


spiff_timer.datetime = _EngineDatetime
spiff_timer.TimerEventDefinition.get_datetime = staticmethod(_aware_datetime)


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
