"""The visible block's font: one subset prepared per process, and its own subset when needed.

What is checked is what a reader sees: Ghostscript renders the signed page (annotations
included) to text, through the embedded font and its ToUnicode map; the font program embedded
in the block is compared with the shared subset; the signature validates offline.

Ghostscript's text output misreads a ToUnicode range whose targets lie beyond Latin-1 (pyHanko
writes one for two characters with consecutive glyph numbers, such as "Œ" and "œ", or "Ł" and
"ł": "Aucja WaCęsa" for "Łucja Wałęsa", before this change as after it), so no text here
holds such a pair.
"""

from __future__ import annotations

import io
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf
import pytest
from fontTools import ttLib  # type: ignore[import-untyped]

from devstack.pki import DevPki
from signatures.pades import DEFAULT_FONT, PadesLevel, SignRequest, VisibleField, sign_pdf
from signatures.stampfont import FRENCH_CHARACTERS, prepared_font
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

FRENCH_REASON = "Délibération n° 12 « Budget – Œuvres sociales » : l’adjoint, 15 € … ÿ"


def _request(pki: DevPki, name: str, reason: str = FRENCH_REASON) -> SignRequest:
    return SignRequest(
        key=pki.signer("Zoé Lefèvre").key,
        signer_display_name=name,
        level=PadesLevel.B_LT,
        quality="Maire-adjointe déléguée à l'Éducation",
        reason=reason,
        visible=VisibleField(page=1, box=(300, 40, 580, 130)),
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
        convert_to_pdfa=False,
    )


def _rendered_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-sDEVICE=txtwrite", "-sOutputFile=-", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(done.stdout.split())


def _block_font_programs(pdf: bytes) -> list[bytes]:
    """The FontFile2 programs reachable from the signature widgets' appearances."""
    programs: list[bytes] = []
    seen: set[tuple[int, int]] = set()

    def walk(obj: pikepdf.Object) -> None:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            if obj.is_indirect:
                if obj.objgen in seen:
                    return
                seen.add(obj.objgen)
            if "/FontFile2" in obj:
                programs.append(obj.FontFile2.read_bytes())
            for key in obj.keys():  # noqa: SIM118 - a pikepdf Stream is not iterable
                if key not in ("/Parent", "/P"):
                    walk(obj[key])
        elif isinstance(obj, pikepdf.Array):
            for item in obj:
                walk(item)

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            for annot in page.obj.get("/Annots", []):
                if annot.get("/FT") == "/Sig":
                    walk(annot.AP)
    return programs


def _check_valid(pdf: bytes, pki: DevPki) -> None:
    report = validate_pdf(pdf, ValidationOptions(trust_roots=pki.trust_roots))
    assert report.valid, [s.problems for s in report.signatures]


def test_french_block_embeds_the_shared_subset_and_renders(dev_pki: DevPki, tmp_path: Path) -> None:
    pdf = sign_pdf(make_pdf(), _request(dev_pki, "Zoé Lefèvre-Œuvray")).pdf
    text = _rendered_text(pdf, tmp_path)
    assert "Zoé Lefèvre-Œuvray" in text
    assert "Maire-adjointe déléguée à l'Éducation" in text
    assert "Motif : " + FRENCH_REASON in text
    shared = prepared_font(DEFAULT_FONT)
    assert shared is not None
    assert _block_font_programs(pdf) == [shared.subset_program]
    _check_valid(pdf, dev_pki)


def test_a_character_outside_the_shared_subset_gets_its_own_subset(
    dev_pki: DevPki, tmp_path: Path
) -> None:
    name = "Łucja Ștefănescu-Dvořák"
    assert not set(name) <= set(FRENCH_CHARACTERS)
    pdf = sign_pdf(make_pdf(), _request(dev_pki, name)).pdf
    text = _rendered_text(pdf, tmp_path)
    assert name in text
    assert "Motif : " + FRENCH_REASON in text
    shared = prepared_font(DEFAULT_FONT)
    assert shared is not None
    (program,) = _block_font_programs(pdf)
    assert program != shared.subset_program
    font = ttLib.TTFont(io.BytesIO(program))
    glyphs = font["glyf"]
    whole = ttLib.TTFont(DEFAULT_FONT)
    cmap = whole.getBestCmap()
    for char in "ŁȘăř" + "é":
        gid = whole.getGlyphID(cmap[ord(char)])  # glyph numbers are kept by the subset
        assert glyphs[font.getGlyphName(gid)].numberOfContours != 0, char
    _check_valid(pdf, dev_pki)


def test_blocks_signed_in_parallel_threads_each_render_their_own_text(
    dev_pki: DevPki, tmp_path: Path
) -> None:
    names = [f"Élu n° {n} Frédérique Cœur-Éloïse" for n in range(4)] + ["Łucja Dvořák"]
    reason = "Approbation – séance du 3 décembre"
    with ThreadPoolExecutor(max_workers=5) as pool:
        signed = list(
            pool.map(lambda n: sign_pdf(make_pdf(), _request(dev_pki, n, reason)).pdf, names)
        )
    for number, (name, pdf) in enumerate(zip(names, signed, strict=True)):
        (tmp_path / str(number)).mkdir()
        assert name in _rendered_text(pdf, tmp_path / str(number))
