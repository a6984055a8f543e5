"""Checks across fields that JSON Schema cannot say, declared in the form's schema.

`x-dematflow-checks` lists totals to compare (JSON Schema validators ignore the keyword):
`{"sum": [fields…], "equals" | "at_most": [fields…], "field": "<where the message goes>",
"message": "… {gauche} … {droite} …"}`. A check whose fields are missing or not integers is
skipped: the schema's own messages already name them.

`x-dematflow-min-delays` lists legal minimum delays between the moment a task is done and a
date-time field: `{"field": "date_limite_offres", "days": 35, "when": {"procedure": "formalisee"},
"message": "… {jours} … {au_plus_tot} …"}`; `when` is matched against the case data and the
form's (the procedure the thresholds chose). `{"field": "deposee_le", "past": true, "message":
"… {maintenant} …"}` refuses a reported date later than now. They need the clock, so the engine checks them when
the task is completed (`timed_checks`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from engine.domain.errors import FieldError
from engine.domain.french import format_datetime_fr

__all__ = ["CHECKS_KEYWORD", "DELAYS_KEYWORD", "cross_checks", "timed_checks"]

CHECKS_KEYWORD = "x-dematflow-checks"
DELAYS_KEYWORD = "x-dematflow-min-delays"
MAX_DELAY_DAYS = 3660


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


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value[:40])
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def timed_checks(
    schema: Mapping[str, Any] | None,
    data: Mapping[str, Any],
    case_data: Mapping[str, Any],
    now: datetime,
) -> list[FieldError]:
    """The declared minimum delays `data` does not respect at `now`, each with its message."""
    errors = []
    known = {**case_data, **data}
    for check in (schema or {}).get(DELAYS_KEYWORD, ()):
        if not isinstance(check, Mapping):
            continue
        when = check.get("when") or {}
        if not isinstance(when, Mapping) or any(known.get(k) != v for k, v in when.items()):
            continue
        days = check.get("days")
        where = str(check.get("field") or "")
        moment = _moment(data.get(where))
        if check.get("past") is True:  # a date a person reports: not later than now
            if moment is not None and moment > now:
                message = str(check.get("message", "date postérieure à maintenant ({maintenant})"))
                errors.append(FieldError(where, message.format(maintenant=format_datetime_fr(now))))
            continue
        if not isinstance(days, int) or not 0 < days <= MAX_DELAY_DAYS or moment is None:
            continue  # a missing or unreadable date has the schema's own message
        earliest = now + timedelta(days=days)
        if moment < earliest:
            message = str(
                check.get("message", "au moins {jours} jours ; au plus tôt le {au_plus_tot}")
            )
            errors.append(
                FieldError(
                    where, message.format(jours=days, au_plus_tot=format_datetime_fr(earliest))
                )
            )
    return errors
