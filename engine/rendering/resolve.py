"""Apply a template to a context: every placeholder becomes plain text, or a listed gap."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.domain.french import FormatError
from engine.rendering.errors import MissingField, MissingFields, RenderLimitExceeded
from engine.rendering.formatting import FILTERS
from engine.rendering.model import Block, BlockSpec, Condition, ResolvedDocument, Template
from engine.rendering.templates import ITEM, PLACEHOLDER

__all__ = ["ContextLimits", "resolve"]

_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ue000-\uf8ff]"
)
"""Control, bidirectional-override and private-use characters (the PDF writer uses the latter)."""
_FILE_UNSAFE = re.compile(r"[^\w.-]+", re.UNICODE)


@dataclass(frozen=True)
class ContextLimits:
    """Bounds on what a context may hold, checked before anything is laid out."""

    max_context_bytes: int = 1_000_000
    """Size of the context serialised as JSON."""
    max_text_chars: int = 100_000
    """Length of one resolved text (a paragraph, a cell)."""
    max_items: int = 1_000
    """Items of one list shown as a table or bullets."""


def _clean(text: str) -> str:
    """Plain text for the PDF: no control or bidirectional-override characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", text)


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip())


class _Resolver:
    def __init__(self, template: Template, context: Mapping[str, Any], limits: ContextLimits):
        self.template = template
        self.context = context
        self.limits = limits
        self.gaps: dict[str, MissingField] = {}

    def gap(self, path: str, label_key: str, problem: str = "absent") -> None:
        label = self.template.fields.get(label_key, label_key)
        self.gaps.setdefault(path, MissingField(path, label, problem))

    def lookup(self, scope: Any, path: str) -> Any:
        value = scope
        for part in path.split("."):
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    def value(self, path: str, *, scope: Any = None, where: str = "", key: str = "") -> Any:
        """The value at `path`, or None after recording the gap."""
        value = self.lookup(self.context if scope is None else scope, path)
        full = f"{where}.{path}" if where else path
        if _is_missing(value) or (isinstance(value, list | dict) and not value):
            self.gap(full, key or path)
            return None
        allowed = self.template.choices.get(key or path)
        if allowed is not None and str(value) not in allowed:
            self.gap(
                full,
                key or path,
                f"valeur inattendue « {str(value)[:60]} » (attendu : {', '.join(allowed)})",
            )
            return None
        return value

    def text(self, pattern: str, *, scope: Any = None, where: str = "", source: str = "") -> str:
        def substitute(match: re.Match[str]) -> str:
            path, name = match.group(1), match.group(2) or "texte"
            if scope is not None and path == ITEM:
                value, full = scope, where
                if _is_missing(value):
                    self.gap(full, f"{source}[].{ITEM}")
                    return ""
            else:
                key = f"{source}[].{path}" if source else path
                value = self.value(path, scope=scope, where=where, key=key)
                full = f"{where}.{path}" if where else path
                if value is None:
                    return ""
            try:
                return FILTERS[name](value)
            except FormatError as exc:
                self.gap(full, f"{source}[].{path}" if source else path, str(exc))
                return ""

        text = _clean(PLACEHOLDER.sub(substitute, pattern))
        if len(text) > self.limits.max_text_chars:
            raise RenderLimitExceeded(
                f"Texte trop long pour le document ({len(text)} caractères, "
                f"maximum {self.limits.max_text_chars})."
            )
        return text

    def shown(self, condition: Condition | None) -> bool:
        if condition is None:
            return True
        present = self.lookup(self.context, condition.field)
        if condition.kind == "si_renseigne":
            return not _is_missing(present) and present != []
        if condition.kind == "si_absent":
            return _is_missing(present) or present == []
        value = self.value(condition.field)
        if value is None and present is None:
            return False
        if condition.kind == "si_egal":
            return str(value) == condition.value
        return bool(present) if condition.kind == "si" else not present

    def items(self, source: str) -> list[Any]:
        value = self.value(source)
        if value is None:
            return []
        if not isinstance(value, list):
            self.gap(source, source, "une liste est attendue")
            return []
        if len(value) > self.limits.max_items:
            raise RenderLimitExceeded(
                f"Liste « {source} » trop longue ({len(value)} éléments, "
                f"maximum {self.limits.max_items})."
            )
        return value

    def block(self, spec: BlockSpec) -> Block | None:
        if not self.shown(spec.condition):
            return None
        if spec.kind == "mentions":
            pairs: tuple[tuple[str, ...], ...] = tuple(
                (self.text(label), self.text(p)) for label, p in spec.pairs
            )
            return Block("mentions", rows=pairs, widths=(1.0, 2.0), style=spec.style)
        if spec.kind == "tableau":
            rows = tuple(
                tuple(
                    self.text(c.value, scope=item, where=f"{spec.source}[{n}]", source=spec.source)
                    for c in spec.columns
                )
                for n, item in enumerate(self.items(spec.source), start=1)
            )
            return Block(
                "tableau",
                headings=tuple(c.heading for c in spec.columns),
                widths=tuple(c.width for c in spec.columns),
                rows=rows,
                style=spec.style,
            )
        if spec.kind == "liste":
            bullets = tuple(
                self.text(spec.item, scope=item, where=f"{spec.source}[{n}]", source=spec.source)
                for n, item in enumerate(self.items(spec.source), start=1)
            )
            return Block("liste", texts=bullets, style=spec.style)
        return Block(spec.kind, texts=tuple(self.text(t) for t in spec.texts), style=spec.style)


def _check_size(context: Mapping[str, Any], limits: ContextLimits) -> None:
    try:
        size = len(json.dumps(context, ensure_ascii=False, default=str).encode())
    except (TypeError, ValueError) as exc:
        raise RenderLimitExceeded(f"Contexte illisible : {exc}") from exc
    if size > limits.max_context_bytes:
        raise RenderLimitExceeded(
            f"Contexte trop volumineux ({size} octets, maximum {limits.max_context_bytes})."
        )


def resolve(
    template: Template, context: Mapping[str, Any], *, limits: ContextLimits | None = None
) -> ResolvedDocument:
    """Apply `template` to `context`; raises `MissingFields` listing every gap at once."""
    limits = limits or ContextLimits()
    _check_size(context, limits)
    resolver = _Resolver(template, context, limits)
    title = resolver.text(template.title)
    stem = resolver.text(template.file_stem)
    blocks = tuple(b for b in (resolver.block(s) for s in template.blocks) if b is not None)
    if resolver.gaps:
        raise MissingFields(template.name, list(resolver.gaps.values()))
    safe_stem = _FILE_UNSAFE.sub("_", stem).strip("._")[:150] or template.name
    return ResolvedDocument(
        template=template.name, title=title, file_name=f"{safe_stem}.pdf", blocks=blocks
    )
