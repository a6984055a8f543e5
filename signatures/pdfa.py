"""PDF/A-2b: verify a document's claim (never believe it), convert with Ghostscript, check.

The checks are pure functions over a ``pikepdf.Pdf`` (or bytes), usable from a bounded child
process: the XMP packet is inflated with a size limit before anything reads it.
"""

from __future__ import annotations

import io
import mmap
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from pikepdf import pdfa

from signatures.errors import DocumentRefusedError, SignatureError

__all__ = [
    "MAX_XMP_BYTES",
    "PdfaConversion",
    "convert_to_pdfa",
    "pdfa_claim",
    "pdfa_problems",
    "pdfa_shortcomings",
]

MAX_XMP_BYTES = 1024 * 1024
"""Largest XMP packet read (inflated): a compressed metadata bomb is refused, not inflated."""

MAX_OBJECTS_WALKED = 100_000
"""Most resource dictionaries, fonts and annotations looked at in one document."""

_CLAIMS = {f"{part}{level}" for part in "123" for level in "AB"} | {"2U", "3U"}
"""PDF/A part and conformance pairs that exist."""

# Findings of pikepdf's validator that only describe what a signed PDF/A legitimately holds.
_SIGNATURE_STRUCTURES = ("/AcroForm", "/DSS")

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
    """What pikepdf's validator finds against PDF/A ``flavour`` (empty when it passes).

    Violations and what pikepdf cannot approve (missing font programs, no output intent land
    there), except the signature structures a signed PDF/A legitimately holds.
    """
    try:
        report = pdfa.validate_written(io.BytesIO(pdf_bytes), flavour)
    except (pikepdf.PdfError, ValueError) as exc:
        return (f"Document illisible pour la vérification PDF/A : {exc}",)
    return _findings(report)


def _findings(report: pdfa.Report) -> tuple[str, ...]:
    return tuple(
        f"{finding.rule} : {finding.message}"
        for finding in report.findings
        if finding.kind == "violation"
        or not any(name in finding.message for name in _SIGNATURE_STRUCTURES)
    )


def _bounded_xmp(pdf: pikepdf.Pdf) -> bytes | None:
    """The raw XMP packet, inflated with a limit; None when absent; ValueError when too big."""
    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return None
    raw = stream.read_raw_bytes()
    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    if not names:
        packet = raw
    elif names == [pikepdf.Name.FlateDecode] and "/DecodeParms" not in stream:
        inflater = zlib.decompressobj()
        try:
            packet = inflater.decompress(raw, MAX_XMP_BYTES + 1)
        except zlib.error as exc:
            raise ValueError("métadonnées XMP illisibles") from exc
    else:
        raise ValueError("métadonnées XMP encodées autrement qu'en Flate")
    if len(packet) > MAX_XMP_BYTES:
        raise ValueError("métadonnées XMP trop volumineuses")
    return packet


