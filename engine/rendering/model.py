"""What a template is (parsed from YAML) and what it resolves to (plain text blocks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Block",
    "BlockSpec",
    "Column",
    "Condition",
    "ResolvedDocument",
    "Template",
]

BlockKind = Literal["texte", "intertitre", "lignes", "mentions", "tableau", "liste"]
Style = Literal["normal", "gras", "petit", "encadre"]
ConditionKind = Literal["si", "si_non", "si_egal", "si_renseigne", "si_absent"]


@dataclass(frozen=True)
class Condition:
    """When a block is shown, decided by one context field."""

    kind: ConditionKind
    """``si``/``si_non``: the field is required, truthy/falsy; ``si_egal``: required, equal to
    ``value``; ``si_renseigne``/``si_absent``: optional, present/absent."""
    field: str
    """Dotted path of the field in the context."""
    value: str | None = None
    """The compared value, for ``si_egal`` only."""


@dataclass(frozen=True)
class Column:
    """One column of a table built from a list of the context."""

    heading: str
    """Column heading (fixed text)."""
    value: str
    """Pattern resolved against each item: ``{numero}``, ``{prix_ht|montant}``."""
    width: float
    """Relative width."""


@dataclass(frozen=True)
class BlockSpec:
    """One block of a template, before the context is applied."""

    kind: BlockKind
    """What the block is; the fields used depend on it."""
    texts: tuple[str, ...] = ()
    """Patterns: one for ``texte``/``intertitre``, one per line for ``lignes``."""
    pairs: tuple[tuple[str, str], ...] = ()
    """``mentions``: (label, pattern) rows of a two-column table."""
    source: str = ""
    """``tableau``/``liste``: the list field the rows or bullets come from."""
    columns: tuple[Column, ...] = ()
    """``tableau``: its columns."""
    item: str = ""
    """``liste``: pattern of one bullet, resolved against each item (``{element}``)."""
    style: Style = "normal"
    """Text emphasis: normal, gras (bold), petit (small print), encadre (framed)."""
    condition: Condition | None = None
    """When the block is shown; always when None."""


@dataclass(frozen=True)
class Template:
    """A document model: one YAML file of ``engine/rendering/modeles``."""

    name: str
    """The ``modele`` name, also the file name."""
    title: str
    """Pattern of the document title (heading and PDF metadata)."""
    file_stem: str
    """Pattern of the file name, without ``.pdf``."""
    fields: Mapping[str, str]
    """Every context field the template reads → its French description (for error messages);
    fields of list items are written ``liste[].champ``."""
    choices: Mapping[str, tuple[str, ...]]
    """Fields whose value must be one of a closed set."""
    blocks: tuple[BlockSpec, ...]
    """The body, in order."""


@dataclass(frozen=True)
class Block:
    """A resolved block: only plain text, ready to lay out."""

    kind: BlockKind
    """As in the template."""
    texts: tuple[str, ...] = ()
    """Paragraph text, lines, or bullets."""
    headings: tuple[str, ...] = ()
    """Table headings (empty for ``mentions``)."""
    widths: tuple[float, ...] = ()
    """Relative column widths."""
    rows: tuple[tuple[str, ...], ...] = ()
    """Table rows."""
    style: Style = "normal"
    """Text emphasis."""


@dataclass(frozen=True)
class ResolvedDocument:
    """A template applied to a context: what the PDF writer lays out."""

    template: str
    """The template name."""
    title: str
    """Document title."""
    file_name: str
    """File name, ending in ``.pdf``."""
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    """The body."""
