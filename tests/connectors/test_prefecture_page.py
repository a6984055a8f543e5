"""The prefecture simulator's page: an outage set there holds until it is lifted there, and the
@ctes client meets it as it would meet a real prefecture's (refusal, unavailability)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.actes.envelope import build_archive
from connectors.errors import PermanentError, RetryableError
from tests.connectors.conftest import Simulator, make_transmission, run_simulator

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator of its own over plain HTTP, as `dematflow serve` runs it."""
    running = run_simulator(tmp_path_factory.mktemp("prefecture-page"), None)
    yield running
    running.stop()


def _choose(http: httpx.Client, state: str, reason: str = "") -> httpx.Response:
    return http.post("/pannes", data={"etat": state, "motif": reason})


def test_rejection_set_on_the_page_holds_until_lifted(simulator: Simulator) -> None:
    with simulator.admin() as http:
        assert "fonctionnement normal" in http.get("/").text
        answer = _choose(http, "rejet", "Préfecture fermée pour inventaire")
        assert answer.status_code == 303
        shown = http.get("/").text
        assert "rejet des dépôts depuis le" in shown
        assert "Préfecture fermée pour inventaire" in shown
        first, second = make_transmission(), make_transmission()
        with simulator.client() as client:
            for t in (first, second):  # every deposit, not the next one only
                with pytest.raises(PermanentError, match="Préfecture fermée pour inventaire"):
                    client.submit(build_archive(t), idempotency_key=f"page/{t.number}")
        assert _choose(http, "normal").status_code == 303
        with simulator.client() as client:
            sent = client.submit(build_archive(first), idempotency_key=f"page/{first.number}")
        assert not sent.replayed
        listed = http.get("/").text
        assert "fonctionnement normal" in listed
        assert first.act_unique_id in listed  # among the transmissions received


def test_unavailable_answers_503_to_every_call(simulator: Simulator) -> None:
    with simulator.admin() as http:
        try:
            assert _choose(http, "indisponible").status_code == 303
            assert "indisponible depuis le" in http.get("/").text
            t = make_transmission()
            with simulator.client(attempts=2) as client:
                with pytest.raises(RetryableError, match="HTTP 503"):
                    client.submit(build_archive(t), idempotency_key=f"page/{t.number}")
                with pytest.raises(RetryableError, match="HTTP 503"):
                    client.status(1)
        finally:
            _choose(http, "normal")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"etat": "panne_inconnue"}, "Choisissez un comportement"),
        ({"etat": "rejet", "motif": "x" * 301}, "dépasse 300 caractères"),
    ],
)
def test_bad_choice_is_refused_in_french(
    simulator: Simulator, data: dict[str, str], expected: str
) -> None:
    with simulator.admin() as http:
        answer = http.post("/pannes", data=data)
        assert answer.status_code == 422
        assert expected in answer.text
        assert "fonctionnement normal" in http.get("/").text  # nothing changed


def test_form_posted_from_another_site_is_refused(simulator: Simulator) -> None:
    with simulator.admin() as http:
        answer = http.post(
            "/pannes", data={"etat": "indisponible"}, headers={"Origin": "http://ailleurs.example"}
        )
        assert answer.status_code == 403
        assert "fonctionnement normal" in http.get("/").text


def test_outage_survives_a_restart(tmp_path: Path) -> None:
    """The trainer's choice is kept with the simulator's state, like its transmissions."""
    running = run_simulator(tmp_path, None)
    try:
        with running.admin() as http:
            _choose(http, "rejet", "Motif gardé")
        running.stop()
        running.start()
        with running.admin() as http:
            assert "Motif gardé" in http.get("/").text
    finally:
        running.stop()
