"""HTML forms generated from a task's JSON Schema, and submitted form values read back as JSON.

Only flat object schemas are rendered field by field (the forms of the procedures are flat);
the engine validates the data against the full schema (conditions included) and its French
messages come back next to each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.domain.errors import FieldError

__all__ = ["FormField", "errors_by_field", "fields_of", "read_form"]

TEXTAREA_FROM = 500
"""Strings allowed to be longer than this are edited in a multi-line text area."""
RADIO_UP_TO = 4
"""Choices with at most this many options are radio buttons, more a drop-down list."""


@dataclass(frozen=True)
class FormField:
    """One input of a generated form."""

    name: str
    """Property name, also the input name and (prefixed) its id."""
    label: str
    """French label, from the schema's `title` (the name when missing)."""
    widget: str
    """text, textarea, number, date, email, checkbox, radio, select or unsupported."""
    required: bool = False
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs for radio and select."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Extra HTML attributes mirroring the schema (maxlength, min, max, step...)."""
    value: Any = None
    error: str | None = None

    @property
    def input_id(self) -> str:
        return f"champ-{self.name}"


def _widget(prop: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = prop.get("type")
    if "enum" in prop:
        return ("radio" if len(prop["enum"]) <= RADIO_UP_TO else "select"), {}
    if kind == "boolean":
        return "checkbox", {}
    if kind in ("integer", "number"):
        attrs = {"min": prop.get("minimum"), "max": prop.get("maximum")}
        attrs["step"] = "1" if kind == "integer" else "any"
        return "number", {k: v for k, v in attrs.items() if v is not None}
    if kind == "string":
        # Not the HTML `maxlength`: a browser silently cuts a pasted text there. The limit goes
        # to the page's script (a counter and a message) and the server says it in French.
        attrs = {"data-maxlength": prop.get("maxLength"), "minlength": prop.get("minLength")}
        attrs = {k: v for k, v in attrs.items() if v is not None}
        fmt = prop.get("format")
        if fmt in ("date", "email"):
            return str(fmt), attrs
        if int(prop.get("maxLength", 10**9)) > TEXTAREA_FROM:
            return "textarea", attrs
        return "text", attrs
    return "unsupported", {}


def fields_of(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FormField]:
    """The fields of a flat object schema, in the schema's order, with values and errors."""
    if not schema:
        return []
    required = set(schema.get("required", ()))
    values, errors = values or {}, errors or {}
    fields = []
    for name, prop in dict(schema.get("properties", {})).items():
        widget, attrs = _widget(prop)
        labels = prop.get("x-labels", {})
        options = tuple((str(v), str(labels.get(str(v), v))) for v in prop.get("enum", ()))
        fields.append(
            FormField(
                name=name,
                label=str(prop.get("title") or name),
                widget=widget,
                required=name in required and widget != "checkbox",
                description=str(prop.get("description", "")),
                options=options,
                attrs=attrs,
                value=values.get(name, prop.get("default")),
                error=errors.get(name),
            )
        )
    return fields


def _coerce(kind: Any, raw: str) -> Any:
    """Numbers are converted when they parse; otherwise the text goes on so that the engine's
    validation names the field and the expected type."""
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            return raw
    return raw


def read_form(schema: Mapping[str, Any] | None, form: Mapping[str, Any]) -> dict[str, Any]:
    """JSON data from submitted form values: blanks left out, checkboxes as booleans."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    for name, prop in dict(schema.get("properties", {})).items():
        kind = prop.get("type")
        if kind == "boolean" and "enum" not in prop:
            data[name] = form.get(name) in ("on", "true", "1")
            continue
        raw = form.get(name)
        if not isinstance(raw, str):
            continue
        raw = raw.replace("\r\n", "\n").strip()
        if raw:
            data[name] = _coerce(kind, raw)
    return data


def errors_by_field(
    schema: Mapping[str, Any] | None, errors: list[FieldError]
) -> tuple[dict[str, str], list[str]]:
    """Messages keyed by top-level field, and the messages that belong to no single field."""
    names = set(dict((schema or {}).get("properties", {})))
    by_field: dict[str, str] = {}
    general: list[str] = []
    for error in errors:
        head = error.path.split("/", 1)[0]
        if head in names:
            by_field.setdefault(head, error.message)
        else:
            general.append(f"{error.path or 'formulaire'} : {error.message}")
    return by_field, general
