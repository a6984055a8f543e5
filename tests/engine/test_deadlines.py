"""Worked examples for the legal deadlines library, with the reasoning beside each expectation.

Dates are checked against the calendar by hand (weekday noted in comments) and, where a
court decision or an official page gave a worked example, against that example.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.domain.calendar_fr import (
    ALSACE_MOSELLE,
    METROPOLE,
    HolidayCalendar,
    add_business_days,
    add_months,
    easter_sunday,
    end_of_local_day,
    iso8601_utc,
    local_date,
    public_holidays,
)
from engine.domain.deadlines import (
    Deadline,
    DeadlineError,
    MissingDocumentsRequest,
    business_days_later,
    convocation_deadline,
    days_later_end_of_day,
    implicit_decision,
    legality_control_end,
    months_later_end_of_day,
    publication_min_end,
    standstill_end,
)
from engine.domain.errors import InvalidInput
from engine.domain.french import format_date_fr

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- Calendar: Easter, holidays, working days ------------------------------------------------


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2000, date(2000, 4, 23)),
        (2008, date(2008, 3, 23)),
        (2011, date(2011, 4, 24)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2028, date(2028, 4, 16)),
        (2038, date(2038, 4, 25)),  # latest possible date
        (2285, date(2285, 3, 22)),  # earliest possible date
    ],
)
def test_easter_sunday_known_dates(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter
    assert easter.weekday() == 6


def test_national_holidays_2026() -> None:
    # Easter 2026 is 5 April: Monday 6 April, Ascension = Easter + 39 = Thursday 14 May,
    # Whit Monday = Easter + 50 = Monday 25 May.
    holidays = public_holidays(2026)
    assert len(holidays) == 11
    assert holidays[date(2026, 4, 6)] == "lundi de Pâques"
    assert holidays[date(2026, 5, 14)] == "Ascension"
    assert holidays[date(2026, 5, 25)] == "lundi de Pentecôte"
    assert {date(2026, 1, 1), date(2026, 5, 1), date(2026, 5, 8), date(2026, 7, 14)} <= set(
        holidays
    )
    assert {date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11), date(2026, 12, 25)} <= set(
        holidays
    )
    # Good Friday and 26 December are holidays only in Alsace-Moselle.
    assert date(2026, 4, 3) not in holidays
    assert date(2026, 12, 26) not in holidays


def test_alsace_moselle_adds_good_friday_and_saint_etienne() -> None:
    holidays = public_holidays(2026, calendar=ALSACE_MOSELLE)
    assert len(holidays) == 13
    assert holidays[date(2026, 4, 3)] == "Vendredi saint"
    assert holidays[date(2026, 12, 26)] == "Saint-Étienne"
    assert ALSACE_MOSELLE.is_holiday(date(2026, 4, 3))
    assert not METROPOLE.is_holiday(date(2026, 4, 3))


def test_extra_local_days_are_data() -> None:
    # e.g. 27 May (abolition of slavery) in Guadeloupe, passed in as data.
    overseas = HolidayCalendar(extra_days=frozenset({date(2026, 5, 27)}))
    assert overseas.is_holiday(date(2026, 5, 27))
    assert not overseas.is_holiday(date(2027, 5, 27))
    assert not METROPOLE.is_holiday(date(2026, 5, 27))


@pytest.mark.parametrize(
    ("start", "days", "calendar", "expected"),
    [
        # Thursday 30 April 2026 + 1: Friday 1 May is a holiday, then the weekend.
        (date(2026, 4, 30), 1, METROPOLE, date(2026, 5, 4)),
        # + 5: Mon 4, Tue 5, Wed 6, Thu 7 count, Friday 8 May is a holiday, Monday 11 counts.
        (date(2026, 4, 30), 5, METROPOLE, date(2026, 5, 11)),
        # Backwards from Monday 4 May: Friday 1 May is a holiday, so Thursday 30 April.
        (date(2026, 5, 4), -1, METROPOLE, date(2026, 4, 30)),
        (date(2026, 5, 4), 0, METROPOLE, date(2026, 5, 4)),
        # Wednesday 24 December 2025 + 1: Thursday 25 is Christmas; Friday 26 counts except in
        # Alsace-Moselle, where the next working day is Monday 29.
        (date(2025, 12, 24), 1, METROPOLE, date(2025, 12, 26)),
        (date(2025, 12, 24), 1, ALSACE_MOSELLE, date(2025, 12, 29)),
    ],
)
def test_add_business_days(
    start: date, days: int, calendar: HolidayCalendar, expected: date
) -> None:
    assert add_business_days(start, days, calendar=calendar) == expected


def test_add_business_days_wants_a_day_not_an_instant() -> None:
    with pytest.raises(DeadlineError):
        add_business_days(paris(2026, 5, 4), 1)


# --- Months "de date à date": month ends and leap years -------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: end of month
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # 2028 is a leap year
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # 2100 is not (Gregorian century rule)
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # 29 Feb + 12 months: no 29 Feb 2029
        (date(2028, 2, 29), 48, date(2032, 2, 29)),  # ... but 2032 has one
        (date(2025, 12, 31), 2, date(2026, 2, 28)),  # 31 Dec + 2 months, across the year
        (date(2027, 12, 31), 2, date(2028, 2, 29)),  # same, leap year
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 11, 15), 2, date(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


# --- Local legal day, DST, ISO rendering ------------------------------------------------------


def test_end_of_day_around_the_spring_clock_change() -> None:
    # Sunday 29 March 2026: clocks go from 02:00 CET to 03:00 CEST; the day lasts 23 hours.
    saturday_end = end_of_local_day(date(2026, 3, 28))  # Sunday 00:00 +01:00
    sunday_end = end_of_local_day(date(2026, 3, 29))  # Monday 00:00 +02:00
    assert saturday_end == utc(2026, 3, 28, 23)
    assert sunday_end == utc(2026, 3, 29, 22)
    assert sunday_end - saturday_end == timedelta(hours=23)


def test_end_of_day_around_the_autumn_clock_change() -> None:
    # Sunday 25 October 2026: clocks go from 03:00 CEST back to 02:00 CET; 25 hours long.
    saturday_end = end_of_local_day(date(2026, 10, 24))  # Sunday 00:00 +02:00
    sunday_end = end_of_local_day(date(2026, 10, 25))  # Monday 00:00 +01:00
    assert saturday_end == utc(2026, 10, 24, 22)
    assert sunday_end == utc(2026, 10, 25, 23)
    assert sunday_end - saturday_end == timedelta(hours=25)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2026, 1, 31, 23, 30), date(2026, 2, 1)),  # 00:30 in Paris (UTC+1)
        (utc(2026, 6, 30, 22, 30), date(2026, 7, 1)),  # 00:30 in Paris (UTC+2)
        (utc(2026, 6, 30, 21, 59), date(2026, 6, 30)),  # 23:59 in Paris
    ],
)
def test_the_legal_day_is_the_paris_day(moment: datetime, expected: date) -> None:
    assert local_date(moment) == expected


def test_iso8601_for_bpmn_timers() -> None:
    assert iso8601_utc(paris(2026, 3, 4, 0)) == "2026-03-03T23:00:00Z"
    assert iso8601_utc(datetime(2026, 3, 4, 0, 0, 0, 5, tzinfo=UTC)) == (
        "2026-03-04T00:00:00.000005Z"
    )
    # What SpiffWorkflow's timer parser (datetime.fromisoformat) reads back.
    assert datetime.fromisoformat("2026-03-03T23:00:00Z") == paris(2026, 3, 4, 0)


def test_french_date_format() -> None:
    assert format_date_fr(date(2026, 3, 2)) == "lundi 2 mars 2026"
    assert format_date_fr(date(2026, 3, 1)) == "dimanche 1er mars 2026"
    assert format_date_fr(date(2026, 8, 15), weekday=False) == "15 août 2026"


# --- Convocation: jours francs (L2121-11, L2121-12 CGCT) -------------------------------------


def test_convocation_five_jours_francs_for_a_monday_session() -> None:
    # Session Monday 9 March 2026. The five full days are Wed 4, Thu 5, Fri 6, Sat 7, Sun 8;
    # neither the sending day nor the session day counts, so send at the latest on Tuesday
    # 3 March (the session day minus 6).
    deadline = convocation_deadline(paris(2026, 3, 9, 18, 30))
    assert deadline.local_date == date(2026, 3, 3)
    assert deadline.local_date.weekday() == 1
    assert deadline.due == utc(2026, 3, 3, 23)  # Wednesday 00:00 in Paris (UTC+1)
    assert deadline.due_iso == "2026-03-03T23:00:00Z"
    assert deadline.rule == "cgct.convocation.jours_francs"
    assert deadline.legal_basis == "Art. L2121-12 CGCT"
    assert deadline.explanation.startswith(
        "Convocation à envoyer au plus tard le mardi 3 mars 2026 : 5 jours francs avant la "
        "séance du lundi 9 mars 2026 (le jour de l'envoi et le jour de la séance ne comptent "
        "pas)"
    )
    assert deadline.inputs == {"session_at": "2026-03-09T18:30:00+01:00", "jours_francs": 5}


def test_convocation_counts_weekends_and_holidays_without_extension() -> None:
    # Three jours francs, session Monday 28 December 2026: the 25th (Christmas), 26th and 27th
    # (weekend) are the three jours francs; send by Thursday 24 December.
    deadline = convocation_deadline(paris(2026, 12, 28, 20), jours_francs=3)
    assert deadline.local_date == date(2026, 12, 24)
    assert deadline.legal_basis == "Art. L2121-11 CGCT"
    # The Conseil d'État case: sent 21 December 1989 for a session on 26 December 1989 with a
    # Saturday, Sunday and holiday in between was in time; the latest day was the 22nd.
    ce_1989 = convocation_deadline(paris(1989, 12, 26, 18), jours_francs=3)
    assert ce_1989.local_date == date(1989, 12, 22)
    assert not ce_1989.has_passed(paris(1989, 12, 21, 17))


def test_convocation_across_the_spring_clock_change() -> None:
    # Session Tuesday 31 March 2026 (summer time): send by Wednesday 25 March (winter time),
    # so the window closes at Thursday 26 March 00:00 +01:00.
    deadline = convocation_deadline(paris(2026, 3, 31, 18))
    assert deadline.local_date == date(2026, 3, 25)
    assert deadline.due == utc(2026, 3, 25, 23)


def test_convocation_session_day_is_read_in_paris() -> None:
    # 23:30 UTC on 8 March is 00:30 on Monday 9 March in Paris: same answer as above.
    deadline = convocation_deadline(utc(2026, 3, 8, 23, 30))
    assert deadline.local_date == date(2026, 3, 3)


def test_convocation_emergency_one_jour_franc() -> None:
    # Emergency (L2121-12 al. 3): session Thursday 12 March; Wednesday 11 is the jour franc.
    deadline = convocation_deadline(paris(2026, 3, 12, 18), jours_francs=1)
    assert deadline.local_date == date(2026, 3, 10)
    assert deadline.legal_basis == "Art. L2121-11 et L2121-12 CGCT"
    with pytest.raises(DeadlineError):
        convocation_deadline(paris(2026, 3, 12, 18), jours_francs=0)


# --- Implicit decisions (L231-1, L231-4, L114-5 CRPA) ----------------------------------------


def test_silence_vaut_acceptation_on_a_sunday_holiday_is_not_moved() -> None:
    # service-public.fr: a complete request received on 1 March 2022 is accepted on
    # 1 May 2022, a Sunday and Labour Day: implicit decisions are never moved.
    deadline = implicit_decision(paris(2022, 3, 1), acceptance=True)
    assert deadline is not None
    assert deadline.local_date == date(2022, 5, 1)
    assert deadline.due == utc(2022, 5, 1, 22)  # Monday 2 May 00:00 +02:00
    assert deadline.rule == "crpa.decision_implicite.acceptation"
    assert deadline.legal_basis == "Art. L231-1 CRPA"
    assert "pas de report" in deadline.explanation
    assert deadline.explanation.startswith(
        "Décision implicite d'acceptation acquise à la fin du dimanche 1er mai 2022"
    )


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (paris(2025, 2, 1), date(2025, 4, 1)),  # same date two months later
        (paris(2025, 7, 10), date(2025, 9, 10)),
        (paris(2025, 12, 31), date(2026, 2, 28)),  # month end
        (paris(2027, 12, 31), date(2028, 2, 29)),  # month end, leap year
        (paris(2027, 12, 30, 23, 59), date(2028, 2, 29)),
        # 23:30 UTC on 31 January is 1 February in Paris: 1 April, not 31 March.
        (utc(2026, 1, 31, 23, 30), date(2026, 4, 1)),
    ],
)
def test_implicit_acceptance_same_date_two_months_later(received: datetime, expected: date) -> None:
    deadline = implicit_decision(received, acceptance=True)
    assert deadline is not None
    assert deadline.local_date == expected
    assert deadline.due == end_of_local_day(expected)


def test_implicit_decision_on_the_dst_sunday() -> None:
    # Received Thursday 29 January 2026: the decision arises at the end of Sunday 29 March
    # 2026, the day clocks move to summer time; the end is 00:00 +02:00 on Monday = 22:00 UTC.
    deadline = implicit_decision(paris(2026, 1, 29), acceptance=True)
    assert deadline is not None
    assert deadline.due == utc(2026, 3, 29, 22)
    # Received 25 August 2026: end of Sunday 25 October, back to winter time: 23:00 UTC.
    autumn = implicit_decision(paris(2026, 8, 25), acceptance=True)
    assert autumn is not None
    assert autumn.due == utc(2026, 10, 25, 23)


def test_implicit_rejection_from_the_conseil_detat_case() -> None:
    # CE, 5 juin 2009, n° 312682: a recours gracieux received on 12 June 2007 gave an implicit
    # rejection on 12 August 2007, a Sunday, taken as is.
    deadline = implicit_decision(paris(2007, 6, 12), acceptance=False)
    assert deadline is not None
    assert deadline.local_date == date(2007, 8, 12)
    assert deadline.rule == "crpa.decision_implicite.rejet"
    assert deadline.legal_basis == "Art. L231-4 CRPA"


def test_acceptance_clock_restarts_on_receipt_of_missing_documents() -> None:
    # Received 10 January 2026; missing documents asked on 20 January (to be sent by
    # 20 February) and received on 5 February: under L114-5 the acceptance delay only runs
    # from 5 February, so the decision arises at the end of 5 April 2026 (Easter Sunday, not
    # moved).
    request = MissingDocumentsRequest(
        requested_at=paris(2026, 1, 20),
        time_limit=date(2026, 2, 20),
        received_at=paris(2026, 2, 5, 16),
    )
    deadline = implicit_decision(paris(2026, 1, 10), acceptance=True, missing_documents=[request])
    assert deadline is not None
    assert deadline.local_date == date(2026, 4, 5)
    assert deadline.due == utc(2026, 4, 5, 22)
    assert deadline.legal_basis == "Art. L231-1 CRPA ; art. L114-5 CRPA"
    assert "le délai ne court qu'à compter de la réception des pièces" in deadline.explanation
    assert deadline.inputs["missing_documents"] == [
        {
            "requested_at": "2026-01-20T10:00:00+01:00",
            "time_limit": "2026-02-20",
            "received_at": "2026-02-05T16:00:00+01:00",
        }
    ]


def test_acceptance_has_no_date_while_documents_are_awaited() -> None:
    pending = MissingDocumentsRequest(requested_at=paris(2026, 1, 20), time_limit=date(2026, 2, 20))
    assert (
        implicit_decision(paris(2026, 1, 10), acceptance=True, missing_documents=[pending]) is None
    )


def test_acceptance_runs_from_the_last_documents_received() -> None:
    first = MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 2, 20), paris(2026, 2, 5))
    second = MissingDocumentsRequest(paris(2026, 2, 10), date(2026, 3, 10), paris(2026, 3, 2))
    deadline = implicit_decision(
        paris(2026, 1, 10), acceptance=True, missing_documents=[second, first]
    )
    assert deadline is not None
    assert deadline.local_date == date(2026, 5, 2)


def test_rejection_is_suspended_until_documents_arrive() -> None:
    # Received 10 January 2026: rejection due at the end of 10 March. Documents asked on
    # 20 January (limit 5 February) arrived on 30 January: suspended 20..29 January, 10 days,
    # so the end moves to 20 March 2026.
    request = MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 2, 5), paris(2026, 1, 30))
    deadline = implicit_decision(paris(2026, 1, 10), acceptance=False, missing_documents=[request])
    assert deadline is not None
    assert deadline.local_date == date(2026, 3, 20)
    assert "délai suspendu du mardi 20 janvier 2026 au jeudi 29 janvier 2026 inclus" in (
        deadline.explanation
    )
    assert "(10 jours" in deadline.explanation


def test_rejection_is_suspended_for_the_whole_time_limit_when_nothing_arrives() -> None:
    # Same request, nothing produced: suspended 20 January .. 5 February inclusive, 17 days,
    # 10 March + 17 days = 27 March 2026.
    request = MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 2, 5))
    deadline = implicit_decision(paris(2026, 1, 10), acceptance=False, missing_documents=[request])
    assert deadline is not None
    assert deadline.local_date == date(2026, 3, 27)


def test_rejection_overlapping_requests_count_once_and_late_ones_not_at_all() -> None:
    # 20 Jan..29 Jan and 25 Jan..3 Feb overlap: 20 Jan..3 Feb = 15 days → 25 March.
    # A request made after the decision arose (26 March) changes nothing.
    requests = [
        MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 2, 20), paris(2026, 1, 30)),
        MissingDocumentsRequest(paris(2026, 1, 25), date(2026, 2, 20), paris(2026, 2, 4)),
        MissingDocumentsRequest(paris(2026, 3, 26), date(2026, 4, 10)),
    ]
    deadline = implicit_decision(paris(2026, 1, 10), acceptance=False, missing_documents=requests)
    assert deadline is not None
    assert deadline.local_date == date(2026, 3, 25)


@pytest.mark.parametrize(
    "request_",
    [
        # asked before the request itself was received
        MissingDocumentsRequest(paris(2026, 1, 5), date(2026, 2, 5)),
        # time limit before the request for documents
        MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 1, 19)),
        # documents received before they were asked for
        MissingDocumentsRequest(paris(2026, 1, 20), date(2026, 2, 5), paris(2026, 1, 15)),
        # naive date-time inside the request
        MissingDocumentsRequest(datetime(2026, 1, 20, 10), date(2026, 2, 5)),
    ],
)
def test_inconsistent_missing_documents_are_refused(request_: MissingDocumentsRequest) -> None:
    with pytest.raises(DeadlineError):
        implicit_decision(paris(2026, 1, 10), acceptance=False, missing_documents=[request_])


# --- Legality control (L2131-6 CGCT), a franc deadline extended by art. 642 CPC --------------


def test_legality_control_conseil_detat_worked_example() -> None:
    # CE, 5 juin 2009, n° 312682: from 12 August 2007, two months reach 12 October; the
    # deadline is franc so the last day is Saturday 13 October, moved to Monday 15 October.
    deadline = legality_control_end(paris(2007, 8, 12))
    assert deadline.local_date == date(2007, 10, 15)
    assert deadline.rule == "cgct.controle_legalite.defere"
    assert "art. 642 CPC" in deadline.explanation
    assert "délai franc" in deadline.explanation


@pytest.mark.parametrize(
    ("received", "calendar", "expected"),
    [
        # 2 March 2026 → 2 May (Sat) → franc: Sunday 3 May → Monday 4 May.
        (paris(2026, 3, 2), METROPOLE, date(2026, 5, 4)),
        # 30 March → 30 May (Sat) → franc 31 May (Sun) → Monday 1 June (Whit Monday is 25 May).
        (paris(2026, 3, 30), METROPOLE, date(2026, 6, 1)),
        # 13 May → 13 July → franc 14 July, a holiday → Wednesday 15 July.
        (paris(2026, 5, 13), METROPOLE, date(2026, 7, 15)),
        # 31 December 2025 → 28 February 2026 (Sat) → franc 1 March (Sun) → Monday 2 March.
        (paris(2025, 12, 31), METROPOLE, date(2026, 3, 2)),
        # 2 February 2026 → 2 April → franc 3 April: Good Friday, a working day in most of
        # France, but a holiday in Alsace-Moselle, where Easter weekend and Monday follow.
        (paris(2026, 2, 2), METROPOLE, date(2026, 4, 3)),
        (paris(2026, 2, 2), ALSACE_MOSELLE, date(2026, 4, 7)),
    ],
)
def test_legality_control_end(
    received: datetime, calendar: HolidayCalendar, expected: date
) -> None:
    deadline = legality_control_end(received, calendar=calendar)
    assert deadline.local_date == expected
    assert deadline.inputs["alsace_moselle"] is calendar.alsace_moselle


def test_legality_control_restarts_from_the_complements() -> None:
    # Complements received Monday 16 March 2026 → 16 May (Sat) → franc Sunday 17 → Monday 18.
    deadline = legality_control_end(paris(2026, 3, 2), complements_received_at=paris(2026, 3, 16))
    assert deadline.local_date == date(2026, 5, 18)
    assert "compléments" in deadline.explanation
    with pytest.raises(DeadlineError):
        legality_control_end(paris(2026, 3, 2), complements_received_at=paris(2026, 3, 1))


# --- Publication and standstill ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (paris(2026, 1, 10, 14), date(2026, 3, 10)),
        (paris(2025, 12, 31), date(2026, 2, 28)),
        (paris(2026, 7, 31), date(2026, 9, 30)),  # no 30... 31 September: end of month
    ],
)
def test_publication_minimum_period(published: datetime, expected: date) -> None:
    deadline = publication_min_end(published)
    assert deadline.local_date == expected
    assert deadline.legal_basis == "Art. L2131-1 et R2131-1 CGCT"
    day_after = format_date_fr(expected + timedelta(days=1))
    assert f"retrait possible à partir du {day_after}" in deadline.explanation


def test_publication_ending_on_the_autumn_clock_change() -> None:
    deadline = publication_min_end(paris(2026, 8, 25))
    assert deadline.local_date == date(2026, 10, 25)
    assert deadline.due == utc(2026, 10, 25, 23)


def test_standstill_conseil_detat_worked_example() -> None:
    # CE, 2 août 2011, n° 347526: notices sent 28 December 2010 (not electronically, 16 days),
    # day of sending included: standstill over on 12 January 2011, signature on the 13th.
    deadline = standstill_end(paris(2010, 12, 28), electronic=False)
    assert deadline.local_date == date(2011, 1, 12)
    assert deadline.due == utc(2011, 1, 12, 23)
    assert not deadline.has_passed(paris(2011, 1, 12, 23, 59))
    assert deadline.has_passed(paris(2011, 1, 13, 0, 0))
    assert deadline.explanation.startswith(
        "Signature du marché possible à partir du jeudi 13 janvier 2011"
    )


def test_standstill_eleven_days_electronic() -> None:
    # Friday 20 March 2026 + 11 days, 20th included: 20..30 March; signature Tuesday 31 March
    # from 00:00 +02:00 (summer time since the 29th) = 22:00 UTC on the 30th.
    deadline = standstill_end(paris(2026, 3, 20))
    assert deadline.local_date == date(2026, 3, 30)
    assert deadline.due == utc(2026, 3, 30, 22)
    assert deadline.inputs["days"] == 11


# --- General rules ------------------------------------------------------------------------------


def test_days_later_extended_or_not() -> None:
    # 10 days after Tuesday 15 December 2026 (not counted): Friday 25 December, Christmas.
    plain = days_later_end_of_day(
        paris(2026, 12, 15), days=10, rule="test.jours", legal_basis="Art. 641 CPC"
    )
    assert plain.local_date == date(2026, 12, 25)
    assert "jour férié (Noël) mais le délai n'est pas reporté" in plain.explanation
    extended = days_later_end_of_day(
        paris(2026, 12, 15),
        days=10,
        rule="test.jours",
        legal_basis="Art. 641 et 642 CPC",
        extend_to_working_day=True,
    )
    assert extended.local_date == date(2026, 12, 28)  # Monday
    franc = days_later_end_of_day(
        paris(2026, 12, 15), days=10, franc=True, rule="test.jours", legal_basis="x"
    )
    assert franc.local_date == date(2026, 12, 26)


def test_months_later_end_of_day_generic() -> None:
    deadline = months_later_end_of_day(
        paris(2026, 1, 31), months=1, rule="test.mois", legal_basis="Art. 641 CPC"
    )
    assert deadline.local_date == date(2026, 2, 28)
    assert "le 31 n'existant pas ce mois-là" in deadline.explanation
    assert deadline.inputs["months"] == 1
    with pytest.raises(DeadlineError):
        months_later_end_of_day(paris(2026, 1, 31), months=0, rule="x", legal_basis="x")


def test_business_days_later() -> None:
    deadline = business_days_later(
        paris(2026, 4, 30, 17), days=5, rule="test.ouvres", legal_basis="règlement local"
    )
    assert deadline.local_date == date(2026, 5, 11)


# --- Refusals, storage and rendering -------------------------------------------------------------

NAIVE = datetime(2026, 3, 9, 18, 30)


@pytest.mark.parametrize(
    "call",
    [
        lambda: convocation_deadline(NAIVE),
        lambda: implicit_decision(NAIVE, acceptance=True),
        lambda: legality_control_end(NAIVE),
        lambda: legality_control_end(paris(2026, 3, 2), complements_received_at=NAIVE),
        lambda: publication_min_end(NAIVE),
        lambda: standstill_end(NAIVE),
        lambda: months_later_end_of_day(NAIVE, months=2, rule="x", legal_basis="x"),
        lambda: days_later_end_of_day(NAIVE, days=2, rule="x", legal_basis="x"),
        lambda: business_days_later(NAIVE, days=2, rule="x", legal_basis="x"),
        lambda: local_date(NAIVE),
        lambda: iso8601_utc(NAIVE),
        # a bare date is no instant either
        lambda: convocation_deadline(date(2026, 3, 9)),  # type: ignore[arg-type]
    ],
)
def test_naive_or_bare_dates_are_refused(call: object) -> None:
    with pytest.raises(DeadlineError, match="fuseau horaire") as caught:
        call()  # type: ignore[operator]
    assert isinstance(caught.value, InvalidInput)


def test_deadline_round_trips_through_json() -> None:
    deadline = legality_control_end(paris(2007, 8, 12))
    stored = json.loads(json.dumps(deadline.to_dict()))
    assert stored["due"] == "2007-10-15T22:00:00Z"
    assert stored["local_date"] == "2007-10-15"
    assert stored["timezone"] == "Europe/Paris"
    restored = Deadline.from_dict(stored)
    assert restored == deadline
    assert restored.due.tzinfo is UTC


def test_deadline_due_is_normalised_to_utc() -> None:
    deadline = Deadline(
        rule="test",
        legal_basis="x",
        due=paris(2026, 3, 4, 0),
        local_date=date(2026, 3, 3),
        inputs={},
        explanation="x",
    )
    assert deadline.due.tzinfo is UTC
    assert deadline.due == utc(2026, 3, 3, 23)
    with pytest.raises(DeadlineError):
        Deadline(
            rule="t",
            legal_basis="x",
            due=NAIVE,
            local_date=date(2026, 3, 3),
            inputs={},
            explanation="x",
        )


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("due"),
        lambda d: d.update(schema=99),
        lambda d: d.update(due="2007-10-15T22:00:00"),  # naive
        lambda d: d.update(due="not a date"),
        lambda d: d.update(local_date=20071015),
        lambda d: d.update(inputs=["x"]),
        lambda d: d.update(rule=None),
    ],
)
def test_malformed_stored_deadlines_are_refused(mutate: object) -> None:
    data = legality_control_end(paris(2007, 8, 12)).to_dict()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(DeadlineError):
        Deadline.from_dict(data)


def test_has_passed_is_exclusive_at_due() -> None:
    deadline = implicit_decision(paris(2022, 3, 1), acceptance=True)
    assert deadline is not None
    assert not deadline.has_passed(deadline.due - timedelta(microseconds=1))
    assert deadline.has_passed(deadline.due)
    with pytest.raises(DeadlineError):
        deadline.has_passed(NAIVE)


def test_inconsistent_last_day_is_refused() -> None:
    data = legality_control_end(paris(2007, 8, 12)).to_dict()
    data["local_date"] = "2007-10-16"
    with pytest.raises(DeadlineError, match="incohérente"):
        Deadline.from_dict(data)


def test_acceptance_ignores_a_request_made_after_the_decision_arose() -> None:
    # Received 10 January 2026: accepted at the end of 10 March. A request for documents on
    # 11 March comes too late and does not restart anything, even while unanswered.
    late = MissingDocumentsRequest(paris(2026, 3, 11), date(2026, 4, 11))
    deadline = implicit_decision(paris(2026, 1, 10), acceptance=True, missing_documents=[late])
    assert deadline is not None
    assert deadline.local_date == date(2026, 3, 10)
    assert "sans effet" in deadline.explanation
    # One made on 10 March itself, the last day, still counts.
    in_time = MissingDocumentsRequest(paris(2026, 3, 10), date(2026, 4, 10), paris(2026, 3, 20))
    restarted = implicit_decision(paris(2026, 1, 10), acceptance=True, missing_documents=[in_time])
    assert restarted is not None
    assert restarted.local_date == date(2026, 5, 20)
