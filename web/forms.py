"""HTML forms generated from a task's JSON Schema, and submitted form values read back as JSON.

Every kind of field the procedures use has a widget: text, numbers, yes/no, choices, dates and
date-times (typed in Europe/Paris, stored with their offset), documents picked among the case's
PDFs or uploaded in place, lists of documents, lists picked from a source (see
`engine.services.form_sources`), free lists (one item a line), nested groups and repeatable
groups (arrays of objects). Inputs are named by their path with dots (`demandeur.nom`,
`classement.0.prix_ht`). The engine validates the data against the full schema (conditions
included) and its French messages come back next to each field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.domain.errors import FieldError
from engine.domain.french import PARIS
from engine.services.form_sources import DOCUMENTS, EMPTY, Choice, source_key, source_of

__all__ = [
    "FormField",
    "FormReading",
    "document_inputs",
    "errors_by_field",
    "fields_of",
    "invalid_fields",
    "read_form",
    "read_values",
]

TEXTAREA_FROM = 500
"""Strings allowed to be longer than this are edited in a multi-line text area."""
RADIO_UP_TO = 4
"""Choices with at most this many options are radio buttons, more a drop-down list."""
MAX_ROWS = 200
"""Rows of a repeatable group read from a submitted form, whatever its indices say."""
Choices = Mapping[str, Sequence[Choice]]


@dataclass(frozen=True)
class FormField:
    """One input (or group of inputs) of a generated form."""

    name: str
    """Path with dots, also the input name and (prefixed) its id."""
    label: str
    """French label, from the schema's `title` (the name when missing)."""
    widget: str
    """text, textarea, number, date, datetime-local, email, url, checkbox, radio, select,
    checkboxes, lines, document, documents, group, repeat or unsupported."""
    required: bool = False
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """(value, label) pairs for radio, select, checkboxes and documents."""
    groups: tuple[str, ...] = ()
    """Heading of each option (a select's optgroups), when the source groups them."""
    attrs: dict[str, Any] = field(default_factory=dict)
    """Extra HTML attributes mirroring the schema (maxlength, min, max, step...)."""
    value: Any = None
    error: str | None = None
    hint: str = ""
    """How to type the value (time zone, one item a line), under the label."""
    children: tuple[FormField, ...] = ()
    """The fields of a group."""
    rows: tuple[tuple[FormField, ...], ...] = ()
    """The rows of a repeatable group."""
    template: tuple[FormField, ...] = ()
    """A blank row of a repeatable group, indexed `__i__` (cloned by form-fields.js)."""
    empty: str = "Aucun choix possible pour l'instant."
    """What a choice says when its source offers nothing."""

    @property
    def input_id(self) -> str:
        return "champ-" + self.name.replace(".", "-")

    @property
    def grouped_options(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Options under their headings, in order (one unnamed heading when ungrouped)."""
        grouped: list[tuple[str, list[tuple[str, str]]]] = []
        for index, option in enumerate(self.options):
            group = self.groups[index] if index < len(self.groups) else ""
            if not grouped or grouped[-1][0] != group:
                grouped.append((group, []))
            grouped[-1][1].append(option)
        return grouped

    @property
    def selected(self) -> set[str]:
        """Values picked in a multiple choice (documents by id)."""
        if isinstance(self.value, list):
            return {_choice_value(v) for v in self.value}
        return {_choice_value(self.value)} if self.value not in (None, "") else set()


def _choice_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("id", ""))
    return str(value)


def _is_document(prop: Mapping[str, Any]) -> bool:
    return bool(prop.get("x-document"))


def _kind(prop: Mapping[str, Any]) -> str:
    """The widget a property gets."""
    items = prop.get("items") or {}
    kind = prop.get("type")
    source = source_of(prop)
    if _is_document(prop):
        return "document"
    if kind == "array" and _is_document(items):
        return "documents"
    if kind == "array" and (source is not None or "enum" in items):
        return "checkboxes"
    if source is not None or "enum" in prop:
        if source is None and len(prop["enum"]) <= RADIO_UP_TO:
            return "radio"
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "string":
        fmt = prop.get("format")
        widgets = {"date": "date", "date-time": "datetime-local", "email": "email", "uri": "url"}
        if fmt in widgets:
            return widgets[str(fmt)]
        return "textarea" if int(prop.get("maxLength", 10**9)) > TEXTAREA_FROM else "text"
    if kind == "object" and prop.get("properties"):
        return "group"
    if kind == "array" and items.get("type") == "object" and items.get("properties"):
        return "repeat"
    if kind == "array" and items.get("type") in ("string", "integer", "number"):
        return "lines"
    return "unsupported"


def _attrs(prop: Mapping[str, Any], widget: str) -> dict[str, Any]:
    if widget == "number":
        kind = prop.get("type")
        attrs = {"min": prop.get("minimum"), "max": prop.get("maximum")}
        attrs["step"] = "1" if kind == "integer" else "any"
        return {k: v for k, v in attrs.items() if v is not None}
    if widget in ("text", "textarea", "email", "url"):
        # Not the HTML `maxlength`: a browser silently cuts a pasted text there. The limit goes
        # to the page's script (a counter and a message) and the server says it in French.
        attrs = {"data-maxlength": prop.get("maxLength"), "minlength": prop.get("minLength")}
        return {k: v for k, v in attrs.items() if v is not None}
    return {}


HINTS = {
    "datetime-local": "Heure de Paris.",
    "lines": "Un élément par ligne.",
    "document": "Choisissez un PDF du dossier ou ajoutez-en un.",
    "documents": "Cochez les PDF du dossier à joindre ou ajoutez-en.",
}


def _display(widget: str, value: Any) -> Any:
    """A stored value as the widget shows it."""
    if widget == "datetime-local" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(PARIS)
        return moment.strftime("%Y-%m-%dT%H:%M")
    if widget == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return value


def _error_for(name: str, widget: str, errors: Mapping[str, str]) -> str | None:
    if name in errors:
        return errors[name]
    if widget in ("group", "repeat"):
        return None  # the fields inside show their own messages
    prefix = name + "."
    return next((m for path, m in errors.items() if path.startswith(prefix)), None)


def _options(
    prop: Mapping[str, Any], widget: str, choices: Choices
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    source = source_of(prop)
    if source is not None:
        listed = choices.get(source_key(source), ())
        return tuple((c.value, c.label) for c in listed), tuple(c.group for c in listed)
    enum_of = prop.get("items") if widget == "checkboxes" else prop
    enum_of = enum_of or {}
    labels = enum_of.get("x-labels", {})
    pairs = tuple((str(v), str(labels.get(str(v), v))) for v in enum_of.get("enum", ()))
    return pairs, ()


def _may_be_empty(prop: Mapping[str, Any]) -> bool:
    """A list the schema requires as a key but allows empty (« Annexes ») is not « obligatoire »
    for the person filling the form: they may give none."""
    return prop.get("type") == "array" and int(prop.get("minItems", 0)) == 0


def _field(
    name: str,
    prop: Mapping[str, Any],
    required: bool,
    value: Any,
    errors: Mapping[str, str],
    choices: Choices,
) -> FormField:
    widget = _kind(prop)
    options, groups = _options(prop, widget, choices)
    children: tuple[FormField, ...] = ()
    rows: tuple[tuple[FormField, ...], ...] = ()
    template: tuple[FormField, ...] = ()
    if widget == "group":
        given = value if isinstance(value, Mapping) else {}
        children = tuple(_fields(prop, given, errors, choices, prefix=name + "."))
    elif widget == "repeat":
        items = prop["items"]
        given_rows = [v if isinstance(v, Mapping) else {} for v in value or []]
        count = max(len(given_rows), int(prop.get("minItems", 0)), 1)
        given_rows += [{}] * (count - len(given_rows))
        rows = tuple(
            tuple(_fields(items, row, errors, choices, prefix=f"{name}.{i}."))
            for i, row in enumerate(given_rows[:MAX_ROWS])
        )
        template = tuple(_fields(items, {}, {}, choices, prefix=f"{name}.__i__."))
    source = source_of(prop)
    return FormField(
        name=name,
        label=str(prop.get("title") or name.rsplit(".", 1)[-1]),
        widget=widget,
        required=required and widget != "checkbox" and not _may_be_empty(prop),
        description=str(prop.get("description", "")),
        options=options,
        groups=groups if any(groups) else (),
        attrs=_attrs(prop, widget),
        value=_display(widget, value),
        error=_error_for(name, widget, errors),
        hint=HINTS.get(widget, ""),
        children=children,
        rows=rows,
        template=template,
        empty=EMPTY.get(str(source.get("kind")), FormField.empty) if source else FormField.empty,
    )


def _fields(
    schema: Mapping[str, Any],
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    choices: Choices,
    *,
    prefix: str = "",
) -> list[FormField]:
    required = set(schema.get("required", ()))
    return [
        _field(
            prefix + name,
            prop,
            name in required,
            values.get(name, prop.get("default")),
            errors,
            choices,
        )
        for name, prop in dict(schema.get("properties", {})).items()
    ]


def fields_of(
    schema: Mapping[str, Any] | None,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    choices: Choices | None = None,
) -> list[FormField]:
    """The fields of an object schema, in the schema's order, with values, errors and the
    choices of sourced fields (`engine.services.form_sources.resolve_choices`)."""
    if not schema:
        return []
    return _fields(schema, values or {}, errors or {}, choices or {})


def invalid_fields(fields: Sequence[FormField]) -> list[FormField]:
    """Every field carrying a message, groups and rows included, in page order."""
    found: list[FormField] = []
    for f in fields:
        if f.error:
            found.append(f)
        found += invalid_fields(f.children)
        for row in f.rows:
            found += invalid_fields(row)
    return found


# Reading a submitted form


@dataclass
class FormReading:
    """JSON data read from a form, and the values that could not be read (by dotted path)."""

    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


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


def _paris_moment(raw: str) -> str | None:
    """`2027-03-04T18:30` typed in Paris as ISO 8601 with its offset; None when unreadable."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.isoformat()


def _texts(form: Any, name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    raw = getlist(name) if getlist is not None else [form.get(name)]
    return [v.strip() for v in raw if isinstance(v, str) and v.strip()]


class _Reader:
    def __init__(
        self,
        form: Any,
        documents: Mapping[str, Mapping[str, Any]],
        added: Mapping[str, Sequence[str]],
    ) -> None:
        self.form = form
        self.documents = documents
        self.added = added
        self.errors: dict[str, str] = {}

    def document(self, name: str, doc_id: str) -> dict[str, Any] | None:
        reference = self.documents.get(doc_id)
        if reference is None:
            self.errors[name] = "ce document n'est pas (ou plus) dans le dossier"
            return None
        return {k: reference[k] for k in ("id", "nom", "sha256", "taille") if k in reference}

    def read(self, schema: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {}
        required = set(schema.get("required", ()))
        for key, prop in dict(schema.get("properties", {})).items():
            value = self.value(prefix + key, prop)
            if value is None and not prefix and key in required and _may_be_empty(prop):
                value = []  # none picked: the empty list the schema allows (no annex)
            if value is not None:
                data[key] = value
        return data

    def value(self, name: str, prop: Mapping[str, Any]) -> Any:
        widget = _kind(prop)
        form = self.form
        if widget == "checkbox":
            return form.get(name) in ("on", "true", "1")
        if widget == "document":
            picked = [*_texts(form, name), *self.added.get(name, ())]
            return self.document(name, picked[-1]) if picked else None
        if widget == "documents":
            ids = list(dict.fromkeys([*_texts(form, name), *self.added.get(name, ())]))
            refs = [self.document(name, i) for i in ids]
            return [r for r in refs if r is not None] or None
        if widget == "checkboxes":
            kind = (prop.get("items") or {}).get("type")
            return [_coerce(kind, v) for v in _texts(form, name)] or None
        if widget == "lines":
            raw = form.get(name)
            kind = (prop.get("items") or {}).get("type")
            lines = raw.replace("\r\n", "\n").split("\n") if isinstance(raw, str) else []
            return [_coerce(kind, line.strip()) for line in lines if line.strip()] or None
        if widget == "group":
            group = self.read(prop, name + ".")
            return group if any(v not in (None, False) for v in group.values()) else None
        if widget == "repeat":
            return self.rows(name, prop)
        raw = form.get(name)
        if not isinstance(raw, str):
            return None
        raw = raw.replace("\r\n", "\n").strip()
        if not raw:
            return None
        if widget == "datetime-local":
            moment = _paris_moment(raw)
            if moment is None:
                self.errors[name] = "date et heure attendues (jj/mm/aaaa hh:mm)"
                return raw
            return moment
        return _coerce(prop.get("type"), raw)

    def rows(self, name: str, prop: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        prefix = name + "."
        indices = set()
        for key in self.form:
            head = str(key)[len(prefix) :].split(".", 1)[0] if str(key).startswith(prefix) else ""
            if head.isdigit() and len(head) <= 4:
                indices.add(int(head))
        rows = []
        for index in sorted(indices)[:MAX_ROWS]:
            row = self.read(prop["items"], f"{name}.{index}.")
            if any(v not in (None, False) for v in row.values()):
                rows.append(row)
        return rows or None


def read_values(
    schema: Mapping[str, Any] | None,
    form: Any,
    *,
    documents: Mapping[str, Mapping[str, Any]] | None = None,
    added: Mapping[str, Sequence[str]] | None = None,
) -> FormReading:
    """JSON data from submitted form values: blanks left out, checkboxes as booleans, dates
    and times typed in Paris with their offset, documents as references to the case's PDFs.

    `documents` maps the case's document ids to their references (`Document.reference()`);
    `added` gives, by field, the ids of documents uploaded with the form."""
    if not schema:
        return FormReading({})
    reader = _Reader(form, documents or {}, added or {})
    data = reader.read(schema)
    return FormReading(data, reader.errors)


def read_form(schema: Mapping[str, Any] | None, form: Any) -> dict[str, Any]:
    """JSON data from submitted form values (see `read_values`), without documents."""
    return read_values(schema, form).data


def document_inputs(schema: Mapping[str, Any] | None) -> list[tuple[str, bool]]:
    """(field name, several files) of the schema's top-level document fields: their uploads
    come as `<name>.fichier` (one file) or `<name>.fichiers` (several)."""
    found = []
    for name, prop in dict((schema or {}).get("properties", {})).items():
        source = source_of(prop)
        if source is not None and source.get("kind") == DOCUMENTS:
            found.append((name, prop.get("type") == "array"))
    return found


def errors_by_field(
    schema: Mapping[str, Any] | None, errors: Sequence[FieldError]
) -> tuple[dict[str, str], list[str]]:
    """Messages keyed by field path (dots), and the messages that belong to no single field."""
    names = set(dict((schema or {}).get("properties", {})))
    by_field: dict[str, str] = {}
    general: list[str] = []
    for error in errors:
        head = error.path.split("/", 1)[0]
        if head in names:
            by_field.setdefault(error.path.replace("/", "."), error.message)
        else:
            general.append(f"{error.path or 'formulaire'} : {error.message}")
    return by_field, general
