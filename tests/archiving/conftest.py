"""Shared helpers for archiving tests: real seals from the dev PKI, sample cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from archiving.model import (
    AccessRule,
    Agency,
    AppraisalRule,
    FileRole,
    FinalAction,
    PackageFile,
    PackageSpec,
)
from devstack.pki import DevPki
from engine.services.archives.seals import (
    SealIdentities,
    SignaturesSealer,
    SignaturesSealVerifier,
    SignaturesTimestamper,
    SignaturesTimestampVerifier,
)
from signatures.seal import SealIdentity


@pytest.fixture(scope="session")
def sealer(dev_pki: DevPki) -> SignaturesSealer:
    return SignaturesSealer(
        key=dev_pki.seal.key, timestamp_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots
    )


@pytest.fixture(scope="session")
def seal_verifier(dev_pki: DevPki) -> SignaturesSealVerifier:
    return SignaturesSealVerifier(
        trust_roots=dev_pki.trust_roots,
        identities=SealIdentities(
            platform=(SealIdentity.of_certificate(dev_pki.seal.cert_path.read_bytes()),)
        ),
    )


@pytest.fixture(scope="session")
def timestamper(dev_pki: DevPki) -> SignaturesTimestamper:
    return SignaturesTimestamper(tsa_url=dev_pki.tsa_url)


@pytest.fixture(scope="session")
def timestamp_verifier(dev_pki: DevPki) -> SignaturesTimestampVerifier:
    return SignaturesTimestampVerifier(trust_roots=dev_pki.trust_roots)


def sample_spec(
    directory: Path,
    package_id: str = "deliberation-2026-001",
    *,
    years: int = 10,
    start: date | None = None,
    payload: bytes = b"%PDF-1.7\n% signed deliberation\n",
) -> PackageSpec:
    """A closed deliberation case: signed act, its validation report, AR, journal extract."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "deliberation.pdf": (FileRole.DOCUMENT, "application/pdf", "fmt/476", payload),
        "deliberation-report.json": (
            FileRole.VALIDATION_REPORT,
            "application/json",
            None,
            b'{"valid": true}',
        ),
        "accuse-reception.xml": (FileRole.ACKNOWLEDGEMENT, "application/xml", "fmt/101", b"<ar/>"),
        "journal.jsonl": (FileRole.JOURNAL, "application/x-ndjson", None, b'{"seq": 1}\n'),
    }
    items = []
    for name, (role, mime, pronom, content) in files.items():
        source = directory / f"{package_id}-{name}"
        source.write_bytes(content)
        items.append(
            PackageFile(
                source=source, name=name, role=role, title=name, mime_type=mime, pronom_id=pronom
            )
        )
    closed = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    return PackageSpec(
        package_id=package_id,
        tenant=Agency("213800000", "Commune de Saint-Exemple"),
        archival_agency=Agency("OPERATEUR-ARCHIVES", "Service d'archives de l'opérateur"),
        title="Délibération n° 2026-001 : budget primitif",
        closed_at=closed,
        files=tuple(items),
        appraisal=AppraisalRule("DUA-DELIB", years, start or closed.date(), FinalAction.DESTROY),
        access=AccessRule("AR038", closed.date()),
        actes_identifier="034-213800000-20260302-2026001-DE",
        keywords=("Finances locales", "Budget"),
    )


SpecFactory = Callable[..., PackageSpec]
