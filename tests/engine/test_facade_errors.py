"""Nothing escapes the facade: any exception raised while a case advances is a ModelError.

Every built-in exception type is raised from a script task, a gateway condition and a
multi-instance cardinality, through a function injected into the evaluator's library for the
test (the honest way for BPMN to reach arbitrary Python code); the facade must turn each one
into a French `ModelError` naming the element (id and name).
"""

from __future__ import annotations

import builtins
from typing import Any

import pytest

from engine.domain.errors import ModelError
from engine.runtime import evaluator_library
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import ParsedProcess, bundle_from_files, parse_bundle
from tests.engine.one_node_bpmn import HEAD, MANIFEST, TAIL


def parsed_from(body: str, tail: str = TAIL) -> ParsedProcess:
    xml = (HEAD + body + tail).encode()
    return parse_bundle(bundle_from_files({"procedure.yaml": MANIFEST, "essai.bpmn": xml}))


SCRIPT = (
    '<bpmn:scriptTask id="site" name="Calculer"><bpmn:incoming>f1</bpmn:incoming>'
    "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>x = {call}</bpmn:script></bpmn:scriptTask>\n"
)
CARDINALITY = (
    '<bpmn:scriptTask id="site" name="Répéter"><bpmn:incoming>f1</bpmn:incoming>'
    "<bpmn:outgoing>f2</bpmn:outgoing>"
    '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
    "<bpmn:loopCardinality>{call}</bpmn:loopCardinality>"
    "</bpmn:multiInstanceLoopCharacteristics>"
    "<bpmn:script>y = 1</bpmn:script></bpmn:scriptTask>\n"
)
GATEWAY = (
    '<bpmn:exclusiveGateway id="site" name="Choisir" default="f3">'
    "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
    "<bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>\n"
)
GATEWAY_TAIL = (
    '<bpmn:endEvent id="fin"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
    '<bpmn:endEvent id="fin2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>\n'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="site" />\n'
    '<bpmn:sequenceFlow id="f2" sourceRef="site" targetRef="fin">'
    "<bpmn:conditionExpression>{call}</bpmn:conditionExpression></bpmn:sequenceFlow>\n"
    '<bpmn:sequenceFlow id="f3" sourceRef="site" targetRef="fin2" />\n'
    "</bpmn:process></bpmn:definitions>\n"
)
SITES = {
    "script": (SCRIPT, TAIL, "Calculer"),
    "cardinality": (CARDINALITY, TAIL, "Répéter"),
    "condition": (GATEWAY, GATEWAY_TAIL, "Choisir"),
}


def _instance(kind: type[BaseException]) -> BaseException:
    """An instance of `kind` built with the arguments its constructor needs."""
    if issubclass(kind, UnicodeDecodeError):
        return kind("utf-8", b"\xff", 0, 1, "boom")
    if issubclass(kind, UnicodeEncodeError):
        return kind("ascii", "é", 0, 1, "boom")
    if issubclass(kind, UnicodeTranslateError):
        return kind("é", 0, 1, "boom")
    if issubclass(kind, BaseExceptionGroup):
        return kind("boom", [ValueError("inner")])
    return kind("boom")


EXCEPTION_TYPES = sorted(
    (
        value
        for value in vars(builtins).values()
        if isinstance(value, type) and issubclass(value, Exception)
    ),
    key=lambda kind: kind.__name__,
)
"""Every built-in exception type a program may catch (KeyboardInterrupt, SystemExit and
GeneratorExit are not errors of a model: they stop the process, as they should)."""


@pytest.fixture
def raising_function(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Register `boom()` in the evaluator's library; it raises the exception set by the test."""
    holder: dict[str, BaseException] = {}

    def impl(budget: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise holder["exc"]

    monkeypatch.setitem(
        evaluator_library.FUNCTIONS, "boom", evaluator_library.SafeFunction("boom", impl)
    )
    return holder


def test_every_builtin_exception_type_is_listed() -> None:
    assert len(EXCEPTION_TYPES) > 60
    assert TypeError in EXCEPTION_TYPES and OSError in EXCEPTION_TYPES


@pytest.mark.parametrize("site", sorted(SITES))
@pytest.mark.parametrize("kind", EXCEPTION_TYPES, ids=lambda kind: kind.__name__)
def test_no_exception_escapes_the_facade(
    raising_function: dict[str, BaseException], site: str, kind: type[Exception]
) -> None:
    body, tail, name = SITES[site]
    parsed = parsed_from(body.format(call="boom()"), tail.format(call="boom()"))
    raising_function["exc"] = _instance(kind)
    with pytest.raises(ModelError) as caught:
        CaseRuntime.start(parsed, {})
    message = str(caught.value)
    assert message.startswith(f"l'élément site « {name} » a échoué : "), message


def test_cardinality_giving_a_list_is_a_model_error() -> None:
    """The case of issue 16: `range(list)` inside SpiffWorkflow raised a raw TypeError."""
    parsed = parsed_from(CARDINALITY.format(call="[1, 2]"))
    with pytest.raises(ModelError, match=r"l'élément site « Répéter » a échoué"):
        CaseRuntime.start(parsed, {})


def test_failure_after_a_human_task_is_a_model_error(
    raising_function: dict[str, BaseException],
) -> None:
    body = (
        '<bpmn:userTask id="saisir" name="Saisir"><bpmn:incoming>f1</bpmn:incoming>'
        "<bpmn:outgoing>f0</bpmn:outgoing></bpmn:userTask>\n"
        '<bpmn:sequenceFlow id="f0" sourceRef="saisir" targetRef="site" />\n'
        + SCRIPT.format(call="boom()").replace("f1", "f0", 1)
    )
    tail = TAIL.replace(
        'sourceRef="start" targetRef="site"', 'sourceRef="start" targetRef="saisir"'
    )
    runtime = CaseRuntime.start(parsed_from(body, tail), {})
    [task] = runtime.ready_tasks()
    raising_function["exc"] = LookupError("boom")
    with pytest.raises(ModelError, match="« Calculer » a échoué : erreur inattendue LookupError"):
        runtime.complete_task(task.id, {})


CORRELATION = (
    '<bpmn:intermediateCatchEvent id="site" name="Recevoir"><bpmn:incoming>f1</bpmn:incoming>'
    "<bpmn:outgoing>f2</bpmn:outgoing><bpmn:extensionElements><spiffworkflow:properties>"
    '<spiffworkflow:property name="correlation" value="boom()" />'
    "</spiffworkflow:properties></bpmn:extensionElements>"
    '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>\n'
)


@pytest.mark.parametrize("kind", EXCEPTION_TYPES, ids=lambda kind: kind.__name__)
def test_no_exception_escapes_what_the_case_waits_for(
    raising_function: dict[str, BaseException], kind: type[Exception]
) -> None:
    """The correlation of a waiting message is evaluated when the case says what it waits for."""
    xml = (HEAD + CORRELATION + TAIL).replace(
        "<bpmn:process ", '<bpmn:message id="m" name="avis" />\n<bpmn:process ', 1
    )
    parsed = parse_bundle(
        bundle_from_files({"procedure.yaml": MANIFEST, "essai.bpmn": xml.encode()})
    )
    runtime = CaseRuntime.start(parsed, {})
    raising_function["exc"] = _instance(kind)
    with pytest.raises(ModelError, match=r"^l'élément site « Recevoir » a échoué : "):
        runtime.snapshot()
