"""Issue 16's crash: a multi-instance whose cardinality yields a list passed validation, then
`cases start` printed a raw TypeError traceback. Now: one French line naming the element."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli
from tests.engine.support import SIREN_A

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 id="d" targetNamespace="https://dematflow.fr/tests">
<bpmn:process id="liste" isExecutable="true">
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:scriptTask id="viser" name="Viser chaque pièce"><bpmn:incoming>f1</bpmn:incoming>
<bpmn:outgoing>f2</bpmn:outgoing>
<bpmn:multiInstanceLoopCharacteristics isSequential="true">
<bpmn:loopCardinality>["a", "b"]</bpmn:loopCardinality>
</bpmn:multiInstanceLoopCharacteristics><bpmn:script>vu = True</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="fin"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="viser" />
<bpmn:sequenceFlow id="f2" sourceRef="viser" targetRef="fin" />
</bpmn:process></bpmn:definitions>
"""


def test_cases_start_prints_one_line_for_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = tmp_path / "processes"
    folder = processes / "liste"
    folder.mkdir(parents=True)
    (folder / "procedure.yaml").write_text("id: liste\ntitle: Liste\nmain_process: liste\n")
    (folder / "liste.bpmn").write_text(BPMN, encoding="utf-8")
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DEMATFLOW_PROCESSES_DIR", str(processes))
    monkeypatch.delenv("DEMATFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    assert run("processes", "validate", str(folder)) == (0, f"liste: valide ({_hash(run)})\n")
    assert run("db", "upgrade")[0] == 0
    assert run("tenants", "create", "--siren", SIREN_A, "--name", "Commune")[0] == 0
    code, output = run("cases", "start", "--tenant", SIREN_A, "--procedure", "liste")
    assert code == 1
    assert output.strip().splitlines() == [
        "erreur : l'élément viser « Viser chaque pièce » a échoué : erreur inattendue "
        "TypeError : '<' not supported between instances of 'int' and 'list'"
    ]


def _hash(run) -> str:  # type: ignore[no-untyped-def]
    return run("processes", "list")[1].split("\t")[1]