def _walk_resources(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every resource dictionary of the pages, their form XObjects and annotation appearances."""
    seen: set[tuple[int, int]] = set()
    pending: list[pikepdf.Object | None] = []
    for page in pdf.pages:
        pending.append(page.obj.get("/Resources"))
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            appearance = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
            if isinstance(appearance, pikepdf.Dictionary):
                pending.extend(appearance.values())
    count = 0
    while pending:
        item = pending.pop()
        if item is None:
            continue
        count += 1
        if count > MAX_OBJECTS_WALKED:
            raise ValueError("structure trop volumineuse pour être vérifiée")
        if item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        if isinstance(item, pikepdf.Stream):
            pending.append(item.get("/Resources"))
        elif isinstance(item, pikepdf.Dictionary):
            if "/Font" in item or "/XObject" in item:
                yield item
                pending.extend(item.get("/XObject", pikepdf.Dictionary()).values())
            else:  # an appearance sub-dictionary (/N, /D states)
                pending.extend(v for v in item.values() if isinstance(v, pikepdf.Stream))


def _font_embedded(font: pikepdf.Object) -> bool:
    if not isinstance(font, pikepdf.Dictionary):
        return False
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) != 1:
            return False
        font = descendants[0]
        if not isinstance(font, pikepdf.Dictionary):
            return False
    descriptor = font.get("/FontDescriptor")
    return isinstance(descriptor, pikepdf.Dictionary) and any(
        isinstance(descriptor.get(key), pikepdf.Stream)
        for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


def _missing_fonts(pdf: pikepdf.Pdf) -> list[str]:
    missing: set[str] = set()
    for resources in _walk_resources(pdf):
        fonts = resources.get("/Font")
        if not isinstance(fonts, pikepdf.Dictionary):
            continue
        for font in fonts.values():
            if not _font_embedded(font):
                base = font.get("/BaseFont") if isinstance(font, pikepdf.Dictionary) else None
                missing.add(str(base or "?").lstrip("/"))
    return sorted(missing)


def _has_output_intent(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    return isinstance(intents, pikepdf.Array) and any(
        isinstance(intent, pikepdf.Dictionary)
        and intent.get("/S") == "/GTS_PDFA1"
        and isinstance(intent.get("/DestOutputProfile"), pikepdf.Stream)
        for intent in intents
    )


def _is_javascript(action: pikepdf.Object | None) -> bool:
    return isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/JavaScript"


def _has_javascript(pdf: pikepdf.Pdf) -> bool:
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        return True
    if _is_javascript(root.get("/OpenAction")) or "/AA" in root:
        return True
    count = 0
    for page in pdf.pages:
        if "/AA" in page.obj:
            return True
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            count += 1
            if count > MAX_OBJECTS_WALKED:
                raise ValueError("trop d'annotations pour être vérifiées")
            if isinstance(annot, pikepdf.Dictionary) and (
                _is_javascript(annot.get("/A")) or "/AA" in annot
            ):
                return True
    return False


def _claim_of(packet: bytes | None) -> str | None:
    """``"2B"``-style claim from an XMP packet (parsed without entities or network)."""
    if not packet:
        return None
    from lxml import etree  # type: ignore[import-untyped]

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(packet.strip(b"\x00 \t\r\n"), parser)
    except etree.XMLSyntaxError:
        return None
    ns = "http://www.aiim.org/pdfa/ns/id/"
    values = {}
    for key in ("part", "conformance"):
        element = root.find(f".//{{{ns}}}{key}")
        attribute = next(
            (v for e in root.iter() for k, v in e.attrib.items() if k == f"{{{ns}}}{key}"), None
        )
        values[key] = (element.text if element is not None else attribute) or ""
    claim = (values["part"].strip() + values["conformance"].strip()).upper()
    return claim or None


def pdfa_shortcomings(source: pikepdf.Pdf | bytes | mmap.mmap) -> tuple[str, ...]:
    """Why a document is not truly PDF/A, in French; empty when it is.

    Checked, not believed: the XMP claim (present and consistent), no encryption, every font
    embedded, a PDF/A output intent with its ICC profile, no JavaScript, then pikepdf's
    validator for the claimed part. A document that merely claims PDF/A gets its reasons.
    """
    if not isinstance(source, pikepdf.Pdf):
        try:
            with pikepdf.open(io.BytesIO(source)) as pdf:
                return pdfa_shortcomings(pdf)
        except pikepdf.PasswordError:
            return ("document chiffré",)
        except pikepdf.PdfError:
            return ("document illisible",)
    try:
        return _shortcomings(source)
    except ValueError as exc:
        return (str(exc),)


def _shortcomings(pdf: pikepdf.Pdf) -> tuple[str, ...]:
    if pdf.is_encrypted:
        return ("document chiffré",)
    claim = _claim_of(_bounded_xmp(pdf))
    if claim is None:
        return ("aucune déclaration PDF/A dans les métadonnées XMP",)
    if claim not in _CLAIMS:
        return (f"déclaration PDF/A incohérente dans les métadonnées XMP ({claim})",)
    found: list[str] = []
    missing = _missing_fonts(pdf)
    if missing:
        found.append("polices non incorporées : " + ", ".join(missing[:10]))
    if not _has_output_intent(pdf):
        found.append("aucun profil de sortie (OutputIntent) PDF/A")
    if _has_javascript(pdf):
        found.append("le document contient du JavaScript")
    if found:
        return tuple(found)
    return _findings(pdfa.check(pdf, f"{claim[0]}b"))


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
