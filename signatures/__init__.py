"""PAdES signing and validation, detached seals and timestamps, and a local development PKI.

A leaf library: it knows nothing of the engine. Callers resolve the key source from the
signatory's identity and pass everything in as typed values; nothing here reads global settings.
"""

from signatures.errors import (
    DevPkiError,
    DocumentRefusedError,
    KeyStoreError,
    SignatureError,
    SigningFailedError,
    TimestampError,
)
from signatures.intake import DEFAULT_MAX_BYTES, PdfFacts, inspect_pdf
from signatures.keys import KeySource, Pkcs11Key, Pkcs12Key
from signatures.keystore import close_signers
from signatures.pades import PadesLevel, SignedPdf, SignRequest, VisibleField, sign_pdf
from signatures.report import report_to_dict, report_to_html, report_to_json
from signatures.seal import (
    SealVerdict,
    TimestampVerdict,
    seal_detached,
    timestamp_bytes,
    verify_detached_seal,
    verify_timestamp,
)
from signatures.validation import ValidationOptions, validate_pdf, validate_pdf_for_archive
from signatures.verdicts import CertificateInfo, SignatureReport, TimestampInfo, ValidationReport

__all__ = [
    "DEFAULT_MAX_BYTES",
    "CertificateInfo",
    "DevPkiError",
    "DocumentRefusedError",
    "KeySource",
    "KeyStoreError",
    "PadesLevel",
    "PdfFacts",
    "Pkcs11Key",
    "Pkcs12Key",
    "SealVerdict",
    "SignRequest",
    "SignatureError",
    "SignatureReport",
    "SignedPdf",
    "SigningFailedError",
    "TimestampError",
    "TimestampInfo",
    "TimestampVerdict",
    "ValidationOptions",
    "ValidationReport",
    "VisibleField",
    "close_signers",
    "inspect_pdf",
    "report_to_dict",
    "report_to_html",
    "report_to_json",
    "seal_detached",
    "sign_pdf",
    "timestamp_bytes",
    "validate_pdf",
    "validate_pdf_for_archive",
    "verify_detached_seal",
    "verify_timestamp",
]
