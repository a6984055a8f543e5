"""Renewal of PAdES-LTA document timestamps before the last one's TSA certificate expires.

A B-LTA document is protected by its chain of document timestamps: each proves that the
document and the validation data embedded so far existed at that time. The chain holds only
while the last timestamp can still be verified, so before its TSA certificate expires (or its
algorithms weaken) the validation data of that timestamp (certificates, CRL/OCSP fetched live
from the TSA's issuer) is added to the DSS and a new document timestamp covering everything is
appended, as an incremental update (pyHanko's ``update_archival_timestamp_chain``).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO, cast

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, ValidationError

from signatures.errors import DocumentRefusedError, SigningFailedError, TimestampError
from signatures.intake import DEFAULT_MAX_BYTES, open_for_signing
from signatures.keystore import signer_name
from signatures.overlay import AppendOverlay, Document
from signatures.pades import HASH_CHUNK_BYTES
from signatures.tsa import timestamper_for
from signatures.validation import ValidationOptions, validate_pdf_for_archive

__all__ = [
    "DEFAULT_ALGORITHM_SUNSETS",
    "DEFAULT_RENEWAL_HORIZON",
    "ArchivalTimestamp",
    "RenewalOutcome",
    "RenewalRequest",
    "RenewedPdf",
    "latest_document_timestamp",
    "renew_archival_timestamp",
    "renew_archival_timestamp_to",
    "renewal_due",
]

DEFAULT_RENEWAL_HORIZON = timedelta(days=365)
"""Renew when the last timestamp's TSA certificate expires within a year."""

DEFAULT_ALGORITHM_SUNSETS: Mapping[str, date] = {
    "md5": date(2005, 1, 1),
    "sha1": date(2010, 12, 31),
    "rsa-1024": date(2010, 12, 31),
    "rsa-2048": date(2030, 12, 31),
}
"""Dates after which an algorithm no longer protects a timestamp chain. A hash is named as
asn1crypto names it (`sha1`, `sha256`…); a key as `<kind>-<bits>`, which covers every key of
that kind of at most that many bits (`rsa-2048`: RSA keys up to 2048 bits). Defaults after the
ANSSI's guide to cryptographic mechanisms (RGS annex B1): MD5, SHA-1 and RSA keys under 2048
bits are already ruled out; RSA 2048 serves until the end of 2030, 3072 bits after. Operators
set their own list (`pki.algorithm_sunsets`)."""


@dataclass(frozen=True)
class ArchivalTimestamp:
    """The latest document timestamp of a PDF (the end of its evidence chain)."""

    field_name: str
    """Signature field holding the timestamp."""
    time: datetime
    """Time asserted by the TSA (``genTime``)."""
    tsa_name: str
    """Common name of the TSA certificate."""
    tsa_not_after: datetime
    """End of validity of the TSA certificate: the chain must be renewed before."""
    count: int
    """Number of document timestamps in the file."""
    algorithms: tuple[str, ...] = ()
    """What the timestamp's proof rests on: its message imprint and signer digest algorithms
    and the TSA's key (`rsa-2048`, `ec-256`), named as in `DEFAULT_ALGORITHM_SUNSETS`."""

    def weakened(self, sunsets: Mapping[str, date], on: date) -> tuple[str, ...]:
        """The algorithms of this timestamp whose sunset in `sunsets` falls on or before
        `on`, each as « name (date) »."""
        found = []
        for algorithm in self.algorithms:
            sunset = _sunset_of(algorithm, sunsets)
            if sunset is not None and sunset <= on:
                found.append(f"{algorithm} ({sunset:%d/%m/%Y})")
        return tuple(found)


def _sunset_of(algorithm: str, sunsets: Mapping[str, date]) -> date | None:
    """The sunset of `algorithm`: its own entry, or for a key the earliest entry of its kind
    sized at least as large (`rsa-1536` falls under `rsa-2048`)."""
    if algorithm in sunsets:
        return sunsets[algorithm]
    kind, _, bits = algorithm.rpartition("-")
    if not kind or not bits.isdigit():
        return None
    covering = [
        when
        for name, when in sunsets.items()
        if name.rpartition("-")[0] == kind
        and name.rpartition("-")[2].isdigit()
        and int(bits) <= int(name.rpartition("-")[2])
    ]
    return min(covering, default=None)


