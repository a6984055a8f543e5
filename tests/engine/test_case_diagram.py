"""The BPMN diagram of a procedure and of a case: shapes, states, DI, and hostile XML refused."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import NotFound
from engine.rendering.diagram import DiagramUnavailable, Mark, diagram_of, draw_svg
from engine.runtime.specs import read_procedure_dir
from engine.services.queries.case_progress import case_progress
from tests.engine.support import ELU, SIREN_A, SIREN_B, complete, make_tenants, start

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
SVG = "{http://www.w3.org/2000/svg}"
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Le maire arrête la fermeture."}
NAMED_NODE = re.compile(
    r"<bpmn:(?:\w*[tT]ask|callActivity|subProcess|\w+Event|\w+Gateway) id=\"(\w+)\""
)


def _groups(svg: str) -> dict[str, tuple[str, str]]:
    """Element id -> (its state class, its tooltip), read back from the SVG."""
    root = ET.fromstring(svg)
    found = {}
    for g in root.iter(f"{SVG}g"):
        if "data-element" in g.attrib:
            state = g.attrib["class"].split()[1].removeprefix("bpmn-")
            title = g.find(f"{SVG}title")
            found[g.attrib["data-element"]] = (state, title.text or "" if title is not None else "")
    return found


@pytest.mark.parametrize(
    "procedure", ["arrete", "deliberation", "commande-publique", "demande-usager", "seance-conseil"]
)
def test_every_step_of_the_shipped_procedures_is_drawn_inside_the_picture(procedure: str) -> None:
    bundle = read_procedure_dir(PROCESSES / procedure)
    diagram = diagram_of(bundle.files, bundle.main_process)
    marker = f'<bpmn:process id="{bundle.main_process}"'.encode()
    main = next(n for n, c in bundle.files.items() if marker in c)
    # Every flow node of the main process (top level) has a shape, none overlaps another.
    expected = set(NAMED_NODE.findall(bundle.files[main].decode()))
    drawn = {shape.id for shape in diagram.shapes}
    assert expected <= drawn or expected - drawn <= _nested(bundle.files[main])
    assert not diagram.from_model  # the shipped models carry no DI: laid out here
    boxes = [s.box for s in diagram.shapes if s.kind != "boundaryEvent"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
    for shape in diagram.shapes:
        assert shape.box.x >= 0 and shape.box.x + shape.box.w <= diagram.width
        assert shape.box.y >= 0 and shape.box.y + shape.box.h <= diagram.height
    for flow in diagram.flows:  # orthogonal routes of at least two points
        assert len(flow.points) >= 2
    svg = draw_svg(diagram, None, title=bundle.title, lane_labels=dict(bundle.roles))
    groups = _groups(svg)
    assert set(groups) == drawn
    assert {state for state, _ in groups.values()} == {"none"}  # no case: no state drawn
    if bundle.roles:  # lanes carry the roles' French names, not their codes
        assert all(label in svg for label in bundle.roles.values() if label)


def _nested(content: bytes) -> set[str]:
    """Ids inside an embedded sub-process (drawn collapsed, so not shapes of their own)."""
    root = ET.fromstring(content)
    inner: set[str] = set()
    for sub in root.iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}subProcess"):
        inner |= {e.attrib["id"] for e in sub.iter() if e is not sub and "id" in e.attrib}
    return inner


def test_states_are_told_by_class_tag_and_tooltip_and_names_are_escaped() -> None:
    bundle = read_procedure_dir(PROCESSES / "arrete")
    diagram = diagram_of(bundle.files, bundle.main_process)
    marks = {
        "debut": Mark("done", "Demande d'arrêté\nFaite le 2 mars 2026"),
        "rediger": Mark("done", "<script>alert(1)</script> & co"),
        "signer": Mark("current", "Signer\nEn cours, à faire par Marie Dupont (maire)"),
        "delai_signature": Mark("waiting", "30 jours\nEn attente jusqu'au 1 avril 2026"),
    }
    svg = draw_svg(diagram, marks, title="Arrêté <test>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Arrêté &lt;test&gt;" in svg
    groups = _groups(svg)
    assert groups["rediger"][0] == "done" and groups["signer"][0] == "current"
    assert groups["delai_signature"][0] == "waiting" and groups["fin_executoire"][0] == "pending"
    assert groups["signer"][1].endswith("à faire par Marie Dupont (maire)")
    assert "pas atteinte par ce dossier" in groups["numeroter"][1]
    # The state in words beside the colour, for who does not see colours.
    assert svg.count(">En cours<") == 1 and svg.count(">En attente<") == 1
    # The flows the case took are drawn as done; the others as not reached.
    root = ET.fromstring(svg)
    flows = [g.attrib["class"] for g in root.iter(f"{SVG}g") if "bpmn-flow" in g.attrib["class"]]
    assert flows.count("bpmn-flow bpmn-done") == 2  # début → rédiger → signer
    assert root.attrib["role"] == "img" and root.attrib["viewBox"]


DI_MODEL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
  id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" name="D\xc3\xa9but"/>
    <bpmn:userTask id="t" name="Instruire"/>
    <bpmn:exclusiveGateway id="g" name="Complet ?"/>
    <bpmn:endEvent id="e"><bpmn:terminateEventDefinition/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="g"/>
    <bpmn:sequenceFlow id="f3" name="oui" sourceRef="g" targetRef="e"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="g_di" bpmnElement="g" isMarkerVisible="true"><dc:Bounds x="360" y="93" width="50" height="50"/>
      <bpmndi:BPMNLabel><dc:Bounds x="350" y="60" width="70" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="e_di" bpmnElement="e"><dc:Bounds x="470" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="410" y="118"/><di:waypoint x="440" y="118"/><di:waypoint x="470" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_a_model_with_di_is_drawn_where_its_modeller_put_it() -> None:
    diagram = diagram_of({"m.bpmn": DI_MODEL}, "p")
    assert diagram.from_model
    shapes = {s.id: s for s in diagram.shapes}
    assert (shapes["t"].box.x, shapes["t"].box.y, shapes["t"].box.w) == (200, 78, 100)
    assert shapes["g"].label is not None and shapes["e"].marker == "terminate"
    flows = {f.id: f for f in diagram.flows}
    assert flows["f3"].points == ((410, 118), (440, 118), (470, 118)) and flows["f3"].name == "oui"
    assert diagram.x < 100 and diagram.x + diagram.width > 506  # the view box holds it all
    # Without its DI, the same model is laid out automatically.
    bare = re.sub(rb"<bpmndi:BPMNDiagram.*</bpmndi:BPMNDiagram>", b"", DI_MODEL, flags=re.S)
    assert not diagram_of({"m.bpmn": bare}, "p").from_model


HOSTILE = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d id="p">&b;</d>',
    "external entity": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
    b'<bpmn:process id="p" name="&x;"/></bpmn:definitions>',
    "not XML": b'<bpmn:definitions id="p"><unclosed>',
    "too large": b'<d id="p">' + b" " * (2 * 1024 * 1024) + b"</d>",
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_or_broken_xml_is_refused_with_a_french_reason(content: bytes) -> None:
    with pytest.raises(DiagramUnavailable) as refused:
        diagram_of({"m.bpmn": content}, "p")
    assert "modèle BPMN" in str(refused.value)


def test_an_unknown_process_is_unavailable() -> None:
    with pytest.raises(DiagramUnavailable, match="aucun processus « autre »"):
        diagram_of({"m.bpmn": DI_MODEL}, "autre")


def test_a_case_at_the_signature_step(platform: Platform) -> None:
    """The path done is dated and signed by its actor; the current task and its timer are open."""
    make_tenants(platform)
    case = start(platform, "arrete")
    complete(platform, case, "rediger", DRAFT)
    with platform.uow() as uow:
        progress = case_progress(uow, SIREN_A, case.id)
    steps = progress.steps
    assert [k for k, s in steps.items() if s.state == "done"] == ["debut", "rediger"]
    assert steps["signer"].state == "current" and steps["delai_signature"].state == "waiting"
    rediger = steps["rediger"].visits[0]
    assert rediger.actor == "user:agent" and rediger.at is not None and not rediger.open
    signer = steps["signer"].visits[0]
    assert signer.open and signer.waits_for == "elu" and signer.at is not None
    assert steps["delai_signature"].visits[0].due is not None  # when the 30 days run out
    assert "numeroter" not in steps and "fin_executoire" not in steps
    complete(platform, case, "signer", {"decision": "refuser", "motif": "À revoir"}, actor=ELU)
    with platform.uow() as uow:
        after = case_progress(uow, SIREN_A, case.id).steps
    assert after["signer"].state == "done" and after["signer"].visits[0].actor == ELU.user_id
    assert "delai_signature" not in after or after["delai_signature"].state == "done"
    # Another tenant's case does not exist for that tenant.
    with pytest.raises(NotFound), platform.uow() as uow:
        case_progress(uow, SIREN_B, case.id)
