"""SpiffWorkflow runs gateways, scripts, timers and DMN tables through the restricted evaluator."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime.clock import frozen_now
from engine.runtime.script_engine import SafeScriptEngine, make_script_engine
from engine.runtime.service_task import SERIALIZER_CONFIG, DematflowBpmnParser

BPMN_DIR = Path(__file__).parent / "bpmn"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SERIALIZER_CONFIG))

SCRIPT_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="Definitions_escape" targetNamespace="https://dematflow.fr/tests">
  <bpmn:process id="escape" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" name="Script">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="choix" default="f_non">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_oui</bpmn:outgoing><bpmn:outgoing>f_non</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="oui"><bpmn:incoming>f_oui</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="non"><bpmn:incoming>f_non</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script" />
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="choix" />
    <bpmn:sequenceFlow id="f_oui" sourceRef="choix" targetRef="oui">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_non" sourceRef="choix" targetRef="non" />
  </bpmn:process>
</bpmn:definitions>
"""


def _spec(process: str, *files: str | bytes) -> tuple[Any, dict[str, Any]]:
    parser = DematflowBpmnParser()
    for item in files:
        if isinstance(item, bytes):
            parser.add_bpmn_str(item)
        elif item.endswith(".dmn"):
            parser.add_dmn_str((BPMN_DIR / item).read_bytes())
        else:
            parser.add_bpmn_str((BPMN_DIR / item).read_bytes())
    return parser.get_spec(process), parser.get_subprocess_specs(process)


def _start(process: str, *files: str | bytes, engine: Any = None, **data: Any) -> BpmnWorkflow:
    spec, subprocesses = _spec(process, *files)
    workflow = BpmnWorkflow(spec, subprocesses, script_engine=engine or make_script_engine())
    start = workflow.get_next_task(state=TaskState.READY)
    start.set_data(**data)
    return workflow


def _round_trip(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """Save and restore like production; the engine is attached again, as the facade does."""
    restored = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(workflow))
    restored.script_engine = make_script_engine()
    return restored


def _completed(workflow: BpmnWorkflow) -> list[str]:
    return [
        task.task_spec.bpmn_id
        for task in workflow.get_tasks(state=TaskState.COMPLETED)
        if task.task_spec.bpmn_id
    ]


# -- gateways and script tasks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("montants", "end", "statut"),
    [
        ([30_000, 15_000], "fin_formalisee", "procédure formalisée"),
        ([1_000], "fin_mapa", "procédure adaptée"),
    ],
)
def test_script_and_gateway_conditions_run(montants: list[int], end: str, statut: str) -> None:
    workflow = _start(
        "evaluator_gateway",
        "evaluator_gateway.bpmn",
        lignes=[{"montant": m} for m in montants],
        numero=7,
    )
    workflow.do_engine_steps()
    workflow = _round_trip(workflow)
    assert workflow.completed
    assert end in _completed(workflow)
    data = workflow.last_task.data
    assert data["statut"] == statut
    assert data["montant"] == sum(montants)
    assert data["libelle"] == "Marché n° 00007"


def _escape_workflow(script: str, condition: str = "False", **data: Any) -> BpmnWorkflow:
    xml = SCRIPT_TEMPLATE.format(script=script, condition=condition).encode("utf-8")
    return _start("escape", xml, **data)


@pytest.mark.parametrize(
    "escape",
    [
        "__import__('os').system('true')",
        "().__class__.__base__.__subclasses__()",
        "'{0.__class__}'.format(x)",
        "eval('1')",
        "import os",
    ],
)
def test_escape_in_a_script_task_fails_the_task_and_runs_nothing(escape: str) -> None:
    workflow = _escape_workflow(f"touched = True\n{escape}", x=1)
    with pytest.raises(WorkflowTaskException) as failed:
        workflow.do_engine_steps()
    assert "not allowed" in str(failed.value) or "not available" in str(failed.value)
    assert failed.value.line_number == 2
    task = failed.value.task
    assert "touched" not in task.data


def test_escape_in_a_gateway_condition_is_refused() -> None:
    workflow = _escape_workflow("y = 1", condition="().__class__.__base__")
    with pytest.raises(WorkflowTaskException, match="not allowed"):
        workflow.do_engine_steps()


def test_limit_in_a_script_task_is_reported() -> None:
    workflow = _escape_workflow("y = 9 ** 9 ** 9")
    with pytest.raises(WorkflowTaskException, match="bits"):
        workflow.do_engine_steps()


# -- timers --------------------------------------------------------------------------------------


def test_timer_expressions_use_the_evaluator_and_fire_in_utc() -> None:
    workflow = _start(
        "evaluator_timer",
        "evaluator_timer.bpmn",
        delai_heures=2,
        delai_jours=10,
        depot="2026-03-02T09:00:00+01:00",
    )
    with frozen_now(T0):
        workflow.do_engine_steps()
    workflow = _round_trip(workflow)
    (waiting,) = workflow.get_tasks(state=TaskState.WAITING)
    assert waiting.task_spec.bpmn_id == "attendre"
    assert waiting._get_internal_data("event_value") == (T0 + timedelta(hours=2)).isoformat()

    with frozen_now(T0 + timedelta(hours=3)):
        workflow.refresh_timers()
        workflow.do_engine_steps()
    workflow = _round_trip(workflow)
    (waiting,) = workflow.get_tasks(state=TaskState.WAITING)
    assert waiting.task_spec.bpmn_id == "echeance"
    assert waiting._get_internal_data("event_value") == "2026-03-12T09:00:00+01:00"

    with frozen_now(T0 + timedelta(days=11)):
        workflow.refresh_timers()
        workflow.do_engine_steps()
    assert workflow.completed
    assert workflow.last_task.data["relance"] == "faite"


