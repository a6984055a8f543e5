"""Where the choices of a task form come from, resolved in one place.

A schema names the source of a field's choices with the `x-dematflow-source` keyword (JSON
Schema validators ignore unknown keywords, so the engine's validation is unchanged):

- `{"kind": "members", "role": "agent"}`: the tenant's active members holding the role
  (value: login; label: name);
- `{"kind": "councillors", "value": "email" | "name", "at": "<date field>"}`: the councillors
  in mandate on the date held by that field (form values first, then case data; today when
  blank);
- `{"kind": "seance_projects"}`: the deliberation projects waiting for a séance (value:
  project number);
- `{"kind": "actes_matieres"}`: the @ctes nomenclature;

and document fields (`x-document`) pick among the case's PDFs (value: document id).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.actes.model import MATIERE_FAMILIES
from engine.domain.errors import FieldError
from engine.domain.french import PARIS
from engine.domain.model import Document
from engine.persistence.uow import UnitOfWork
from engine.services.actes_nomenclature import MATIERES
from engine.services.council import COUNCIL_ROLES, INSCRIPTION, MAX_POINTS

__all__ = [
    "DOCUMENTS",
    "EMPTY",
    "SOURCE_KEYWORD",
    "Choice",
    "FormContext",
    "check_choices",
    "resolve_choices",
    "source_key",
    "source_of",
]

SOURCE_KEYWORD = "x-dematflow-source"
DOCUMENTS = "documents"
"""Key of the case's documents among the resolved choices."""
MAX_MEMBERS = 1000
EMPTY = {
    DOCUMENTS: "Le dossier ne contient encore aucun PDF.",
    "members": "Aucun membre de la collectivité n'a le rôle requis.",
    "councillors": (
        "Aucun conseiller en mandat à cette date : l'administrateur de la collectivité les "
        "enregistre dans « Conseil municipal »."
    ),
    "seance_projects": "Aucun projet de délibération visé n'attend de séance.",
}
"""What a field says when its source offers nothing, by kind of source."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    group: str = ""
    """Heading the choice is listed under (a select's optgroup), if any."""


@dataclass(frozen=True)
class FormContext:
    """What a form's choices depend on."""

    tenant: str
    now: datetime
    case_data: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    """The values being entered (a date a source depends on may be in the same form)."""
    documents: Sequence[Document] = ()


def source_of(prop: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The source a property (or, for a list, its items) takes its choices from."""
    if prop.get("x-document") or (prop.get("items") or {}).get("x-document"):
        return {"kind": DOCUMENTS}
    for candidate in (prop, prop.get("items") or {}):
        source = candidate.get(SOURCE_KEYWORD)
        if isinstance(source, Mapping):
            return source
    return None


def source_key(source: Mapping[str, Any]) -> str:
    return json.dumps(source, sort_keys=True)


def _walk(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    for name, prop in dict(schema.get("properties", {})).items():
        where = f"{path}/{name}" if path else name
        yield where, prop
        if prop.get("type") == "object" and not prop.get("x-document"):
            yield from _walk(prop, where)
        items = prop.get("items") or {}
        if items.get("type") == "object" and not items.get("x-document"):
            yield from _walk(items, f"{where}/*")


def _day(ctx: FormContext, name: str) -> date:
    raw = ctx.values.get(name) or ctx.case_data.get(name)
    if isinstance(raw, str) and raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            return ctx.now.astimezone(PARIS).date()
        return moment.astimezone(PARIS).date() if moment.tzinfo else moment.date()
    return ctx.now.astimezone(PARIS).date()


def _resolve(uow: UnitOfWork, source: Mapping[str, Any], ctx: FormContext) -> list[Choice]:
    kind = source.get("kind")
    if kind == DOCUMENTS:
        pdfs = [d for d in ctx.documents if d.media_type == "application/pdf"]
        return [Choice(str(d.id), d.name) for d in reversed(pdfs)]
    if kind == "members":
        role = str(source.get("role", ""))
        members = uow.tenant_admin.members(ctx.tenant)[:MAX_MEMBERS]
        return [
            Choice(m.username, m.display_name)
            for m in sorted(members, key=lambda m: m.display_name)
            if role in m.roles and m.active
        ]
    if kind == "councillors":
        at = _day(ctx, str(source.get("at", "")))
        attribute = "email" if source.get("value") == "email" else "name"
        return [
            Choice(getattr(c, attribute), f"{c.name} ({COUNCIL_ROLES.get(c.role, c.role)})")
            for c in uow.council.councillors(ctx.tenant, at=at)
        ]
    if kind == "seance_projects":
        choices = []
        for number, case_id in uow.council.waiting_cases(ctx.tenant, INSCRIPTION, limit=MAX_POINTS):
            case = uow.cases.get(ctx.tenant, case_id)
            subject = str(case.data.get("objet") or case.title)
            choices.append(Choice(number, f"{number} : {subject} (dossier {case.reference})"))
        return choices
    if kind == "actes_matieres":
        return [
            Choice(code, f"{code} {label}", f"{code.split('.')[0]}. {MATIERE_FAMILIES[code[0]]}")
            for code, label in MATIERES.items()
            if "." in code
        ]
    raise ValueError(f"unknown form source {kind!r}")


def resolve_choices(
    uow: UnitOfWork, schema: Mapping[str, Any] | None, ctx: FormContext
) -> dict[str, list[Choice]]:
    """The choices of every sourced field of the schema, keyed by `source_key`."""
    resolved: dict[str, list[Choice]] = {}
    for _, prop in _walk(schema or {}):
        source = source_of(prop)
        if source is not None and source_key(source) not in resolved:
            resolved[source_key(source)] = _resolve(uow, source, ctx)
    return resolved


def _picked(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def check_choices(
    schema: Mapping[str, Any] | None,
    data: Mapping[str, Any],
    choices: Mapping[str, list[Choice]],
    ctx: FormContext,
) -> list[FieldError]:
    """Top-level values that are not among their field's choices (a stale page, a councillor
    out of mandate at the séance date, a forged form), in French. Documents are checked by
    the form reader, nested groups by the schema."""
    errors = []
    for name, prop in dict((schema or {}).get("properties", {})).items():
        source = source_of(prop)
        if source is None or source.get("kind") == DOCUMENTS:
            continue
        offered = {c.value for c in choices.get(source_key(source), [])}
        wrong = [v for v in _picked(data.get(name)) if v not in offered]
        if not wrong:
            continue
        if source.get("kind") == "councillors":
            day = _day(ctx, str(source.get("at", ""))).strftime("%d/%m/%Y")
            message = f"pas en mandat le {day} : {', '.join(wrong)}"
        else:
            message = f"choix non proposé : {', '.join(wrong)}"
        errors.append(FieldError(name, message))
    return errors
