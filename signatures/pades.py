"""PAdES signing (B-B, B-T, B-LT, B-LTA) of PDF documents with pyHanko, as incremental updates.

The caller resolves the key source from the signatory's identity; nothing here picks a key.
No global state: a Celery worker can call :func:`sign_pdf` from any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mmap
import os
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, cast

from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes, Signer
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, ValidationError

from signatures import digest
from signatures.errors import (
    DocumentRefusedError,
    KeyStoreError,
    SigningFailedError,
    TimestampError,
)
from signatures.intake import DEFAULT_MAX_BYTES, open_for_signing
from signatures.keys import KeySource
from signatures.keystore import open_signer, signer_name
from signatures.locking import field_lock, flatten_form_bytes
from signatures.overlay import AppendOverlay, Document
from signatures.pdfa import convert_to_pdfa, pdfa_shortcomings
from signatures.signer_check import check_signing_certificate
from signatures.stampfont import PreparedFontFactory
from signatures.tsa import fetcher_backend, timestamper_for

digest.install()  # pyHanko hashes the document of our overlay once (signatures/digest.py)

__all__ = [
    "DEFAULT_FONT",
    "PadesLevel",
    "SignRequest",
    "SignatureLocation",
    "SignedPdf",
    "SigningOutcome",
    "VisibleField",
    "sign_file_to",
    "sign_pdf",
    "sign_pdf_to",
]

DEFAULT_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
"""Font embedded in visible signature blocks (PDF/A forbids non-embedded fonts)."""

HASH_CHUNK_BYTES = 256 * 1024
"""Read size when pyHanko hashes the byte ranges (its 4 KiB default costs ~0.3 ms/MB more)."""

_STAMP_TEXT = "%(signer)s\n%(quality)s\nSigné le %(ts)s\nMotif : %(reason)s"


class PadesLevel(StrEnum):
    """PAdES baseline levels (ETSI EN 319 142-1)."""

    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"

    @property
    def needs_timestamp(self) -> bool:
        """B-T and above carry an RFC 3161 signature timestamp."""
        return self is not PadesLevel.B_B

    @property
    def embeds_validation_info(self) -> bool:
        """B-LT and above embed certificates and revocation data (DSS)."""
        return self in (PadesLevel.B_LT, PadesLevel.B_LTA)


@dataclass(frozen=True)
class VisibleField:
    """Where the visible signature block goes."""

    page: int
    """Page number, 1 for the first page; -1 for the last page."""
    box: tuple[int, int, int, int]
    """Rectangle (x1, y1, x2, y2) in PDF points from the bottom-left corner."""


@dataclass(frozen=True)
class SignRequest:
    """Everything needed to sign one PDF once. The key source comes from the caller."""

    key: KeySource
    """Key store of the signatory (or of the organisation for a seal)."""
    signer_display_name: str
    """Name shown in the signature block and the signature dictionary."""
    level: PadesLevel = PadesLevel.B_LTA
    """PAdES level to reach; archived acts use B-LTA."""
    quality: str = ""
    """Capacity of the signatory shown in the block, e.g. "Le Maire"."""
    reason: str = ""
    """Reason for signing (signature dictionary /Reason and block)."""
    location: str = ""
    """Place of signing (signature dictionary /Location)."""
    visible: VisibleField | None = None
    """Visible block position; None for an invisible signature."""
    timestamp_url: str | None = None
    """RFC 3161 TSA endpoint; required from B-T up."""
    trust_roots: tuple[bytes, ...] = ()
    """DER trust anchors used to build and check the chain when embedding validation data."""
    extra_certs: tuple[bytes, ...] = ()
    """DER intermediate certificates that the key store may lack."""
    expected_cert_sha256: str | None = None
    """Hex SHA-256 of the certificate the caller expects; a different key is refused."""
    field_name: str | None = None
    """Signature field name; by default "Signature<n>"."""
    convert_to_pdfa: bool = True
    """Convert to PDF/A-2b before the first signature unless the document truly conforms
    (checked, not believed from its metadata). The form is flattened before the first
    signature either way."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest document accepted."""
    font_path: Path = DEFAULT_FONT
    """OpenType/TrueType font for the visible block."""
    revocation_fetching: bool = True
    """Fetch OCSP/CRL data from the signer's CA at signing time. The certificate's validity
    and revocation are checked hard at every level: without an answer, no signature."""


