"""Read a procedure's BPMN safely: the processes to draw and, when present, their DI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree  # type: ignore[import-untyped]

from engine.rendering.diagram.model import Box, DiagramUnavailable

__all__ = ["BPMN", "DI_SHAPES", "Edge", "Model", "Node", "Pool", "read_model"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

MAX_BYTES = 2 * 1024 * 1024
MAX_NODES = 1500
_SAFE = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
)
_ACTIVITIES = {
    "task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
}  # fmt: skip
_EVENTS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
}  # fmt: skip
_GATEWAYS = {
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    "complexGateway",
}  # fmt: skip
FLOW_NODES = _ACTIVITIES | _EVENTS | _GATEWAYS
DI_SHAPES = "di_shapes"


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    name: str
    marker: str | None
    loop: str | None
    attached_to: str | None
    interrupting: bool
    lane: str | None
    parent: str | None
    """The embedded sub-process holding it, None at the top of its process."""


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    name: str
    message: bool = False


@dataclass(frozen=True)
class Pool:
    """One process to draw (a participant of a collaboration, or the main process alone)."""

    id: str
    """The participant id, or the process id when there is no collaboration."""
    process: str
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    lanes: tuple[tuple[str, str], ...]
    """(lane id, name) in the model's order."""


@dataclass(frozen=True)
class Model:
    pools: tuple[Pool, ...]
    message_flows: tuple[Edge, ...]
    shapes: Mapping[str, tuple[Box, Box | None, bool]]
    """DI: element id -> (bounds, label bounds, expanded); empty when the model has no DI."""
    waypoints: Mapping[str, tuple[tuple[float, float], ...]]
    collaboration: bool


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse(content: bytes) -> etree._Element:
    if len(content) > MAX_BYTES:
        raise DiagramUnavailable("le modèle BPMN dépasse la taille permise")
    head = content[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in content.upper():
        raise DiagramUnavailable("le modèle BPMN déclare une DTD ou des entités : refusé")
    try:
        root = etree.fromstring(content, parser=_SAFE)
    except etree.XMLSyntaxError as exc:
        raise DiagramUnavailable("le modèle BPMN n'est pas du XML lisible") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise DiagramUnavailable("le modèle BPMN déclare une DTD : refusé")
    return root


def _marker(element: etree._Element) -> str | None:
    for child in element:
        name = _local(child)
        if name.endswith("EventDefinition"):
            return name.removesuffix("EventDefinition")
    return None


def _loop(element: etree._Element) -> str | None:
    for child in element:
        name = _local(child)
        if name == "multiInstanceLoopCharacteristics":
            sequential = child.get("isSequential", "false").lower() == "true"
            return "sequential" if sequential else "parallel"
        if name == "standardLoopCharacteristics":
            return "loop"
    return None


def _lanes(process: etree._Element) -> tuple[list[tuple[str, str]], dict[str, str]]:
    lanes: list[tuple[str, str]] = []
    lane_of: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):
        if lane.find(f"{{{BPMN}}}childLaneSet") is not None:
            continue  # a parent lane: its children are the bands
        lane_id = lane.get("id", "")
        lanes.append((lane_id, lane.get("name") or ""))
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
            lane_of.setdefault((ref.text or "").strip(), lane_id)
    return lanes, lane_of


def _pool(pool_id: str, name: str, process: etree._Element) -> Pool:
    lanes, lane_of = _lanes(process)
    nodes: list[Node] = []
    edges: list[Edge] = []

    def walk(container: etree._Element, parent: str | None) -> None:
        for child in container:
            kind = _local(child)
            element_id = child.get("id") or ""
            if kind in FLOW_NODES and element_id:
                nodes.append(
                    Node(
                        id=element_id,
                        kind=kind,
                        name=(child.get("name") or "").strip(),
                        marker=_marker(child),
                        loop=_loop(child),
                        attached_to=child.get("attachedToRef"),
                        interrupting=child.get("cancelActivity", "true").lower() != "false",
                        lane=lane_of.get(element_id),
                        parent=parent,
                    )
                )
                if kind in ("subProcess", "transaction", "adHocSubProcess"):
                    walk(child, element_id)
            elif kind == "sequenceFlow" and element_id:
                edges.append(
                    Edge(
                        element_id,
                        child.get("sourceRef") or "",
                        child.get("targetRef") or "",
                        (child.get("name") or "").strip(),
                    )
                )
            if len(nodes) > MAX_NODES:
                raise DiagramUnavailable("le modèle compte trop d'éléments pour être dessiné")

    walk(process, None)
    return Pool(pool_id, process.get("id") or "", name, tuple(nodes), tuple(edges), tuple(lanes))


