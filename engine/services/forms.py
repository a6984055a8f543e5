"""Validation of submitted task data against the task's JSON Schema, with French messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import jsonschema

from engine.domain.errors import FieldError, FormValidationError
from engine.services.form_checks import cross_checks


def _message(error: jsonschema.ValidationError) -> str:
    validator, value = error.validator, cast(Any, error.validator_value)
    messages = {
        "required": lambda: "ce champ est obligatoire",
        "type": lambda: f"type attendu : {_TYPES.get(str(value), value)}",
        "enum": lambda: (
            "valeur non autorisée (choix possibles : " + ", ".join(str(v) for v in value) + ")"
        ),
        "const": lambda: f"la valeur doit être {value!r}",
        "minLength": lambda: f"au moins {value} caractère(s)",
        "maxLength": lambda: _too_long(value, error.instance),
        "minimum": lambda: f"doit être supérieur ou égal à {value}",
        "maximum": lambda: f"doit être inférieur ou égal à {value}",
        "exclusiveMinimum": lambda: f"doit être strictement supérieur à {value}",
        "exclusiveMaximum": lambda: f"doit être strictement inférieur à {value}",
        "pattern": lambda: "format incorrect",
        "format": lambda: f"format {value} attendu",
        "minItems": lambda: f"au moins {value} élément(s)",
        "maxItems": lambda: f"au plus {value} élément(s)",
        "additionalProperties": lambda: "champ inconnu",
    }
    make: Callable[[], str] | None = messages.get(str(validator))
    return make() if make is not None else f"valeur invalide ({validator})"


def _too_long(limit: object, text: object) -> str:
    """Nothing is cut: the person learns the limit and how long their text is."""
    length = len(text) if isinstance(text, str) else 0
    return f"{limit} caractères au plus ; le texte saisi en compte {length} : raccourcissez-le"


_TYPES = {
    "string": "texte",
    "integer": "nombre entier",
    "number": "nombre",
    "boolean": "oui/non",
    "object": "objet",
    "array": "liste",
}


def _path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        parts.append(missing)
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        extra = sorted(
            set(error.instance) - set(schema.get("properties", {}))
            if isinstance(error.instance, dict)
            else []
        )
        parts.append(",".join(extra))
    return "/".join(p for p in parts if p)


def validate_form(schema: dict[str, Any] | None, data: Any) -> dict[str, Any]:
    """Return the data when valid; raise FormValidationError listing every invalid field."""
    if not isinstance(data, dict):
        raise FormValidationError([FieldError("", "un objet JSON est attendu")])
    if schema is None:
        return data
    validator = jsonschema.Draft202012Validator(
        schema,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    found = [FieldError(_path(e), _message(e)) for e in errors] + cross_checks(schema, data)
    if found:
        raise FormValidationError(found)
    return data
