"""Checks on a document before any key is used: refuse what cannot be signed, clearly, in French."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation.pdf_embedded import read_certification_data

from signatures.errors import DocumentRefusedError
from signatures.overlay import AppendOverlay, Document
from signatures.pdfa import pdfa_claim

__all__ = ["DEFAULT_MAX_BYTES", "PdfFacts", "inspect_pdf", "open_for_signing", "read_pdfa_claim"]

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
    try:
        info = read_certification_data(reader)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentRefusedError("La certification du document est illisible.") from exc
    if info is not None and info.permission == MDPPerm.NO_CHANGES:
        raise DocumentRefusedError(
            "Le document est certifié sans modification autorisée : "
            "aucune signature ne peut plus y être ajoutée."
        )


def read_pdfa_claim(data: Document) -> str | None:
    """The PDF/A claim of ``data``'s XMP metadata (pikepdf parse), or None."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return pdfa_claim(pdf)
    except pikepdf.PdfError as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc


def open_for_signing(
    data: Document, *, max_bytes: int, with_pdfa_claim: bool = True, for_update: bool = True
) -> tuple[PdfFileReader, PdfFacts]:
    """Check ``data`` and return the one pyHanko reader the signature will extend.

    The reader works on an :class:`AppendOverlay` over ``data``: the signing step appends its
    incremental update in place without ever copying the document (``for_update=False``
    reads through a plain stream, for inspection only). The PDF/A claim (a pikepdf parse of
    the XMP metadata) is read only when ``with_pdfa_claim`` is set.
    """
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


def inspect_pdf(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PdfFacts:
    """Check that ``data`` is a readable, unencrypted, unlocked PDF within the size limit.

    Raises :class:`DocumentRefusedError` with a French message otherwise.
    """
    return open_for_signing(data, max_bytes=max_bytes, for_update=False)[1]
