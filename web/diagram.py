"""A case's place in its procedure, drawn (server-side SVG) and told as a table of steps."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from engine.rendering.diagram import KIND_LABELS, DiagramUnavailable, Mark, diagram_of, draw_svg
from engine.runtime.specs import ProcessBundle
from engine.services.queries.case_progress import StepProgress, StepVisit, case_progress
from engine.services.unit_of_work import UnitOfWork
from web.display import datetime_fr, person
from web.history import actor_name

__all__ = ["DiagramView", "StepRow", "case_diagram", "version_diagram"]

UNAVAILABLE = "Schéma non disponible"
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


def _when(visit: StepVisit, step: StepProgress) -> str:
    if visit.open and visit.due is not None:
        return f"jusqu'au {datetime_fr(visit.due)}"
    if visit.open and visit.at is not None:
        return f"depuis le {datetime_fr(visit.at)}"
    if visit.open:
        return "traitement en cours" if step.state == "current" else "en attente"
    return f"le {datetime_fr(visit.at)}" if visit.at is not None else ""


def _rows(
    steps: Mapping[str, StepProgress],
    kinds: Mapping[str, str],
    people: Mapping[str, str],
    roles: Mapping[str, str],
) -> list[StepRow]:
    rows = []
    for step in steps.values():
        name = step.name or KIND_LABELS.get(kinds.get(step.element, ""), "étape").capitalize()
        for visit in step.visits:
            state = STATE_LABELS["done"] if not visit.open else STATE_LABELS[step.state]
            rows.append(StepRow(name, state, _when(visit, step), _who(visit, people, roles)))
    return rows


def _tooltip(name: str, step: StepProgress, rows: Sequence[StepRow]) -> str:
    lines = [name]
    for row in rows[-6:]:
        fact = f"{row.state} {row.when}".strip()
        lines.append(f"{fact} — {row.who}" if row.who else fact)
    if len(rows) > 6:
        lines.insert(1, f"({len(rows)} passages, les 6 derniers :)")
    return "\n".join(lines)


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
        diagram = diagram_of(progress.bundle.files, progress.bundle.main_process)
    except DiagramUnavailable as exc:
        rows = _rows(progress.steps, {}, people, roles)
        return DiagramView(None, f"{UNAVAILABLE} : {exc}.", tuple(rows), False)
    kinds = {shape.id: shape.kind for shape in diagram.shapes}
    marks: dict[str, Mark] = {}
    all_rows: list[StepRow] = []
    for element, step in progress.steps.items():
        rows = _rows({element: step}, kinds, people, roles)
        all_rows.extend(rows)
        if element in kinds:
            marks[element] = Mark(step.state, _tooltip(rows[0].name, step, rows))
    done = sum(1 for step in progress.steps.values() if step.state == "done")
    current = [rows.name for rows in all_rows if rows.state != STATE_LABELS["done"]]
    description = f"{done} étape(s) faite(s)" + (
        f" ; en cours ou en attente : {', '.join(current)}" if current else ""
    )
    svg = draw_svg(
        diagram,
        marks,
        title=f"Schéma de la procédure « {progress.bundle.title} » pour ce dossier",
        description=description + ". Le tableau qui suit donne les mêmes informations.",
        lane_labels=roles,
    )
    return DiagramView(Markup(svg), None, tuple(all_rows), not diagram.from_model)


def version_diagram(bundle: ProcessBundle) -> DiagramView:
    """A procedure version's diagram alone (no case on it)."""
    try:
        diagram = diagram_of(bundle.files, bundle.main_process)
    except DiagramUnavailable as exc:
        return DiagramView(None, f"{UNAVAILABLE} : {exc}.", (), False)
    svg = draw_svg(
        diagram,
        None,
        title=f"Schéma de la procédure « {bundle.title} »",
        description="Chaque forme porte le nom de l'étape ; survolez-la pour son type.",
        lane_labels=dict(bundle.roles),
    )
    return DiagramView(Markup(svg), None, (), not diagram.from_model)
