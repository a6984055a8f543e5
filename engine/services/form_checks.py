"""Checks across fields that JSON Schema cannot say, declared in the form's schema.

`x-dematflow-checks` lists totals to compare (JSON Schema validators ignore the keyword):
`{"sum": [fields…], "equals" | "at_most": [fields…], "field": "<where the message goes>",
"message": "… {gauche} … {droite} …"}`. A check whose fields are missing or not integers is
skipped: the schema's own messages already name them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.domain.errors import FieldError

__all__ = ["CHECKS_KEYWORD", "cross_checks"]

CHECKS_KEYWORD = "x-dematflow-checks"


def _total(data: Mapping[str, Any], names: Any) -> int | None:
    if not isinstance(names, list) or not names:
        return None
    values = [data.get(str(n)) for n in names]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    return sum(values)  # type: ignore[arg-type]


def cross_checks(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> list[FieldError]:
    """The declared totals that disagree, each with its French message."""
    errors = []
    for check in (schema or {}).get(CHECKS_KEYWORD, ()):
        if not isinstance(check, Mapping):
            continue
        left = _total(data, check.get("sum"))
        right = _total(data, check.get("equals", check.get("at_most")))
        if left is None or right is None:
            continue
        wrong = left != right if "equals" in check else left > right
        if wrong:
            where = str(check.get("field") or check["sum"][0])
            message = str(check.get("message", "totaux incohérents ({gauche} / {droite})"))
            errors.append(FieldError(where, message.format(gauche=left, droite=right)))
    return errors
