"""A case's place in its procedure, drawn (server-side SVG) and told as a table of steps."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from engine.rendering.diagram import (
    KIND_LABELS,
    Diagram,
    DiagramUnavailable,
    Mark,
    diagram_of,
    draw_svg,
)
from engine.runtime.specs import ProcessBundle
from engine.services.queries.case_progress import StepProgress, StepVisit, case_progress
from engine.services.unit_of_work import UnitOfWork
from web.display import datetime_fr, person
from web.history import MESSAGE_LABELS, actor_name

__all__ = ["DiagramView", "StepRow", "case_diagram", "version_diagram"]

UNAVAILABLE = "Schéma non disponible"
_PLACED: dict[str, Diagram] = {}
"""Placed diagrams by spec digest: a deployed version never changes, its layout neither."""
_PLACED_MAX = 64


def _placed(bundle: ProcessBundle) -> Diagram:
    found = _PLACED.get(bundle.hash)
    if found is None:
        found = diagram_of(bundle.files, bundle.main_process)
        if len(_PLACED) >= _PLACED_MAX:
            _PLACED.pop(next(iter(_PLACED)), None)
        _PLACED[bundle.hash] = found
    return found


STATE_LABELS = {"done": "Faite", "current": "En cours", "waiting": "En attente"}


@dataclass(frozen=True)
class StepRow:
    """One line of the text alternative: a step the case reached."""

    name: str
    state: str
    when: str
    who: str


@dataclass(frozen=True)
class DiagramView:
    svg: Markup | None
    """The inline SVG, None when the model cannot be drawn (`unavailable` says why)."""
    unavailable: str | None
    rows: tuple[StepRow, ...]
    automatic_layout: bool


def _who(visit: StepVisit, people: Mapping[str, str], roles: Mapping[str, str]) -> str:
    if visit.open:
        if visit.waits_for:
            return roles.get(visit.waits_for) or person(visit.waits_for, people)
        return ""
    if visit.actor is None:
        return "automatiquement"
    return actor_name(visit.actor, people)


AUTOMATIC = frozenset({"serviceTask", "scriptTask", "businessRuleTask", "sendTask"})


def _when(visit: StepVisit, step: StepProgress, kind: str) -> str:
    if visit.open and visit.due is not None:
        return f"jusqu'au {datetime_fr(visit.due)}"
    if visit.open and visit.at is not None:
        return f"depuis le {datetime_fr(visit.at)}"
    if visit.open and visit.message:
        return f"du message : {MESSAGE_LABELS.get(visit.message, visit.message)}"
    if visit.open:
        return "(traitement automatique)" if kind in AUTOMATIC else ""
    return f"le {datetime_fr(visit.at)}" if visit.at is not None else ""


def _step_rows(
    step: StepProgress,
    name: str,
    kind: str,
    people: Mapping[str, str],
    roles: Mapping[str, str],
) -> list[StepRow]:
    rows = []
    for visit in step.visits:
        state = STATE_LABELS[step.state] if visit.open else STATE_LABELS["done"]
        when = _when(visit, step, kind)
        rows.append(StepRow(name, state, when, _who(visit, people, roles)))
    return rows


def _line(row: StepRow) -> str:
    """`Faite le 7 décembre 2026 à 9 h 56 par Marie Dupont (maire)`, for a tooltip."""
    fact = f"{row.state} {row.when}".strip()
    if not row.who:
        return fact
    if row.state == STATE_LABELS["done"]:
        return f"{fact} {row.who}" if row.who == "automatiquement" else f"{fact} par {row.who}"
    return f"{fact}, à faire par {row.who}"


def _tooltip(name: str, own: Sequence[StepRow], nested: Sequence[StepRow]) -> str:
    lines = [name]
    if len(own) > 6:
        lines.append(f"{len(own)} passages ; les 6 derniers :")
    lines += [_line(row) for row in own[-6:]]
    open_rows = [row for row in nested if row.state != STATE_LABELS["done"]]
    done = len(nested) - len(open_rows)
    if done:
        lines.append(f"{done} étape(s) faite(s) à l'intérieur")
    lines += [f"{row.name.rsplit(' › ', 1)[-1]} : {_line(row)}" for row in open_rows]
    return "\n".join(lines)


def _name(step: StepProgress, kinds: Mapping[str, str], names: Mapping[str, str]) -> str:
    own = step.name or KIND_LABELS.get(kinds.get(step.element, ""), "étape").capitalize()
    if step.within is None:
        return own
    return f"{names.get(step.within) or step.within} › {own}"


def _marks_and_rows(
    steps: Mapping[str, StepProgress],
    kinds: Mapping[str, str],
    names: Mapping[str, str],
    people: Mapping[str, str],
    roles: Mapping[str, str],
) -> tuple[dict[str, Mark], list[StepRow]]:
    """The same facts twice: a mark per drawn element (steps of a called process told on
    the element that calls it) and the table's rows, in the order the case reached them."""
    rows: list[StepRow] = []
    own: dict[str, list[StepRow]] = {}
    nested: dict[str, list[StepRow]] = {}
    for step in steps.values():
        kind = kinds.get(step.element, "") if step.within is None else ""
        step_rows = _step_rows(step, _name(step, kinds, names), kind, people, roles)
        listed = [r for r, v in zip(step_rows, step.visits, strict=True) if not v.bookkeeping]
        rows.extend(listed)
        if step.within is None:
            own.setdefault(step.element, []).extend(listed or step_rows)
        else:
            nested.setdefault(step.within, []).extend(listed)
    marks = {}
    for step in steps.values():
        if step.within is None and step.element in kinds:
            label = _name(step, kinds, names)
            tooltip = _tooltip(label, own[step.element], nested.get(step.element, []))
            marks[step.element] = Mark(step.state, tooltip)
    return marks, rows


