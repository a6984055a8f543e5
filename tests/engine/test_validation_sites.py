"""Validation is complete: every expression site of a BPMN or DMN file is checked with the
evaluator's own checker, and the message names the file, the element (id and name), the line
and what to write instead. Each site gets a small model written for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.errors import ProcessDefinitionError
from engine.runtime import evaluator
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import bundle_from_files, parse_bundle, read_procedure_dir
from tests.engine.one_node_bpmn import HEAD, MANIFEST, TAIL

FLOWS = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"

SITES: dict[str, str] = {
    "script": (
        f'<bpmn:scriptTask id="site" name="Calculer">{FLOWS}'
        "<bpmn:script>x = 1\ny = {expr}</bpmn:script></bpmn:scriptTask>"
    ),
    "loop": (
        f'<bpmn:scriptTask id="site" name="Boucler">{FLOWS}'
        "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>{expr}</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>"
    ),
    "cardinality": (
        f'<bpmn:scriptTask id="site" name="Répéter">{FLOWS}'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        "<bpmn:loopCardinality>{expr}</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script>"
        "</bpmn:scriptTask>"
    ),
    "completion": (
        f'<bpmn:scriptTask id="site" name="Répéter">{FLOWS}'
        '<bpmn:multiInstanceLoopCharacteristics isSequential="true">'
        "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
        "<bpmn:completionCondition>{expr}</bpmn:completionCondition>"
        "</bpmn:multiInstanceLoopCharacteristics><bpmn:script>x = 1</bpmn:script>"
        "</bpmn:scriptTask>"
    ),
    "conditional event": (
        f'<bpmn:intermediateCatchEvent id="site" name="Attendre">{FLOWS}'
        "<bpmn:conditionalEventDefinition><bpmn:condition>{expr}</bpmn:condition>"
        "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>"
    ),
    "timer": (
        f'<bpmn:intermediateCatchEvent id="site" name="Patienter">{FLOWS}'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>{expr}</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    ),
    "message payload": (
        '<bpmn:message id="m" name="avis" />'
        f'<bpmn:intermediateThrowEvent id="site" name="Envoyer">{FLOWS}'
        '<bpmn:messageEventDefinition messageRef="m"><bpmn:extensionElements>'
        "<spiffworkflow:messagePayload>{expr}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>"
    ),
    "correlation": (
        '<bpmn:message id="m" name="avis" />'
        f'<bpmn:intermediateCatchEvent id="site" name="Recevoir">{FLOWS}'
        "<bpmn:extensionElements><spiffworkflow:properties>"
        '<spiffworkflow:property name="correlation" value="{expr}" />'
        "</spiffworkflow:properties></bpmn:extensionElements>"
        '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>'
    ),
}
GOOD = {"timer": "'PT1H'", "correlation": "numero", "message payload": "{'a': 1}"}
"""An accepted expression per site (a timer needs a duration, the others a boolean/number)."""


def bundle(body: str, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    xml = (HEAD + body.replace("&", "&amp;") + "\n" + TAIL).encode()
    if body.startswith("<bpmn:message "):
        # a message is declared outside the process
        message, rest = body.split("/>", 1)
        xml = (HEAD.replace("<bpmn:process", message + "/>\n<bpmn:process") + rest + TAIL).encode()
    return {"procedure.yaml": MANIFEST, "essai.bpmn": xml, **(extra or {})}


def parse(files: dict[str, bytes]) -> None:
    parse_bundle(bundle_from_files(files))


def good(site: str) -> str:
    return GOOD.get(site, "len([1, 2]) == 2")


@pytest.mark.parametrize("site", sorted(SITES))
def test_a_valid_expression_passes_at_every_site(site: str) -> None:
    parse(bundle(SITES[site].replace("{expr}", good(site))))


@pytest.mark.parametrize("site", sorted(SITES))
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("print(x)", "print\\(\\) n'existe pas"),
        ("isinstance(x, int)", "isinstance\\(\\) n'existe pas"),
        ("helper(x)", "fonction helper\\(\\) inconnue ; fonctions disponibles : Decimal, abs"),
        ("'%s' % x", "formatage avec % n'est pas permis : écrivez une f-string"),
        ("x.__class__", "names starting with _ are reserved"),
        ("__import__(1)", "name '__import__' is not allowed \\(names starting with _"),
        ("time.time()", "attribute or method 'time' is not allowed"),
    ],
)
def test_refused_construct_is_named_at_every_site(
    site: str, expression: str, expected: str
) -> None:
    with pytest.raises(ProcessDefinitionError, match=expected) as caught:
        parse(bundle(SITES[site].replace("{expr}", expression)))
    message = str(caught.value)
    assert message.startswith("essai.bpmn, élément site « "), message
    assert ", ligne " in message and ": expression refusée (" in message, message


def test_script_error_gives_the_line_in_the_script() -> None:
    with pytest.raises(ProcessDefinitionError, match=r"\(line 2\)") as caught:
        parse(bundle(SITES["script"].replace("{expr}", "print(x)")))
    assert "élément site « Calculer », ligne 7: expression refusée (script)" in str(caught.value)


def test_gateway_condition_is_checked() -> None:
    body = (
        '<bpmn:exclusiveGateway id="site" name="Choisir" default="f3">'
        "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"
        "<bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:endEvent id="fin2"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="site" targetRef="fin2" />'
    )
    tail = TAIL.replace(
        'targetRef="fin" />',
        'targetRef="fin"><bpmn:conditionExpression>isinstance(x, int)'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>",
    )
    xml = (HEAD + body + tail).encode()
    with pytest.raises(
        ProcessDefinitionError, match=r"expression refusée \(condition de flux\) : isinstance"
    ):
        parse({"procedure.yaml": MANIFEST, "essai.bpmn": xml})


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="D" name="D"
             namespace="https://dematflow.fr/tests">
  <decision id="regle" name="Règle">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="i1" label="Montant">
        <inputExpression id="e1" typeRef="number"><text>{input}</text></inputExpression>
      </input>
      <output id="o1" label="Niveau" name="niveau" typeRef="string" />
      <rule id="r1">
        <inputEntry id="r1i"><text>{cell}</text></inputEntry>
        <outputEntry id="r1o"><text>{output}</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""
RULE_TASK = (
    f'<bpmn:businessRuleTask id="site" name="Décider">{FLOWS}'
    "<bpmn:extensionElements><spiffworkflow:calledDecisionId>regle"
    "</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>"
)


def dmn(input: str = "montant", cell: str = "&lt; 100", output: str = '"bas"') -> bytes:
    return DMN.format(input=input, cell=cell, output=output).encode()


def test_dmn_cells_that_pass_validation_run() -> None:
    files = bundle(RULE_TASK, {"regle.dmn": dmn(cell="10 &lt; ? &lt; 100")})
    parse(files)
    runtime = CaseRuntime.start(parse_bundle(bundle_from_files(files)), {"montant": 50})
    assert runtime.data["niveau"] == "bas"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (
            {"input": "print(montant)"},
            "expression refusée \\(cellule d'entrée DMN \\(table table, règle 1\\)\\)",
        ),
        ({"cell": "isinstance(?, int)"}, "cellule d'entrée DMN .* isinstance\\(\\) n'existe pas"),
        ({"cell": "&lt; helper(1)"}, "cellule d'entrée DMN .* fonction helper\\(\\) inconnue"),
        ({"output": "'%d' % montant"}, "cellule de sortie DMN .* formatage avec %"),
    ],
)
def test_dmn_cells_are_checked(cells: dict[str, str], expected: str) -> None:
    with pytest.raises(ProcessDefinitionError, match=expected) as caught:
        parse(bundle(RULE_TASK, {"regle.dmn": dmn(**cells)}))
    assert "élément site « Décider »" in str(caught.value)


def test_unknown_decision_is_refused() -> None:
    body = RULE_TASK.replace(">regle<", ">inconnue<")
    with pytest.raises(ProcessDefinitionError, match="inconnue"):
        parse(bundle(body, {"regle.dmn": dmn()}))


def test_unknown_call_activity_is_refused() -> None:
    body = f'<bpmn:callActivity id="site" name="Appeler" calledElement="absent">{FLOWS}</bpmn:callActivity>'
    with pytest.raises(ProcessDefinitionError, match="absent"):
        parse(bundle(body))


def test_checker_and_runtime_agree_on_percent_formatting() -> None:
    """`%` stays an arithmetic operator; a string on its left is refused, statically or not."""
    assert evaluator.evaluate("7 % 3", {}) == 1
    evaluator.check_expression("label % n")  # unknown type: left to the run
    with pytest.raises(evaluator.EvaluationError, match="'%' formatting"):
        evaluator.evaluate("label % n", {"label": "%s", "n": 1})
    with pytest.raises(evaluator.ForbiddenSyntax, match="formatage avec %"):
        evaluator.evaluate("f'{n}' % n", {"n": 1})


def test_shipped_procedures_still_validate() -> None:
    processes = Path(__file__).resolve().parents[2] / "processes"
    folders = sorted(p for p in processes.iterdir() if (p / "procedure.yaml").is_file())
    assert folders
    for folder in folders:
        parse_bundle(read_procedure_dir(folder))


def test_bpmn20_xml_files_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "essai"
    folder.mkdir()
    (folder / "procedure.yaml").write_bytes(MANIFEST)
    (folder / "essai.bpmn20.xml").write_bytes(
        bundle(SITES["script"].replace("{expr}", "2"))["essai.bpmn"]
    )
    parsed = parse_bundle(read_procedure_dir(folder))
    assert CaseRuntime.start(parsed, {}).data["y"] == 2


def test_missing_main_process_lists_the_processes_found() -> None:
    files = bundle(SITES["script"].replace("{expr}", "2"))
    files["procedure.yaml"] = b"id: essai\ntitle: Essai\nmain_process: autre\n"
    with pytest.raises(
        ProcessDefinitionError,
        match="« autre » ne nomme aucun processus ; processus trouvés : essai",
    ):
        parse(files)


def test_camunda_decision_ref_says_what_to_write() -> None:
    body = RULE_TASK.replace(
        "<bpmn:extensionElements><spiffworkflow:calledDecisionId>regle"
        "</spiffworkflow:calledDecisionId></bpmn:extensionElements>",
        "",
    )
    with pytest.raises(ProcessDefinitionError, match="écrivez <spiffworkflow:calledDecisionId>"):
        parse(bundle(body, {"regle.dmn": dmn()}))
