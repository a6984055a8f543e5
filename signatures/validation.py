"""Validate every signature of a PDF into a report: a value, never an exception for a bad signature.

Revocation checking fails hard by default: without revocation data (embedded in the document's
DSS, or fetched when the caller allows it) a signature is not valid. Nothing is fetched unless
``allow_fetching`` is set, and then only from the URLs in certificates that chain to the given
trust roots' PKI, never from the document's other content.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from asn1crypto import cms, x509
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import errors as validation_errors
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    validate_tst_signed_data,
)
from pyhanko.sign.validation.pdf_embedded import (
    EmbeddedPdfSignature,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.status import (
    PdfSignatureStatus,
    SignatureCoverageLevel,
    TimestampSignatureStatus,
)
from pyhanko_certvalidator import ValidationContext

from signatures.archive_validation import ades_lta_problem, archive_spec
from signatures.errors import DocumentRefusedError
from signatures.intake import DEFAULT_MAX_BYTES
from signatures.keystore import signer_name
from signatures.locking import ACT_DIFF_POLICY
from signatures.tsa import fetcher_backend
from signatures.verdicts import (
    CertificateInfo,
    SignatureReport,
    TimestampInfo,
    ValidationReport,
    certificate_info,
    trust_problem_fr,
)

if TYPE_CHECKING:
    from signatures.pades import SignatureLocation, SignedPdf

__all__ = [
    "ValidationOptions",
    "validate_new_signature",
    "validate_pdf",
    "validate_pdf_for_archive",
]

_ALLOWED = {
    None,
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
}
_MODIFICATIONS_FR = {
    None: "aucune modification après la signature",
    ModificationLevel.NONE: "aucune modification après la signature",
    ModificationLevel.LTA_UPDATES: "ajouts de données de validation et d'horodatage uniquement",
    ModificationLevel.FORM_FILLING: "ajouts de signatures uniquement",
    ModificationLevel.ANNOTATIONS: "annotations ajoutées après la signature",
    ModificationLevel.OTHER: "modifications non autorisées après la signature",
}


@dataclass(frozen=True)
class ValidationOptions:
    """How to validate: trust anchors and revocation policy, from the caller."""

    trust_roots: tuple[bytes, ...]
    """DER trust anchors."""
    extra_certs: tuple[bytes, ...] = ()
    """DER intermediate certificates to help build chains."""
    revocation_mode: Literal["hard-fail", "soft-fail", "require"] = "hard-fail"
    """pyhanko-certvalidator revocation policy; hard-fail rejects when no data is found."""
    allow_fetching: bool = False
    """Fetch OCSP/CRL data online (from the certificates' URLs); else use only the DSS."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest document accepted."""
    ades_lta: bool = False
    """Archive mode: judge each signer's certificate with ETSI AdES-LTA validation, using the
    document timestamps as proof of existence and only the revocation data in the document
    (``allow_fetching`` is ignored for that verdict). A B-LTA then stays valid after the
    signer's certificate expired; B-B/B-T/B-LT signatures get no proof of existence."""
    validation_time: datetime | None = None
    """Time the document is judged at (timezone-aware); None for now."""
    long_term: bool = False
    """Judge long-term signatures offline at the time their validation data proves: a B-LTA
    (a valid document timestamp after it) gets the AdES-LTA verdict at ``validation_time``; a
    B-LT (revocation data about its signer in the DSS, produced after its signature timestamp)
    is judged at the time of that data, while its signer's certificate is still within its
    validity at ``validation_time``. Other signatures, or with ``allow_fetching``, are judged
    at ``validation_time`` as usual."""


def _context(options: ValidationOptions, dss: DocumentSecurityStore | None) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": [x509.Certificate.load(der) for der in options.trust_roots],
        "other_certs": [x509.Certificate.load(der) for der in options.extra_certs],
        "allow_fetching": options.allow_fetching,
        "revocation_mode": options.revocation_mode,
    }
    if options.validation_time is not None:
        kwargs["moment"] = options.validation_time
    if options.allow_fetching:
        kwargs["fetcher_backend"] = fetcher_backend()
    if dss is not None:
        return dss.as_validation_context(kwargs)
    if not options.allow_fetching:
        # No data at all: certvalidator wants that said explicitly; hard-fail then rejects.
        kwargs.update(crls=[], ocsps=[])
    return ValidationContext(**kwargs)


