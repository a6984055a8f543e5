"""PAdES signing and validation, detached seals and timestamps.

A leaf library: it knows nothing of the engine. Callers resolve the key source from the
signatory's identity and pass everything in as typed values; nothing here reads global settings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    from signatures.validation import ValidationOptions, validate_pdf, validate_pdf_for_archive
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
    "validate_pdf",
    "validate_pdf_for_archive",
    "verify_detached_seal",
    "verify_timestamp",
]

_EXPORTS: dict[str, str] = {
    "DocumentRefusedError": "signatures.errors",
    "KeyStoreError": "signatures.errors",
    "RevocationUnavailableError": "signatures.errors",
    "SignatureError": "signatures.errors",
    "SigningFailedError": "signatures.errors",
    "TimestampError": "signatures.errors",
    "DEFAULT_MAX_BYTES": "signatures.intake",
    "PdfFacts": "signatures.intake",
    "inspect_pdf": "signatures.intake",
    "KeySource": "signatures.keys",
    "Pkcs11Key": "signatures.keys",
    "Pkcs12Key": "signatures.keys",
    "close_signers": "signatures.keystore",
    "PadesLevel": "signatures.pades",
    "SignRequest": "signatures.pades",
    "SignedPdf": "signatures.pades",
    "SigningOutcome": "signatures.pades",
    "VisibleField": "signatures.pades",
    "sign_pdf": "signatures.pades",
    "sign_pdf_to": "signatures.pades",
    "ArchivalTimestamp": "signatures.renewal",
    "DEFAULT_ALGORITHM_SUNSETS": "signatures.renewal",
    "DEFAULT_RENEWAL_HORIZON": "signatures.renewal",
    "RenewalOutcome": "signatures.renewal",
    "RenewalRequest": "signatures.renewal",
    "RenewedPdf": "signatures.renewal",
    "latest_document_timestamp": "signatures.renewal",
    "renew_archival_timestamp": "signatures.renewal",
    "renew_archival_timestamp_to": "signatures.renewal",
    "renewal_due": "signatures.renewal",
    "report_to_dict": "signatures.report",
    "report_to_html": "signatures.report",
    "report_to_json": "signatures.report",
    "SealVerdict": "signatures.seal",
    "TimestampVerdict": "signatures.seal",
    "seal_detached": "signatures.seal",
    "timestamp_bytes": "signatures.seal",
    "verify_detached_seal": "signatures.seal",
    "verify_timestamp": "signatures.seal",
    "ValidationOptions": "signatures.validation",
    "validate_pdf": "signatures.validation",
    "validate_pdf_for_archive": "signatures.validation",
    "CertificateInfo": "signatures.verdicts",
    "SignatureReport": "signatures.verdicts",
    "TimestampInfo": "signatures.verdicts",
    "ValidationReport": "signatures.verdicts",
}
"""Where each public name lives: imported from there on first use (PEP 562), so that importing
one light module of the package (`signatures.errors`…) does not load every library behind the others."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
