"""The fonts and bounds of a produced PDF: plain values, apart from `engine.rendering.pdf` so that
describing a document to render does not import fpdf2 (only writing it does)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FontFiles", "PageLimits"]


@dataclass(frozen=True)
class FontFiles:
    """The TrueType fonts; DejaVu Sans covers every French character (Debian fonts-dejavu-core)."""

    regular: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    """Body text."""
    bold: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
    """Titles, labels, headings."""


@dataclass(frozen=True)
class PageLimits:
    """Bounds on the produced PDF."""

    max_pages: int = 60
    """Pages of one document."""
    max_bytes: int = 10_000_000
    """Size of the PDF."""
