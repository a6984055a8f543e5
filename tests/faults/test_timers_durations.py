"""ISO 8601 timer durations count days and months on the Paris calendar across the changes of
time of 2027 (`engine.runtime.clock`): the same wall time on the day reached; a wall time the
spring change skips moves forward by the gap, one the autumn change repeats is its first."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

import engine.runtime.clock  # noqa: F401  (installs the Paris calendar durations)

pytestmark = pytest.mark.faults

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        ("2027-03-27T12:00:00+01:00", "P1D", "2027-03-28T12:00:00+02:00"),  # 23 hours
        ("2027-10-30T12:00:00+02:00", "P1D", "2027-10-31T12:00:00+01:00"),  # 25 hours
        ("2027-03-27T02:30:00+01:00", "P1D", "2027-03-28T03:30:00+02:00"),  # 02:30 skipped
        ("2027-10-30T02:30:00+02:00", "P1D", "2027-10-31T02:30:00+02:00"),  # the first 02:30
        ("2027-10-30T12:00:00+02:00", "PT24H", "2027-10-31T11:00:00+01:00"),  # elapsed hours
        ("2027-03-27T01:30:00+01:00", "P1DT2H", "2027-03-28T04:30:00+02:00"),  # day, then hours
        ("2027-10-25T09:00:00+02:00", "P1W", "2027-11-01T09:00:00+01:00"),
        ("2027-03-15T09:00:00+01:00", "P1M", "2027-04-15T09:00:00+02:00"),
        ("2027-01-31T10:00:00+01:00", "P1M", "2027-02-28T10:00:00+01:00"),  # month's last day
        ("2027-09-30T18:00:00+02:00", "P30D", "2027-10-30T18:00:00+02:00"),
        ("2027-10-01T18:00:00+02:00", "P30D", "2027-10-31T18:00:00+01:00"),
    ],
)
def test_a_duration_ends_at_the_same_paris_wall_time(start: str, duration: str, due: str) -> None:
    begin = datetime.fromisoformat(start).astimezone(UTC)
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    end = begin + TimerEventDefinition.get_timedelta_from_start(parsed, begin)
    assert end.astimezone(PARIS).isoformat() == due
