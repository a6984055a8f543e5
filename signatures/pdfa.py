"""PDF/A-2b: read a document's claim, convert with Ghostscript, check the result with pikepdf."""

from __future__ import annotations

import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import pdfa

from signatures.errors import DocumentRefusedError, SignatureError

__all__ = ["PdfaConversion", "convert_to_pdfa", "pdfa_claim", "pdfa_problems"]

_ICC_PROFILE = Path(pdfa.__file__).parent / "data" / "sRGB.icc"

# Ghostscript's stock PDFA_def.ps cannot open its ICC profile on Debian: this one names ours.
_DEF_PS = """%!
/ICCProfile ({icc}) def
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} <</N 3>> /PUT pdfmark
[{{icc_PDFA}} ICCProfile (r) file /PUT pdfmark
[/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
[{{OutputIntent_PDFA}} <<
  /Type /OutputIntent
  /S /GTS_PDFA1
  /DestOutputProfile {{icc_PDFA}}
  /OutputConditionIdentifier (sRGB)
>> /PUT pdfmark
[{{Catalog}} <</OutputIntents [ {{OutputIntent_PDFA}} ]>> /PUT pdfmark
"""


@dataclass(frozen=True)
class PdfaConversion:
    """A document converted to PDF/A-2b."""

    pdf: bytes
    """The converted document."""
    seconds: float
    """Time Ghostscript took."""


def pdfa_claim(pdf: pikepdf.Pdf) -> str | None:
    """The PDF/A part and conformance the document's XMP metadata claims (e.g. ``"2B"``)."""
    try:
        with pdf.open_metadata() as meta:
            status = meta.pdfa_status
    except (pikepdf.PdfError, ValueError, KeyError):
        return None
    return status or None


def pdfa_problems(pdf_bytes: bytes, flavour: str = "2b") -> tuple[str, ...]:
    """PDF/A violations pikepdf finds in ``pdf_bytes`` (empty when it passes)."""
    try:
        report = pdfa.validate_written(io.BytesIO(pdf_bytes), flavour)
    except (pikepdf.PdfError, ValueError) as exc:
        return (f"Document illisible pour la vérification PDF/A : {exc}",)
    return tuple(f"{finding.rule} : {finding.message}" for finding in report.violations)


def _escape_ps(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def convert_to_pdfa(
    pdf_bytes: bytes, *, gs_path: str = "gs", timeout: float = 120.0
) -> PdfaConversion:
    """Convert a PDF to PDF/A-2b with Ghostscript and check the result.

    Raises :class:`DocumentRefusedError` when Ghostscript cannot convert the document or the
    result is not PDF/A-2b according to pikepdf.
    """
    import time

    with tempfile.TemporaryDirectory(prefix="dematflow-pdfa-") as tmp:
        work = Path(tmp)
        source, target, definition = work / "in.pdf", work / "out.pdf", work / "pdfa_def.ps"
        source.write_bytes(pdf_bytes)
        definition.write_text(_DEF_PS.format(icc=_escape_ps(str(_ICC_PROFILE))), "ascii")
        command = [
            gs_path,
            "-dPDFA=2",
            "-dBATCH",
            "-dNOPAUSE",
            "-dSAFER",
            "-dQUIET",
            "-sColorConversionStrategy=RGB",
            "-sDEVICE=pdfwrite",
            "-dPDFACompatibilityPolicy=1",
            f"--permit-file-read={_ICC_PROFILE}",
            f"-sOutputFile={target}",
            str(definition),
            str(source),
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise DocumentRefusedError(
                "La conversion en PDF/A a dépassé le temps autorisé."
            ) from exc
        except OSError as exc:
            raise SignatureError(f"Ghostscript est introuvable ({gs_path}).") from exc
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not target.exists():
            detail = done.stderr.decode("utf-8", "replace").strip()[:300]
            raise DocumentRefusedError(f"La conversion en PDF/A a échoué : {detail}")
        converted = target.read_bytes()
    problems = pdfa_problems(converted)
    if problems:
        raise DocumentRefusedError(
            "Le document converti n'est pas conforme PDF/A-2b : " + " ; ".join(problems[:5])
        )
    return PdfaConversion(pdf=converted, seconds=seconds)