@dataclass(frozen=True)
class RenewalRequest:
    """How to renew: the TSA to ask, the trust to check against, and when renewal is due."""

    timestamp_url: str
    """RFC 3161 TSA endpoint of the new document timestamp."""
    trust_roots: tuple[bytes, ...]
    """DER trust anchors of the signatures and of the TSAs."""
    extra_certs: tuple[bytes, ...] = ()
    """DER intermediate certificates that the document may lack."""
    horizon: timedelta = DEFAULT_RENEWAL_HORIZON
    """Renew when the last TSA certificate expires, or one of its algorithms reaches its
    sunset, before ``now + horizon``."""
    sunsets: Mapping[str, date] = field(default_factory=lambda: dict(DEFAULT_ALGORITHM_SUNSETS))
    """Algorithm sunsets (see `DEFAULT_ALGORITHM_SUNSETS`)."""
    now: datetime | None = None
    """Reference time (aware); the current time when None."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest document accepted."""


@dataclass(frozen=True)
class RenewalOutcome:
    """What :func:`renew_archival_timestamp_to` did."""

    renewed: bool
    """True when a new document timestamp was added (and the output written)."""
    previous: ArchivalTimestamp
    """The latest document timestamp of the input."""
    current: ArchivalTimestamp
    """The latest document timestamp after the call (``previous`` when nothing was done)."""
    size: int
    """Bytes written to the output (0 when nothing was done)."""

    @property
    def extends_protection(self) -> bool:
        """True when the new timestamp's TSA certificate expires later than the previous one,
        or when the new timestamp rests on other algorithms (a weakened one replaced)."""
        return self.current.tsa_not_after > self.previous.tsa_not_after or set(
            self.current.algorithms
        ) != set(self.previous.algorithms)

    @property
    def summary(self) -> str:
        """One French sentence saying what was done."""
        expiry = self.previous.tsa_not_after.date().isoformat()
        if not self.renewed:
            return f"Horodatage non renouvelé : le certificat de l'horodateur expire le {expiry}."
        return (
            f"Horodatage renouvelé : le certificat de l'horodateur précédent expirait le "
            f"{expiry}, le nouveau expire le {self.current.tsa_not_after.date().isoformat()}."
        )


@dataclass(frozen=True)
class RenewedPdf:
    """Result of :func:`renew_archival_timestamp`."""

    outcome: RenewalOutcome
    """What was done."""
    pdf: bytes | None
    """The renewed document, or None when renewal was not due."""


def _describe(sig: EmbeddedPdfSignature, count: int) -> ArchivalTimestamp:
    cert = cast(x509.Certificate, sig.signer_cert)
    content = sig.signed_data["encap_content_info"]["content"].parsed
    not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    return ArchivalTimestamp(
        field_name=str(sig.field_name),
        time=content["gen_time"].native.astimezone(UTC),
        tsa_name=signer_name(cert),
        tsa_not_after=not_after.astimezone(UTC),
        count=count,
        algorithms=_algorithms(sig, content, cert),
    )


def _algorithms(sig: EmbeddedPdfSignature, content: Any, cert: x509.Certificate) -> tuple[str, ...]:
    digests = {
        str(content["message_imprint"]["hash_algorithm"]["algorithm"].native),
        str(sig.signer_info["digest_algorithm"]["algorithm"].native),
    }
    key = cert.public_key
    return (*sorted(digests), f"{key.algorithm}-{key.bit_size}")


def _latest(reader: PdfFileReader) -> ArchivalTimestamp:
    try:
        timestamps = reader.embedded_timestamp_signatures
        if not timestamps:
            raise DocumentRefusedError(
                "Le document n'a pas d'horodatage de document (PAdES B-LTA) : "
                "il n'y a pas de chaîne d'horodatage à renouveler."
            )
        return _describe(timestamps[-1], len(timestamps))
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentRefusedError("L'horodatage de document est illisible.") from exc


