"""Deployment check of a procedure's `personal_data:` declaration against its own files: every
declared data key must be one the procedure writes (a form field, a message payload, a service
result, a script assignment), so a typo never leaves personal data unpurged unnoticed."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from engine.domain.errors import ProcessDefinitionError
from engine.domain.personal_data import CLOSURE, PersonalDataDeclaration
from engine.runtime.evaluator_check import parse_python

__all__ = ["check_personal_data", "written_keys"]

_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def written_keys(
    files: Mapping[str, bytes], forms: Mapping[str, Mapping[str, Any]]
) -> dict[str, Mapping[str, Any] | None]:
    """Top-level data keys the procedure writes, with the JSON Schema of their value when a form
    or a message schema gives it (None when a script or a service result writes it)."""
    keys: dict[str, Mapping[str, Any] | None] = {}
    schemas = list(forms.values())
    schemas += [_json(content) for name, content in files.items() if name.startswith("messages/")]
    for schema in schemas:
        for name, prop in (schema.get("properties") or {}).items():
            keys.setdefault(str(name), prop if isinstance(prop, Mapping) else None)
    for name, content in files.items():
        if name.endswith((".bpmn", ".bpmn20.xml")):
            for key in _bpmn_keys(content):
                keys.setdefault(key, None)
    return keys


def _json(content: bytes) -> Mapping[str, Any]:
    import json

    try:
        loaded = json.loads(content)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


def _bpmn_keys(content: bytes) -> Iterable[str]:
    try:
        root = etree.fromstring(content, _SAFE_XML)
    except etree.XMLSyntaxError:
        return []  # the BPMN parser reports it
    found: list[str] = [str(v) for v in root.xpath("//@resultVariable")]
    found += [str(t).strip() for t in root.xpath("//*[local-name()='messageVariable']/text()")]
    found += [f"{t}_par" for t in root.xpath("//*[local-name()='userTask']/@id")]
    scripts = root.xpath(
        "//*[local-name()='script' or local-name()='preScript' or local-name()='postScript']/text()"
    )
    for script in scripts:
        try:
            tree = parse_python(str(script))
        except (SyntaxError, ValueError):
            continue  # the expression checker reports it
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.append(node.id)
    return found


def check_personal_data(
    declaration: PersonalDataDeclaration,
    files: Mapping[str, bytes],
    forms: Mapping[str, Mapping[str, Any]],
) -> None:
    """Raise ProcessDefinitionError naming the first declared key the procedure never writes."""
    keys = written_keys(files, forms)
    where = "procedure.yaml, personal_data"
    for personal in declaration.fields:
        _check_path(personal.path, keys, f"{where}.fields.{personal.path}")
    for personal in declaration.fields:
        for path in personal.retention.after:
            if path != CLOSURE:
                _check_path(path, keys, f"{where} (retention.after « {path} »)")
    for path in declaration.retention.after if declaration.retention else ():
        if path != CLOSURE:
            _check_path(path, keys, f"{where}.retention.after « {path} »")


def _check_path(path: str, keys: Mapping[str, Mapping[str, Any] | None], where: str) -> None:
    first, *rest = path.split(".")
    if first not in keys:
        known = ", ".join(sorted(keys)[:40])
        raise ProcessDefinitionError(
            f"{where} : la procédure n'écrit jamais la donnée « {first} » "
            f"(ni formulaire, ni message, ni résultat, ni script). Données connues : {known}"
        )
    schema = keys[first]
    for part in rest:
        if schema is None:
            return  # written by a script or a service: its inner keys are not described
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return
        if part not in properties:
            raise ProcessDefinitionError(
                f"{where} : le champ « {part} » n'existe pas dans « {first} » "
                f"(champs : {', '.join(sorted(properties))})"
            )
        inner = properties[part]
        schema = inner if isinstance(inner, Mapping) else None
