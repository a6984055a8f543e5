"""Place a BPMN model on a page: from its own DI when it has one, else laid out here.

The automatic layout is a small layered drawing, left to right: each step's column is its
longest distance from the start (loops left aside), each lane a band, each branch of a
gateway a row below its main path; flows run in the free channels between rows and columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from engine.rendering.diagram.model import Box, Diagram, Flow, Lane, Shape
from engine.rendering.diagram.reader import Edge, Model, Node, Pool

__all__ = ["layout"]

COLUMN = 184.0
ROW = 132.0
HEADER = 30.0
MARGIN = 16.0
SIZES = {"activity": (128.0, 84.0), "event": (36.0, 36.0), "gateway": (50.0, 50.0)}


def _family(kind: str) -> str:
    if kind.endswith("Event"):
        return "event"
    if kind.endswith("Gateway"):
        return "gateway"
    return "activity"


def _shape(node: Node, box: Box, label: Box | None = None, expanded: bool = False) -> Shape:
    return Shape(
        node.id,
        node.kind,
        node.name,
        box,
        marker=node.marker,
        loop=node.loop,
        attached_to=node.attached_to,
        interrupting=node.interrupting,
        label=label,
        expanded=expanded,
    )


def layout(model: Model) -> Diagram:
    """The model's own drawing when its DI places every step, else an automatic one."""
    top = [n for pool in model.pools for n in pool.nodes if n.parent is None]
    if top and all(n.id in model.shapes for n in top):
        return _from_di(model)
    return _automatic(model)


# -- the model's own DI ---------------------------------------------------------------------


def _extent(boxes: Iterable[Box], points: Iterable[tuple[float, float]]) -> Box:
    xs: list[float] = []
    ys: list[float] = []
    for box in boxes:
        xs += [box.x, box.x + box.w]
        ys += [box.y, box.y + box.h + 40]  # room for a name under an event
    for x, y in points:
        xs.append(x)
        ys.append(y)
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _from_di(model: Model) -> Diagram:
    shapes: list[Shape] = []
    lanes: list[Lane] = []
    flows: list[Flow] = []
    placed: dict[str, Box] = {}
    for pool in model.pools:
        if pool.id in model.shapes and (model.collaboration or pool.lanes):
            lanes.append(Lane(pool.id, pool.name, model.shapes[pool.id][0], pool=True))
        for lane_id, name in pool.lanes:
            if lane_id in model.shapes:
                lanes.append(Lane(lane_id, name, model.shapes[lane_id][0]))
        for node in pool.nodes:
            if node.id not in model.shapes:
                continue  # inside a collapsed sub-process
            box, label, expanded = model.shapes[node.id]
            shapes.append(_shape(node, box, label, expanded))
            placed[node.id] = box
        for edge in pool.edges:
            flows.extend(_di_flow(model, edge, placed))
    for edge in model.message_flows:
        flows.extend(_di_flow(model, edge, placed))
    points = [p for f in flows for p in f.points]
    extent = _extent([*placed.values(), *(lane.box for lane in lanes)], points)
    return Diagram(
        tuple(shapes),
        tuple(flows),
        tuple(lanes),
        extent.x - MARGIN,
        extent.y - MARGIN - 20,
        extent.w + 2 * MARGIN,
        extent.h + 2 * MARGIN + 20,
        from_model=True,
    )


def _di_flow(model: Model, edge: Edge, placed: dict[str, Box]) -> list[Flow]:
    points = model.waypoints.get(edge.id)
    if points is None:
        source, target = placed.get(edge.source), placed.get(edge.target)
        if source is None or target is None:
            return []
        points = ((source.cx, source.cy), (target.cx, target.cy))
    return [Flow(edge.id, edge.source, edge.target, edge.name, points, edge.message)]


# -- automatic layout ------------------------------------------------------------------------


