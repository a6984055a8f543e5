"""Collaborations: several pools with message flows run as one case, started by the executable
pool or by a message start event; messages between pools stay inside the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.domain.errors import ProcessDefinitionError
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import ParsedProcess, bundle_from_files, parse_bundle

BPMN = (Path(__file__).parent / "bpmn" / "collaboration.bpmn").read_bytes()
DEPOSIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_depot" targetNamespace="https://dematflow.fr/tests">
  <bpmn:collaboration id="depot_collab">
    <bpmn:participant id="p_usager" name="Usager" />
    <bpmn:participant id="p_guichet" name="Guichet" processRef="guichet" />
    <bpmn:messageFlow id="mf" sourceRef="p_usager" targetRef="depot_recu" />
  </bpmn:collaboration>
  <bpmn:message id="Msg_depot" name="depot" />
  <bpmn:process id="guichet" isExecutable="true">
    <bpmn:startEvent id="depot_recu" name="D\xc3\xa9p\xc3\xb4t re\xc3\xa7u">
      <bpmn:outgoing>g1</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="Msg_depot">
        <bpmn:extensionElements>
          <spiffworkflow:messageVariable>depot</spiffworkflow:messageVariable>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="enregistrer" name="Enregistrer">
      <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing>
      <bpmn:script>reference = depot.reference</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="fin"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="depot_recu" targetRef="enregistrer" />
    <bpmn:sequenceFlow id="g2" sourceRef="enregistrer" targetRef="fin" />
  </bpmn:process>
</bpmn:definitions>
"""


def _parsed(bpmn: bytes, main: str) -> ParsedProcess:
    manifest = f"id: collab\ntitle: Collaboration\nmain_process: {main}\n".encode()
    return parse_bundle(bundle_from_files({"collab.bpmn": bpmn, "procedure.yaml": manifest}))


def _saved(parsed: ParsedProcess, runtime: CaseRuntime) -> CaseRuntime:
    return CaseRuntime.restore_dumped(parsed, runtime.dump())


@pytest.mark.parametrize("main", ["avis_collab", "mairie", "service"])
def test_messages_between_pools_are_delivered_inside_the_case(main: str) -> None:
    parsed = _parsed(BPMN, main)
    for montant, sens in ((12_000, "favorable"), (52_000, "défavorable")):
        runtime = _saved(parsed, CaseRuntime.start(parsed, {"dossier": {"montant": montant}}))
        assert runtime.completed
        nodes = runtime.completed_nodes()
        for before, after in (
            ("demander", "recevoir_demande"),
            ("rendre_avis", "attendre_avis"),
            ("attendre_avis", "conclure"),
        ):
            assert nodes.index(before) < nodes.index(after)
        assert runtime.data["decision"] == sens
        assert runtime.data["avis"] == {"sens": sens}


def test_a_pool_started_by_a_message_waits_for_it() -> None:
    parsed = _parsed(DEPOSIT, "depot_collab")
    runtime = _saved(parsed, CaseRuntime.start(parsed, {}))
    assert not runtime.completed
    # the engine lists the wait, so `cases message` and the connectors find the case
    assert [wait.message for wait in runtime.message_waits()] == ["depot"]
    runtime = _saved(parsed, runtime)
    assert runtime.deliver_message("depot", {"reference": "DEM-2026-0042"})
    runtime = _saved(parsed, runtime)
    assert runtime.completed
    assert runtime.data["reference"] == "DEM-2026-0042"
    assert [n for n in runtime.completed_nodes() if n in ("depot_recu", "enregistrer", "fin")] == [
        "depot_recu",
        "enregistrer",
        "fin",
    ]


def test_a_second_case_is_not_changed_by_the_first() -> None:
    parsed = _parsed(DEPOSIT, "guichet")
    first = CaseRuntime.start(parsed, {})
    assert first.deliver_message("depot", {"reference": "A"})
    second = _saved(parsed, CaseRuntime.start(parsed, {}))
    assert not second.completed
    assert second.deliver_message("depot", {"reference": "B"})
    assert second.completed and second.data["reference"] == "B"


def test_an_unknown_main_process_lists_processes_and_collaborations() -> None:
    with pytest.raises(
        ProcessDefinitionError,
        match="trouvés : mairie, service ; collaborations trouvées : avis_collab",
    ):
        _parsed(BPMN, "top")
