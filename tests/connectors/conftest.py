"""Connectors test fixtures; the PKI and the simulator process live in tests/fixtures/prefecture.py."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from connectors.actes.model import ActesFile, ActesTransmission, Nature
from tests.fixtures.prefecture import Pki, Simulator, free_port, run_simulator

__all__ = ["PDF", "PNG", "Pki", "Simulator", "free_port", "make_transmission", "run_simulator"]

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture(autouse=True)
def _no_armed_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "prefecture" in request.fixturenames:
        with request.getfixturevalue("prefecture").admin() as http:
            http.delete("/admin/faults")


def act_number() -> str:
    return "T" + uuid.uuid4().hex[:12].upper()


def make_transmission(**changes: object) -> ActesTransmission:
    values: dict[str, object] = {
        "nature": Nature.DELIBERATION,
        "matiere": "5.2",
        "number": act_number(),
        "decision_date": dt.date(2025, 3, 14),
        "subject": "Approbation du compte administratif 2024 — budget principal",
        "act": ActesFile("deliberation.pdf", PDF),
        "siren": "214400000",
        "department": "034",
        "annexes": (ActesFile("annexe.pdf", PDF), ActesFile("plan.png", PNG)),
        "referent_name": "Jeanne Martin",
        "referent_email": "secretariat@mairie.example.fr",
    }
    values.update(changes)
    return ActesTransmission(**values)  # type: ignore[arg-type]