@dataclass(frozen=True)
class SignatureLocation:
    """Where the signature a signing call just made lies in the signed file, as pyHanko's
    writer placed it: what :func:`signatures.validation.validate_new_signature` checks."""

    contents_start: int
    """Offset of the ``<`` that opens the signature's ``/Contents``."""
    contents_end: int
    """Offset just after the ``>`` that closes it."""
    revision_end: int
    """End of the revision the signature covers (its byte range ends there)."""
    first_signature: bool
    """The document carried no signature or document timestamp before."""


@dataclass(frozen=True)
class SignedPdf:
    """A signed document and what happened to it."""

    pdf: bytes
    """The signed PDF."""
    original: bytes | None
    """The document as received when it was changed before the first signature (form flattened,
    converted to PDF/A): keep it. None when it was signed as received."""
    field_name: str
    """Name of the signature field that was filled."""
    level: PadesLevel
    """Level produced."""
    signer_certificate_name: str
    """Common name in the certificate that signed."""
    signer_cert_sha256: str = field(default="")
    """Hex SHA-256 of the signing certificate."""
    location: SignatureLocation | None = None
    """Where the new signature lies in ``pdf`` (for its validation right after signing)."""


@dataclass(frozen=True)
class SigningOutcome:
    """What :func:`sign_pdf_to` did; the signed document went to the caller's output."""

    original: bytes | None
    """The document as received when it was changed before the first signature (form flattened,
    converted to PDF/A): keep it. None when it was signed as received."""
    field_name: str
    """Name of the signature field that was filled."""
    level: PadesLevel
    """Level produced."""
    signer_certificate_name: str
    """Common name in the certificate that signed."""
    signer_cert_sha256: str
    """Hex SHA-256 of the signing certificate."""
    size: int
    """Size in bytes of the signed document written to the output."""


def _validation_context(request: SignRequest) -> ValidationContext:
    return ValidationContext(
        trust_roots=[x509.Certificate.load(der) for der in request.trust_roots],
        other_certs=[x509.Certificate.load(der) for der in request.extra_certs],
        allow_fetching=request.revocation_fetching,
        revocation_mode="hard-fail",
        fetcher_backend=fetcher_backend() if request.revocation_fetching else None,
    )


def _reserved_hex_chars(signer: Signer, with_timestamp: bool) -> int:
    """Room for the CMS object, from the certificates it will carry (no dry-run signature)."""
    certs = sum(len(cert.dump()) for cert in signer.cert_registry)
    if signer.signing_cert is not None:
        certs += len(signer.signing_cert.dump())
    der_bytes = certs + 4096 + (8192 if with_timestamp else 0)
    return 2 * der_bytes


def _field_name(request: SignRequest, writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer)}
    if request.field_name:
        if request.field_name in taken:
            raise SigningFailedError(f"Le champ de signature « {request.field_name} » existe déjà.")
        return request.field_name
    number = len(taken) + 1
    while f"Signature{number}" in taken:
        number += 1
    return f"Signature{number}"


def _field_spec(
    request: SignRequest, name: str, page_count: int, lock: fields.FieldMDPSpec | None
) -> fields.SigFieldSpec:
    """The new signature field; ``lock`` locks the fields a previous signer left fillable."""
    if request.visible is None:
        return fields.SigFieldSpec(sig_field_name=name, field_mdp_spec=lock)
    page = request.visible.page
    index = page_count - 1 if page == -1 else page - 1
    if not 0 <= index < page_count:
        raise SigningFailedError(
            f"La page {page} n'existe pas (le document a {page_count} page(s))."
        )
    return fields.SigFieldSpec(
        sig_field_name=name, on_page=index, box=request.visible.box, field_mdp_spec=lock
    )


