"""BPMN diagrams drawn on the server as SVG: a procedure version's model, or a case's path on it.

`diagram_of(files, main)` reads and places the model (its DI when it has one, else an automatic
layered layout); `draw_svg(diagram, marks, ...)` draws it. No JavaScript is needed to read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.rendering.diagram.layout import layout
from engine.rendering.diagram.model import Box, Diagram, DiagramUnavailable, Flow, Lane, Shape
from engine.rendering.diagram.reader import read_model
from engine.rendering.diagram.svg import KIND_LABELS, Mark, draw_svg, wrap

__all__ = [
    "KIND_LABELS",
    "Box",
    "Diagram",
    "DiagramUnavailable",
    "Flow",
    "Lane",
    "Mark",
    "Shape",
    "diagram_of",
    "draw_svg",
    "wrap",
]


def diagram_of(files: Mapping[str, bytes], main: str) -> Diagram:
    """The placed diagram of process (or collaboration) `main` among a procedure's files."""
    return layout(read_model(files, main))
