"""Lay out a resolved document as an A4 PDF: the only module that imports fpdf2."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.errors import FPDFException
from fpdf.fonts import TTFFont

from engine.rendering.errors import FontMissing, RenderError, RenderLimitExceeded
from engine.rendering.formatting import french_date
from engine.rendering.limits import FontFiles, PageLimits
from engine.rendering.model import Block, ResolvedDocument

__all__ = ["FontFiles", "PageLimits", "write_pdf"]

FAMILY = "DejaVu"
PAGE_COUNT_ALIAS = "\ue000\ue001"
"""Private-use characters: the resolver strips them from context text, so no value can
pose as the page-count alias (fpdf2's default ``{nb}`` could appear in a citizen's text)."""
SIGNATURE_MARGIN_MM = 45.0
"""Bottom margin kept free: the visible PAdES signature goes at the bottom right."""
GREY = (235, 235, 235)
NBSP = "\u00a0"
_FRENCH_SPACES = re.compile(r" [;:!?»]|« ")
"""French typography: no line break before ; : ! ? » or after «."""


TRAINING_NOTE = "FORMATION — document fictif, sans valeur juridique"
"""Printed on every page of a training tenant's document, with a large diagonal mark."""


@dataclass(frozen=True)
class _Page:
    issuer: str
    title: str
    issued_on: str
    training: bool = False


class _Writer(FPDF):
    def __init__(self, page: _Page) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.page_info = page

    def header(self) -> None:
        if self.page_info.training:
            self._training_mark()
        self.set_font(FAMILY, "B", 11)
        self.multi_cell(0, 5, self.page_info.issuer, align="L")
        self.set_draw_color(120, 120, 120)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(6)

    def _training_mark(self) -> None:
        """A diagonal FORMATION under the page's text and a red line above the letterhead."""
        self.set_font(FAMILY, "B", 80)
        self.set_text_color(236, 214, 214)
        with self.rotation(45, self.w / 2, self.h / 2):
            self.text(self.w / 2 - 75, self.h / 2 + 10, "FORMATION")
        self.set_font(FAMILY, "B", 9)
        self.set_text_color(180, 0, 0)
        self.cell(0, 5, TRAINING_NOTE, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 7.5)
        text = (
            f"{self.page_info.issuer} — {self.page_info.title[:90]} — document établi le "
            f"{self.page_info.issued_on} — page {self.page_no()}/{PAGE_COUNT_ALIAS}"
        )
        self.multi_cell(0, 3.5, text, align="L")


def _load_fonts(pdf: FPDF, fonts: FontFiles) -> set[int]:
    for path in (fonts.regular, fonts.bold):
        if not path.is_file():
            raise FontMissing(
                f"Police introuvable : {path}. Installez le paquet Debian fonts-dejavu-core "
                "(scripts/install-system-deps.sh)."
            )
    try:
        pdf.add_font(FAMILY, "", str(fonts.regular))
        pdf.add_font(FAMILY, "B", str(fonts.bold))
    except (OSError, ValueError, KeyError, AssertionError) as exc:  # fontTools parse errors
        raise FontMissing(f"Police illisible ({fonts.regular.name}) : {exc}") from exc
    regular = set(pdf.fonts[FAMILY.lower()].cmap)  # type: ignore[union-attr]
    bold = set(pdf.fonts[FAMILY.lower() + "B"].cmap)  # type: ignore[union-attr]
    return regular & bold


def _gap(previous: str, kind: str) -> float:
    """Vertical space (mm) between two blocks: consecutive line blocks read as one."""
    if not previous or previous == kind == "lignes":
        return 0
    if previous == "intertitre":
        return 1.5
    return 5 if kind == "intertitre" else 3


