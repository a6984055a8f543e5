"""Draw a placed BPMN diagram as SVG, with a case's path, current steps and waits marked.

Built with ElementTree, so every name and tooltip taken from a model or a case is escaped.
States are told by more than colour: a tick on what is done, an « En cours » / « En attente »
tag on what is open, dashes for what was not reached; each shape's <title> is its tooltip.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.rendering.diagram.glyphs import event_marker, gateway_marker, state_tag, task_icon, tick
from engine.rendering.diagram.model import Diagram, Flow, Lane, Shape

__all__ = ["KIND_LABELS", "Mark", "draw_svg", "wrap"]

MarkState = Literal["done", "current", "waiting"]


@dataclass(frozen=True)
class Mark:
    """What a case did at one element: its state and the tooltip that tells it."""

    state: MarkState
    tooltip: str


KIND_LABELS = {
    "task": "tâche",
    "userTask": "tâche d'une personne",
    "manualTask": "tâche manuelle",
    "serviceTask": "traitement automatique",
    "scriptTask": "calcul automatique",
    "businessRuleTask": "règle de décision",
    "sendTask": "envoi d'un message",
    "receiveTask": "attente d'un message",
    "callActivity": "sous-procédure",
    "subProcess": "sous-processus",
    "transaction": "transaction",
    "adHocSubProcess": "sous-processus libre",
    "startEvent": "début",
    "endEvent": "fin",
    "intermediateCatchEvent": "attente d'un événement",
    "intermediateThrowEvent": "événement émis",
    "boundaryEvent": "événement en bordure",
    "exclusiveGateway": "choix exclusif",
    "parallelGateway": "branches parallèles",
    "inclusiveGateway": "choix inclusif",
    "eventBasedGateway": "choix sur événement",
    "complexGateway": "choix complexe",
}
MARKER_LABELS = {
    "timer": "minuteur",
    "message": "message",
    "signal": "signal",
    "error": "erreur",
    "escalation": "escalade",
    "conditional": "condition",
    "terminate": "arrêt",
    "compensate": "compensation",
    "cancel": "annulation",
    "link": "lien",
}

INK = "#3a3a3a"
COLOURS: dict[str, tuple[str, str, float]] = {  # stroke, fill, stroke width
    "done": ("#18753c", "#e6f4ea", 2.0),
    "current": ("#0b4f71", "#e1eff6", 3.5),
    "waiting": ("#b34000", "#fff0e0", 3.5),
    "none": ("#6a6a6a", "#ffffff", 1.5),
    "pending": ("#929292", "#f6f6f6", 1.3),
}
TAGS = {"current": "En cours", "waiting": "En attente"}
FONT = "Marianne, Arial, 'Helvetica Neue', sans-serif"


def wrap(text: str, width: int, lines: int) -> list[str]:
    """Cut `text` into at most `lines` lines of about `width` characters (… when cut)."""
    text = re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()
    # French punctuation stays with its word (« signée ? » never leaves « ? » alone).
    for mark in ("?", "!", ":", ";", "»"):
        text = text.replace(f" {mark}", f"\u00a0{mark}")
    text = text.replace("« ", "«\u00a0")
    words = [word for word in text.split(" ") if word]
    out: list[str] = []
    current = ""
    for word in words:
        if len(word) > width:
            word = word[: width - 1] + "…"
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width:
            current = candidate
            continue
        out.append(current)
        current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        out[-1] = (last[: width - 1] if len(last) >= width else last) + "…"
    return out


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Canvas:
    def __init__(self, diagram: Diagram, prefix: str, title: str, description: str) -> None:
        self.prefix = prefix
        self.root = ET.Element(
            "svg",
            {
                "xmlns": "http://www.w3.org/2000/svg",
                "viewBox": " ".join(
                    _n(v) for v in (diagram.x, diagram.y, diagram.width, diagram.height)
                ),
                "width": _n(diagram.width),
                "height": _n(diagram.height),
                "role": "img",
                "aria-labelledby": f"{prefix}-titre {prefix}-desc",
                "class": "bpmn-diagram",
                "font-family": FONT,
            },
        )
        ET.SubElement(self.root, "title", {"id": f"{prefix}-titre"}).text = title
        ET.SubElement(self.root, "desc", {"id": f"{prefix}-desc"}).text = description
        defs = ET.SubElement(self.root, "defs")
        for state, (colour, _, _) in COLOURS.items():
            marker = ET.SubElement(
                defs,
                "marker",
                {
                    "id": f"{prefix}-fleche-{state}",
                    "viewBox": "0 0 10 10",
                    "refX": "9",
                    "refY": "5",
                    "markerWidth": "7",
                    "markerHeight": "7",
                    "orient": "auto-start-reverse",
                },
            )
            ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": colour})

    def group(self, attrs: dict[str, str]) -> ET.Element:
        return ET.SubElement(self.root, "g", attrs)


def _text(
    parent: ET.Element,
    lines: list[str],
    x: float,
    y: float,
    *,
    size: float,
    colour: str = INK,
    weight: str = "normal",
) -> None:
    if not lines:
        return
    text = ET.SubElement(
        parent,
        "text",
        {
            "x": _n(x),
            "y": _n(y),
            "font-size": _n(size),
            "text-anchor": "middle",
            "fill": colour,
            "font-weight": weight,
        },
    )
    for i, line in enumerate(lines):
        span = ET.SubElement(text, "tspan", {"x": _n(x), "dy": "0" if i == 0 else _n(size * 1.2)})
        span.text = line


def _lane(canvas: _Canvas, lane: Lane, labels: Mapping[str, str]) -> None:
    box = lane.box
    g = canvas.group({"class": "bpmn-pool" if lane.pool else "bpmn-lane"})
    ET.SubElement(
        g,
        "rect",
        {
            "x": _n(box.x),
            "y": _n(box.y),
            "width": _n(box.w),
            "height": _n(box.h),
            "fill": "none" if not lane.pool else "#fbfbfb",
            "stroke": "#8a8a8a",
            "stroke-width": "1.2",
        },
    )
    ET.SubElement(
        g,
        "line",
        {
            "x1": _n(box.x + 30),
            "y1": _n(box.y),
            "x2": _n(box.x + 30),
            "y2": _n(box.y + box.h),
            "stroke": "#8a8a8a",
            "stroke-width": "1.2",
        },
    )
    name = labels.get(lane.name, lane.name)
    lines = wrap(name, max(4, int(box.h / 7.5)), 2)
    cx, cy = box.x + 15, box.cy
    text = ET.SubElement(
        g,
        "text",
        {
            "transform": f"translate({_n(cx)} {_n(cy)}) rotate(-90)",
            "font-size": "12.5",
            "text-anchor": "middle",
            "fill": "#1e1e1e",
            "font-weight": "bold" if lane.pool else "normal",
        },
    )
    for i, line in enumerate(lines):
        span = ET.SubElement(
            text, "tspan", {"x": "0", "y": _n(4 + (i - (len(lines) - 1) / 2) * 14)}
        )
        span.text = line


def _path(points: tuple[tuple[float, float], ...]) -> str:
    return "M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _flow(canvas: _Canvas, flow: Flow, state: str) -> None:
    colour, _, _ = COLOURS[state]
    width = {"done": "2.6", "none": "1.5"}.get(state, "1.4")
    g = canvas.group({"class": f"bpmn-flow bpmn-{state}"})
    attrs = {
        "d": _path(flow.points),
        "fill": "none",
        "stroke": colour,
        "stroke-width": width,
        "stroke-linejoin": "round",
        "marker-end": f"url(#{canvas.prefix}-fleche-{state})",
    }
    if flow.message:
        attrs["stroke-dasharray"] = "6 4"
    elif state == "pending":
        attrs["stroke-dasharray"] = "5 3"
    ET.SubElement(g, "path", attrs)
    if flow.name:
        _flow_name(g, flow)


def _flow_name(g: ET.Element, flow: Flow) -> None:
    """The name of a flow (a gateway's branch: « oui », « refusé »...) along its first
    horizontal stretch, just after the gateway, where it reads as the branch's label."""
    points = flow.points
    start = 0
    if len(points) > 2 and abs(points[0][0] - points[1][0]) < 0.5:
        start = 1  # leaves downwards or upwards: name the stretch after the bend
    (x1, y1), (x2, y2) = points[start], points[start + 1]
    horizontal = abs(y2 - y1) <= abs(x2 - x1)
    x = x1 + (8 if x2 >= x1 else -8) if horizontal else x1 + 6
    y = y1 - 5 if horizontal else (y1 + y2) / 2
    attrs = {"x": _n(x), "y": _n(y), "font-size": "11", "fill": "#1e1e1e", "font-style": "italic"}
    if horizontal and x2 < x1:
        attrs["text-anchor"] = "end"
    ET.SubElement(g, "text", attrs).text = wrap(flow.name, 22, 1)[0]


def _shape(canvas: _Canvas, shape: Shape, state: str, tooltip: str) -> None:
    colour, fill, width = COLOURS[state]
    g = canvas.group({"class": f"bpmn-shape bpmn-{state}", "data-element": shape.id})
    ET.SubElement(g, "title").text = tooltip
    box = shape.box
    dash = {"stroke-dasharray": "5 3"} if state == "pending" else {}
    ink = "#1e1e1e" if state != "pending" else "#505050"
    if shape.family == "activity":
        attrs = {"x": _n(box.x), "y": _n(box.y), "width": _n(box.w), "height": _n(box.h), "rx": "10",
                 "fill": fill, "stroke": colour, "stroke-width": _n(width), **dash}  # fmt: skip
        if shape.kind == "callActivity":
            attrs["stroke-width"] = _n(width + 2)
        if shape.expanded:
            attrs["fill"] = "none"
        ET.SubElement(g, "rect", attrs)
        task_icon(g, shape, colour)
        if shape.kind in ("subProcess", "callActivity", "transaction") and not shape.expanded:
            x, y = box.cx - 6, box.y + box.h - 15
            ET.SubElement(
                g,
                "rect",
                {
                    "x": _n(x),
                    "y": _n(y),
                    "width": "12",
                    "height": "12",
                    "fill": "none",
                    "stroke": colour,
                },
            )
            ET.SubElement(
                g,
                "path",
                {"d": f"M{_n(x + 3)},{_n(y + 6)} h6 M{_n(x + 6)},{_n(y + 3)} v6", "stroke": colour},
            )
        if shape.loop:
            x, y = box.cx - 6, box.y + box.h - 15
            if shape.loop == "parallel":
                path = " ".join(f"M{_n(x + k)},{_n(y)} v12" for k in (1, 6, 11))
            elif shape.loop == "sequential":
                path = " ".join(f"M{_n(x)},{_n(y + k)} h12" for k in (1, 6, 11))
            else:
                path = f"M{_n(x + 9)},{_n(y + 2)} a5,5 0 1,1 -6,0 m0,0 l-3,-1 m3,1 l1,-3"
            ET.SubElement(
                g, "path", {"d": path, "stroke": colour, "stroke-width": "2", "fill": "none"}
            )
        if shape.expanded:
            _text(
                g,
                wrap(shape.name, max(8, int(box.w / 7)), 1),
                box.cx,
                box.y + 16,
                size=12,
                colour=ink,
                weight="bold",
            )
        else:
            lines = wrap(shape.name, max(6, int((box.w - 12) / 6.4)), 4)
            top = box.cy - (len(lines) - 1) * 7.2 + 4
            _text(g, lines, box.cx, top, size=12, colour=ink)
        corner = (box.x + box.w - 2, box.y + 2)
    elif shape.family == "event":
        r = min(box.w, box.h) / 2
        attrs = {"cx": _n(box.cx), "cy": _n(box.cy), "r": _n(r), "fill": fill, "stroke": colour,
                 "stroke-width": _n(width), **dash}  # fmt: skip
        if shape.kind == "endEvent":
            attrs["stroke-width"] = _n(width + 2.5)
        if not shape.interrupting:
            attrs["stroke-dasharray"] = "4 2"
        ET.SubElement(g, "circle", attrs)
        if shape.kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            ET.SubElement(
                g,
                "circle",
                {
                    "cx": _n(box.cx),
                    "cy": _n(box.cy),
                    "r": _n(r - 3.5),
                    "fill": "none",
                    "stroke": colour,
                    "stroke-width": "1.2",
                },
            )
        event_marker(g, shape, colour)
        _label(g, shape, ink)
        corner = (box.cx + r * 0.75, box.cy - r * 0.75)
    else:
        cx, cy, hw, hh = box.cx, box.cy, box.w / 2, box.h / 2
        ET.SubElement(
            g, "path",
            {"d": f"M{_n(cx)},{_n(cy - hh)} L{_n(cx + hw)},{_n(cy)} L{_n(cx)},{_n(cy + hh)} L{_n(cx - hw)},{_n(cy)} z",
             "fill": fill, "stroke": colour, "stroke-width": _n(width), **dash},
        )  # fmt: skip
        gateway_marker(g, shape, colour)
        _label(g, shape, ink)
        corner = (cx + hw * 0.55, cy - hh * 0.55)
    if state == "done":
        tick(g, *corner)
    elif state in TAGS and shape.kind == "boundaryEvent":  # right of it, clear of its task
        width = 8 + 6.6 * len(TAGS[state])
        state_tag(g, TAGS[state], box.x + box.w + 2 + width / 2, box.cy + 8, colour)
    elif state in TAGS:
        state_tag(g, TAGS[state], box.cx, box.y - 3, colour)


def _label(g: ET.Element, shape: Shape, ink: str) -> None:
    if not shape.name:
        return
    if shape.label is not None:
        box = shape.label
        lines = wrap(shape.name, max(8, int(box.w / 5.6) + 2), 4)
        _text(g, lines, box.cx, box.y + 10, size=11, colour=ink)
        return
    lines = wrap(shape.name, 24 if shape.family == "gateway" else 20, 3)
    box = shape.box
    if shape.family == "gateway":  # above: its branches leave by the right and the bottom
        _text(g, lines, box.cx, box.y - 6 - (len(lines) - 1) * 13.2, size=11, colour=ink)
    elif shape.kind == "boundaryEvent":  # below left: its flow leaves downwards, then right
        x = box.x - 2
        attrs = {"x": _n(x), "y": _n(box.y + box.h + 10), "font-size": "11", "fill": ink}
        text = ET.SubElement(g, "text", {**attrs, "text-anchor": "end"})
        for i, line in enumerate(lines[:2]):
            span = ET.SubElement(text, "tspan", {"x": _n(x), "dy": "0" if i == 0 else "13.2"})
            span.text = line
    else:
        _text(g, lines, box.cx, box.y + box.h + 14, size=11, colour=ink)


def _default_tooltip(shape: Shape) -> str:
    kind = KIND_LABELS.get(shape.kind, "étape")
    if shape.marker in MARKER_LABELS:
        kind += f" ({MARKER_LABELS[shape.marker]})"
    return f"{shape.name or kind.capitalize()} — {kind}"


def draw_svg(
    diagram: Diagram,
    marks: Mapping[str, Mark] | None = None,
    *,
    title: str,
    description: str = "",
    lane_labels: Mapping[str, str] | None = None,
    prefix: str = "schema",
) -> str:
    """The diagram as an SVG document (a string to inline in a page). With `marks` (a case's
    states by element id), what the case did not reach is drawn dashed and grey."""
    canvas = _Canvas(diagram, prefix, title, description)
    labels = lane_labels or {}
    for lane in diagram.lanes:
        _lane(canvas, lane, labels)
    unmarked = "none" if marks is None else "pending"
    states = {} if marks is None else {k: m.state for k, m in marks.items()}
    ordered = sorted(diagram.shapes, key=lambda s: (not s.expanded, s.kind == "boundaryEvent"))
    for shape in ordered:
        if shape.expanded:
            _shape(canvas, shape, states.get(shape.id, unmarked), _tooltip(shape, marks))
    for flow in diagram.flows:
        taken = states.get(flow.source) == "done" and flow.target in states
        _flow(canvas, flow, "done" if taken else unmarked)
    for shape in ordered:
        if not shape.expanded:
            _shape(canvas, shape, states.get(shape.id, unmarked), _tooltip(shape, marks))
    ET.indent(canvas.root, space="")
    return ET.tostring(canvas.root, encoding="unicode")


def _tooltip(shape: Shape, marks: Mapping[str, Mark] | None) -> str:
    if marks is not None and shape.id in marks:
        return marks[shape.id].tooltip
    if marks is None:
        return _default_tooltip(shape)
    return f"{_default_tooltip(shape)} — pas atteinte par ce dossier"
