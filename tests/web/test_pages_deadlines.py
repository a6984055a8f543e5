"""Deadlines on the case page: date, countdown from the platform clock, rule and inputs shown."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.deadlines import (
    convocation_deadline,
    implicit_decision,
    legality_control_end,
)
from tests.engine.support import SIREN_A, start
from web.pages.cases import countdown, deadlines_of

Login = Callable[[str], tuple[TestClient, str]]
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
"""Wednesday 4 March 2026, 11:00 in Paris."""

CONVOCATION = convocation_deadline(datetime(2026, 3, 5, 18, 0, tzinfo=UTC))  # last day 27 Feb
_IMPLICIT = implicit_decision(datetime(2026, 1, 12, 9, 0, tzinfo=UTC), acceptance=True)
assert _IMPLICIT is not None  # None only while missing documents are awaited
IMPLICIT = _IMPLICIT  # last day 12 March
LEGALITY = legality_control_end(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))  # 16 Mar (art. 642)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_case_page_counts_down_each_stored_deadline(
    browser_as: Login, people: Platform
) -> None:
    # Stored as engine.compute_deadline stores them: the deadline and its reasoning.
    data = {
        "echeance_convocation": CONVOCATION.to_dict(),
        "fin_controle": {**LEGALITY.to_dict(), "echeance": LEGALITY.due_iso},
        "echeance_implicite": IMPLICIT.to_dict(),
        "objet": "pas une échéance",
        "mal_forme": {"schema": 1, "rule": "x", "due": "hier"},
    }
    case = start(people, "arrete", data)
    people.clock = lambda: NOW
    client, _token = browser_as("agent.a")
    page = client.get(f"/c/{SIREN_A}/dossiers/{case.id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "Échéances" in text
    assert (
        "Envoi de la convocation du conseil : vendredi 27 février 2026 — dépassé depuis 5 jours"
        in text
    )
    assert (
        "Naissance d'une décision implicite d'acceptation : jeudi 12 mars 2026 — dans 8 jours"
        in text
    )
    assert "Fin du contrôle de légalité : lundi 16 mars 2026 — dans 12 jours" in text
    # The rule and the inputs that produced each date, as issue #7 asks.
    assert "acte reçu en préfecture le jeudi 15 janvier 2026" in text
    assert "2 mois de date à date" in text and "Art. L2131-6 CGCT" in text
    assert "Règle cgct.convocation.jours_francs" in text
    assert "5 jours francs avant la séance du jeudi 5 mars 2026" in text
    # Oldest first; the passed one is marked for the style.
    assert text.index("27 février") < text.index("12 mars") < text.index("16 mars")
    assert 'class="deadline deadline-depasse"' in page.text
    assert '<time datetime="2026-03-16">' in page.text


def test_a_case_without_deadlines_shows_no_section(browser_as: Login, people: Platform) -> None:
    case = start(people, "arrete")
    client, _token = browser_as("agent.a")
    assert "Échéances" not in client.get(f"/c/{SIREN_A}/dossiers/{case.id}").text


@pytest.mark.parametrize(
    ("now", "expected", "state"),
    [
        (datetime(2026, 2, 20, 12, 0, tzinfo=UTC), "dans 20 jours", "ouvert"),
        (datetime(2026, 3, 5, 12, 0, tzinfo=UTC), "dans 7 jours", "proche"),
        (datetime(2026, 3, 11, 12, 0, tzinfo=UTC), "dernier jour demain", "proche"),
        # 23:30 in Paris on the last day: still open.
        (datetime(2026, 3, 12, 22, 30, tzinfo=UTC), "dernier jour aujourd'hui", "proche"),
        # Midnight in Paris: the implicit decision has arisen.
        (datetime(2026, 3, 12, 23, 0, tzinfo=UTC), "dépassé depuis 1 jour", "depasse"),
        (datetime(2026, 3, 15, 9, 0, tzinfo=UTC), "dépassé depuis 3 jours", "depasse"),
    ],
)
def test_countdown_counts_paris_calendar_days(now: datetime, expected: str, state: str) -> None:
    assert countdown(IMPLICIT, now) == (expected, state)


def test_deadlines_of_skips_what_is_not_a_stored_deadline() -> None:
    views = deadlines_of(
        {"a": IMPLICIT.to_dict(), "b": {"schema": 99, "rule": "r", "due": "x"}, "c": "texte"},
        NOW,
    )
    assert [v.deadline for v in views] == [IMPLICIT]
    assert views[0].day == "jeudi 12 mars 2026"