class _Layout:
    """Writes blocks with one text filter: characters the font lacks become '?'."""

    def __init__(self, pdf: _Writer, glyphs: set[int]) -> None:
        self.pdf = pdf
        self.glyphs = glyphs
        self.previous = ""

    def t(self, text: str) -> str:
        text = _FRENCH_SPACES.sub(lambda m: m.group(0).replace(" ", NBSP), text)
        return "".join(c if c == "\n" or ord(c) in self.glyphs else "?" for c in text)

    def paragraph(self, text: str, *, size: float = 10.5, bold: bool = False, **kw: object) -> None:
        self.pdf.set_font(FAMILY, "B" if bold else "", size)
        self.pdf.multi_cell(
            0,
            size * 0.5,
            self.t(text),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            **kw,  # type: ignore[arg-type]
        )

    def title(self, text: str) -> None:
        self.paragraph(text, size=15, bold=True, align="C")
        self.pdf.ln(5)

    def block(self, block: Block) -> None:
        pdf = self.pdf
        pdf.ln(_gap(self.previous, block.kind))
        self.previous = block.kind
        if block.kind == "intertitre":
            self.paragraph(block.texts[0], size=11.5, bold=True, align="L")
        elif block.kind == "texte":
            if block.style == "encadre":
                pdf.set_fill_color(*GREY)
                self.paragraph(block.texts[0], border=1, fill=True, padding=2, align="L")
            else:
                size = 8.5 if block.style == "petit" else 10.5
                self.paragraph(block.texts[0], size=size, bold=block.style == "gras", align="J")
        elif block.kind == "lignes":
            for line in block.texts:
                self.paragraph(line, bold=block.style == "gras", align="L")
        elif block.kind == "liste":
            for item in block.texts:
                pdf.set_x(pdf.l_margin + 4)
                self.paragraph("• " + item, align="L")
        else:
            self.table(block)

    def table(self, block: Block) -> None:
        pdf = self.pdf
        pdf.set_font(FAMILY, "", 9.5)
        try:
            self._table(block)
        except ValueError as exc:  # fpdf2: "The row with index N is too high ..."
            raise RenderLimitExceeded(
                "Une ligne de tableau est trop longue pour tenir sur une page."
            ) from exc

    def _table(self, block: Block) -> None:
        pdf = self.pdf
        total = sum(block.widths)
        headed = bool(block.headings)
        with pdf.table(
            col_widths=tuple(w / total for w in block.widths),
            first_row_as_headings=headed,
            headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
            borders_layout=TableBordersLayout.ALL,
            text_align="LEFT",
            line_height=5,
            padding=1.2,
            width=pdf.epw,
        ) as table:
            if headed:
                row = table.row()
                for heading in block.headings:
                    row.cell(self.t(heading))
            for values in block.rows:
                row = table.row()
                for index, value in enumerate(values):
                    style = FontFace(emphasis="BOLD") if not headed and index == 0 else None
                    row.cell(self.t(value), style=style)


def _describe(pdf: FPDF, document: ResolvedDocument, *, issuer: str, issued_at: datetime) -> None:
    """Page set-up and metadata (title, language, author = the collectivité)."""
    pdf.alias_nb_pages(PAGE_COUNT_ALIAS)
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=SIGNATURE_MARGIN_MM)
    pdf.set_title(document.title)
    pdf.set_lang("fr-FR")
    pdf.set_author(issuer)
    pdf.set_subject(f"Document produit par le modèle « {document.template} »")
    pdf.set_creator("dematflow")
    pdf.set_creation_date(issued_at)


def _close_fonts(pdf: FPDF) -> None:
    """fpdf2 closes font files only when it writes the output: close them on errors too."""
    for font in pdf.fonts.values():
        if isinstance(font, TTFFont):
            font.close()


def write_pdf(
    document: ResolvedDocument,
    *,
    issuer: str,
    issued_at: datetime,
    fonts: FontFiles | None = None,
    limits: PageLimits | None = None,
    training: bool = False,
) -> tuple[bytes, int]:
    """The PDF of `document` and its page count; `issuer` (the collectivité) is its author;
    a `training` tenant's document is marked FORMATION on every page."""
    limits = limits or PageLimits()
    issued_on = french_date(issued_at)
    pdf = _Writer(_Page(issuer=issuer, title=document.title, issued_on=issued_on))
    try:
        layout = _Layout(pdf, _load_fonts(pdf, fonts or FontFiles()))
        pdf.page_info = _Page(layout.t(issuer), layout.t(document.title), issued_on, training)
        _describe(pdf, document, issuer=issuer, issued_at=issued_at)
        pdf.add_page()
        layout.title(document.title)
        for block in document.blocks:
            layout.block(block)
            if pdf.page > limits.max_pages:
                raise RenderLimitExceeded(f"Document trop long (plus de {limits.max_pages} pages).")
        content = bytes(pdf.output())
    except FPDFException as exc:
        raise RenderError(f"Mise en page impossible : {exc}") from exc
    finally:
        _close_fonts(pdf)
    if len(content) > limits.max_bytes:
        raise RenderLimitExceeded(
            f"Document trop volumineux ({len(content)} octets, maximum {limits.max_bytes})."
        )
    return content, pdf.page