def _stamp_style(request: SignRequest) -> TextStampStyle | None:
    if request.visible is None:
        return None
    if not request.font_path.exists():
        raise SigningFailedError(
            f"Police introuvable pour le bloc de signature : {request.font_path}"
        )
    font = PreparedFontFactory(str(request.font_path), font_size=9)
    return TextStampStyle(
        stamp_text=_STAMP_TEXT,
        text_box_style=TextBoxStyle(font=font, font_size=9),
        timestamp_format="%d/%m/%Y %H:%M:%S %Z",
        border_width=1,
    )


def _check_expected_cert(request: SignRequest, signer: Signer) -> str:
    if signer.signing_cert is None:
        raise KeyStoreError("Le magasin de clés ne fournit pas de certificat de signature.")
    fingerprint = hashlib.sha256(signer.signing_cert.dump()).hexdigest()
    expected = request.expected_cert_sha256
    if expected is not None and fingerprint != expected.lower():
        raise KeyStoreError(
            "Le certificat du magasin de clés n'est pas celui attendu pour ce signataire."
        )
    return fingerprint


def _locked_for_first_signature(
    data: Document, reader: PdfFileReader, request: SignRequest
) -> bytes | None:
    """The document with its form flattened and, unless disabled, truly PDF/A; None if as is.

    The pyHanko reader tells whether there is a form, so that a document without one is not
    parsed again when PDF/A conversion is disabled (nor copied when it is memory-mapped).
    """
    flattened = flatten_form_bytes(data) if field_lock(reader) is not None else None
    document = data if flattened is None else flattened
    if request.convert_to_pdfa and pdfa_shortcomings(document):
        return convert_to_pdfa(bytes(document)).pdf
    return flattened


def _prepare(data: Document, request: SignRequest) -> tuple[PdfFileReader, bytes | None, int]:
    """The reader to extend (one parse), the original when changed, and the page count.

    Before the first signature the form is flattened and the document converted to PDF/A-2b
    unless it truly conforms (see :mod:`signatures.locking`); the original is then returned.
    """
    reader, facts = open_for_signing(data, max_bytes=request.max_bytes, with_pdfa_claim=False)
    if request.level.needs_timestamp and not request.timestamp_url:
        raise SigningFailedError(f"Le niveau {request.level} exige une autorité d'horodatage.")
    if facts.signature_count == 0:
        changed = _locked_for_first_signature(data, reader, request)
        if changed is not None:
            original = data if isinstance(data, bytes) else data[:]
            reader.stream.close()
            reader, facts = open_for_signing(
                changed, max_bytes=request.max_bytes, with_pdfa_claim=False
            )
            return reader, original, facts.page_count
    return reader, None, facts.page_count


async def _sign(
    reader: PdfFileReader,
    request: SignRequest,
    signer: Signer,
    page_count: int,
    located: list[SignatureLocation] | None = None,
) -> str:
    """Sign in place: the update is appended to ``reader.stream``. Returns the field name;
    where the signature lies is appended to ``located`` when given.

    Only small values leave the coroutine: Python 3.11's ``asyncio.run`` formats the repr of
    the main task's result when it restores the SIGINT handler, which for a returned document
    costs ~17 ms per MB.
    """
    writer = IncrementalPdfFileWriter.from_reader(reader)
    name = _field_name(request, writer)
    first = not any(value is not None for _, value, _ in fields.enumerate_sig_fields(writer))
    context = _validation_context(request)
    try:
        await check_signing_certificate(
            signer, context, at=datetime.now(UTC), trust_roots=request.trust_roots
        )
        embedding = context if request.level.embeds_validation_info else None
        span = await _sign_with(writer, request, signer, page_count, name, embedding)
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]
    if located is not None:
        located.append(SignatureLocation(*span, first_signature=first))
    return name


