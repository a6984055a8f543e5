"""Electronic archive: sealed SEDA 2.3 + BagIt packages, Object Lock storage, journal seals, audits.

A leaf library: it knows nothing of the engine. Seals and timestamps come in through the
Protocols of :mod:`archiving.seals`; S3 is reached only through :mod:`archiving.storage`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

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

__getattr__, __dir__, _LAZY_NAMES = lazy_loader.attach(
    __name__,
    submod_attrs={
        "audit": ["AuditReport", "audit_journal_seals", "audit_packages"],
        "bag": ["BuiltPackage", "build_package"],
        "destruction": ["DestructionRecord", "destroy_package"],
        "dip": ["TenantExport", "export_dip", "export_tenant"],
        "errors": [
            "ArchivingError",
            "InvalidManifestError",
            "InvalidPackageInputError",
            "JournalSealError",
            "ObjectLockMissingError",
            "PackageNotFoundError",
            "RetentionActiveError",
            "StorageError",
            "StorageUnavailable",
            "VerificationFailedError",
        ],
        "formats": ["FormatLimits", "IdentifiedFormat", "identify_formats", "pronom_version"],
        "journal_seal": [
            "EntryProof",
            "JournalEntryRef",
            "JournalSeal",
            "prove_entry",
            "seal_journal",
            "verify_entry_proof",
            "verify_seal_chain",
        ],
        "merkle": ["InclusionProof", "inclusion_proof", "merkle_root", "verify_inclusion"],
        "model": [
            "AccessRule",
            "ActDescription",
            "Agency",
            "AppraisalRule",
            "FileRole",
            "FinalAction",
            "Keyword",
            "PackageFile",
            "PackageSpec",
            "Signatory",
        ],
        "readers": ["open_package"],
        "seals": [
            "SealCheck",
            "SealVerifier",
            "Sealer",
            "SealerIdentity",
            "TimestampCheck",
            "TimestampVerifier",
            "Timestamper",
        ],
        "storage": ["DefaultRetention", "ObjectStore", "S3Config"],
        "store": [
            "StoredObject",
            "StoredPackage",
            "load_journal_seals",
            "prepare_tenant_bucket",
            "require_default_retention",
            "set_package_legal_hold",
            "store_journal_seal",
            "store_package",
            "tenant_bucket",
        ],
        "verify": ["Finding", "FindingKind", "PackageReport", "verify_package"],
    },
)
"""Where each public name lives: imported from there on first use (PEP 562, by lazy_loader), so that importing
one light module of the package (`archiving.errors`…) does not load every library behind the others."""
