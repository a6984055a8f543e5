"""Archive validation (AdES-LTA, local data only): a B-LTA outlives its signer's certificate.

The dev PKI's short-lived signer holds a certificate that expires two hours after the PKI was
built; validating at a later time (validation time override) is validating "after expiry".
The PKI's CRLs are valid for days, so only the signer's certificate is out of date then.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509

from devstack.pki import SHORT_LIVED_VALIDITY, DevPki
from signatures import validate_pdf_for_archive
from signatures.pades import PadesLevel
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.attacks import replace_page_content
from tests.signatures.pdfs import signed_pdf

pytestmark = pytest.mark.integration


def _sign(pki: DevPki, level: PadesLevel) -> bytes:
    return signed_pdf(pki, level, short_lived=True)


@pytest.fixture(scope="module")
def short_lived_lta(dev_pki: DevPki) -> bytes:
    return _sign(dev_pki, PadesLevel.B_LTA)


def _after_expiry(pki: DevPki) -> datetime:
    cert = x509.Certificate.load(pki.short_lived_signer.cert_path.read_bytes())
    expiry: datetime = cert.not_valid_after
    assert expiry < datetime.now(UTC) + SHORT_LIVED_VALIDITY + timedelta(minutes=1)
    return expiry + timedelta(hours=1)


def test_b_lta_passes_archive_validation_now(dev_pki: DevPki, short_lived_lta: bytes) -> None:
    report = validate_pdf_for_archive(
        short_lived_lta, ValidationOptions(trust_roots=dev_pki.trust_roots)
    )
    assert report.valid, report.signatures[0].problems
    assert report.signatures[0].pades_level == "B-LTA"
    assert not report.online_revocation


def test_b_lta_stays_valid_after_signer_certificate_expiry(
    dev_pki: DevPki, short_lived_lta: bytes
) -> None:
    later = _after_expiry(dev_pki)
    options = ValidationOptions(trust_roots=dev_pki.trust_roots)
    report = validate_pdf_for_archive(short_lived_lta, options, at=later)
    assert report.valid, [s.problems for s in report.signatures] + list(report.problems)
    assert report.validated_at == later
    assert report.signatures[0].signer_certificate is not None
    assert report.signatures[0].signer_certificate.not_after < later
    # The ordinary validation at the same time sees an expired certificate.
    plain = validate_pdf(short_lived_lta, dataclasses.replace(options, validation_time=later))
    assert not plain.valid


def test_b_lt_without_document_timestamp_fails_after_expiry(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, PadesLevel.B_LT)
    options = ValidationOptions(trust_roots=dev_pki.trust_roots)
    report = validate_pdf_for_archive(signed, options, at=_after_expiry(dev_pki))
    assert not report.valid
    assert any("AdES-LTA" in p for p in report.signatures[0].problems)


def test_page_replaced_after_b_lta_fails_archive_validation(
    dev_pki: DevPki, short_lived_lta: bytes
) -> None:
    tampered = replace_page_content(short_lived_lta)
    report = validate_pdf_for_archive(tampered, ValidationOptions(trust_roots=dev_pki.trust_roots))
    assert not report.valid


def test_untrusted_root_fails_archive_validation(rogue_pki: DevPki, short_lived_lta: bytes) -> None:
    report = validate_pdf_for_archive(
        short_lived_lta, ValidationOptions(trust_roots=rogue_pki.trust_roots)
    )
    assert not report.valid
    assert any("AdES-LTA" in p for p in report.signatures[0].problems)