def latest_document_timestamp(
    data: Document, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ArchivalTimestamp:
    """The latest document timestamp of ``data``; :class:`DocumentRefusedError` when none."""
    reader, _ = open_for_signing(data, max_bytes=max_bytes, with_pdfa_claim=False, for_update=False)
    return _latest(reader)


def _check_valid_for_archive(data: Document, request: RenewalRequest) -> None:
    options = ValidationOptions(
        trust_roots=request.trust_roots,
        extra_certs=request.extra_certs,
        max_bytes=request.max_bytes,
    )
    report = validate_pdf_for_archive(data if isinstance(data, bytes) else data[:], options)
    if not report.signatures:
        raise DocumentRefusedError("Le document ne porte aucune signature.")
    if not report.valid:
        problems = [p for s in report.signatures for p in s.problems]
        raise DocumentRefusedError(
            "Le document ne passe pas la validation d'archivage (AdES-LTA) : "
            + (problems[0] if problems else report.summary)
        )


async def _append_timestamp(reader: PdfFileReader, request: RenewalRequest) -> None:
    context = ValidationContext(
        trust_roots=[x509.Certificate.load(der) for der in request.trust_roots],
        other_certs=[x509.Certificate.load(der) for der in request.extra_certs],
        allow_fetching=True,
        revocation_mode="hard-fail",
    )
    try:
        stamper = PdfTimeStamper(timestamper_for(request.timestamp_url))
        await stamper.async_update_archival_timestamp_chain(
            reader, context, in_place=True, chunk_size=HASH_CHUNK_BYTES
        )
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]


def _renew_in_overlay(reader: PdfFileReader, request: RenewalRequest) -> None:
    try:
        asyncio.run(_append_timestamp(reader, request))
    except TimestampRequestError as exc:
        raise TimestampError(
            f"L'autorité d'horodatage {request.timestamp_url} n'a pas répondu correctement."
        ) from exc
    except (PathValidationError, ValidationError) as exc:
        raise SigningFailedError(
            f"Les données de validation du dernier horodatage n'ont pas pu être réunies "
            f"(révocation introuvable ou chaîne inconnue) : {exc}"
        ) from exc
    except (SigningError, PdfError, ValueError, OSError) as exc:
        raise SigningFailedError(f"Le renouvellement de l'horodatage a échoué : {exc}") from exc


def renewal_due(latest: ArchivalTimestamp, request: RenewalRequest) -> bool:
    """True when ``latest``'s TSA certificate expires, or one of its algorithms reaches its
    sunset, before ``request.now + request.horizon``."""
    end = (request.now or datetime.now(UTC)) + request.horizon
    return latest.tsa_not_after <= end or bool(latest.weakened(request.sunsets, end.date()))


def _renewed_overlay(
    data: Document, request: RenewalRequest
) -> tuple[AppendOverlay | None, ArchivalTimestamp]:
    reader, _ = open_for_signing(data, max_bytes=request.max_bytes, with_pdfa_claim=False)
    overlay = cast(AppendOverlay, reader.stream)
    try:
        previous = _latest(reader)
        if not renewal_due(previous, request):
            overlay.close()
            return None, previous
        _check_valid_for_archive(data, request)
        _renew_in_overlay(reader, request)
    except BaseException:
        overlay.close()
        raise
    return overlay, previous


def _outcome(overlay: AppendOverlay, previous: ArchivalTimestamp, size: int) -> RenewalOutcome:
    overlay.seek(0)
    current = _latest(PdfFileReader(overlay, strict=False))
    return RenewalOutcome(renewed=True, previous=previous, current=current, size=size)


def renew_archival_timestamp_to(
    data: Document, request: RenewalRequest, output: BinaryIO
) -> RenewalOutcome:
    """Renew the document timestamp chain of ``data`` when due, writing the result to ``output``.

    Due means: the TSA certificate of the latest document timestamp expires before
    ``request.now + request.horizon``. When it is not due nothing is written and the outcome
    says so. Before renewing, the document must pass the archive validation (AdES-LTA, local
    data): a document without a document timestamp, with an invalid signature or timestamp,
    is refused with :class:`DocumentRefusedError`. Nothing is written to ``output`` unless
    renewal succeeded. ``data`` is never modified or copied.
    """
    overlay, previous = _renewed_overlay(data, request)
    if overlay is None:
        return RenewalOutcome(renewed=False, previous=previous, current=previous, size=0)
    with overlay:
        outcome = _outcome(overlay, previous, overlay.size)
        overlay.write_to(output)
    return outcome


def renew_archival_timestamp(data: Document, request: RenewalRequest) -> RenewedPdf:
    """Same as :func:`renew_archival_timestamp_to`, returning the renewed PDF as ``bytes``."""
    output = io.BytesIO()
    outcome = renew_archival_timestamp_to(data, request, output)
    return RenewedPdf(outcome=outcome, pdf=output.getvalue() if outcome.renewed else None)