def _read_dss(reader: PdfFileReader) -> DocumentSecurityStore | None:
    if "/DSS" not in reader.root:
        return None
    try:
        return DocumentSecurityStore.read_dss(reader)
    except (PdfError, ValueError, KeyError, TypeError):
        return None


def _revocation_time(dss: DocumentSecurityStore | None, serial: int) -> datetime | None:
    """When the DSS's revocation data about ``serial`` was produced (latest OCSP or CRL)."""
    if dss is None:
        return None
    times: list[datetime] = []
    for ref in dss.ocsps:
        try:
            response = asn1_ocsp.OCSPResponse.load(ref.get_object().data)
            basic = response["response_bytes"]["response"].parsed["tbs_response_data"]
            if any(r["cert_id"]["serial_number"].native == serial for r in basic["responses"]):
                times.append(basic["produced_at"].native)
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    for ref in dss.crls:
        try:
            crl = asn1_crl.CertificateList.load(ref.get_object().data)
            times.append(crl["tbs_cert_list"]["this_update"].native)
        except (KeyError, ValueError, TypeError):
            continue
    return max(times) if times else None


def _timestamp(kind: str, status: Any) -> TimestampInfo:
    ok = bool(status.intact and status.valid and status.trusted)
    return TimestampInfo(
        kind=kind,
        time=status.timestamp,
        authority=signer_name(status.signing_cert),
        valid=ok,
        problem="" if ok else trust_problem_fr(status.trust_problem_indic, "de l'horodatage"),
    )


def _level(sig: EmbeddedPdfSignature, status: Any, dss: Any, doc_ts_valid: bool) -> str | None:
    if sig.sig_object.get("/SubFilter") != "/ETSI.CAdES.detached":
        return None
    level = "B-B"
    if status.timestamp_validity is None or not _timestamp("", status.timestamp_validity).valid:
        return level
    level = "B-T"
    if dss is None or not (dss.ocsps or dss.crls):
        return level
    return "B-LTA" if doc_ts_valid else "B-LT"


def _trust_problems(status: Any, revocation_known: bool, no_revinfo: bool) -> list[str]:
    problems: list[str] = []
    if no_revinfo and not status.trusted:
        problems.append(
            "Aucune donnée de révocation dans le document et vérification en ligne désactivée : "
            "la confiance ne peut pas être établie."
        )
    if status.revoked:
        problems.append("Le certificat du signataire est révoqué.")
    if not status.trusted and not status.revoked:
        problems.append(trust_problem_fr(status.trust_problem_indic, "du signataire"))
    if status.trusted and not revocation_known:
        problems.append("Le statut de révocation n'a pas pu être établi.")
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        problems.append("L'horodatage de la signature n'est pas valide ou pas de confiance.")
    return problems


_MODIFIED = "Document modifié après signature : "
"""First words of every finding that the signed content changed (always listed first)."""


def _integrity_problems(status: Any) -> list[str]:
    """Findings that depend neither on time nor on trust."""
    problems: list[str] = []
    if not status.intact:
        problems.append(_MODIFIED + "le contenu signé a changé (empreinte différente).")
    if status.intact and not status.valid:
        problems.append("La valeur de la signature est incorrecte.")
    if status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        problems.append(_MODIFIED + "la plage signée ne couvre pas une révision entière.")
    elif (
        status.coverage != SignatureCoverageLevel.ENTIRE_FILE and status.modification_level is None
    ):
        problems.append(
            _MODIFIED + "des octets hors de la plage signée n'ont pas pu être analysés."
        )
    if status.modification_level not in _ALLOWED or status.docmdp_ok is False:
        problems.append(
            _MODIFIED + _MODIFICATIONS_FR.get(status.modification_level, "inconnues") + "."
        )
    return problems


def _long_term(options: ValidationOptions) -> bool:
    return options.long_term and not options.allow_fetching and not options.ades_lta


async def _status_at_proof_time(
    sig: EmbeddedPdfSignature, options: ValidationOptions, dss: DocumentSecurityStore | None
) -> Any:
    """The signature judged now, or else at the time its validation data speaks for: its
    timestamp's time (data gathered just before, still fresh then), or the data's own time."""
    status = await _pdf_signature_status(sig, options, dss)
    signed_at = _signature_time(status)
    if status.trusted or status.revoked or signed_at is None:
        return status
    data_time = _revocation_time(dss, status.signing_cert.serial_number)
    moments = [signed_at] + ([data_time] if data_time and data_time > signed_at else [])
    for moment in moments:
        candidate = await _pdf_signature_status(
            sig, dataclasses.replace(options, validation_time=moment), dss
        )
        if candidate.trusted or candidate.revoked:
            return candidate
    return status


