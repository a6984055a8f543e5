"""`dematflow cases message`: a person with `--as`, else the operator, who must give a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.support import SIREN_A
from tests.engine.test_message_model_errors import BPMN, MANIFEST
from tests.support.cli import Invoke, embedded_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    invoke, processes = embedded_cli(tmp_path, monkeypatch)
    folder = processes / "signal-test"
    (folder / "messages").mkdir(parents=True)
    (folder / "procedure.yaml").write_text(MANIFEST, encoding="utf-8")
    (folder / "signal.bpmn").write_text(BPMN, encoding="utf-8")
    (folder / "messages" / "signal.json").write_text(
        '{"type": "object", "required": ["champ"], "properties": {"champ": {"type": "integer"}}}',
        encoding="utf-8",
    )
    return invoke


def test_the_cli_passes_who_delivers(run) -> None:  # type: ignore[no-untyped-def]
    started = run(
        "cases", "start", "--tenant", SIREN_A, "--procedure", "signal-test", "--as", "agent"
    )
    assert started.exit_code == 0, started.output
    message = ("cases", "message", "--tenant", SIREN_A, "--name", "signal")
    # an élu is not among the declared senders
    refused = run(*message, "--data", '{"champ": 1}', "--as", "elu")
    assert refused.exit_code == 1
    assert "Votre rôle ne permet pas de remettre le message « signal »" in refused.output
    # without --as it is the operator: a reason is required, and `signal` is not theirs
    no_reason = run(*message, "--data", '{"champ": 1}')
    assert no_reason.exit_code == 1 and "motif est obligatoire" in no_reason.output
    operator = run(*message, "--data", '{"champ": 1}', "--reason", "reprise après panne")
    assert operator.exit_code == 1 and "L'exploitant ne peut pas" in operator.output
    malformed = run(*message, "--data", '{"champ": "un"}', "--as", "agent")
    assert malformed.exit_code == 1 and "champ" in malformed.output
    done = run(*message, "--data", '{"champ": 1}', "--as", "agent")
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("completed")