async def _sign_with(
    writer: IncrementalPdfFileWriter,
    request: SignRequest,
    signer: Signer,
    page_count: int,
    name: str,
    context: ValidationContext | None,
) -> tuple[int, int, int]:
    """pyHanko's ``PdfSigner.async_sign_pdf`` (0.38) step by step, in place, to keep where the
    signature went: the start and end of its ``/Contents`` and the end of its revision."""
    level = request.level
    url = request.timestamp_url
    timestamper = timestamper_for(url) if level.needs_timestamp and url else None
    meta = PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        name=request.signer_display_name,
        reason=request.reason or None,
        location=request.location or None,
        embed_validation_info=level.embeds_validation_info,
        use_pades_lta=level is PadesLevel.B_LTA,
        validation_context=context,
    )
    pdf_signer = PdfSigner(
        meta,
        signer,
        timestamper=timestamper,
        stamp_style=_stamp_style(request),
        new_field_spec=_field_spec(request, name, page_count, field_lock(writer.prev)),
    )
    session = pdf_signer.init_signing_session(writer)
    validation_info = await session.perform_presign_validation(writer)
    document = session.prepare_tbs_document(
        validation_info=validation_info,
        bytes_reserved=_reserved_hex_chars(signer, level.needs_timestamp),
        appearance_text_params={"quality": request.quality, "reason": request.reason},
    )
    digest, output = document.digest_tbs_document(in_place=True, chunk_size=HASH_CHUNK_BYTES)
    revision_end = output.seek(0, os.SEEK_END)
    signed = await document.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time,
            adobe_revinfo_attr=(
                None if validation_info is None else validation_info.adobe_revinfo_attr
            ),
            cades_signed_attrs=meta.cades_signed_attr_spec,
        ),
    )
    await signed.post_signature_processing(output, chunk_size=HASH_CHUNK_BYTES)
    return digest.reserved_region_start, digest.reserved_region_end, revision_end


def _sign_in_overlay(
    reader: PdfFileReader,
    request: SignRequest,
    page_count: int,
    located: list[SignatureLocation] | None = None,
) -> tuple[str, str, str]:
    """Sign: the update is appended to the reader's overlay. Field, certificate name, SHA-256.
    Where the signature lies is appended to ``located`` when given."""
    with open_signer(request.key) as signer:
        fingerprint = _check_expected_cert(request, signer)
        try:
            name = asyncio.run(_sign(reader, request, signer, page_count, located))
        except TimestampRequestError as exc:
            raise TimestampError(
                f"L'autorité d'horodatage {request.timestamp_url} n'a pas répondu correctement."
            ) from exc
        except (PathValidationError, ValidationError) as exc:
            raise SigningFailedError(
                f"Le certificat du signataire n'a pas pu être validé (révoqué, expiré ou "
                f"chaîne inconnue) : {exc}"
            ) from exc
        except (SigningError, PdfError, ValueError, OSError) as exc:
            raise SigningFailedError(f"La signature a échoué : {exc}") from exc
        return name, signer_name(signer.signing_cert), fingerprint


def _signed_overlay(
    data: Document, request: SignRequest, located: list[SignatureLocation] | None = None
) -> tuple[AppendOverlay, SigningOutcome]:
    reader, original, page_count = _prepare(data, request)
    overlay = cast(AppendOverlay, reader.stream)
    try:
        name, cert_name, fingerprint = _sign_in_overlay(reader, request, page_count, located)
    except BaseException:
        overlay.close()
        raise
    outcome = SigningOutcome(
        original=original,
        field_name=name,
        level=request.level,
        signer_certificate_name=cert_name,
        signer_cert_sha256=fingerprint,
        size=overlay.size,
    )
    return overlay, outcome


def _write_document(overlay: AppendOverlay, output: BinaryIO, source: BinaryIO | None) -> int:
    """Write the document, hashing it on the way for the signature's digest (the algorithm
    ``_sign_with`` asks pyHanko for): one pass over it, while the main thread prepares."""
    try:
        return overlay.write_base_to(output, source, hashing="sha256")
    except (OSError, ValueError) as exc:
        raise SigningFailedError(f"Écriture du document signé impossible : {exc}") from exc