async def _signature_report(
    sig: EmbeddedPdfSignature,
    options: ValidationOptions,
    dss: DocumentSecurityStore | None,
    proof_time: datetime | None,
) -> SignatureReport:
    """``proof_time``: time of the latest valid document timestamp after the signature."""
    doc_ts_valid = proof_time is not None
    long_term = _long_term(options)
    try:
        if long_term:
            status = await _status_at_proof_time(sig, options, dss)
        else:
            status = await _pdf_signature_status(sig, options, dss)
    except (validation_errors.SignatureValidationError, PdfError, ValueError) as exc:
        return SignatureReport.unreadable(str(sig.field_name), f"Signature illisible : {exc}")
    path = status.validation_path
    chain: tuple[CertificateInfo, ...] = ()
    anchor = None
    if path is not None:
        chain = tuple(certificate_info(c) for c in path.iter_certs(include_root=False))
        anchor = signer_name_of_anchor(path)
    serial = status.signing_cert.serial_number
    checked_at = _revocation_time(dss, serial)
    if checked_at is None and options.allow_fetching and status.trusted:
        checked_at = status.validation_time
    revocation_known = status.revoked or checked_at is not None
    no_revinfo = not options.allow_fetching and (dss is None or not (dss.ocsps or dss.crls))
    problems = _integrity_problems(status)
    if options.ades_lta or (long_term and doc_ts_valid):
        # Long-term: the evidence chain is judged as of its latest document timestamp, whose
        # own validity at the real time is checked with the document timestamps.
        verdict = await ades_lta_problem(
            sig,
            archive_spec(options.trust_roots, options.extra_certs, options.revocation_mode),
            validation_time=(proof_time if long_term and proof_time else None)
            or options.validation_time
            or datetime.now(UTC),
        )
        problems.extend([verdict] if verdict else [])
    else:
        problems += _trust_problems(status, revocation_known, no_revinfo)
        if long_term:
            problems += _expiry_problem(status.signing_cert, options.validation_time, "signataire")
    timestamps: tuple[TimestampInfo, ...] = ()
    if status.timestamp_validity is not None:
        timestamps = (_timestamp("signature", status.timestamp_validity),)
    return SignatureReport(
        field_name=str(sig.field_name),
        signer=signer_name(status.signing_cert),
        signer_certificate=certificate_info(status.signing_cert),
        chain=chain,
        trust_anchor=anchor,
        claimed_signing_time=sig.self_reported_timestamp,
        revocation_status="révoqué" if status.revoked else ("bon" if checked_at else "inconnu"),
        revocation_checked_at=checked_at,
        timestamps=timestamps,
        pades_level=_level(sig, status, dss, doc_ts_valid),
        modification=_MODIFICATIONS_FR.get(status.modification_level, "inconnues"),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        problems=tuple(problems),
    )


async def _pdf_signature_status(
    sig: EmbeddedPdfSignature, options: ValidationOptions, dss: DocumentSecurityStore | None
) -> Any:
    context = _context(options, dss)
    try:
        return await async_validate_pdf_signature(
            sig,
            signer_validation_context=context,
            ts_validation_context=context,
            diff_policy=ACT_DIFF_POLICY,
        )
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]


def _signature_time(status: Any) -> datetime | None:
    """Time stated by the signature's timestamp token, if it has an intact one."""
    stamp = status.timestamp_validity
    if stamp is None or not (stamp.intact and stamp.valid):
        return None
    moment: datetime = stamp.timestamp
    return moment


def _expiry_problem(cert: x509.Certificate, at: datetime | None, whose: str) -> list[str]:
    """A signature or timestamp judged at the time of its validation data holds only while its
    certificate is within its validity: beyond, only a later archival timestamp proves it."""
    moment = at or datetime.now(UTC)
    not_after: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    if moment <= not_after:
        return []
    return [
        f"Le certificat {_WHOSE_FR[whose]} a expiré le {not_after:%d/%m/%Y} et aucun horodatage "
        "d'archivage plus récent (B-LTA) ne prouve son existence et celle de ses données de "
        "validation avant cette date."
    ]


_WHOSE_FR = {"signataire": "du signataire", "horodatage": "de l'horodatage"}


