"""Anonymising declared personal data inside a case's workflow state (every task's data, the
subprocesses, the events' internal data), for the RGPD purge.

SpiffWorkflow keeps a copy of the case data on each task, so a key is replaced on every task
that holds it; copies the model made elsewhere (an offer appended to a list, an e-mail address
in a mail's parameters) are caught by their values: wherever they appear as words of a text
(« Madame Moreau »), or as a whole value when very short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from engine.domain.personal_data import ANONYMISED

__all__ = ["Erased", "anonymise_value", "anonymise_workflow", "scrub"]

SUBSTRING_MIN = 3
"""Values at least this long are removed inside longer texts too, as whole words."""
WHOLE_MIN = 2


@dataclass
class Erased:
    """What one anonymisation removed: the paths (never their values), the documents referred to,
    and the removed texts (kept in memory only, to scrub their copies elsewhere)."""

    paths: set[str] = field(default_factory=set)
    documents: dict[str, str] = field(default_factory=dict)
    """Document id → its sha256, for the documents the anonymised values referred to."""
    values: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not self.paths and not self.documents


def _is_document(value: Mapping[str, Any]) -> bool:
    return isinstance(value.get("id"), str) and isinstance(value.get("sha256"), str)


def anonymise_value(value: Any, erased: Erased) -> Any:
    """The value with every text replaced by ANONYMISED and every number or boolean by None;
    a document reference keeps its id and digest (not personal) and loses its name."""
    if isinstance(value, Mapping):
        if _is_document(value):
            erased.documents[str(value["id"])] = str(value["sha256"])
            kept = {k: value[k] for k in ("id", "sha256") if k in value}
            return {**kept, "nom": ANONYMISED} if "nom" in value else kept
        return {k: anonymise_value(v, erased) for k, v in value.items()}
    if isinstance(value, list):
        return [anonymise_value(v, erased) for v in value]
    if isinstance(value, str):
        if value != ANONYMISED and len(value) >= WHOLE_MIN:
            erased.values.add(value)
        return ANONYMISED
    return None


def _anonymise_path(data: MutableMapping[str, Any], path: str, erased: Erased) -> None:
    *parents, last = path.split(".")
    holder: Any = data
    for part in parents:
        holder = holder.get(part) if isinstance(holder, MutableMapping) else None
    if not isinstance(holder, MutableMapping) or holder.get(last) is None:
        return
    before = holder[last]
    after = anonymise_value(before, erased)
    if after != before:
        holder[last] = after
        erased.paths.add(path)


def scrub(value: Any, texts: Iterable[str]) -> Any:
    """The value with the given texts removed wherever they appear (see the module's rule)."""
    whole = {t for t in texts if len(t) >= WHOLE_MIN}
    if not whole:
        return value
    inner = sorted((t for t in whole if len(t) >= SUBSTRING_MIN), key=len, reverse=True)
    pattern = None
    if inner:
        words = "|".join(re.escape(t) for t in inner)
        pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
    return _scrub(value, whole, pattern)


def _scrub(value: Any, whole: set[str], inner: re.Pattern[str] | None) -> Any:
    if isinstance(value, str):
        if value in whole:
            return ANONYMISED
        return inner.sub(ANONYMISED, value) if inner is not None else value
    if isinstance(value, Mapping):
        if _is_document(value):
            return {k: _scrub(v, whole, inner) if k == "nom" else v for k, v in value.items()}
        return {k: _scrub(v, whole, inner) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, whole, inner) for v in value]
    return value


def _scrub_in_place(data: MutableMapping[str, Any], texts: set[str], erased: Erased) -> None:
    for key in list(data):
        if key.startswith("spiff__"):
            continue
        after = scrub(data[key], texts)
        if after != data[key]:
            data[key] = after
            erased.paths.add(key)


def anonymise_workflow(workflow: Any, paths: Iterable[str]) -> Erased:
    """Anonymise `paths` on every task (and the workflows' own data), then their copies."""
    erased = Erased()
    workflows = [workflow, *workflow.subprocesses.values()]
    holders: list[MutableMapping[str, Any]] = [w.data for w in workflows]
    holders += [task.data for w in workflows for task in w.tasks.values()]
    wanted = list(paths)
    for data in holders:
        for path in wanted:
            _anonymise_path(data, path, erased)
    if erased.values:
        for data in holders:
            _scrub_in_place(data, erased.values, erased)
        for w in workflows:
            for task in w.tasks.values():
                task.internal_data = scrub(task.internal_data, erased.values)
    return erased
