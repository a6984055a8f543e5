"""Electronic archive: sealed SEDA 2.3 + BagIt packages, Object Lock storage, journal seals, audits.

A leaf library: it knows nothing of the engine. Seals and timestamps come in through the
Protocols of :mod:`archiving.seals`; S3 is reached only through :mod:`archiving.storage`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archiving.audit import AuditReport, audit_journal_seals, audit_packages
    from archiving.bag import BuiltPackage, build_package
    from archiving.destruction import DestructionRecord, destroy_package
    from archiving.dip import TenantExport, export_dip, export_tenant
    from archiving.errors import (
        ArchivingError,
        InvalidManifestError,
        InvalidPackageInputError,
        JournalSealError,
        ObjectLockMissingError,
        PackageNotFoundError,
        RetentionActiveError,
        StorageError,
        StorageUnavailable,
        VerificationFailedError,
    )
    from archiving.formats import FormatLimits, IdentifiedFormat, identify_formats, pronom_version
    from archiving.journal_seal import (
        EntryProof,
        JournalEntryRef,
        JournalSeal,
        prove_entry,
        seal_journal,
        verify_entry_proof,
        verify_seal_chain,
    )
    from archiving.merkle import InclusionProof, inclusion_proof, merkle_root, verify_inclusion
    from archiving.model import (
        AccessRule,
        ActDescription,
        Agency,
        AppraisalRule,
        FileRole,
        FinalAction,
        Keyword,
        PackageFile,
        PackageSpec,
        Signatory,
    )
    from archiving.readers import open_package
    from archiving.seals import (
        SealCheck,
        Sealer,
        SealerIdentity,
        SealVerifier,
        TimestampCheck,
        Timestamper,
        TimestampVerifier,
    )
    from archiving.storage import DefaultRetention, ObjectStore, S3Config
    from archiving.store import (
        StoredObject,
        StoredPackage,
        load_journal_seals,
        prepare_tenant_bucket,
        require_default_retention,
        set_package_legal_hold,
        store_journal_seal,
        store_package,
        tenant_bucket,
    )
    from archiving.verify import Finding, FindingKind, PackageReport, verify_package

__all__ = [
    "AccessRule",
    "ActDescription",
    "Agency",
    "AppraisalRule",
    "ArchivingError",
    "AuditReport",
    "BuiltPackage",
    "DefaultRetention",
    "DestructionRecord",
    "EntryProof",
    "FileRole",
    "FinalAction",
    "Finding",
    "FindingKind",
    "FormatLimits",
    "IdentifiedFormat",
    "InclusionProof",
    "InvalidManifestError",
    "InvalidPackageInputError",
    "JournalEntryRef",
    "JournalSeal",
    "JournalSealError",
    "Keyword",
    "ObjectLockMissingError",
    "ObjectStore",
    "PackageFile",
    "PackageNotFoundError",
    "PackageReport",
    "PackageSpec",
    "RetentionActiveError",
    "S3Config",
    "SealCheck",
    "SealVerifier",
    "Sealer",
    "SealerIdentity",
    "Signatory",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "StoredPackage",
    "TenantExport",
    "TimestampCheck",
    "TimestampVerifier",
    "Timestamper",
    "VerificationFailedError",
    "audit_journal_seals",
    "audit_packages",
    "build_package",
    "destroy_package",
    "export_dip",
    "export_tenant",
    "identify_formats",
    "inclusion_proof",
    "load_journal_seals",
    "merkle_root",
    "open_package",
    "prepare_tenant_bucket",
    "pronom_version",
    "prove_entry",
    "require_default_retention",
    "seal_journal",
    "set_package_legal_hold",
    "store_journal_seal",
    "store_package",
    "tenant_bucket",
    "verify_entry_proof",
    "verify_inclusion",
    "verify_package",
    "verify_seal_chain",
]

_EXPORTS: dict[str, str] = {
    "AuditReport": "archiving.audit",
    "audit_journal_seals": "archiving.audit",
    "audit_packages": "archiving.audit",
    "BuiltPackage": "archiving.bag",
    "build_package": "archiving.bag",
    "DestructionRecord": "archiving.destruction",
    "destroy_package": "archiving.destruction",
    "TenantExport": "archiving.dip",
    "export_dip": "archiving.dip",
    "export_tenant": "archiving.dip",
    "ArchivingError": "archiving.errors",
    "InvalidManifestError": "archiving.errors",
    "InvalidPackageInputError": "archiving.errors",
    "JournalSealError": "archiving.errors",
    "ObjectLockMissingError": "archiving.errors",
    "PackageNotFoundError": "archiving.errors",
    "RetentionActiveError": "archiving.errors",
    "StorageError": "archiving.errors",
    "StorageUnavailable": "archiving.errors",
    "VerificationFailedError": "archiving.errors",
    "EntryProof": "archiving.journal_seal",
    "JournalEntryRef": "archiving.journal_seal",
    "JournalSeal": "archiving.journal_seal",
    "prove_entry": "archiving.journal_seal",
    "seal_journal": "archiving.journal_seal",
    "verify_entry_proof": "archiving.journal_seal",
    "verify_seal_chain": "archiving.journal_seal",
    "InclusionProof": "archiving.merkle",
    "inclusion_proof": "archiving.merkle",
    "merkle_root": "archiving.merkle",
    "verify_inclusion": "archiving.merkle",
    "AccessRule": "archiving.model",
    "Agency": "archiving.model",
    "AppraisalRule": "archiving.model",
    "FileRole": "archiving.model",
    "FinalAction": "archiving.model",
    "PackageFile": "archiving.model",
    "PackageSpec": "archiving.model",
    "open_package": "archiving.readers",
    "SealCheck": "archiving.seals",
    "SealVerifier": "archiving.seals",
    "Sealer": "archiving.seals",
    "SealerIdentity": "archiving.seals",
    "TimestampCheck": "archiving.seals",
    "TimestampVerifier": "archiving.seals",
    "Timestamper": "archiving.seals",
    "DefaultRetention": "archiving.storage",
    "ObjectStore": "archiving.storage",
    "S3Config": "archiving.storage",
    "StoredObject": "archiving.store",
    "StoredPackage": "archiving.store",
    "load_journal_seals": "archiving.store",
    "prepare_tenant_bucket": "archiving.store",
    "require_default_retention": "archiving.store",
    "set_package_legal_hold": "archiving.store",
    "store_journal_seal": "archiving.store",
    "store_package": "archiving.store",
    "tenant_bucket": "archiving.store",
    "FormatLimits": "archiving.formats",
    "IdentifiedFormat": "archiving.formats",
    "identify_formats": "archiving.formats",
    "pronom_version": "archiving.formats",
    "ActDescription": "archiving.model",
    "Keyword": "archiving.model",
    "Signatory": "archiving.model",
    "Finding": "archiving.verify",
    "FindingKind": "archiving.verify",
    "PackageReport": "archiving.verify",
    "verify_package": "archiving.verify",
}
"""Where each public name lives: imported from there on first use (PEP 562), so that importing
one light module of the package (`archiving.errors`…) does not load every library behind the others."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