def signer_name_of_anchor(path: Any) -> str | None:
    """Common name of a validation path's trust anchor."""
    try:
        return signer_name(path.trust_anchor.authority.certificate)
    except AttributeError:
        return None


async def _doc_timestamp_status(
    sig: EmbeddedPdfSignature, options: ValidationOptions, dss: Any
) -> Any:
    context = _context(options, dss)
    try:
        return await async_validate_pdf_timestamp(
            sig, validation_context=context, diff_policy=ACT_DIFF_POLICY
        )
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]


async def _doc_timestamps(
    sigs: list[EmbeddedPdfSignature], options: ValidationOptions, dss: Any
) -> list[tuple[int, TimestampInfo]]:
    """Each document timestamp's verdict; long-term, each is judged at its own time (with the
    validation data gathered for it) and the latest must still be within its certificate's
    validity at the real validation time (else it is due for renewal)."""
    results = []
    long_term = _long_term(options)
    latest = max((sig.signed_revision for sig in sigs), default=None)
    for sig in sigs:
        try:
            status = await _doc_timestamp_status(sig, options, dss)
            if long_term and not status.trusted and status.intact and status.valid:
                at_own_time = dataclasses.replace(options, validation_time=status.timestamp)
                status = await _doc_timestamp_status(sig, at_own_time, dss)
            info = _timestamp("document", status)
            expired = (
                _expiry_problem(status.signing_cert, options.validation_time, "horodatage")
                if long_term and sig.signed_revision == latest
                else []
            )
            if status.modification_level not in _ALLOWED:
                info = TimestampInfo(
                    info.kind, info.time, info.authority, False, "Modifié après horodatage."
                )
            elif expired and info.valid:
                info = TimestampInfo(info.kind, info.time, info.authority, False, expired[0])
        except (validation_errors.SignatureValidationError, PdfError, ValueError) as exc:
            info = TimestampInfo("document", None, "", False, f"Horodatage illisible : {exc}")
        results.append((sig.signed_revision, info))
    return results


def _unsigned_tail(data: bytes, signed: bool) -> str:
    """A problem when the file ends with bytes outside any revision, else "".

    Later revisions (new signatures, DSS updates) are judged by the modification analysis;
    bytes after the last ``%%EOF`` belong to no revision and nothing can vouch for them.
    """
    if signed and not data.rstrip(b"\r\n\t \x00").endswith(b"%%EOF"):
        return (
            "Document modifié après signature : des octets ont été ajoutés en fin de fichier, "
            "hors de toute révision signée."
        )
    return ""


async def _validate(data: bytes, options: ValidationOptions) -> ValidationReport:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc
    if reader.encrypted:
        raise DocumentRefusedError("Le document PDF est chiffré : il ne peut pas être vérifié.")
    dss = _read_dss(reader)
    doc_sigs = [s for s in embedded if s.sig_object_type == "/DocTimeStamp"]
    doc_ts = await _doc_timestamps(doc_sigs, options, dss)
    unsigned_tail = _unsigned_tail(data, bool(embedded))
    reports = []
    for sig in embedded:
        if sig.sig_object_type == "/DocTimeStamp":
            continue
        later = [
            ts.time for rev, ts in doc_ts if rev > sig.signed_revision and ts.valid and ts.time
        ]
        report = await _signature_report(sig, options, dss, max(later) if later else None)
        if unsigned_tail:
            report = dataclasses.replace(report, problems=(unsigned_tail, *report.problems))
        reports.append(report)
    return ValidationReport.build(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        signatures=tuple(reports),
        document_timestamps=tuple(ts for _, ts in doc_ts),
        validated_at=options.validation_time or datetime.now(UTC),
        online_revocation=options.allow_fetching and not options.ades_lta,
    )


def validate_pdf(data: bytes, options: ValidationOptions) -> ValidationReport:
    """Validate every signature and document timestamp of ``data``.

    Raises :class:`DocumentRefusedError` only when the file cannot be read as a PDF at all;
    invalid signatures are reported, not raised.
    """
    _check_input(data, options)
    return asyncio.run(_validate(data, options))


def _check_input(data: bytes, options: ValidationOptions) -> None:
    if len(data) > options.max_bytes:
        raise DocumentRefusedError(
            f"Le document est trop volumineux ({len(data) / 1_048_576:.1f} Mio ; "
            f"limite {options.max_bytes / 1_048_576:.0f} Mio)."
        )
    if b"%PDF-" not in data[:1024]:
        raise DocumentRefusedError("Le fichier n'est pas un document PDF.")


