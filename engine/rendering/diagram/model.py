"""What a BPMN diagram is made of once placed: shapes, flows and lanes, in SVG coordinates."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Box", "Diagram", "DiagramUnavailable", "Flow", "Lane", "Shape"]


class DiagramUnavailable(Exception):
    """The model cannot be drawn (refused XML, no such process, too large); French message."""


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Shape:
    """One flow node: a task, an event or a gateway."""

    id: str
    kind: str
    """The BPMN element's local name (`userTask`, `startEvent`, `exclusiveGateway`...)."""
    name: str
    box: Box
    marker: str | None = None
    """Event definition: `timer`, `message`, `signal`, `error`, `escalation`, ..."""
    loop: str | None = None
    """`parallel` / `sequential` multi-instance, `loop` for a standard loop."""
    attached_to: str | None = None
    """For a boundary event: the activity it sits on."""
    interrupting: bool = True
    label: Box | None = None
    """Where the model's DI puts an event's or gateway's name (None: under the shape)."""
    expanded: bool = False
    """An embedded sub-process drawn open, its steps inside (DI only)."""

    @property
    def family(self) -> str:
        """`event`, `gateway` or `activity`."""
        if self.kind.endswith("Event"):
            return "event"
        if self.kind.endswith("Gateway"):
            return "gateway"
        return "activity"


@dataclass(frozen=True)
class Flow:
    """A sequence flow (or a message flow, `message=True`) with its route."""

    id: str
    source: str
    target: str
    name: str
    points: tuple[tuple[float, float], ...]
    message: bool = False


@dataclass(frozen=True)
class Lane:
    """A pool (`pool=True`) or a lane, drawn as a band with its name on the left."""

    id: str
    name: str
    box: Box
    pool: bool = False


@dataclass(frozen=True)
class Diagram:
    shapes: tuple[Shape, ...]
    flows: tuple[Flow, ...]
    lanes: tuple[Lane, ...]
    x: float
    y: float
    width: float
    height: float
    from_model: bool
    """True when the positions come from the model's own diagram (BPMN DI), False when laid
    out here because the model has none."""
