"""Checks on a document before any key is used: refuse what cannot be signed, clearly, in French."""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from signatures.errors import DocumentRefusedError
from signatures.overlay import AppendOverlay, Document
from signatures.sandbox import DEFAULT_LIMITS, UNSAFE, ChildLimits, run_bounded

if TYPE_CHECKING:
    import pikepdf
    from pyhanko.pdf_utils.reader import PdfFileReader

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CheckedPdf",
    "PdfFacts",
    "check_untrusted_pdf",
    "inspect_pdf",
    "open_for_signing",
    "read_pdfa_claim",
]

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
"""Default size limit of a document to sign or validate (200 MiB)."""


@dataclass(frozen=True)
class PdfFacts:
    """What the checks learnt about a document that may be signed."""

    size: int
    """Size in bytes."""
    page_count: int
    """Number of pages."""
    pdfa: str | None
    """PDF/A part and conformance claimed by the XMP metadata (``"2B"``...), or None."""
    signature_count: int
    """Number of signature fields already signed (document timestamps included)."""


def _check_header(data: Document, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise DocumentRefusedError(
            f"Le document est trop volumineux ({len(data) / 1_048_576:.1f} Mio ; "
            f"limite {max_bytes / 1_048_576:.0f} Mio)."
        )
    head = data[:4096]  # never strip or copy the whole document
    if (
        not head.lstrip(b"\x00\t\n\r\f ")[:1024].startswith(b"%PDF-")
        and b"%PDF-" not in head[:1024]
    ):
        raise DocumentRefusedError("Le fichier n'est pas un document PDF.")


def _open_reader(stream: io.RawIOBase | io.BytesIO) -> PdfFileReader:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(stream, strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc
    if reader.encrypted:
        raise DocumentRefusedError(
            "Le document PDF est chiffré ou protégé par mot de passe : il ne peut pas être signé."
        )
    return reader


def _check_certification(reader: PdfFileReader) -> None:
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.validation.pdf_embedded import read_certification_data

    try:
        info = read_certification_data(reader)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentRefusedError("La certification du document est illisible.") from exc
    if info is not None and info.permission == MDPPerm.NO_CHANGES:
        raise DocumentRefusedError(
            "Le document est certifié sans modification autorisée : "
            "aucune signature ne peut plus y être ajoutée."
        )


XMP_MAX_BYTES = 4 * 1024 * 1024
"""Largest XMP metadata packet read (a real one is a few KiB)."""


def _check_metadata_size(pdf: pikepdf.Pdf) -> None:
    """Refuse XMP metadata that inflates beyond :data:`XMP_MAX_BYTES`, before pikepdf decodes
    it whole: plain FlateDecode (the usual case) is inflated here with a cap; other filters
    are left to qpdf under the child's memory limit."""
    import pikepdf

    metadata = pdf.Root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        return
    filters = metadata.get("/Filter")
    raw = metadata.read_raw_bytes()
    if filters is None:
        size = len(raw)
    elif filters == pikepdf.Name.FlateDecode and "/DecodeParms" not in metadata:
        inflater = zlib.decompressobj()
        try:
            size = len(inflater.decompress(raw, XMP_MAX_BYTES + 1))
        except zlib.error as exc:
            raise DocumentRefusedError("Les métadonnées XMP du PDF sont illisibles.") from exc
    else:
        return
    if size > XMP_MAX_BYTES:
        raise DocumentRefusedError(
            f"{UNSAFE} : ses métadonnées XMP dépassent {XMP_MAX_BYTES // 1_048_576} Mio "
            "une fois décompressées."
        )


def _pdfa_claim_unbounded(data: bytes) -> str | None:
    import pikepdf

    from signatures.pdfa import pdfa_claim

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _check_metadata_size(pdf)
            return pdfa_claim(pdf)
    except pikepdf.PdfError as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc


def read_pdfa_claim(data: Document, *, limits: ChildLimits = DEFAULT_LIMITS) -> str | None:
    """The PDF/A claim of ``data``'s XMP metadata, read in a bounded child process (the XMP
    stream may be a decompression bomb), or None."""
    return run_bounded(_pdfa_claim_unbounded, bytes(data), limits=limits)


def open_for_signing(
    data: Document, *, max_bytes: int, with_pdfa_claim: bool = True, for_update: bool = True
) -> tuple[PdfFileReader, PdfFacts]:
    """Check ``data`` and return the one pyHanko reader the signature will extend.

    The reader works on an :class:`AppendOverlay` over ``data``: the signing step appends its
    incremental update in place without ever copying the document (``for_update=False``
    reads through a plain stream, for inspection only). The PDF/A claim (a pikepdf parse of
    the XMP metadata) is read only when ``with_pdfa_claim`` is set.
    """
    from pyhanko.pdf_utils.misc import PdfError

    _check_header(data, max_bytes)
    stream: io.RawIOBase | io.BytesIO = AppendOverlay(data) if for_update else io.BytesIO(data)
    reader = _open_reader(stream)
    _check_certification(reader)
    try:
        page_count = int(reader.root["/Pages"]["/Count"])
        signature_count = len(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc
    if page_count < 1:
        raise DocumentRefusedError("Le document PDF ne contient aucune page.")
    claim = read_pdfa_claim(data) if with_pdfa_claim else None
    facts = PdfFacts(
        size=len(data), page_count=page_count, pdfa=claim, signature_count=signature_count
    )
    return reader, facts


@dataclass(frozen=True)
class CheckedPdf:
    """An untrusted PDF after the intake checks."""

    facts: PdfFacts
    """What the checks learnt (of the document as received)."""
    active_content: tuple[str, ...]
    """Active content found, in French (empty when none)."""
    cleaned: bytes | None
    """The document with its active content removed, when removal was asked and needed."""


def _check_unbounded(data: bytes, max_bytes: int, remove: bool) -> CheckedPdf:
    """Every parse of the intake; runs in the bounded child (see :func:`check_untrusted_pdf`)."""
    import pikepdf
    from pyhanko.pdf_utils.misc import PdfDecodeLimitError

    from signatures.active_content import find_active_content, remove_active_content
    from signatures.pdfa import pdfa_claim

    try:
        facts = open_for_signing(
            data, max_bytes=max_bytes, with_pdfa_claim=False, for_update=False
        )[1]
    except DocumentRefusedError as exc:
        if isinstance(exc.__cause__, PdfDecodeLimitError):  # pyHanko's own decompression cap
            raise DocumentRefusedError(
                f"{UNSAFE} : un de ses flux compressés est démesuré une fois décompressé."
            ) from exc
        raise
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _check_metadata_size(pdf)
            claim = pdfa_claim(pdf)
            found = find_active_content(pdf)
            cleaned = None
            if found and remove and facts.signature_count == 0:
                remove_active_content(pdf)
                output = io.BytesIO()
                pdf.save(output)
                cleaned = output.getvalue()
    except pikepdf.PdfError as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc
    if cleaned is not None and len(cleaned) > max_bytes:
        raise DocumentRefusedError("Le document nettoyé de son contenu actif est trop volumineux.")
    facts = PdfFacts(
        size=facts.size,
        page_count=facts.page_count,
        pdfa=claim,
        signature_count=facts.signature_count,
    )
    return CheckedPdf(facts=facts, active_content=found, cleaned=cleaned)


def check_untrusted_pdf(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    remove_active_content: bool = False,
    limits: ChildLimits = DEFAULT_LIMITS,
) -> CheckedPdf:
    """Check an untrusted PDF in a bounded child process: structure (pyHanko and qpdf),
    encryption, certification lock, pages, signatures, PDF/A claim and active content.

    With ``remove_active_content``, an unsigned document holding active content comes back
    cleaned (a signed one cannot be cleaned without breaking its signatures: ``cleaned`` stays
    None). Raises :class:`DocumentRefusedError` with a French message on any failure, limit or
    parser error alike; size and header are checked before any child is started.
    """
    _check_header(data, max_bytes)
    return run_bounded(
        _check_unbounded, bytes(data), max_bytes, remove_active_content, limits=limits
    )


def inspect_pdf(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PdfFacts:
    """Check that ``data`` is a readable, unencrypted, unlocked PDF within the size limit
    (in a bounded child process).

    Raises :class:`DocumentRefusedError` with a French message otherwise.
    """
    return check_untrusted_pdf(data, max_bytes=max_bytes).facts
