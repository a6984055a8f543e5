"""Load and check the document models (YAML files in ``engine/rendering/modeles``)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, cast, get_args

import yaml

from engine.rendering.errors import TemplateError, UnknownTemplate
from engine.rendering.formatting import FILTERS
from engine.rendering.model import (
    BlockKind,
    BlockSpec,
    Column,
    Condition,
    ConditionKind,
    Style,
    Template,
)

__all__ = ["PLACEHOLDER", "load_template", "template_names"]

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)(?:\|([a-z_]+))?\}")
"""``{champ}``, ``{champ.sous_champ}``, ``{champ|filtre}``; no other braces are allowed."""
ITEM = "element"
"""In a row or bullet pattern, ``{element}`` is the item itself (a list of strings)."""
_CONDITIONS: tuple[str, ...] = get_args(ConditionKind)
_KINDS: tuple[str, ...] = get_args(BlockKind)
_STYLES: tuple[str, ...] = get_args(Style)


def _directory() -> Any:
    return resources.files("engine.rendering") / "modeles"


def template_names() -> list[str]:
    """Every available ``modele``."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _directory().iterdir()
        if entry.name.endswith(".yaml")
    )


@cache
def load_template(name: str) -> Template:
    """The named template, parsed and checked (cached: the files are part of the code)."""
    if not NAME.match(name):
        raise UnknownTemplate(f"Nom de modèle invalide « {name[:80]} ».")
    entry = _directory() / f"{name}.yaml"
    if not entry.is_file():
        raise UnknownTemplate(
            f"Modèle de document inconnu « {name} » ; modèles disponibles : "
            + ", ".join(template_names())
            + "."
        )
    try:
        raw = yaml.safe_load(entry.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"Modèle « {name} » : YAML invalide ({exc}).") from exc
    try:
        return _parse(name, raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"Modèle « {name} » : {exc}") from exc


def _parse(name: str, raw: Any) -> Template:
    if not isinstance(raw, dict):
        raise TypeError("le fichier doit être un objet YAML")
    fields = {str(k): str(v) for k, v in (raw.get("champs") or {}).items()}
    choices = {str(k): tuple(str(x) for x in v) for k, v in (raw.get("choix") or {}).items()}
    template = Template(
        name=name,
        title=str(raw["titre"]),
        file_stem=str(raw["fichier"]),
        fields=fields,
        choices=choices,
        blocks=tuple(_block(b) for b in raw["blocs"]),
    )
    _check_fields(template)
    return template


def _condition(raw: dict[str, Any]) -> Condition | None:
    found = [k for k in _CONDITIONS if k in raw]
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f"un bloc a plusieurs conditions : {found}")
    kind = cast(ConditionKind, found[0])
    value = raw[kind]
    if kind == "si_egal":
        return Condition(kind, str(value["champ"]), str(value["valeur"]))
    return Condition(kind, str(value))


def _block(raw: Any) -> BlockSpec:
    if not isinstance(raw, dict):
        raise TypeError(f"bloc invalide : {raw!r}")
    kinds = [k for k in _KINDS if k in raw]
    if len(kinds) != 1:
        raise ValueError(f"un bloc doit avoir exactement un type parmi {_KINDS} : {raw!r}")
    kind = cast(BlockKind, kinds[0])
    style = str(raw.get("style", "normal"))
    if style not in _STYLES:
        raise ValueError(f"style inconnu « {style} »")
    common: dict[str, Any] = {"style": style, "condition": _condition(raw)}
    body = raw[kind]
    if kind in ("texte", "intertitre"):
        return BlockSpec(kind, texts=(str(body),), **common)
    if kind == "lignes":
        return BlockSpec(kind, texts=tuple(str(x) for x in body), **common)
    if kind == "mentions":
        return BlockSpec(kind, pairs=tuple((str(a), str(b)) for a, b in body), **common)
    if kind == "tableau":
        columns = tuple(Column(str(h), str(v), float(w)) for h, v, w in body["colonnes"])
        return BlockSpec(kind, source=str(body["source"]), columns=columns, **common)
    return BlockSpec(kind, source=str(body["source"]), item=str(body["element"]), **common)


def _placeholders(pattern: str) -> list[tuple[str, str | None]]:
    if PLACEHOLDER.sub("", pattern).count("{") or PLACEHOLDER.sub("", pattern).count("}"):
        raise ValueError(f"accolade isolée ou champ mal écrit dans « {pattern} »")
    found = [(m.group(1), m.group(2)) for m in PLACEHOLDER.finditer(pattern)]
    for _, flt in found:
        if flt is not None and flt not in FILTERS:
            raise ValueError(f"filtre inconnu « {flt} » dans « {pattern} »")
    return found


def _check_fields(template: Template) -> None:
    """Every field read must be described, so that an error can say what is missing."""
    used: set[str] = set()
    for pattern in (template.title, template.file_stem):
        used.update(path for path, _ in _placeholders(pattern))
    for block in template.blocks:
        if block.condition is not None:
            used.add(block.condition.field)
        for pattern in (*block.texts, *(p for pair in block.pairs for p in pair)):
            used.update(path for path, _ in _placeholders(pattern))
        if block.source:
            used.add(block.source)
            item_patterns = [c.value for c in block.columns] + ([block.item] if block.item else [])
            for pattern in item_patterns:
                used.update(
                    f"{block.source}[].{path}" for path, _ in _placeholders(pattern) if path != ITEM
                )
    undescribed = sorted(used - set(template.fields))
    if undescribed:
        raise ValueError(f"champs utilisés sans description dans « champs » : {undescribed}")
    unknown_choices = sorted(set(template.choices) - set(template.fields))
    if unknown_choices:
        raise ValueError(f"« choix » sur des champs non décrits : {unknown_choices}")
