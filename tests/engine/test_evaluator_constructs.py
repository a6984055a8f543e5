"""The evaluator's constructs for real models: dot access on dict data, get() defaults, the
clock and calendar in Europe/Paris; each with the escapes it must not open."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine.runtime.evaluator import (
    EvaluationError,
    ForbiddenSyntax,
    LimitExceeded,
    check_expression,
    evaluate,
    execute,
)

# 23:30 UTC on 31 January 2026 is already 1 February in Paris.
LATE = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)

DATA: dict[str, Any] = {
    "facture": {"montant": 1200, "tiers": {"nom": "Voirie SA"}, "items": ["a"], "lignes": [1, 2]},
    "options": {},
    "d": date(2026, 1, 31),
    "texte": "abc",
    "liste": [1, 2],
}


def _late() -> datetime:
    return LATE


# -- dot access on dict data ---------------------------------------------------------------------

DOT = [
    ("facture.montant", 1200),
    ("facture.tiers.nom", "Voirie SA"),
    ("facture.montant > 1000 and facture.tiers.nom == 'Voirie SA'", True),
    ("[x * 2 for x in facture.lignes]", [2, 4]),
    ("facture.items", ["a"]),  # a key wins over the dict method of the same name
    ("facture.get('remise', 0)", 0),
    ("options.get('urgent', False)", False),
    ("facture.tiers.get('siret') is None", True),
    ("d.year", 2026),
]


@pytest.mark.parametrize(("source", "expected"), DOT)
def test_dot_reads_keys_of_dict_data(source: str, expected: Any) -> None:
    assert evaluate(source, DATA) == expected


def test_missing_key_gives_a_french_error_with_the_get_alternative() -> None:
    with pytest.raises(EvaluationError) as failed:
        evaluate("facture.remise", DATA)
    message = str(failed.value)
    assert "la clé « remise » n'existe pas" in message
    assert 'facture.get("remise", valeur)' in message
    assert "montant" in message


def test_scripts_read_with_dots_and_default_with_get() -> None:
    data: dict[str, Any] = {"demande": {"montant": 10}}
    execute("total = demande.montant + demande.get('frais', 0)\nx = demande.get('y', [])", data)
    assert data["total"] == 10 and data["x"] == []


@pytest.mark.parametrize(
    "source",
    [
        "facture.__class__",
        "facture.__dict__",
        "facture.montant.__class__",
        "today.__globals__",
        "facture.format_map",
        "facture.mro",
        "texte.real",
        "facture.fromkeys",
        "d.tzinfo",
        "facture.__getitem__('montant')",
        "facture.montant()",
        "texte.format('x')",
        "time.time()",
        "datetime.utcnow()",
        "json.dumps(facture)",
    ],
)
def test_dots_never_reach_python_attributes(source: str) -> None:
    with pytest.raises(ForbiddenSyntax):
        check_expression(source)


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("texte.montant", "str has no allowed attribute"),
        ("liste.montant", "list has no allowed attribute"),
        ("d.montant", "date has no allowed attribute"),
        ("facture.montant.montant", "int has no allowed attribute"),
        ("facture.get", "must be called"),
        ("texte.upper", "must be called"),
    ],
)
def test_dots_on_non_dict_values_are_refused_at_run_time(source: str, match: str) -> None:
    with pytest.raises(EvaluationError, match=match):
        evaluate(source, DATA)


def test_missing_key_message_stays_short_on_huge_data() -> None:
    data = {"d": {("k" * 50_000) + str(i): i for i in range(200)}}
    with pytest.raises(EvaluationError) as failed:
        evaluate("d.absente", data)
    assert len(str(failed.value)) < 2_000


def test_dot_cannot_assign() -> None:
    with pytest.raises(ForbiddenSyntax, match="assign"):
        execute("facture.montant = 1", {"facture": {}})


def test_dot_on_a_non_data_value_is_refused() -> None:
    with pytest.raises(EvaluationError, match="unsupported type"):
        evaluate("facture.piege", {"facture": {"piege": object()}})


def test_time_and_datetime_calls_say_what_to_write() -> None:
    with pytest.raises(ForbiddenSyntax, match="now\\(\\)"):
        check_expression("datetime.utcnow()")


# -- clock and calendar, Europe/Paris ------------------------------------------------------------

CALENDAR = [
    ("today()", date(2026, 2, 1)),  # the Paris day, not the UTC one
    ("now()", LATE),
    ("local_date(now())", date(2026, 2, 1)),
    ("local_date('2026-07-14T22:30:00Z')", date(2026, 7, 15)),
    ("add_days(d, 1)", date(2026, 2, 1)),
    ("add_days('2026-03-01', -1)", date(2026, 2, 28)),
    ("add_months(d, 1)", date(2026, 2, 28)),  # month-end clamping
    ("add_months(date(2028, 1, 31), 1)", date(2028, 2, 29)),
    ("add_months(d, -2)", date(2025, 11, 30)),
    ("add_years(date(2028, 2, 29), 1)", date(2029, 2, 28)),
    ("add_months(now(), 1)", datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # Paris day kept
    ("add_days(datetime(2026, 3, 28, 12), 1)", datetime(2026, 3, 29, 12)),
    ("add_working_days(date(2026, 4, 30), 1)", date(2026, 5, 4)),  # 1 May, weekend
    ("next_working_day(date(2026, 12, 25))", date(2026, 12, 28)),
    ("is_working_day(date(2026, 7, 14))", False),
    ("is_working_day(today())", False),  # a Sunday
    ("end_of_day(date(2026, 7, 14))", datetime(2026, 7, 14, 22, 0, tzinfo=UTC)),
    ("format_date(date(2026, 3, 1))", "1er mars 2026"),
    ("format_date(d, weekday=True)", "samedi 31 janvier 2026"),
    ("format_datetime(now())", "1er février 2026 à 0 h 30"),
    ("parse_date('2026-03-01') + timedelta(days=30) == date(2026, 3, 31)", True),
    ("(add_months(today(), 2) - today()).days", 59),
]


@pytest.mark.parametrize(("source", "expected"), CALENDAR)
def test_clock_and_calendar_in_paris(source: str, expected: Any) -> None:
    assert evaluate(source, DATA, clock=_late) == expected


def test_legal_deadlines_come_back_as_stored_deadlines() -> None:
    # Notified Friday 10 April 2026: two months "francs" end Thursday 11 June at night.
    appeal = evaluate("appeal_deadline('2026-04-10T10:00:00+02:00')", {})
    assert appeal["rule"] == "cja.recours_contentieux"
    assert appeal["local_date"] == "2026-06-11"
    assert appeal["due"] == "2026-06-11T22:00:00Z"
    # Ending on Sunday 12 July → extended to Monday 13, not Tuesday 14 July (holiday).
    extended = evaluate("deadline_months('2026-05-11T09:00:00+02:00', 2, franc=True)", {})
    assert extended["local_date"] == "2026-07-12"
    moved = evaluate(
        "deadline_months('2026-05-11T09:00:00+02:00', 2, franc=True, working_day=True)", {}
    )
    assert moved["local_date"] == "2026-07-13"
    days = evaluate("deadline_days(now(), 15)['local_date']", {}, clock=_late)
    assert days == "2026-02-16"
    working = evaluate("deadline_working_days(date(2026, 4, 30), 2)['local_date']", {})
    assert working == "2026-05-05"
    assert "explanation" in appeal and appeal["timezone"] == "Europe/Paris"


def test_a_deadline_can_feed_a_timer_and_be_stored() -> None:
    data: dict[str, Any] = {"notifie_le": "2026-04-10T10:00:00+02:00"}
    execute("recours = appeal_deadline(notifie_le)\nfin = recours['due']", data)
    assert data["fin"] == "2026-06-11T22:00:00Z"


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("add_days(d, 10**9)", "dépasse la limite"),
        ("add_months(d, 10**6)", "dépasse la limite"),
        ("add_years(d, 9000)", "dépasse la limite"),
        ("add_working_days(d, 10**7)", "dépasse la limite"),
        ("deadline_days(now(), 10**8)", "dépasse la limite"),
        ("deadline_working_days(now(), 10**6)", "dépasse la limite"),
        ("add_days(d, 1.5)", "nombre entier"),
        ("add_days(d, True)", "nombre entier"),
        ("add_days(texte, 1)", "date illisible"),
        ("add_days(liste, 1)", "date"),
        ("add_months(date(9999, 12, 1), 1)", "bornes"),
        ("deadline_days(datetime(2026, 1, 1), 3)", "sans fuseau"),
        ("deadline_days('2026-01-01T10:00:00', 3)", "sans fuseau"),
        ("format_date(d, weekday='oui')", "True ou False"),
        ("today(1)", "prend les arguments"),
        ("add_days(d)", "manquant"),
        ("add_days(d, 1, jours=2)", "prend les arguments"),
        ("local_date('x' * 5000)", "date illisible"),
    ],
)
def test_calendar_functions_refuse_bad_or_huge_arguments(source: str, match: str) -> None:
    started = time.monotonic()
    with pytest.raises(EvaluationError, match=match):
        evaluate(source, DATA, clock=_late)
    assert time.monotonic() - started < 1.0


def test_working_day_counts_pay_steps() -> None:
    from engine.runtime.evaluator import Limits

    with pytest.raises(LimitExceeded):
        evaluate(
            "[add_working_days(d, 2600) for i in range(200)]", DATA, limits=Limits(max_steps=20_000)
        )


def test_calendar_functions_are_not_values() -> None:
    with pytest.raises(EvaluationError, match="must be called"):
        execute("f = add_months", {})


def test_validation_knows_the_new_functions_and_still_refuses_unknown_ones() -> None:
    for name in ("today", "add_months", "appeal_deadline", "format_date", "is_working_day"):
        check_expression(f"{name}")
    check_expression("add_months(today(), 1)")
    with pytest.raises(ForbiddenSyntax, match="fonction add_weeks\\(\\) inconnue"):
        check_expression("add_weeks(today(), 1)")
