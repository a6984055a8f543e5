"""PAdES signing and validation, detached seals and timestamps.

A leaf library: it knows nothing of the engine. Callers resolve the key source from the
signatory's identity and pass everything in as typed values; nothing here reads global settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

if TYPE_CHECKING:
    from signatures.errors import (
        DocumentRefusedError,
        KeyStoreError,
        RevocationUnavailableError,
        SignatureError,
        SigningFailedError,
        TimestampError,
    )
    from signatures.intake import DEFAULT_MAX_BYTES, PdfFacts, inspect_pdf
    from signatures.keys import KeySource, Pkcs11Key, Pkcs12Key
    from signatures.keystore import close_signers
    from signatures.pades import (
        PadesLevel,
        SignatureLocation,
        SignedPdf,
        SigningOutcome,
        SignRequest,
        VisibleField,
        sign_pdf,
        sign_pdf_to,
    )
    from signatures.renewal import (
        DEFAULT_ALGORITHM_SUNSETS,
        DEFAULT_RENEWAL_HORIZON,
        ArchivalTimestamp,
        RenewalOutcome,
        RenewalRequest,
        RenewedPdf,
        latest_document_timestamp,
        renew_archival_timestamp,
        renew_archival_timestamp_to,
        renewal_due,
    )
    from signatures.report import report_to_dict, report_to_html, report_to_json
    from signatures.seal import (
        SealVerdict,
        TimestampVerdict,
        seal_detached,
        timestamp_bytes,
        verify_detached_seal,
        verify_timestamp,
    )
    from signatures.validation import (
        ValidationOptions,
        validate_new_signature,
        validate_pdf,
        validate_pdf_for_archive,
    )
    from signatures.verdicts import (
        CertificateInfo,
        SignatureReport,
        TimestampInfo,
        ValidationReport,
    )

__all__ = [
    "DEFAULT_ALGORITHM_SUNSETS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_RENEWAL_HORIZON",
    "ArchivalTimestamp",
    "CertificateInfo",
    "DocumentRefusedError",
    "KeySource",
    "KeyStoreError",
    "PadesLevel",
    "PdfFacts",
    "Pkcs11Key",
    "Pkcs12Key",
    "RenewalOutcome",
    "RenewalRequest",
    "RenewedPdf",
    "RevocationUnavailableError",
    "SealVerdict",
    "SignRequest",
    "SignatureError",
    "SignatureLocation",
    "SignatureReport",
    "SignedPdf",
    "SigningFailedError",
    "SigningOutcome",
    "TimestampError",
    "TimestampInfo",
    "TimestampVerdict",
    "ValidationOptions",
    "ValidationReport",
    "VisibleField",
    "close_signers",
    "inspect_pdf",
    "latest_document_timestamp",
    "renew_archival_timestamp",
    "renew_archival_timestamp_to",
    "renewal_due",
    "report_to_dict",
    "report_to_html",
    "report_to_json",
    "seal_detached",
    "sign_pdf",
    "sign_pdf_to",
    "timestamp_bytes",
    "validate_new_signature",
    "validate_pdf",
    "validate_pdf_for_archive",
    "verify_detached_seal",
    "verify_timestamp",
]

__getattr__, __dir__, _LAZY_NAMES = lazy_loader.attach(
    __name__,
    submod_attrs={
        "errors": [
            "DocumentRefusedError",
            "KeyStoreError",
            "RevocationUnavailableError",
            "SignatureError",
            "SigningFailedError",
            "TimestampError",
        ],
        "intake": ["DEFAULT_MAX_BYTES", "PdfFacts", "inspect_pdf"],
        "keys": ["KeySource", "Pkcs11Key", "Pkcs12Key"],
        "keystore": ["close_signers"],
        "pades": [
            "PadesLevel",
            "SignRequest",
            "SignatureLocation",
            "SignedPdf",
            "SigningOutcome",
            "VisibleField",
            "sign_pdf",
            "sign_pdf_to",
        ],
        "renewal": [
            "ArchivalTimestamp",
            "DEFAULT_ALGORITHM_SUNSETS",
            "DEFAULT_RENEWAL_HORIZON",
            "RenewalOutcome",
            "RenewalRequest",
            "RenewedPdf",
            "latest_document_timestamp",
            "renew_archival_timestamp",
            "renew_archival_timestamp_to",
            "renewal_due",
        ],
        "report": ["report_to_dict", "report_to_html", "report_to_json"],
        "seal": [
            "SealVerdict",
            "TimestampVerdict",
            "seal_detached",
            "timestamp_bytes",
            "verify_detached_seal",
            "verify_timestamp",
        ],
        "validation": [
            "ValidationOptions",
            "validate_new_signature",
            "validate_pdf",
            "validate_pdf_for_archive",
        ],
        "verdicts": ["CertificateInfo", "SignatureReport", "TimestampInfo", "ValidationReport"],
    },
)
"""Where each public name lives: imported from there on first use (PEP 562, by lazy_loader), so that importing
one light module of the package (`signatures.errors`…) does not load every library behind the others."""
