"""The one French formatter: exact strings for dates, times, amounts, Paris time and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from engine.domain.french import (
    PARIS,
    FormatError,
    format_date_fr,
    format_datetime_fr,
    format_deadline_fr,
    format_euros,
    format_number_fr,
    format_time_fr,
    parse_moment,
    to_decimal,
    weekday_fr,
)
from engine.domain.times import assume_utc

NNBSP = "\u202f"  # between thousands (CLDR fr)
NBSP = "\u00a0"  # before the currency sign


def test_dates_name_the_first_of_the_month_and_optionally_the_weekday() -> None:
    assert format_date_fr(date(2026, 12, 7)) == "lundi 7 décembre 2026"
    assert format_date_fr(date(2026, 12, 7), weekday=False) == "7 décembre 2026"
    assert format_date_fr(date(2026, 3, 1)) == "dimanche 1er mars 2026"
    assert format_date_fr(date(2026, 8, 15), weekday=False) == "15 août 2026"
    assert format_date_fr(date(2027, 2, 1), weekday=False) == "1er février 2027"
    assert weekday_fr(date(2026, 12, 12)) == "samedi"


def test_every_month_is_french_and_lower_case() -> None:
    months = [format_date_fr(date(2026, m, 2), weekday=False).split()[1] for m in range(1, 13)]
    assert months == [
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ]  # fmt: skip


def test_times_are_written_the_french_administrative_way() -> None:
    assert format_time_fr(time(18, 30)) == "18 h 30"
    assert format_time_fr(time(9, 5)) == "9 h 05"
    assert format_time_fr(time(0, 0)) == "0 h 00"
    assert format_time_fr(datetime(2026, 12, 7, 17, 30, tzinfo=UTC)) == "18 h 30"


def test_date_times_are_given_in_paris_time_across_the_clock_changes() -> None:
    assert format_datetime_fr(datetime(2026, 12, 7, 17, 30, tzinfo=UTC)) == (
        "7 décembre 2026 à 18 h 30"
    )
    assert format_datetime_fr(datetime(2026, 7, 1, 6, 5, tzinfo=UTC), weekday=True) == (
        "mercredi 1er juillet 2026 à 8 h 05"
    )
    # 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    assert format_datetime_fr(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)) == "29 mars 2026 à 1 h 59"
    assert format_datetime_fr(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == "29 mars 2026 à 3 h 00"
    # 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 2 h 30 happens twice.
    assert format_datetime_fr(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == (
        "25 octobre 2026 à 2 h 30"
    )
    assert format_datetime_fr(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == (
        "25 octobre 2026 à 2 h 30"
    )
    # Late evening in UTC is already the next day in Paris.
    assert format_datetime_fr(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == (
        "1er janvier 2027 à 0 h 30"
    )
    other_zone = datetime(2026, 12, 7, 12, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert format_datetime_fr(other_zone) == "7 décembre 2026 à 18 h 30"


def test_a_naive_date_time_is_refused_unless_its_store_says_it_is_utc() -> None:
    naive = datetime(2026, 12, 7, 17, 30)
    with pytest.raises(FormatError, match="sans fuseau horaire"):
        format_datetime_fr(naive)
    with pytest.raises(FormatError, match="sans fuseau horaire"):
        format_time_fr(naive)
    with pytest.raises(FormatError, match="sans fuseau horaire"):
        parse_moment("2026-12-07T17:30:00")
    assert format_datetime_fr(assume_utc(naive)) == "7 décembre 2026 à 18 h 30"
    assert assume_utc(None) is None
    aware = datetime(2026, 12, 7, 17, 30, tzinfo=PARIS)
    assert assume_utc(aware) is aware


def test_iso_texts_are_read_as_dates_or_paris_date_times() -> None:
    assert parse_moment("2026-03-16") == date(2026, 3, 16)
    assert parse_moment("2026-03-16T17:30:00Z") == datetime(2026, 3, 16, 18, 30, tzinfo=PARIS)
    assert parse_moment(date(2026, 3, 16)) == date(2026, 3, 16)
    for unreadable in ("demain", "", "2026-13-01", 12, None):
        with pytest.raises(FormatError):
            parse_moment(unreadable)


def test_deadlines_state_their_last_day_midnight_closing_the_day_before() -> None:
    midnight = datetime(2027, 2, 10, 23, 0, tzinfo=UTC)  # 11 February, 0 h 00 in Paris
    assert format_deadline_fr(midnight) == "10 février 2027"
    assert format_deadline_fr(midnight, weekday=True) == "mercredi 10 février 2027"
    assert format_deadline_fr(midnight, hour=True) == "10 février 2027 à 24 h"
    summer = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)  # midnight CEST, the day of the change
    assert format_deadline_fr(summer, weekday=True) == "dimanche 29 mars 2026"
    evening = datetime(2025, 3, 14, 17, 0, tzinfo=UTC)
    assert format_deadline_fr(evening) == "14 mars 2025"
    assert format_deadline_fr(evening, hour=True) == "14 mars 2025 à 18 h 00"
    assert format_deadline_fr(date(2025, 4, 3), hour=True) == "3 avril 2025"


def test_amounts_in_euros_with_cldr_spaces() -> None:
    assert format_euros(12500.5) == f"12{NNBSP}500,50{NBSP}€"
    assert format_euros(6050000) == f"6{NNBSP}050{NNBSP}000,00{NBSP}€"
    assert format_euros("1234567.005") == f"1{NNBSP}234{NNBSP}567,01{NBSP}€"  # half up
    assert format_euros("0,125") == f"0,13{NBSP}€"
    assert format_euros(Decimal("-1000")) == f"-1{NNBSP}000,00{NBSP}€"
    assert format_euros(85000, cents=False) == f"85{NNBSP}000{NBSP}€"
    assert format_euros(85000.5, cents=False) == f"85{NNBSP}000,50{NBSP}€"


def test_numbers_keep_their_decimals_or_round_them() -> None:
    assert format_number_fr(1250) == f"1{NNBSP}250"
    assert format_number_fr(3.14159) == "3,14159"
    assert format_number_fr(-1000.5) == f"-1{NNBSP}000,5"
    assert format_number_fr(17.30, max_decimals=2) == "17,3"
    assert format_number_fr("2.005", max_decimals=2) == "2,01"
    assert format_number_fr(15.8, max_decimals=0) == "16"


def test_what_is_not_a_number_is_refused() -> None:
    for bad in (True, "douze", float("nan"), Decimal("1e15"), [1], None):
        with pytest.raises(FormatError):
            to_decimal(bad)
