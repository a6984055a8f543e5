"""Every message a procedure of processes/ waits for is declared in its procedure.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.errors import ProcessDefinitionError
from engine.runtime.specs import (
    CONNECTOR,
    bundle_from_files,
    caught_messages,
    parse_bundle,
    read_procedure_dir,
)

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PROCEDURES = sorted(p for p in PROCESSES.iterdir() if (p / "procedure.yaml").is_file())


@pytest.mark.parametrize("folder", PROCEDURES, ids=lambda p: p.name)
def test_every_caught_message_is_declared(folder: Path) -> None:
    parsed = parse_bundle(read_procedure_dir(folder))
    caught = caught_messages(parsed)
    declared = parsed.bundle.messages
    assert caught <= declared.keys(), f"non déclarés : {sorted(caught - declared.keys())}"
    for name in caught:
        rule = declared[name]
        assert rule.senders == {CONNECTOR} or rule.schema is not None, name


def test_the_prefecture_acknowledgement_comes_only_from_the_connector_or_the_operator() -> None:
    for folder, name in (
        ("arrete", "accuse_reception_prefecture"),
        ("deliberation", "actes_accuse_reception"),
        ("commande-publique", "actes_accuse_reception"),
    ):
        rule = read_procedure_dir(PROCESSES / folder).messages[name]
        assert rule.senders == {"connector", "operator"}


def _manifest(messages: str) -> dict[str, bytes]:
    yaml = f"id: p\ntitle: P\nmain_process: p\nroles:\n  agent: Agent\nmessages:\n{messages}"
    return {"procedure.yaml": yaml.encode(), "messages/m.json": b'{"type": "object"}'}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ("  m:\n    from: [inconnu]\n    schema: messages/m.json\n", "expéditeur inconnu"),
        ("  m:\n    from: [agent]\n", "schéma"),
        ("  m:\n    from: [agent]\n    schema: messages/absent.json\n", "introuvable"),
        ("  m: agent\n", "`from`"),
    ],
)
def test_a_bad_declaration_is_refused_at_deployment(messages: str, expected: str) -> None:
    with pytest.raises(ProcessDefinitionError, match=expected):
        bundle_from_files(_manifest(messages))
