"""The small drawings inside shapes: task type icons, event and gateway markers, state marks."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from engine.rendering.diagram.model import Shape

__all__ = ["event_marker", "gateway_marker", "state_tag", "task_icon", "tick"]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def task_icon(g: ET.Element, shape: Shape, colour: str) -> None:
    """A small type icon at the top left of a task (as modelling tools draw them)."""
    x, y = shape.box.x + 7, shape.box.y + 6
    line = {"fill": "none", "stroke": colour, "stroke-width": "1.3"}
    if shape.kind in ("userTask", "manualTask"):
        ET.SubElement(g, "circle", {"cx": _n(x + 7), "cy": _n(y + 4.5), "r": "3.5", **line})
        ET.SubElement(g, "path", {"d": f"M{_n(x)},{_n(y + 15)} q7,-10 14,0", **line})
    elif shape.kind == "serviceTask":
        ET.SubElement(
            g,
            "circle",
            {"cx": _n(x + 7), "cy": _n(y + 7), "r": "5.5", **line, "stroke-width": "3",
             "stroke-dasharray": "2.2 1.6"},
        )  # fmt: skip
        ET.SubElement(g, "circle", {"cx": _n(x + 7), "cy": _n(y + 7), "r": "2", **line})
    elif shape.kind == "scriptTask":
        ET.SubElement(g, "rect", {"x": _n(x), "y": _n(y), "width": "12", "height": "14", **line})
        for k in (4, 7, 10):
            ET.SubElement(
                g,
                "line",
                {"x1": _n(x + 3), "y1": _n(y + k), "x2": _n(x + 9), "y2": _n(y + k), **line},
            )
    elif shape.kind == "businessRuleTask":
        ET.SubElement(g, "rect", {"x": _n(x), "y": _n(y), "width": "15", "height": "11", **line})
        ET.SubElement(
            g, "path", {"d": f"M{_n(x)},{_n(y + 4)} h15 M{_n(x + 5)},{_n(y + 4)} v7", **line}
        )
    elif shape.kind in ("sendTask", "receiveTask"):
        _envelope(g, x + 8, y + 6, colour, filled=shape.kind == "sendTask")


def _envelope(g: ET.Element, cx: float, cy: float, colour: str, *, filled: bool) -> None:
    attrs = {"fill": colour if filled else "none", "stroke": colour, "stroke-width": "1.2"}
    ET.SubElement(
        g, "rect", {"x": _n(cx - 7), "y": _n(cy - 5), "width": "14", "height": "10", **attrs}
    )
    back = "#ffffff" if filled else colour
    ET.SubElement(
        g,
        "path",
        {"d": f"M{_n(cx - 7)},{_n(cy - 5)} L{_n(cx)},{_n(cy + 1)} L{_n(cx + 7)},{_n(cy - 5)}",
         "fill": "none", "stroke": back, "stroke-width": "1.2"},
    )  # fmt: skip


def event_marker(g: ET.Element, shape: Shape, colour: str) -> None:
    cx, cy = shape.box.cx, shape.box.cy
    thrown = shape.kind in ("endEvent", "intermediateThrowEvent")
    line = {"fill": "none", "stroke": colour, "stroke-width": "1.4"}
    if shape.marker == "timer":
        ET.SubElement(
            g, "circle", {"cx": _n(cx), "cy": _n(cy), "r": "9", **line, "fill": "#ffffff"}
        )
        for k in range(12):
            a = k * math.pi / 6
            ET.SubElement(
                g, "line",
                {"x1": _n(cx + 7 * math.cos(a)), "y1": _n(cy + 7 * math.sin(a)),
                 "x2": _n(cx + 9 * math.cos(a)), "y2": _n(cy + 9 * math.sin(a)), **line,
                 "stroke-width": "0.8"},
            )  # fmt: skip
        ET.SubElement(
            g,
            "path",
            {"d": f"M{_n(cx)},{_n(cy - 6)} L{_n(cx)},{_n(cy)} L{_n(cx + 4)},{_n(cy + 2)}", **line},
        )
    elif shape.marker == "message":
        _envelope(g, cx, cy, colour, filled=thrown)
    elif shape.marker == "signal":
        ET.SubElement(
            g,
            "path",
            {
                "d": f"M{_n(cx)},{_n(cy - 8)} l7,12 h-14 z",
                **line,
                "fill": colour if thrown else "none",
            },
        )
    elif shape.marker == "error":
        ET.SubElement(
            g, "path",
            {"d": f"M{_n(cx - 7)},{_n(cy + 7)} L{_n(cx - 3)},{_n(cy - 7)} L{_n(cx + 2)},{_n(cy + 2)} L{_n(cx + 7)},{_n(cy - 7)} L{_n(cx + 3)},{_n(cy + 7)} L{_n(cx - 2)},{_n(cy - 2)} z",
             **line, "fill": colour if thrown else "none"},
        )  # fmt: skip
    elif shape.marker == "terminate":
        ET.SubElement(g, "circle", {"cx": _n(cx), "cy": _n(cy), "r": "9", "fill": colour})
    elif shape.marker in ("escalation", "conditional", "link", "compensate", "cancel"):
        ET.SubElement(g, "path", {"d": f"M{_n(cx)},{_n(cy - 8)} l6,15 l-6,-5 l-6,5 z", **line})


def gateway_marker(g: ET.Element, shape: Shape, colour: str) -> None:
    cx, cy = shape.box.cx, shape.box.cy
    line = {"fill": "none", "stroke": colour, "stroke-width": "3", "stroke-linecap": "round"}
    if shape.kind == "exclusiveGateway":
        ET.SubElement(
            g,
            "path",
            {"d": f"M{_n(cx - 7)},{_n(cy - 7)} l14,14 M{_n(cx + 7)},{_n(cy - 7)} l-14,14", **line},
        )
    elif shape.kind == "parallelGateway":
        ET.SubElement(
            g, "path", {"d": f"M{_n(cx)},{_n(cy - 10)} v20 M{_n(cx - 10)},{_n(cy)} h20", **line}
        )
    elif shape.kind == "inclusiveGateway":
        ET.SubElement(
            g, "circle", {"cx": _n(cx), "cy": _n(cy), "r": "9", **line, "stroke-width": "2.5"}
        )
    elif shape.kind == "eventBasedGateway":
        ET.SubElement(
            g, "circle", {"cx": _n(cx), "cy": _n(cy), "r": "10", **line, "stroke-width": "1.2"}
        )
        ET.SubElement(
            g,
            "path",
            {"d": f"M{_n(cx)},{_n(cy - 6)} l6,4 l-2,7 h-8 l-2,-7 z", **line, "stroke-width": "1.2"},
        )
    elif shape.kind == "complexGateway":
        ET.SubElement(
            g,
            "path",
            {
                "d": f"M{_n(cx)},{_n(cy - 10)} v20 M{_n(cx - 10)},{_n(cy)} h20 M{_n(cx - 7)},{_n(cy - 7)} l14,14 M{_n(cx + 7)},{_n(cy - 7)} l-14,14",
                **line,
            },
        )


def tick(g: ET.Element, x: float, y: float) -> None:
    """A done mark: a white tick in a green disc (shape's top right corner)."""
    ET.SubElement(
        g,
        "circle",
        {
            "cx": _n(x),
            "cy": _n(y),
            "r": "8",
            "fill": "#18753c",
            "stroke": "#ffffff",
            "stroke-width": "1.5",
        },
    )
    ET.SubElement(
        g, "path",
        {"d": f"M{_n(x - 4)},{_n(y)} l3,3 l5,-6", "fill": "none", "stroke": "#ffffff", "stroke-width": "2",
         "stroke-linecap": "round", "stroke-linejoin": "round"},
    )  # fmt: skip


def state_tag(g: ET.Element, text: str, cx: float, bottom: float, colour: str) -> None:
    """« En cours » / « En attente » above a shape: the state in words, not only in colour."""
    width = 8 + 6.6 * len(text)
    ET.SubElement(
        g, "rect",
        {"x": _n(cx - width / 2), "y": _n(bottom - 17), "width": _n(width), "height": "16", "rx": "8", "fill": colour},
    )  # fmt: skip
    label = ET.SubElement(
        g, "text",
        {"x": _n(cx), "y": _n(bottom - 5), "font-size": "11", "font-weight": "bold", "fill": "#ffffff", "text-anchor": "middle"},
    )  # fmt: skip
    label.text = text
