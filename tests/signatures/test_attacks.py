"""Attack corpus: every tampered document is rejected; legitimate multi-signature files pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from signatures.devpki import DevPki
from signatures.pades import PadesLevel, SignedPdf, SignRequest, VisibleField, sign_pdf
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures import attacks
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def _sign(pki: DevPki, pdf: bytes, level: PadesLevel, **changes: object) -> SignedPdf:
    marie = pki.signer("Marie Dupont")
    fields: dict[str, object] = {
        "key": marie.key,
        "signer_display_name": marie.display_name,
        "level": level,
        "timestamp_url": pki.tsa_url,
        "trust_roots": pki.trust_roots,
        "visible": VisibleField(page=1, box=(340, 40, 560, 120)),
        **changes,
    }
    return sign_pdf(pdf, SignRequest(**fields))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def signed_lta(dev_pki: DevPki) -> bytes:
    return _sign(dev_pki, make_pdf(pages=2), PadesLevel.B_LTA).pdf


@pytest.fixture(scope="module")
def signed_twice(dev_pki: DevPki, signed_lta: bytes) -> bytes:
    jean = dev_pki.signer("Jean Martin")
    return _sign(
        dev_pki,
        signed_lta,
        PadesLevel.B_LTA,
        key=jean.key,
        signer_display_name=jean.display_name,
        visible=VisibleField(page=1, box=(40, 40, 260, 120)),
    ).pdf


def options(pki: DevPki, **changes: object) -> ValidationOptions:
    return ValidationOptions(trust_roots=pki.trust_roots, **changes)  # type: ignore[arg-type]


def test_legitimate_files_are_accepted(
    dev_pki: DevPki, signed_lta: bytes, signed_twice: bytes
) -> None:
    first = validate_pdf(signed_lta, options(dev_pki))
    assert first.valid, [s.problems for s in first.signatures]
    report = validate_pdf(signed_twice, options(dev_pki))
    assert report.valid, [s.problems for s in report.signatures]
    assert len(report.signatures) == 2


TAMPERINGS: dict[str, Callable[[bytes], bytes]] = {
    "page content replaced": attacks.replace_page_content,
    "overlay": attacks.add_overlay,
    "annotation added": attacks.add_annotation,
    "form field added": attacks.add_text_field,
    "unsigned bytes appended": attacks.append_unsigned_bytes,
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
@pytest.mark.parametrize("fixture", ["signed_lta", "signed_twice"])
def test_tampering_after_signing_is_rejected(
    dev_pki: DevPki, request: pytest.FixtureRequest, name: str, fixture: str
) -> None:
    original: bytes = request.getfixturevalue(fixture)
    tampered = TAMPERINGS[name](original)
    assert tampered != original
    report = validate_pdf(tampered, options(dev_pki))
    assert not report.valid
    assert not report.signatures[0].valid, f"{name}: first signature still valid"
    assert report.signatures[0].problems


def test_signature_moved_to_another_document_is_rejected(dev_pki: DevPki) -> None:
    donor = _sign(dev_pki, make_pdf(text="Document A"), PadesLevel.B_B, convert_to_pdfa=False).pdf
    target = _sign(dev_pki, make_pdf(text="Document B"), PadesLevel.B_B, convert_to_pdfa=False).pdf
    moved = attacks.transplant_signature(donor, target)
    report = validate_pdf(moved, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("modifié" in p or "empreinte" in p for p in report.signatures[0].problems)


def test_revoked_signer_is_rejected(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, make_pdf(), PadesLevel.B_T, key=dev_pki.revoked_signer.key)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert report.signatures[0].revocation_status == "révoqué"
    assert any("révoqué" in p for p in report.signatures[0].problems)


def test_signer_expired_at_signing_time_is_rejected(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, make_pdf(), PadesLevel.B_T, key=dev_pki.expired_signer.key)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("expiré" in p for p in report.signatures[0].problems)


def test_timestamp_from_untrusted_tsa_is_rejected(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    signed = _sign(dev_pki, make_pdf(), PadesLevel.B_T, timestamp_url=rogue_pki.tsa_url)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("horodatage" in p for p in report.signatures[0].problems)


def test_untrusted_signer_is_rejected(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    rogue = rogue_pki.signer("Marie Dupont")
    signed = _sign(dev_pki, make_pdf(), PadesLevel.B_T, key=rogue.key)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert report.signatures[0].trust_anchor is None