class _Pool:
    """One pool being laid out: ranks (columns), lanes and rows of its steps."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.nodes = {n.id: n for n in pool.nodes if n.parent is None}
        self.steps = [n for n in self.nodes.values() if n.kind != "boundaryEvent"]
        self.host = {
            n.id: n.attached_to
            for n in self.nodes.values()
            if n.kind == "boundaryEvent" and n.attached_to in self.nodes
        }
        self.edges = [e for e in pool.edges if e.source in self.nodes and e.target in self.nodes]
        self.back: set[str] = set()
        self.rank: dict[str, int] = {}
        self.row: dict[str, int] = {}
        self.lane_of: dict[str, str] = {}

    def anchor(self, node_id: str) -> str:
        return self.host.get(node_id, node_id)

    def find_back_edges(self) -> None:
        outgoing: dict[str, list[Edge]] = defaultdict(list)
        for edge in self.edges:
            outgoing[self.anchor(edge.source)].append(edge)
        incoming = {self.anchor(e.target) for e in self.edges}
        roots = [n.id for n in self.steps if n.kind == "startEvent"]
        roots += [n.id for n in self.steps if n.id not in incoming and n.id not in roots]
        roots += [n.id for n in self.steps]
        seen: set[str] = set()
        for root in roots:
            if root in seen:
                continue
            seen.add(root)
            on_stack = {root}
            stack = [(root, iter(outgoing[root]))]
            while stack:
                node, edges = stack[-1]
                following = next(edges, None)
                if following is None:
                    stack.pop()
                    on_stack.discard(node)
                    continue
                target = self.anchor(following.target)
                if target in on_stack:
                    self.back.add(following.id)
                elif target not in seen:
                    seen.add(target)
                    on_stack.add(target)
                    stack.append((target, iter(outgoing[target])))

    def rank_steps(self) -> None:
        forward = [e for e in self.edges if e.id not in self.back]
        preds: dict[str, list[str]] = defaultdict(list)
        succs: dict[str, list[str]] = defaultdict(list)
        for edge in forward:
            source, target = self.anchor(edge.source), self.anchor(edge.target)
            if source != target:
                preds[target].append(source)
                succs[source].append(target)
        pending = {n.id: len(preds[n.id]) for n in self.steps}
        ready = [n.id for n in self.steps if pending[n.id] == 0]
        order: list[str] = []
        while ready:
            node = ready.pop(0)
            order.append(node)
            for nxt in succs[node]:
                pending[nxt] -= 1
                if pending[nxt] == 0:
                    ready.append(nxt)
        order += [n.id for n in self.steps if n.id not in order]  # cycles left: keep going
        for node in order:
            self.rank[node] = max((self.rank.get(p, 0) + 1 for p in preds[node]), default=0)

    def _successors(self) -> dict[str, list[str]]:
        """Each element's forward successors, the one with the longest way ahead first: it
        keeps the row (the main path runs straight), the other branches go below."""
        forward = [e for e in self.edges if e.id not in self.back]
        succs: dict[str, list[str]] = defaultdict(list)
        for edge in forward:
            if self.anchor(edge.target) not in succs[edge.source]:
                succs[edge.source].append(self.anchor(edge.target))
        ahead: dict[str, int] = {}
        for node in sorted(self.rank, key=lambda n: -self.rank[n]):
            nexts = [t for t in succs[node] if t != node]
            ahead[node] = max((ahead.get(t, 0) + 1 for t in nexts), default=0)
        return {
            source: sorted(targets, key=lambda t: -ahead.get(t, 0))
            for source, targets in succs.items()
        }

    def assign_rows(self) -> None:
        lanes = [lane_id for lane_id, _ in self.pool.lanes]
        for node in self.steps:
            self.lane_of[node.id] = node.lane if node.lane in lanes else ""
        taken: set[tuple[str, int, int]] = set()
        successors = self._successors()
        forward = [e for e in self.edges if e.id not in self.back]
        index = {n.id: i for i, n in enumerate(self.steps)}
        for node in sorted(self.steps, key=lambda n: (self.rank[n.id], index[n.id])):
            lane = self.lane_of[node.id]
            wanted = 0
            for edge in forward:
                if self.anchor(edge.target) != node.id:
                    continue
                source = self.anchor(edge.source)
                if source not in self.row or self.lane_of.get(source) != lane:
                    continue
                siblings = [t for t in successors[edge.source] if self.lane_of.get(t) == lane]
                below = 1 if edge.source in self.host else 0
                wanted = self.row[source] + below + siblings.index(node.id)
                break
            row = wanted
            while (lane, self.rank[node.id], row) in taken:
                row += 1
            taken.add((lane, self.rank[node.id], row))
            self.row[node.id] = row


def _automatic(model: Model) -> Diagram:
    shapes: list[Shape] = []
    flows: list[Flow] = []
    lanes: list[Lane] = []
    placed: dict[str, Box] = {}
    y = MARGIN + 20.0
    width = 0.0
    banded = len(model.pools) > 1 or any(pool.lanes for pool in model.pools)
    for pool in model.pools:
        state = _Pool(pool)
        state.find_back_edges()
        state.rank_steps()
        state.assign_rows()
        left = MARGIN + (2 * HEADER if banded else 0.0)
        columns = max(state.rank.values(), default=0) + 1
        pool_top = y
        first = len(lanes)
        lane_top: dict[str, float] = {}
        bands = [*pool.lanes, ("", "")]
        for lane_id, name in bands:
            rows = [state.row[n] for n, lane in state.lane_of.items() if lane == lane_id]
            if not rows:
                continue
            lane_top[lane_id] = y
            height = (max(rows) + 1) * ROW
            if banded and (lane_id or len(lane_top) > 1):
                band = Box(MARGIN + HEADER, y, HEADER + columns * COLUMN, height)
                lanes.append(Lane(lane_id, name, band))
            y += height
        if banded:
            frame = Box(MARGIN, pool_top, 2 * HEADER + columns * COLUMN, y - pool_top)
            lanes.insert(first, Lane(pool.id, pool.name, frame, pool=True))
        for node in state.steps:
            w, h = SIZES[_family(node.kind)]
            x = left + state.rank[node.id] * COLUMN + (COLUMN - w) / 2
            top = lane_top[state.lane_of[node.id]] + state.row[node.id] * ROW + (ROW - h) / 2
            placed[node.id] = Box(x, top, w, h)
            shapes.append(_shape(node, placed[node.id]))
        per_host: dict[str, int] = defaultdict(int)
        for boundary, host in state.host.items():
            box = placed[host]
            k = per_host[host]
            per_host[host] += 1
            placed[boundary] = Box(box.x + box.w - 40 - 44 * k, box.y + box.h - 18, 36, 36)
            shapes.append(_shape(state.nodes[boundary], placed[boundary]))
        router = _Router(state, placed, left, lane_top)
        flows.extend(router.route(edge) for edge in state.edges)
        width = max(width, left + columns * COLUMN + MARGIN)
        y += MARGIN
    for edge in model.message_flows:
        source, target = placed.get(edge.source), placed.get(edge.target)
        if source is not None and target is not None:
            points = ((source.cx, source.y + source.h), (target.cx, target.y))
            if target.cy < source.cy:
                points = ((source.cx, source.y), (target.cx, target.y + target.h))
            flows.append(Flow(edge.id, edge.source, edge.target, edge.name, points, True))
    return Diagram(tuple(shapes), tuple(flows), tuple(lanes), 0.0, 0.0, width, y + MARGIN, False)


class _Router:
    """Orthogonal routes in the channels between columns and rows, spread when they share one."""

    def __init__(
        self, state: _Pool, placed: dict[str, Box], left: float, lane_top: dict[str, float]
    ) -> None:
        self.state = state
        self.placed = placed
        self.left = left
        self.lane_top = lane_top
        self.used: dict[tuple[str, int], int] = defaultdict(int)
        self.cells = {(state.lane_of[n.id], state.rank[n.id], state.row[n.id]) for n in state.steps}

    def _spread(self, kind: str, at: float) -> float:
        count = self.used[kind, round(at)]
        self.used[kind, round(at)] += 1
        return at + (0.0, 7.0, -7.0, 14.0, -14.0)[count % 5]

    def column_gap(self, rank: int) -> float:
        """The x of the free channel just left of column `rank`."""
        return self.left + rank * COLUMN

    def row_gap(self, node: str, below: bool) -> float:
        """The y of the free channel just above (or below) the row of `node`."""
        state = self.state
        top = self.lane_top[state.lane_of[node]] + state.row[node] * ROW
        return top + ROW if below else top

    def _clear(self, source: str, target: str) -> bool:
        state = self.state
        lane, row = state.lane_of[source], state.row[source]
        if state.lane_of[target] != lane or state.row[target] != row:
            return False
        return all(
            (lane, rank, row) not in self.cells
            for rank in range(state.rank[source] + 1, state.rank[target])
        )

    def route(self, edge: Edge) -> Flow:
        state = self.state
        s, t = self.placed[edge.source], self.placed[edge.target]
        source, target = state.anchor(edge.source), edge.target
        rank_s, rank_t = state.rank[source], state.rank[target]
        # Just inside the target's column: left of every shape there, whatever their widths.
        into = self._spread("x", self.column_gap(rank_t) + 12)
        points: list[tuple[float, float]]
        if edge.source in state.host:  # from a boundary event: down, then along
            if rank_t == rank_s + 1 and t.cy > s.y + s.h:
                points = [(s.cx, s.y + s.h), (s.cx, t.cy), (t.x, t.cy)]
            else:
                channel = self._spread("y", self.row_gap(source, below=True))
                gap = self._spread("x", self.column_gap(rank_t))
                points = [
                    (s.cx, s.y + s.h),
                    (s.cx, channel),
                    (gap, channel),
                    (gap, t.cy),
                    (t.x, t.cy),
                ]
        elif edge.id in state.back or rank_t <= rank_s:  # a loop back: under the row, leftwards
            channel = self._spread("y", self.row_gap(source, below=True))
            gap = self._spread("x", self.column_gap(rank_t))
            points = [(s.cx, s.y + s.h), (s.cx, channel), (gap, channel), (gap, t.cy), (t.x, t.cy)]
        elif abs(s.cy - t.cy) < 0.5 and self._clear(source, target):
            points = [(s.x + s.w, s.cy), (t.x, t.cy)]
        elif rank_t == rank_s + 1:
            if s.h < 60 and t.cy > s.cy:  # a gateway's branch going down
                points = [(s.cx, s.y + s.h), (s.cx, t.cy), (t.x, t.cy)]
            elif s.h < 60 and t.cy < s.cy:
                points = [(s.cx, s.y), (s.cx, t.cy), (t.x, t.cy)]
            else:
                points = [(s.x + s.w, s.cy), (into, s.cy), (into, t.cy), (t.x, t.cy)]
        elif s.h < 60 and abs(t.cy - s.cy) >= 0.5:  # a gateway's branch: leave by its tip
            below = t.cy > s.cy
            tip = s.y + s.h if below else s.y
            channel = self._spread("y", self.row_gap(target, below=not below))
            points = [(s.cx, tip), (s.cx, channel), (into, channel), (into, t.cy), (t.x, t.cy)]
        else:
            out = self._spread("x", self.column_gap(rank_s + 1))
            channel = self._spread("y", self.row_gap(target, below=t.cy < s.cy))
            points = [
                (s.x + s.w, s.cy), (out, s.cy), (out, channel),
                (into, channel), (into, t.cy), (t.x, t.cy),
            ]  # fmt: skip
        return Flow(edge.id, edge.source, edge.target, edge.name, tuple(points))