def case_diagram(
    unit: UnitOfWork,
    tenant: str,
    case_id: uuid.UUID,
    people: Mapping[str, str],
) -> DiagramView:
    """The case's diagram with its path, current steps and waits, and the same as a table."""
    progress = case_progress(unit, tenant, case_id)
    roles = dict(progress.bundle.roles)
    try:
        diagram = _placed(progress.bundle)
    except DiagramUnavailable as exc:
        _, rows = _marks_and_rows(progress.steps, {}, {}, people, roles)
        return DiagramView(None, f"{UNAVAILABLE} : {exc}.", tuple(rows), False)
    kinds = {shape.id: shape.kind for shape in diagram.shapes}
    names = {shape.id: shape.name for shape in diagram.shapes}
    marks, rows = _marks_and_rows(progress.steps, kinds, names, people, roles)
    done = sum(1 for mark in marks.values() if mark.state == "done")
    opened = [names.get(k) or k for k, mark in marks.items() if mark.state != "done"]
    description = f"{done} étape(s) faite(s)" + (
        f" ; en cours ou en attente : {', '.join(opened)}" if opened else ""
    )
    svg = draw_svg(
        diagram,
        marks,
        title=f"Schéma de la procédure « {progress.bundle.title} » pour ce dossier",
        description=description + ". La liste des étapes qui suit donne les mêmes informations.",
        lane_labels=roles,
    )
    # Safe: draw_svg builds the SVG with ElementTree, which escapes every name and tooltip.
    return DiagramView(Markup(svg), None, tuple(rows), not diagram.from_model)  # noqa: S704


def version_diagram(bundle: ProcessBundle) -> DiagramView:
    """A procedure version's diagram alone (no case on it)."""
    try:
        diagram = _placed(bundle)
    except DiagramUnavailable as exc:
        return DiagramView(None, f"{UNAVAILABLE} : {exc}.", (), False)
    svg = draw_svg(
        diagram,
        None,
        title=f"Schéma de la procédure « {bundle.title} »",
        description="Chaque forme porte le nom de l'étape ; survolez-la pour son type.",
        lane_labels=dict(bundle.roles),
    )
    return DiagramView(Markup(svg), None, (), not diagram.from_model)  # noqa: S704 (as above)
