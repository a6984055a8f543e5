"""Conformance: tasks (user, manual, script, service, business rule, call activity) and
gateways (exclusive, inclusive, parallel, event-based), through the facade."""

from __future__ import annotations

import pytest

from tests.engine.conformance.cases import Case, check
from tests.engine.conformance.models import message, model, process, script

USER = model('<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>', "s>u", "u>e")
MANUAL = model('<startEvent id="s"/><manualTask id="m"/><endEvent id="e"/>', "s>m", "m>e")
SCRIPT = model(
    '<startEvent id="s"/>'
    + script("sc", "y = x * 2\nz = [i for i in range(y)]")
    + '<endEvent id="e"/>',
    "s>sc",
    "sc>e",
)
SERVICE = model(
    """<startEvent id="s"/>
    <serviceTask id="numeroter"><extensionElements>
      <spiffworkflow:serviceTaskOperator id="engine.next_act_number" resultVariable="numero">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="serie" type="str" value="&quot;ARR&quot;" />
        </spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator></extensionElements></serviceTask>
    <endEvent id="e"/>""",
    "s>numeroter",
    "numeroter>e",
)
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d"
             namespace="https://dematflow.fr/tests">
  <decision id="seuil" name="Seuil">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i1" label="Montant"><inputExpression id="ie1" typeRef="number">
        <text>montant</text></inputExpression></input>
      <output id="o1" name="procedure" typeRef="string" />
      <rule id="r1"><inputEntry id="r1i"><text>&lt; 40000</text></inputEntry>
        <outputEntry id="r1o"><text>"gre_a_gre"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2i"><text>-</text></inputEntry>
        <outputEntry id="r2o"><text>"mapa"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""
RULE = model(
    """<startEvent id="s"/>
    <businessRuleTask id="choisir"><extensionElements>
      <spiffworkflow:calledDecisionId>seuil</spiffworkflow:calledDecisionId>
    </extensionElements></businessRuleTask><endEvent id="e"/>""",
    "s>choisir",
    "choisir>e",
    dmn=DMN,
)
CALL = model(
    '<startEvent id="s"/><callActivity id="appel" calledElement="sous"/><endEvent id="e"/>',
    "s>appel",
    "appel>e",
    extra=process(
        "sous",
        '<startEvent id="ss"/>' + script("ajouter", "x = x + 1") + '<endEvent id="se"/>',
        "ss>ajouter",
        "ajouter>se",
    ),
)
EXCLUSIVE = model(
    '<startEvent id="s"/><exclusiveGateway id="g" default="f_g_b"/>'
    + script("a", "branche = 'a'")
    + script("b", "branche = 'b'")
    + '<exclusiveGateway id="j"/><endEvent id="e"/>',
    "s>g",
    "g>a ? x > 1",
    "g>b",
    "a>j",
    "b>j",
    "j>e",
)
INCLUSIVE = model(
    '<startEvent id="s"/><inclusiveGateway id="g" default="f_g_c"/>'
    + script("a", "a_fait = True")
    + script("b", "b_fait = True")
    + script("c", "c_fait = True")
    + '<inclusiveGateway id="j"/><endEvent id="e"/>',
    "s>g",
    "g>a ? x > 1",
    "g>b ? x > 2",
    "g>c",
    "a>j",
    "b>j",
    "c>j",
    "j>e",
)
PARALLEL = model(
    '<startEvent id="s"/><parallelGateway id="g"/>'
    + script("a", "a_fait = True")
    + '<userTask id="b"/><parallelGateway id="j"/><endEvent id="e"/>',
    "s>g",
    "g>a",
    "g>b",
    "a>j",
    "b>j",
    "j>e",
)
EVENT_BASED = model(
    """<startEvent id="s"/><eventBasedGateway id="g"/>
    <intermediateCatchEvent id="recu"><messageEventDefinition messageRef="m_reponse">
      <extensionElements><spiffworkflow:messageVariable>reponse</spiffworkflow:messageVariable>
      </extensionElements></messageEventDefinition></intermediateCatchEvent>
    <intermediateCatchEvent id="delai"><timerEventDefinition>
      <timeDuration>"P15D"</timeDuration></timerEventDefinition></intermediateCatchEvent>
    <endEvent id="e_recu"/><endEvent id="e_delai"/>""",
    "s>g",
    "g>recu",
    "g>delai",
    "recu>e_recu",
    "delai>e_delai",
    header=message("reponse"),
)

CASES = [
    Case("user", USER, ["s", "u", "e"], {"x": 1}, steps=[("complete", "u", {"x": 1})]),
    Case("manual", MANUAL, ["s", "m", "e"], {"vu": True}, steps=[("complete", "m", {"vu": True})]),
    Case("script", SCRIPT, ["s", "sc", "e"], {"y": 4, "z": [0, 1, 2, 3]}, start={"x": 2}),
    Case(
        "service",
        SERVICE,
        ["s", "numeroter", "e"],
        {"numero": {"numero": "2026_ARR0001"}},
        steps=[("service", "numeroter", {"numero": "2026_ARR0001"})],
    ),
    Case("service waits", SERVICE, ["s"], completed=False),
    Case("business rule", RULE, ["s", "choisir", "e"], {"procedure": "mapa"}, {"montant": 9e4}),
    Case(
        "business rule low", RULE, ["s", "choisir", "e"], {"procedure": "gre_a_gre"}, {"montant": 1}
    ),
    Case("call activity", CALL, ["s", "ss", "ajouter", "se", "appel", "e"], {"x": 2}, {"x": 1}),
    Case("exclusive", EXCLUSIVE, ["s", "g", "a", "j", "e"], {"branche": "a"}, {"x": 2}),
    Case("exclusive default", EXCLUSIVE, ["s", "g", "b", "j", "e"], {"branche": "b"}, {"x": 0}),
    Case(
        "inclusive two",
        INCLUSIVE,
        ["s", "g", "a", "b", "j", "e"],
        {"a_fait": True, "b_fait": True},
        {"x": 3},
    ),
    Case("inclusive default", INCLUSIVE, ["s", "g", "c", "j", "e"], {"c_fait": True}, {"x": 0}),
    Case(
        "parallel",
        PARALLEL,
        ["s", "g", "a", "b", "j", "e"],
        {"a_fait": True, "b": 1},
        steps=[("complete", "b", {"b": 1})],
    ),
    Case(
        "event-based message",
        EVENT_BASED,
        ["s", "g", "recu", "e_recu"],
        {"reponse": {"ok": True}},
        steps=[("message", "reponse", {"ok": True})],
    ),
    Case("event-based waits", EVENT_BASED, ["s"], completed=False),
    Case("event-based timer", EVENT_BASED, ["s", "g", "delai", "e_delai"], steps=[("timer", "g")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_element(case: Case) -> None:
    check(case)
