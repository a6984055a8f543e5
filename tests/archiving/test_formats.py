"""Format identification by FIDO from the bytes (PRONOM), bounded, never from the file name."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from archiving.formats import FormatLimits, identify_formats, pronom_version
from signatures.pdfa import convert_to_pdfa, pdfa_problems
from tests.signatures.pdfs import make_pdf


def _pdf17() -> bytes:
    with pikepdf.open(io.BytesIO(make_pdf(pages=1))) as pdf:
        out = io.BytesIO()
        pdf.save(out, force_version="1.7")
    return out.getvalue()


def test_pdfa_pdf17_and_xml_get_their_pronom_identifiers(tmp_path: Path) -> None:
    pdfa = convert_to_pdfa(make_pdf(pages=1)).pdf
    assert pdfa_problems(pdfa) == ()  # a real PDF/A-2b, not a claim
    files = {
        "acte-pdfa": pdfa,
        "acte-17": _pdf17(),
        "ar": b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<actes:ARActe xmlns:actes="x"/>\n',
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name  # no extension: nothing to guess from
        path.write_bytes(data)
        paths.append(path)
    found = identify_formats(paths)
    assert found[paths[0]].puid == "fmt/477"  # PDF/A-2b
    assert found[paths[1]].puid == "fmt/276"  # PDF 1.7
    assert found[paths[2]].puid == "fmt/101"  # XML
    assert {f.mime_type for f in found.values()} == {"application/pdf", "application/xml"}
    assert "PDF/A" in found[paths[0]].name
    assert pronom_version().startswith("PRONOM v")


def test_the_name_is_not_believed(tmp_path: Path) -> None:
    """XML named .pdf is XML; text named .pdf is nothing FIDO knows (no guess)."""
    xml = tmp_path / "deliberation.pdf"
    xml.write_bytes(b'<?xml version="1.0"?>\n<a/>\n')
    text = tmp_path / "budget.pdf"
    text.write_bytes(b"just some words, not a PDF\n")
    found = identify_formats([xml, text])
    assert found[xml].puid == "fmt/101" and found[xml].mime_type == "application/xml"
    assert found[text].puid is None and found[text].reason == "aucune signature PRONOM reconnue"


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (FormatLimits(memory_bytes=16 * 1024 * 1024), "identification interrompue (limite)"),
        (FormatLimits(wall_seconds=0.05), "identification interrompue (délai)"),
    ],
)
def test_a_run_past_its_limits_identifies_nothing_and_says_why(
    tmp_path: Path, limits: FormatLimits, reason: str
) -> None:
    path = tmp_path / "acte"
    path.write_bytes(_pdf17())
    found = identify_formats([path], limits)
    assert found[path].puid is None and found[path].reason == reason