def validate_pdf_for_archive(
    data: bytes, options: ValidationOptions, *, at: datetime | None = None
) -> ValidationReport:
    """Validate ``data`` as an archive does: AdES-LTA, local revocation data only, at ``at``.

    Same as :func:`validate_pdf` with ``ades_lta=True``, ``allow_fetching=False`` and
    ``validation_time=at`` (now when None).
    """
    archive_options = dataclasses.replace(
        options,
        ades_lta=True,
        allow_fetching=False,
        validation_time=at or options.validation_time,
    )
    return validate_pdf(data, archive_options)


# --- The signature a signing call just made -------------------------------------------------

_BYTE_RANGE = re.compile(rb"\s*/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_DOC_TIMESTAMP = re.compile(
    rb"/Contents\s*<[0-9A-Fa-f]*>\s*/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]"
)
_UNREADABLE_NEW = "Signature illisible à l'emplacement où elle vient d'être écrite."
_NEW_REVISIONS = (
    "révisions ajoutées par la signature même (données de validation, horodatage du document) "
    "non réanalysées"
)


def _contents_at(data: bytes, start: int, end: int) -> cms.SignedData:
    """The CMS SignedData in the hex string ``data[start:end]`` (``<`` to ``>``)."""
    if not (0 < start < end <= len(data)) or data[start] != 0x3C or data[end - 1] != 0x3E:
        raise ValueError("no /Contents there")
    info = cms.ContentInfo.load(bytes.fromhex(data[start + 1 : end - 1].decode("ascii")))
    if info["content_type"].native != "signed_data":
        raise ValueError("not a SignedData")
    signed: cms.SignedData = info["content"]
    return signed


def _hasher(*parts: memoryview) -> Any:
    """The ``expected digest by algorithm`` callable pyHanko's timestamp check wants."""

    def digest(algorithm: str) -> bytes:
        h = hashlib.new(algorithm)
        for part in parts:
            h.update(part)
        return h.digest()

    return digest


