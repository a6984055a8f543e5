"""The font of visible signature blocks, prepared once per process and font file.

pyHanko's :class:`GlyphAccumulator` parses the whole font and subsets it again for every
signature block: for DejaVu Sans that was the largest CPU cost of a batch signature (about
0.1 s per act). The blocks of French acts use few characters, so this engine embeds one subset
made once per process: every glyph the printable Latin-1 characters and the other characters
of French typography (œ, Œ, Ÿ, €, quotes, dashes, ellipsis, narrow spaces) map to. The glyph
numbers are those of the whole font (pyHanko keeps them too), so the text is shaped with the
whole font and the embedded subset renders it as is. A block that uses any other glyph (a name
in another script, a ligature the shaper chose) gets its own subset of the whole font, made
for that act, exactly as pyHanko does.

Read-only state is shared between threads: the font bytes, the HarfBuzz face, the parsed
tables the engine reads (loaded when the font is prepared) and the precomputed widths.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uharfbuzz as hb  # type: ignore[import-untyped]
from fontTools import subset, ttLib  # type: ignore[import-untyped]
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.font.opentype import (
    CIDFontType2,
    GlyphAccumulator,
    GlyphAccumulatorFactory,
)
from pyhanko.pdf_utils.writer import BasePdfFileWriter

__all__ = ["FRENCH_CHARACTERS", "PreparedFontFactory", "prepared_font"]

FRENCH_CHARACTERS = (
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "".join(chr(code) for code in range(0xA0, 0x100))
    + "ŒœŸ€‘’‚“”„«»‹›…–—•‰™\u2009\u202f\u2011"
)
"""Characters whose glyphs the shared subset holds."""

_MAX_FONTS = 4
"""Most fonts prepared per process (one per font file)."""


def _subset_options() -> subset.Options:
    """pyHanko's options (GlyphAccumulator._extract_subset: glyph numbers kept, no layout
    tables), without the TrueType hinting instructions nor the MATH table: the outlines are
    the same, and the shared subset embedded in every act weighs 10.9 KB compressed instead of
    25 KB (DejaVu Sans; a per-act subset of one block was 7.5 KB)."""
    options = subset.Options(layout_closure=False)
    options.drop_tables += ["GPOS", "GDEF", "GSUB", "MATH"]
    options.retain_gids = True
    options.hinting = False
    return options


def _subset_program(font_bytes: bytes, gids: set[int]) -> bytes:
    """The TrueType program of ``font_bytes`` reduced to ``gids`` (numbers kept)."""
    font = ttLib.TTFont(io.BytesIO(font_bytes))
    subsetter = subset.Subsetter(options=_subset_options())
    subsetter.populate(gids=sorted(gids))
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _postscript_name(font: ttLib.TTFont) -> str:
    for record in font["name"].names:
        if record.nameID == 6:
            return str(record.toUnicode())
    raise ValueError("La police n'a pas de nom PostScript.")


@dataclass(frozen=True)
class PreparedFont:
    """A TrueType font parsed once, with the subset shared by French signature blocks."""

    font_bytes: bytes
    """The whole font file."""
    face: Any
    """HarfBuzz face over ``font_bytes`` (thread-safe, shared)."""
    tables: ttLib.TTFont
    """The whole font; the tables the engine reads are loaded (read-only afterwards)."""
    postscript_name: str
    units_per_em: int
    widths: tuple[int, ...]
    """Advance width of each glyph number."""
    reverse_cmap: dict[str, set[int]]
    """Glyph name → code points (pyHanko's fallback for multi-glyph clusters)."""
    subset_gids: frozenset[int]
    """Glyph numbers held by the shared subset."""
    subset_program: bytes
    """The shared subset's TrueType program."""
    subset_flate: bytes
    """``subset_program`` compressed (Flate), as embedded."""


def _prepare(path: Path) -> PreparedFont | None:
    font_bytes = path.read_bytes()
    tables = ttLib.TTFont(io.BytesIO(font_bytes))
    if "glyf" not in tables:
        return None  # CFF outlines: pyHanko embeds those differently
    for tag in ("head", "hhea", "OS/2", "post", "name", "cmap", "hmtx", "maxp"):
        tables[tag]  # loaded now, never lazily from several threads
    order = tables.getGlyphOrder()
    metrics = tables["hmtx"].metrics
    cmap = tables.getBestCmap()
    gids = {0} | {tables.getGlyphID(cmap[ord(c)]) for c in FRENCH_CHARACTERS if ord(c) in cmap}
    program = _subset_program(font_bytes, gids)
    return PreparedFont(
        font_bytes=font_bytes,
        face=hb.Face(font_bytes),
        tables=tables,
        postscript_name=_postscript_name(tables),
        units_per_em=int(tables["head"].unitsPerEm),
        widths=tuple(int(metrics[name][0]) for name in order),
        reverse_cmap=tables["cmap"].buildReversed(),
        subset_gids=frozenset(gids),
        subset_program=program,
        subset_flate=_flate(program).encoded_data,
    )


_PREPARED: dict[tuple[str, int, int], PreparedFont | None] = {}
_LOCK = threading.Lock()


def prepared_font(path: Path) -> PreparedFont | None:
    """The process's prepared font for ``path``, prepared again when the file changes; None
    for a font with CFF outlines (then pyHanko's engine does all the work for each act)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        if key not in _PREPARED:
            if len(_PREPARED) >= _MAX_FONTS:
                _PREPARED.pop(next(iter(_PREPARED)))
            _PREPARED[key] = _prepare(path)
        return _PREPARED[key]


def _flate(data: bytes) -> generic.StreamObject:
    stream = generic.StreamObject(stream_data=data)
    stream.compress()  # type: ignore[no-untyped-call]
    return stream


class _ProgramCIDFont(CIDFontType2):
    """A CIDFontType2 whose font program is given (pyHanko saves the subsetted TTFont)."""

    program: generic.StreamObject | None = None

    def set_font_file(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        assert self.program is not None
        ref = writer.add_object(self.program)
        self._font_descriptor[generic.pdf_name("/FontFile2")] = ref
        return ref


class PreparedGlyphAccumulator(GlyphAccumulator):
    """pyHanko's engine over a :class:`PreparedFont`: nothing parsed or subsetted per act
    unless the text uses a glyph outside the shared subset."""

    def __init__(
        self,
        writer: BasePdfFileWriter,
        font: PreparedFont,
        font_size: int,
        obj_stream: Any = None,
    ) -> None:
        # GlyphAccumulator.__init__ parses the font: set the same attributes from the
        # prepared one instead (pyHanko 0.38's GlyphAccumulator, TrueType outlines).
        FontEngine.__init__(
            self,
            writer,
            font.postscript_name,
            embedded_subset=True,
            obj_stream=obj_stream,
            font_size=font_size,
        )
        self._font = font
        self.hb_font = hb.Font(font.face)
        self.tt = font.tables
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self.cidfont_obj = _ProgramCIDFont(font.tables, font.postscript_name, self.subset_prefix)
        self.features = None
        self.units_per_em = font.units_per_em
        self._glyphs: dict[int, tuple[int, int]] = {}
        self._cid_to_unicode: dict[int, str] = {}
        self.ot_language_tag = self.ot_script_tag = None
        self.writing_direction = self.bcp47_lang_code = None
        self._subset_created = self._write_prepared = False
        self.used_shared_subset: bool | None = None
        """After writing: True when the shared subset was embedded, False for an own subset."""

    @property
    def _reverse_cmap(self) -> dict[str, set[int]]:
        return self._font.reverse_cmap

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        result = self._glyphs.get(glyph_id)
        if result is None:
            result = self._glyphs[glyph_id] = (glyph_id, self._font.widths[glyph_id])
        return result

    def prepare_write(self) -> None:
        if self._write_prepared:
            return
        used = set(self._glyphs)
        self.used_shared_subset = used <= self._font.subset_gids
        cidfont = self.cidfont_obj
        assert isinstance(cidfont, _ProgramCIDFont)
        if self.used_shared_subset:
            cidfont.program = generic.StreamObject(
                {"/Filter": generic.pdf_name("/FlateDecode")},
                encoded_data=self._font.subset_flate,
            )
        else:
            cidfont.program = _flate(_subset_program(self._font.font_bytes, used))
        self._subset_created = True  # the parent must not subset self.tt (shared)
        super().prepare_write()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class PreparedFontFactory(GlyphAccumulatorFactory):
    """Font engines over the process's prepared font (see :func:`prepared_font`)."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: object = None
    ) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()  # type: ignore[no-untyped-call]
        font = prepared_font(Path(self.font_file))
        if font is None:
            return GlyphAccumulator(
                writer=writer,
                font_handle=io.BytesIO(Path(self.font_file).read_bytes()),
                font_size=self.font_size,
                obj_stream=obj_stream,
            )
        return PreparedGlyphAccumulator(writer, font, self.font_size, obj_stream)
