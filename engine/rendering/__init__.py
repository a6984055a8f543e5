"""French PDF documents (letters, decisions, lists) from declarative templates and case data.

Templates are YAML files in ``modeles/``: a title, a file name, the fields they read (with a
French description for error messages) and blocks of text, mentions, tables and lists whose
``{placeholders}`` take values from the context only. Context values are always plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.domain.training import in_training
from engine.rendering.errors import (
    FontMissing,
    MissingField,
    MissingFields,
    RenderError,
    RenderLimitExceeded,
    TemplateError,
    UnknownTemplate,
)
from engine.rendering.limits import FontFiles, PageLimits
from engine.rendering.resolve import ContextLimits, resolve
from engine.rendering.templates import load_template, template_names

__all__ = [
    "ContextLimits",
    "FontFiles",
    "FontMissing",
    "MissingField",
    "MissingFields",
    "PageLimits",
    "RenderError",
    "RenderLimitExceeded",
    "RenderRequest",
    "RenderedPdf",
    "TemplateError",
    "UnknownTemplate",
    "render_pdf",
    "template_names",
]


@dataclass(frozen=True)
class RenderRequest:
    """A document to produce."""

    template: str
    """The ``modele`` name (a file of ``engine/rendering/modeles``)."""
    context: Mapping[str, Any]
    """Case data the template reads; nothing else goes into the document."""
    issuer: str
    """The collectivité's name: letterhead and PDF author."""
    issued_at: datetime
    """When the document is produced: footer date and PDF creation date (aware)."""
    context_limits: ContextLimits = field(default_factory=ContextLimits)
    """Bounds on the context."""
    page_limits: PageLimits = field(default_factory=PageLimits)
    """Bounds on the PDF."""
    fonts: FontFiles = field(default_factory=FontFiles)
    """The DejaVu Sans files."""
    training: bool | None = None
    """Mark every page FORMATION; None: when produced for a training tenant (`in_training`)."""


@dataclass(frozen=True)
class RenderedPdf:
    """A produced document."""

    pdf: bytes
    """The PDF."""
    file_name: str
    """Suggested file name (safe characters, ``.pdf``)."""
    title: str
    """Document title, also in the PDF metadata."""
    pages: int
    """Page count."""


def render_pdf(request: RenderRequest) -> RenderedPdf:
    """Produce the PDF; raises `MissingFields` listing every field the context lacks."""
    from engine.rendering.pdf import write_pdf  # fpdf2: imported by the first document only

    if not request.issuer.strip():
        raise RenderError("Le nom de la collectivité est nécessaire pour produire un document.")
    template = load_template(request.template)
    document = resolve(template, request.context, limits=request.context_limits)
    pdf, pages = write_pdf(
        document,
        issuer=request.issuer,
        issued_at=request.issued_at,
        fonts=request.fonts,
        limits=request.page_limits,
        training=in_training() if request.training is None else request.training,
    )
    return RenderedPdf(pdf=pdf, file_name=document.file_name, title=document.title, pages=pages)
