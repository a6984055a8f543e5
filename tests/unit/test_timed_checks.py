"""Legal minimum delays and reported dates checked against the clock (x-dematflow-min-delays)."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.services.form_checks import timed_checks

NOW = datetime(2027, 2, 16, 9, 0, tzinfo=UTC)
SCHEMA = {
    "x-dematflow-min-delays": [
        {
            "field": "date_limite_offres",
            "days": 35,
            "when": {"procedure": "formalisee"},
            "message": "au moins {jours} jours, soit le {au_plus_tot} au plus tôt",
        },
        {"field": "deposee_le", "past": True, "message": "après maintenant ({maintenant})"},
    ]
}


def test_a_formal_procedure_needs_35_days() -> None:
    short = {"date_limite_offres": "2027-03-20T12:00:00+01:00"}
    errors = timed_checks(SCHEMA, short, {"procedure": "formalisee"}, NOW)
    assert [e.path for e in errors] == ["date_limite_offres"]
    assert "au moins 35 jours, soit le 23 mars 2027 à 10 h 00 au plus tôt" in errors[0].message
    enough = {"date_limite_offres": "2027-03-23T12:00:00+01:00"}
    assert timed_checks(SCHEMA, enough, {"procedure": "formalisee"}, NOW) == []


def test_a_mapa_has_no_legal_minimum_here() -> None:
    short = {"date_limite_offres": "2027-02-20T12:00:00+01:00"}
    assert timed_checks(SCHEMA, short, {"procedure": "mapa"}, NOW) == []


def test_a_reported_date_cannot_be_later_than_now() -> None:
    later = {"deposee_le": "2027-02-16T10:30:00+01:00"}  # 09:30 UTC
    assert [e.path for e in timed_checks(SCHEMA, later, {}, NOW)] == ["deposee_le"]
    assert timed_checks(SCHEMA, {"deposee_le": "2027-02-16T09:30:00+01:00"}, {}, NOW) == []


def test_unreadable_or_missing_dates_are_left_to_the_schema() -> None:
    assert (
        timed_checks(SCHEMA, {"date_limite_offres": "demain"}, {"procedure": "formalisee"}, NOW)
        == []
    )
    assert timed_checks(SCHEMA, {}, {"procedure": "formalisee"}, NOW) == []
