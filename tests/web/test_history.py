"""A case's journal as a French history: labels, names, Paris time, routine jobs left out."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.domain.model import JournalEntry
from web.history import EVENT_LABELS, actor_name, history

PEOPLE = {"maire": "Marie Durand", "agent": "Claire Agent"}
CASE = uuid.uuid4()


def _entry(seq: int, kind: str, actor: str, **payload: Any) -> JournalEntry:
    return JournalEntry(
        tenant="213400005",
        seq=seq,
        kind=kind,
        case_id=CASE,
        actor=actor,
        payload=payload,
        recorded_at=datetime(2026, 12, 7, 17, 30, tzinfo=UTC),
        prev_hash="0" * 64,
        hash="1" * 64,
    )


def test_actors_are_named_as_people_say_them() -> None:
    assert actor_name("user:maire", PEOPLE) == "Marie Durand (maire)"
    assert actor_name("system:worker", PEOPLE) == "le système"
    assert actor_name("system:actes", PEOPLE, kind="actes.acknowledged") == "la préfecture"
    assert actor_name("system:actes", PEOPLE, kind="actes.transmitted") == "le système"
    assert actor_name("system:usager", PEOPLE) == "l'usager"


def test_every_kind_the_engine_journals_for_a_case_has_a_french_label() -> None:
    kinds = {
        "case.started", "case.cancelled", "case.retried", "case.error", "task.completed",
        "job.succeeded", "job.failed", "message.received", "timer.fired", "document.added",
        "document.rendered", "document.signed", "document.sealed", "mail.sent",
        "actes.transmitted", "actes.acknowledged", "actes.rejected", "actes.refused",
        "actes.letter_received", "actes.anomaly", "act.published", "citizen.request.filed",
        "archive.sealed", "archive.waiting",
    }  # fmt: skip
    assert kinds <= EVENT_LABELS.keys()


ENGINE = Path(__file__).resolve().parents[2] / "engine"
TEMPLATES = {
    "document.{plan.kind}": {"document.rendered", "document.signed", "document.sealed"},
    "archive.{'destroyed' if decision == 'destroy' else 'retention_decided'}": {
        "archive.destroyed",
        "archive.retention_decided",
    },
}
"""The kinds built with an f-string, spelled out (a new one fails the test until listed)."""
_DOTTED = r"[a-z_]+(?:\.[a-z_]+)+"


def _journal_kinds(source: str) -> tuple[set[str], set[str]]:
    """The journal kinds a module appends (literals, its constants, its `_journal(...)` helper
    calls) and the f-string templates it builds kinds with."""
    kinds = set(re.findall(rf'\bkind="({_DOTTED})"', source))
    kinds |= set(re.findall(rf'\b_journal\([^)]*?"({_DOTTED})"', source))
    for name in re.findall(r"\bkind=([A-Z][A-Z_]+)\b", source):
        kinds |= set(re.findall(rf'^{name}\s*=\s*"({_DOTTED})"', source, flags=re.M))
    return kinds, set(re.findall(r'\bkind=f"([^"]+)"', source))


def test_every_journal_kind_the_code_appends_has_a_french_label() -> None:
    kinds: set[str] = set()
    templates: set[str] = set()
    for path in ENGINE.rglob("*.py"):
        found, built = _journal_kinds(path.read_text(encoding="utf-8"))
        kinds |= found
        templates |= built
    assert templates <= TEMPLATES.keys(), f"kinds built by f-string to list: {templates}"
    for template in templates:
        kinds |= TEMPLATES[template]
    assert {"council.saved", "citizen.request.registered", "user.role_granted"} <= kinds
    missing = sorted(kinds - EVENT_LABELS.keys())
    assert not missing, f"journal kinds without a French label in web/history.py: {missing}"


def test_history_lines_in_french_and_paris_time() -> None:
    doc = str(uuid.uuid4())
    entries = [
        _entry(1, "case.started", "user:agent", procedure="deliberation"),
        _entry(2, "job.succeeded", "system:worker", operation="documents.render"),
        _entry(3, "document.rendered", "system:documents", document=doc),
        _entry(4, "job.succeeded", "system:worker", operation="engine.next_act_number"),
        _entry(5, "mail.sent", "system:mail", objet="Convocation au conseil"),
        _entry(6, "message.received", "system:actes", message="actes_accuse_reception"),
        _entry(7, "document.signed", "user:maire", document=doc),
    ]
    lines = history(entries, PEOPLE, {doc: "2026_DEL0001.pdf"})
    assert [(i.seq, i.what, i.detail, i.who) for i in lines] == [
        (1, "Dossier créé", "", "Claire Agent (agent)"),
        (3, "Document produit", "2026_DEL0001.pdf", "le système"),
        (4, "Numéro d'acte attribué", "", "le système"),
        (5, "Courriel envoyé", "Convocation au conseil", "le système"),
        (6, "Message reçu", "accusé de réception de la préfecture", "la préfecture"),
        (7, "Document signé", "2026_DEL0001.pdf", "Marie Durand (maire)"),
    ]
    assert lines[0].when == "7 décembre 2026 à 18 h 30"
