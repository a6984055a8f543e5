"""A model failing on a delivered message is the sender's French 422, never a 500 with internals."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import InvalidInput
from engine.domain.model import Actor, CaseStatus
from engine.services import cases as case_services
from engine.services.admin import deploy_directory
from engine.services.messages import MessageOrigin
from tests.engine.support import SIREN_A, get, make_tenants, start
from web.errors import status_of

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_signal" targetNamespace="https://dematflow.fr/tests">
  <bpmn:message id="Message_signal" name="signal" />
  <bpmn:process id="signal_test" name="Signal" isExecutable="true">
    <bpmn:startEvent id="debut"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:receiveTask id="attente" name="Attendre le signal">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition id="Def_signal" messageRef="Message_signal">
        <bpmn:extensionElements>
          <spiffworkflow:messageVariable>signal</spiffworkflow:messageVariable>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:receiveTask>
    <bpmn:scriptTask id="calculer" name="Calculer">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>valeur = signal["champ"] + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="fin"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="debut" targetRef="attente" />
    <bpmn:sequenceFlow id="f2" sourceRef="attente" targetRef="calculer" />
    <bpmn:sequenceFlow id="f3" sourceRef="calculer" targetRef="fin" />
  </bpmn:process>
</bpmn:definitions>
"""
MANIFEST = """id: signal-test
title: "Test : message traité par un script"
main_process: signal_test
roles:
  agent: "Agent"
messages:
  signal:
    from: [connector, agent]
    schema: messages/signal.json
"""
AGENT = Actor("user:agent", frozenset({"agent"}), "Agent")


@pytest.fixture
def p(platform: Platform, tmp_path: Path) -> Platform:
    folder = tmp_path / "signal-test"
    (folder / "messages").mkdir(parents=True)
    (folder / "procedure.yaml").write_text(MANIFEST, encoding="utf-8")
    (folder / "signal.bpmn").write_text(BPMN, encoding="utf-8")
    # a loose schema, as a modeler may write: the model still has to fail cleanly
    (folder / "messages" / "signal.json").write_text('{"type": "object"}', encoding="utf-8")
    with platform.uow() as uow:
        deploy_directory(uow, tmp_path, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_tenants(platform)
    return platform


@pytest.mark.parametrize(
    "origin", [MessageOrigin.person(AGENT), MessageOrigin.connector(Actor.system("test"))]
)
@pytest.mark.parametrize("payload", [{}, {"champ": "texte"}])
def test_a_model_error_on_a_message_is_a_french_422(
    p: Platform, origin: MessageOrigin, payload: dict[str, object]
) -> None:
    case = start(p, "signal-test")
    with pytest.raises(InvalidInput) as caught, p.uow() as uow:
        case_services.deliver_message(
            uow,
            tenant=SIREN_A,
            message="signal",
            correlation=None,
            payload=payload,
            origin=origin,
            now=p.clock(),
        )
    assert status_of(caught.value)[0] == 422
    text = str(caught.value)
    assert "ne correspond pas à ce que la procédure attend" in text
    for internal in ("KeyError", "TypeError", "champ", "Traceback", "calculer"):
        assert internal not in text
    after = get(p, case)
    assert after.status == CaseStatus.RUNNING and after.version == case.version


def test_a_valid_message_still_goes_through(p: Platform) -> None:
    case = start(p, "signal-test")
    with p.uow() as uow:
        done = case_services.deliver_message(
            uow,
            tenant=SIREN_A,
            message="signal",
            correlation=None,
            payload={"champ": 41},
            origin=MessageOrigin.person(AGENT),
            now=p.clock(),
        )
        uow.commit()
    assert done.status == CaseStatus.COMPLETED and done.data["valeur"] == 42
    assert get(p, case).status == CaseStatus.COMPLETED