async def _new_doc_timestamp(
    data: bytes, after: int, context: ValidationContext
) -> TimestampInfo | None:
    """The document timestamp of the revision this signing call appended last, if any.

    Its ``/Contents`` and ``/ByteRange`` are read in the bytes pyHanko wrote after the
    signature's revision (no user text there); its imprint must cover everything up to the
    end of its revision but its own ``/Contents`` (pyHanko appends one more revision, the
    DSS with the timestamp's own validation data)."""
    matches = list(_DOC_TIMESTAMP.finditer(data, after))
    if not matches:
        return None
    match = matches[-1]
    start, end, tail = (int(group) for group in match.groups())
    view = memoryview(data)
    try:
        covered = end + tail
        if (
            covered > len(data)
            or data.find(b"<", match.start()) != start
            or not data[:covered].rstrip(b"\r\n").endswith(b"%%EOF")
        ):
            raise ValueError("byte range")
        signed = _contents_at(data, start, end)
        kwargs = await validate_tst_signed_data(
            signed, context, _hasher(view[:start], view[end:covered])
        )
        return _timestamp("document", TimestampSignatureStatus(**kwargs))
    except (validation_errors.SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return TimestampInfo("document", None, "", False, f"Horodatage illisible : {exc}")


def _new_level(status: Any, dss: DocumentSecurityStore | None, doc_ts_valid: bool) -> str:
    """As :func:`_level`, for a signature this package wrote (SubFilter ETSI.CAdES.detached)."""
    if status.timestamp_validity is None or not _timestamp("", status.timestamp_validity).valid:
        return "B-B"
    if dss is None or not (dss.ocsps or dss.crls):
        return "B-T"
    return "B-LTA" if doc_ts_valid else "B-LT"


async def _validate_new(
    data: bytes, where: SignatureLocation, field_name: str, options: ValidationOptions
) -> ValidationReport:
    start, end, revision_end = where.contents_start, where.contents_end, where.revision_end
    view = memoryview(data)
    problems: list[str] = []
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        dss = _read_dss(reader)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc
    stated = _BYTE_RANGE.match(data, end) if 0 < end <= len(data) else None
    covered = (0, start, end, revision_end - end)
    if (
        stated is None
        or tuple(int(g) for g in stated.groups()) != covered
        or not data[:revision_end].rstrip(b"\r\n").endswith(b"%%EOF")
    ):
        return _unreadable_new(data, field_name, options)
    context = _context(options, dss)  # one for the signature and the document timestamp
    try:
        try:
            status = await async_validate_detached_cms(
                b"".join((view[:start], view[end:revision_end])),
                _contents_at(data, start, end),
                signer_validation_context=context,
                ts_validation_context=context,
                key_usage_settings=PdfSignatureStatus.default_usage_constraints(),
            )
        except (validation_errors.SignatureValidationError, ValueError, KeyError, TypeError) as exc:
            return _unreadable_new(data, field_name, options, str(exc))
        doc_ts = await _new_doc_timestamp(data, revision_end, context)
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]
    path = status.validation_path
    chain: tuple[CertificateInfo, ...] = ()
    if path is not None:
        chain = tuple(certificate_info(c) for c in path.iter_certs(include_root=False))
    checked_at = _revocation_time(dss, status.signing_cert.serial_number)
    if checked_at is None and options.allow_fetching and status.trusted:
        checked_at = status.validation_time
    no_revinfo = not options.allow_fetching and (dss is None or not (dss.ocsps or dss.crls))
    if not status.intact:
        problems.append(_MODIFIED + "le contenu signé a changé (empreinte différente).")
    elif not status.valid:
        problems.append("La valeur de la signature est incorrecte.")
    problems += _trust_problems(status, status.revoked or checked_at is not None, no_revinfo)
    unsigned_tail = _unsigned_tail(data, True)
    report = SignatureReport(
        field_name=field_name,
        signer=signer_name(status.signing_cert),
        signer_certificate=certificate_info(status.signing_cert),
        chain=chain,
        trust_anchor=signer_name_of_anchor(path) if path is not None else None,
        claimed_signing_time=status.signer_reported_dt,
        revocation_status="révoqué" if status.revoked else ("bon" if checked_at else "inconnu"),
        revocation_checked_at=checked_at,
        timestamps=(
            ()
            if status.timestamp_validity is None
            else (_timestamp("signature", status.timestamp_validity),)
        ),
        pades_level=_new_level(status, dss, doc_ts is not None and doc_ts.valid),
        modification=(_MODIFICATIONS_FR[None] if revision_end == len(data) else _NEW_REVISIONS),
        covers_whole_file=revision_end == len(data),
        problems=tuple(([unsigned_tail] if unsigned_tail else []) + problems),
    )
    return ValidationReport.build(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        signatures=(report,),
        document_timestamps=() if doc_ts is None else (doc_ts,),
        validated_at=options.validation_time or datetime.now(UTC),
        online_revocation=options.allow_fetching,
    )


def _unreadable_new(
    data: bytes, field_name: str, options: ValidationOptions, detail: str = ""
) -> ValidationReport:
    problem = _UNREADABLE_NEW + (f" ({detail})" if detail else "")
    return ValidationReport.build(
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        signatures=(SignatureReport.unreadable(field_name, problem),),
        document_timestamps=(),
        validated_at=options.validation_time or datetime.now(UTC),
        online_revocation=options.allow_fetching,
    )


def validate_new_signature(signed: SignedPdf, options: ValidationOptions) -> ValidationReport:
    """Validate a document :func:`signatures.sign_pdf` just returned, without re-parsing it.

    When the document carried no signature before (the first signature of an act), only the
    new signature is judged, where the signing call wrote it (``signed.location``): the byte
    range stated in the file must be the one pyHanko hashed and cover its whole revision; the
    CMS read back from the file at that offset must be intact (digest recomputed from the
    file), correctly signed by a certificate that chains to ``options.trust_roots`` and is not
    revoked according to the document's DSS (or fetched data, if allowed), hard-fail as
    :func:`validate_pdf`; its signature timestamp and the document timestamp the call appended
    (B-LTA) must be intact and trusted. What is not done again: reading the document's
    signature fields, and the modification analysis of the revisions the call itself
    appended after the signature (DSS, then at B-LTA the document timestamp and the DSS of
    its own validation data): they are read for their validation data, not compared object
    by object; at B-LTA the document timestamp's imprint covers all of them but the last.

    Otherwise (an earlier signature, no location, archive or long-term options) this is
    :func:`validate_pdf`, which judges every signature.
    """
    where = signed.location
    if where is None or not where.first_signature or options.ades_lta or options.long_term:
        return validate_pdf(signed.pdf, options)
    _check_input(signed.pdf, options)
    return asyncio.run(_validate_new(signed.pdf, where, signed.field_name, options))