def _bounds(element: etree._Element | None) -> Box | None:
    if element is None:
        return None
    try:
        values = [float(element.get(k, "nan")) for k in ("x", "y", "width", "height")]
    except ValueError:
        return None
    if any(v != v or abs(v) > 1e6 for v in values) or values[2] < 0 or values[3] < 0:
        return None
    return Box(*values)


def _di(
    root: etree._Element, drawn: set[str]
) -> tuple[dict[str, tuple[Box, Box | None, bool]], dict[str, tuple[tuple[float, float], ...]]]:
    """The DI plane that draws `drawn` (a process or collaboration id), if any."""
    shapes: dict[str, tuple[Box, Box | None, bool]] = {}
    waypoints: dict[str, tuple[tuple[float, float], ...]] = {}
    for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        if plane.get("bpmnElement") not in drawn:
            continue
        for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
            box = _bounds(shape.find(f"{{{DC}}}Bounds"))
            label = shape.find(f"{{{BPMNDI}}}BPMNLabel")
            label_box = _bounds(label.find(f"{{{DC}}}Bounds")) if label is not None else None
            expanded = shape.get("isExpanded", "false").lower() == "true"
            if box is not None and shape.get("bpmnElement"):
                shapes[shape.get("bpmnElement", "")] = (box, label_box, expanded)
        for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
            points = []
            for point in edge.iter(f"{{{DI}}}waypoint"):
                try:
                    points.append((float(point.get("x", "nan")), float(point.get("y", "nan"))))
                except ValueError:
                    continue
            points = [p for p in points if p == p and abs(p[0]) < 1e6 and abs(p[1]) < 1e6]
            if len(points) >= 2 and edge.get("bpmnElement"):
                waypoints[edge.get("bpmnElement", "")] = tuple(points)
        break
    return shapes, waypoints


def _find(files: Mapping[str, bytes], main: str) -> etree._Element:
    for name in sorted(files):
        if not name.endswith((".bpmn", ".bpmn20.xml")):
            continue
        content = files[name]
        if f'id="{main}"'.encode() not in content and f"id='{main}'".encode() not in content:
            continue
        root = _parse(content)
        for element in root:
            if element.get("id") == main and _local(element) in ("process", "collaboration"):
                return root
    raise DiagramUnavailable(f"aucun processus « {main} » dans les fichiers de la procédure")


def read_model(files: Mapping[str, bytes], main: str) -> Model:
    """The pools to draw for `main` (a process, or a collaboration, or a process in one)."""
    root = _find(files, main)
    processes = {p.get("id"): p for p in root.iter(f"{{{BPMN}}}process")}
    collaboration = None
    for element in root.iter(f"{{{BPMN}}}collaboration"):
        refs = {p.get("processRef") for p in element.iter(f"{{{BPMN}}}participant")}
        if element.get("id") == main or main in refs:
            collaboration = element
            break
    pools: list[Pool] = []
    flows: list[Edge] = []
    if collaboration is None:
        process = processes[main]
        pools.append(_pool(main, process.get("name") or "", process))
        drawn = {main}
    else:
        for participant in collaboration.iter(f"{{{BPMN}}}participant"):
            process = processes.get(participant.get("processRef"))
            if process is not None:
                name = participant.get("name") or process.get("name") or ""
                pools.append(_pool(participant.get("id") or "", name, process))
        for flow in collaboration.iter(f"{{{BPMN}}}messageFlow"):
            flows.append(
                Edge(
                    flow.get("id") or "",
                    flow.get("sourceRef") or "",
                    flow.get("targetRef") or "",
                    (flow.get("name") or "").strip(),
                    message=True,
                )
            )
        drawn = {collaboration.get("id") or "", *(p.process for p in pools)}
    shapes, waypoints = _di(root, drawn)
    return Model(tuple(pools), tuple(flows), shapes, waypoints, collaboration is not None)