def test_absurd_timer_duration_is_refused_before_spiffworkflow_loops_on_it() -> None:
    # SpiffWorkflow loops once per month of a duration: "P999999999Y" would spin for hours.
    workflow = _start("evaluator_timer", "evaluator_timer.bpmn", delai_heures=2)
    workflow.spec.task_specs["attendre"].event_definition.expression = '"P999999999Y"'
    with pytest.raises(WorkflowTaskException, match="longer than 100 years"):
        workflow.do_engine_steps()


# -- DMN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_marche", "montant", "procedure", "seuil"),
    [
        ("Travaux", 12_000, "sans_publicite", 0),
        ("Fournitures", 50_000, "mapa", 40_000),
        ("FOURNITURES", 300_000, "formalisee", 216_000),
    ],
)
def test_decision_table_runs_through_the_evaluator(
    type_marche: str, montant: int, procedure: str, seuil: int
) -> None:
    workflow = _start(
        "evaluator_decision",
        "evaluator_decision.bpmn",
        "evaluator_seuils.dmn",
        type_marche=type_marche,
        montant=montant,
    )
    workflow.do_engine_steps()
    assert workflow.completed
    data = workflow.last_task.data
    assert (data["procedure"], data["seuil"]) == (procedure, seuil)


# -- no eval, no exec ------------------------------------------------------------------------------


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("Python eval/exec was called")


def _run_every_kind_of_expression() -> None:
    gateway = _start(
        "evaluator_gateway", "evaluator_gateway.bpmn", lignes=[{"montant": 50_000}], numero=1
    )
    gateway.do_engine_steps()
    assert gateway.completed
    timer = _start(
        "evaluator_timer",
        "evaluator_timer.bpmn",
        delai_heures=1,
        delai_jours=1,
        depot=T0.isoformat(),
    )
    with frozen_now(T0):
        timer.do_engine_steps()
    with frozen_now(T0 + timedelta(days=2)):
        timer.refresh_timers()
        timer.do_engine_steps()
        timer.refresh_timers()
        timer.do_engine_steps()
    assert timer.completed
    decision = _start(
        "evaluator_decision",
        "evaluator_decision.bpmn",
        "evaluator_seuils.dmn",
        type_marche="fournitures",
        montant=50_000,
    )
    decision.do_engine_steps()
    assert decision.completed


def test_workflows_run_with_python_eval_and_exec_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtins, "eval", _forbidden)
    monkeypatch.setattr(builtins, "exec", _forbidden)
    _run_every_kind_of_expression()


def test_the_eval_trap_catches_spiffworkflows_default_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Control: the same trap does fire when SpiffWorkflow's own environment is used."""
    monkeypatch.setattr(builtins, "eval", _forbidden)
    monkeypatch.setattr(builtins, "exec", _forbidden)
    workflow = _start(
        "evaluator_gateway",
        "evaluator_gateway.bpmn",
        engine=PythonScriptEngine(),
        lignes=[{"montant": 1}],
        numero=1,
    )
    with pytest.raises(WorkflowTaskException):
        workflow.do_engine_steps()


# -- engine wiring -----------------------------------------------------------------------------


def test_a_workflow_left_without_engine_gets_the_safe_one() -> None:
    spec, subprocesses = _spec("evaluator_gateway", "evaluator_gateway.bpmn")
    assert isinstance(BpmnWorkflow(spec, subprocesses).script_engine, SafeScriptEngine)
    workflow = _start("evaluator_gateway", "evaluator_gateway.bpmn", lignes=[], numero=1)
    restored = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(workflow))
    assert isinstance(restored.script_engine, SafeScriptEngine)


def test_call_service_refuses_clearly() -> None:
    workflow = _start("evaluator_gateway", "evaluator_gateway.bpmn", lignes=[], numero=1)
    task = workflow.get_next_task(state=TaskState.READY)
    with pytest.raises(WorkflowTaskException, match="asynchronous service task"):
        make_script_engine().call_service(task, operation_name="x", operation_params={})


def test_validate_keeps_syntax_errors_for_dmn_and_refuses_escapes() -> None:
    engine = make_script_engine()
    with pytest.raises(SyntaxError):
        engine.validate("< 40000")
    engine.validate("montant < 40000")
    with pytest.raises(Exception, match="not allowed"):
        engine.validate("().__class__")


def test_external_context_is_readable_but_task_data_wins() -> None:
    environment = make_script_engine().environment
    assert environment.evaluate("a + b", {"a": 1}, {"a": 10, "b": 2}) == 3
    data: dict[str, Any] = {}
    environment.execute("c = b * 2", data, {"b": 2})
    assert data == {"c": 4}


@pytest.mark.parametrize(
    ("script", "hint"),
    [
        ("jour = today()", "isoformat"),
        ("total = {'ht': Decimal('1.5')}", "float"),
    ],
)
def test_values_task_data_cannot_store_are_refused_with_a_hint(script: str, hint: str) -> None:
    environment = make_script_engine().environment
    with pytest.raises(Exception, match=hint):
        environment.execute(script, {})
    data: dict[str, Any] = {}
    environment.execute(
        "jour = today().isoformat()\nmoment = now()\nduree = timedelta(days=1)", data
    )
    assert isinstance(data["moment"], datetime)
    restored = SERIALIZER.deserialize_json(
        SERIALIZER.serialize_json(_start("evaluator_gateway", "evaluator_gateway.bpmn", **data))
    )
    assert restored.get_next_task(state=TaskState.READY).data["duree"] == timedelta(days=1)