def _sign_to(
    data: Document, request: SignRequest, output: BinaryIO, source: BinaryIO | None
) -> SigningOutcome:
    reader, original, page_count = _prepare(data, request)
    if original is not None:
        source = None  # the document was changed before signing: it is not the file any more
    overlay = cast(AppendOverlay, reader.stream)
    with overlay, ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-out") as pool:
        written = pool.submit(_write_document, overlay, output, source)
        try:
            name, cert_name, fingerprint = _sign_in_overlay(reader, request, page_count)
        finally:
            wait([written])  # never return while the thread still writes; a signing error wins
        size = written.result() + overlay.write_appended_to(output)
    return SigningOutcome(
        original=original,
        field_name=name,
        level=request.level,
        signer_certificate_name=cert_name,
        signer_cert_sha256=fingerprint,
        size=size,
    )


def sign_pdf_to(data: Document, request: SignRequest, output: BinaryIO) -> SigningOutcome:
    """Sign ``data`` once at ``request.level`` and write the signed PDF to ``output``.

    ``data`` is never copied (a memory-mapped file works too). Once the document has passed
    the intake checks, its bytes are written to ``output`` by a second thread while pyHanko
    hashes them (both release the GIL), then the incremental update follows: the extra cost
    per MB is about one SHA-256 pass. ``output`` only needs ``write``. Bad input is refused
    before anything is written; if signing fails later (TSA, key store), ``output`` may hold
    the unsigned prefix of the document, so write to a temporary file and rename it on
    success, as the CLI does. Raises like :func:`sign_pdf`. For a document in a file,
    :func:`sign_file_to` also spares the write.
    """
    return _sign_to(data, request, output, None)


def sign_file_to(source: BinaryIO, request: SignRequest, output: BinaryIO) -> SigningOutcome:
    """Sign the PDF in the open file ``source`` into ``output``, like :func:`sign_pdf_to`.

    ``source`` is memory-mapped (never read into memory) for the checks and the hash. The
    document is read once: a second thread hashes it chunk by chunk for the signature's
    digest and writes each chunk to ``output`` in the same pass; when both are regular files
    on a file system that shares extents (XFS, Btrfs), the document is cloned instead
    (:func:`signatures.overlay.kernel_clone`: nothing copied) and only hashed. The
    incremental update follows: the same bytes either way. A document changed before its
    first signature (form flattened, PDF/A conversion) is written from memory, in one pass
    too. An empty file is refused (nothing to map).
    """
    fd = source.fileno()
    if os.fstat(fd).st_size == 0:
        raise DocumentRefusedError("Le fichier est vide : ce n'est pas un document PDF.")
    data = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    try:
        return _sign_to(data, request, output, source)
    finally:
        # A refused document's reader, kept alive by the traceback, still holds a view of
        # the mapping: then it is unmapped with its last reference.
        with contextlib.suppress(BufferError):
            data.close()


def sign_pdf(data: bytes, request: SignRequest) -> SignedPdf:
    """Sign ``data`` once, as an incremental update, at ``request.level``.

    The document is checked (its form flattened and, unless it truly conforms, converted to
    PDF/A-2b before its first signature) before the key store is opened; the signer's
    certificate is checked (validity, chain, revocation) before the key signs. Raises a :class:`SignatureError` subclass on bad input or broken
    infrastructure; the input is never modified and nothing half-signed is returned. The
    signed document is one new ``bytes`` object (one copy); :func:`sign_pdf_to` avoids it.
    """
    located: list[SignatureLocation] = []
    overlay, outcome = _signed_overlay(data, request, located)
    with overlay:
        pdf = overlay.getvalue()
    return SignedPdf(
        pdf=pdf,
        original=outcome.original,
        field_name=outcome.field_name,
        level=outcome.level,
        signer_certificate_name=outcome.signer_certificate_name,
        signer_cert_sha256=outcome.signer_cert_sha256,
        location=located[0],
    )
