"""Operations are typed units: every operation is found by a plain import, and a BPMN naming an
unknown operation or wrong parameters is refused at deploy (commits: test_commit_boundaries)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.bootstrap import OPERATIONS, Platform, build_operations
from engine.cli.main import cli
from engine.domain.errors import ProcessDefinitionError
from engine.operations.base import (
    Failed,
    Operation,
    OperationContext,
    OperationFailed,
    OperationRetry,
    RetryLater,
    RunAgain,
    Verdict,
    passing,
)
from engine.operations.documents import NEXT_ACT_NUMBER
from engine.operations.runner import run_operation
from engine.persistence.uow import UnitOfWork
from engine.settings import Settings
from tests.engine.support import SIREN_A, make_tenants


def test_every_operation_is_registered_once_from_its_module() -> None:
    names = [operation.name for operation in OPERATIONS]
    assert len(names) == len(set(names))
    for operation in OPERATIONS:
        module = operation.prepare.__module__
        assert module.startswith("engine.operations."), (operation.name, module)
        assert operation.description and operation.queue


def test_parameters_are_parsed_by_the_same_parser_at_deploy_and_at_run() -> None:
    assert NEXT_ACT_NUMBER.parse({}).serie == "ACTE"
    assert NEXT_ACT_NUMBER.parse({"serie": "del"}).serie == "DEL"
    with pytest.raises(OperationFailed) as caught:
        NEXT_ACT_NUMBER.parse({"serie": "TROP_LONGUE"})
    assert caught.value.code == "serie_invalide"
    assert NEXT_ACT_NUMBER.problems({"serie": '"ARR"'}) == []
    assert NEXT_ACT_NUMBER.problems({"serie": "serie_du_dossier"}) == []  # checked when it runs
    assert NEXT_ACT_NUMBER.problems({"serie": '"TROP_LONGUE"'}) == [
        "paramètre « serie » : Série de numérotation invalide « TROP_LONGUE »."
    ]


def test_the_registry_refuses_unknown_operations_and_parameters() -> None:
    registry = build_operations(Settings())
    registry.check_service_task("signatures.sign", {"document": "acte", "signataire": "par"})
    with pytest.raises(ProcessDefinitionError, match=r"opération inconnue « signatures\.signer »"):
        registry.check_service_task("signatures.signer", {})
    with pytest.raises(ProcessDefinitionError) as caught:
        registry.check_service_task("signatures.sign", {"document": "acte", "signatair": "par"})
    message = str(caught.value)
    assert "paramètre inconnu « signatair »" in message
    assert "paramètre obligatoire « signataire » manquant" in message


def _procedure(tmp_path: Path, operation: str, parameters: str) -> Path:
    directory = tmp_path / "essai"
    directory.mkdir()
    (directory / "procedure.yaml").write_text(
        "id: essai\ntitle: Essai\nmain_process: essai\nroles:\n  agent: Agent\n", encoding="utf-8"
    )
    (directory / "essai.bpmn").write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="essai" isExecutable="true">
    <bpmn:startEvent id="debut"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="numeroter" name="Numéroter l'acte">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="{operation}" resultVariable="numero">
          <spiffworkflow:parameters>{parameters}</spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="fin"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="debut" targetRef="numeroter"/>
    <bpmn:sequenceFlow id="f2" sourceRef="numeroter" targetRef="fin"/>
  </bpmn:process>
</bpmn:definitions>
""",
        encoding="utf-8",
    )
    return directory


@pytest.mark.parametrize(
    ("operation", "parameters", "refusal"),
    [
        ("engine.numeroter", "", "opération inconnue « engine.numeroter »"),
        (
            "engine.next_act_number",
            '<spiffworkflow:parameter id="series" type="any" value="&quot;DEL&quot;"/>',
            "paramètre inconnu « series » (paramètres possibles : serie)",
        ),
        (
            "engine.next_act_number",
            '<spiffworkflow:parameter id="serie" type="any" value="&quot;DÉLIB&quot;"/>',
            "paramètre « serie » : Série de numérotation invalide « DÉLIB ».",
        ),
    ],
)
def test_processes_validate_names_the_task_and_what_is_wrong(
    tmp_path: Path, operation: str, parameters: str, refusal: str
) -> None:
    directory = _procedure(tmp_path, operation, parameters)
    result = CliRunner().invoke(cli, ["processes", "validate", str(directory)])
    assert result.exit_code != 0
    assert "élément numeroter « Numéroter l'acte »" in result.output
    assert refusal in result.output


# --- the runner's verdicts ---------------------------------------------------------------------


@dataclass(frozen=True)
class _NoParams:
    pass


def _counter(platform: Platform, name: str) -> int:
    with platform.uow() as uow:
        return uow.tenants.next_counter(SIREN_A, name) - 1  # rolled back: only a read


def _scripted(verdicts: list[Any], prepared: list[int]) -> Operation[_NoParams, int, int]:
    """An operation whose record writes a counter then gives the next scripted verdict."""

    def prepare(uow: UnitOfWork, ctx: OperationContext, params: _NoParams) -> int:
        prepared.append(1)
        return len(prepared)

    def record(uow: UnitOfWork, ctx: OperationContext, outcome: int) -> Verdict:
        uow.tenants.next_counter(ctx.tenant, "verdicts")
        return verdicts.pop(0)

    return Operation("test.scripted", _NoParams, prepare, passing, record)


def _run(platform: Platform, operation: Operation[Any, Any, Any], key: str) -> dict[str, Any]:
    now = platform.clock()
    ctx = OperationContext(
        SIREN_A, uuid.uuid4(), operation.name, key, now, now, platform.operations.resources
    )
    return run_operation(operation, ctx, {}, platform.uow, lambda _uow, result: result)


def test_a_reservation_runs_the_phases_again_and_the_effect_is_remembered(
    platform: Platform,
) -> None:
    make_tenants(platform)
    prepared: list[int] = []
    operation = _scripted([RunAgain(), {"fait": True}], prepared)
    assert _run(platform, operation, "cle-1") == {"fait": True}
    assert len(prepared) == 2 and _counter(platform, "verdicts") == 2
    assert _run(platform, operation, "cle-1") == {"fait": True}  # recalled: no phase runs
    assert len(prepared) == 2 and _counter(platform, "verdicts") == 2


def test_what_record_wrote_for_a_retry_or_a_refusal_is_kept(platform: Platform) -> None:
    make_tenants(platform)
    operation = _scripted([RetryLater("plus tard"), Failed("refus", "Refusé.")], [])
    with pytest.raises(OperationRetry, match="plus tard"):
        _run(platform, operation, "cle-2")
    assert _counter(platform, "verdicts") == 1
    with pytest.raises(OperationFailed) as refused:
        _run(platform, operation, "cle-2")
    assert refused.value.code == "refus" and _counter(platform, "verdicts") == 2
