"""A case whose model fails while it advances goes to its error state with a French message
naming the element; the web layer maps a model error to problem+json, never a 500."""

from __future__ import annotations

import base64
import re

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.model import CaseStatus
from engine.runtime.specs import bundle_from_files
from engine.services import admin
from engine.services import cases as case_services
from engine.services.admin import deploy_bundle
from tests.engine.support import AGENT, OPERATOR, SIREN_A, make_tenants, start
from web.app import create_app

PASSWORD = "mot-de-passe-de-test"
MANIFEST = b"id: essai-erreur\ntitle: Essai d'erreur\nmain_process: essai_erreur\n"
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
 id="d" targetNamespace="https://dematflow.fr/tests">
<bpmn:process id="essai_erreur" isExecutable="true">
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:userTask id="saisir" name="Saisir"><bpmn:incoming>f1</bpmn:incoming>
<bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:scriptTask id="repeter" name="Répéter"><bpmn:incoming>f2</bpmn:incoming>
<bpmn:outgoing>f3</bpmn:outgoing>
<bpmn:multiInstanceLoopCharacteristics isSequential="true">
<bpmn:loopCardinality>signataires</bpmn:loopCardinality>
</bpmn:multiInstanceLoopCharacteristics><bpmn:script>y = 1</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="fin"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="saisir" />
<bpmn:sequenceFlow id="f2" sourceRef="saisir" targetRef="repeter" />
<bpmn:sequenceFlow id="f3" sourceRef="repeter" targetRef="fin" />
</bpmn:process></bpmn:definitions>
""".encode()


def test_a_model_error_after_a_task_puts_the_case_in_error(platform: Platform) -> None:
    make_tenants(platform)
    bundle = bundle_from_files({"procedure.yaml": MANIFEST, "essai.bpmn": BPMN})
    with platform.uow() as uow:
        deploy_bundle(uow, bundle, operations=platform.operations, now=platform.clock())
        uow.commit()
    case = start(platform, "essai-erreur")
    with platform.uow() as uow:
        [task] = uow.cases.human_tasks(SIREN_A, case_id=case.id)
        # the cardinality yields a list: SpiffWorkflow's range() raises a TypeError
        updated = case_services.complete_task(
            uow,
            tenant=SIREN_A,
            case_id=case.id,
            task_id=task.id,
            data={"signataires": ["a", "b"]},
            actor=AGENT,
            now=platform.clock(),
        )
        uow.commit()
    assert updated.status == CaseStatus.ERROR
    assert updated.error is not None
    assert "l'élément repeter « Répéter » a échoué : erreur inattendue TypeError" in updated.error
    with platform.uow() as uow:
        stored = uow.cases.get(SIREN_A, case.id)
        kinds = [entry.kind for entry in uow.journal.for_case(SIREN_A, case.id)]
    assert stored.status == CaseStatus.ERROR and stored.error == updated.error
    assert kinds[-1] == "case.error"


def test_the_api_answers_problem_json_when_a_case_cannot_start(platform: Platform) -> None:
    """The cardinality is evaluated as the case starts: no case, a 409 problem, no traceback."""
    make_tenants(platform)
    manifest = MANIFEST.replace(b"essai-erreur\n", b"essai-depart\n")
    # the same model without its user task: the multi-instance runs as the case starts
    start_first = BPMN.replace(b'targetRef="saisir"', b'targetRef="repeter"').replace(
        b"<bpmn:incoming>f2</bpmn:incoming>\n<bpmn:outgoing>f3",
        b"<bpmn:incoming>f1</bpmn:incoming>\n<bpmn:outgoing>f3",
    )
    start_first = re.sub(rb"<bpmn:userTask .*?</bpmn:userTask>\n", b"", start_first, flags=re.S)
    start_first = re.sub(rb'<bpmn:sequenceFlow id="f2"[^>]*>\n', b"", start_first)
    bundle = bundle_from_files({"procedure.yaml": manifest, "essai.bpmn": start_first})
    with platform.uow() as uow:
        deploy_bundle(uow, bundle, operations=platform.operations, now=platform.clock())
        admin.create_user(
            uow,
            username="agent.a",
            display_name="Agent",
            password=PASSWORD,
            tenant=SIREN_A,
            roles=("agent",),
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()
    token = base64.b64encode(f"agent.a:{PASSWORD}".encode()).decode()
    with TestClient(create_app(platform=platform)) as client:
        response = client.post(
            f"/api/tenants/{SIREN_A}/cases",
            json={"procedure": "essai-depart", "data": {"signataires": ["a", "b"]}},
            headers={"Authorization": f"Basic {token}"},
        )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Erreur dans le modèle de procédure"
    assert problem["detail"].startswith("l'élément repeter « Répéter » a échoué : ")
    assert "Traceback" not in response.text
