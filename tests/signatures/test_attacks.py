"""Attack corpus: every tampered document is rejected; legitimate multi-signature files pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devstack.pki import DevIdentity, DevPki
from signatures.pades import PadesLevel, SignedPdf, SignRequest, VisibleField, sign_pdf
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures import attacks
from tests.signatures.pdfs import claim_pdfa, make_form_pdf, make_pdf, sign_as_another_tool

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
    "byte changed in the signed range": attacks.change_signed_byte,
}

MODIFIED = "Document modifié après signature"


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
    assert report.signatures[0].problems[0].startswith(MODIFIED), report.signatures[0].problems


def test_signature_moved_to_another_document_is_rejected(dev_pki: DevPki) -> None:
    donor = _sign(dev_pki, make_pdf(text="Document A"), PadesLevel.B_B, convert_to_pdfa=False).pdf
    target = _sign(dev_pki, make_pdf(text="Document B"), PadesLevel.B_B, convert_to_pdfa=False).pdf
    moved = attacks.transplant_signature(donor, target)
    report = validate_pdf(moved, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("modifié" in p or "empreinte" in p for p in report.signatures[0].problems)


def _signed_elsewhere(pki: DevPki, who: DevIdentity) -> bytes:
    """B-T by another tool: dematflow itself refuses to sign with a bad certificate."""
    return sign_as_another_tool(
        make_pdf(),
        pkcs12_path=str(who.pkcs12_path),
        passphrase=who.passphrase,
        timestamp_url=pki.tsa_url,
    )


def test_revoked_signer_is_rejected(dev_pki: DevPki) -> None:
    signed = _signed_elsewhere(dev_pki, dev_pki.revoked_signer)
    report = validate_pdf(signed, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert report.signatures[0].revocation_status == "révoqué"
    assert any("révoqué" in p for p in report.signatures[0].problems)


def test_signer_expired_at_signing_time_is_rejected(dev_pki: DevPki) -> None:
    signed = _signed_elsewhere(dev_pki, dev_pki.expired_signer)
    report = validate_pdf(signed, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("expiré" in p for p in report.signatures[0].problems)


def test_timestamp_from_untrusted_tsa_is_rejected(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    signed = _sign(dev_pki, make_pdf(), PadesLevel.B_T, timestamp_url=rogue_pki.tsa_url)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert any("horodatage" in p for p in report.signatures[0].problems)


def test_untrusted_signer_is_rejected(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    signed = _signed_elsewhere(dev_pki, rogue_pki.signer("Marie Dupont"))
    report = validate_pdf(signed, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert report.signatures[0].trust_anchor is None


@pytest.fixture(scope="module")
def signed_form_act(dev_pki: DevPki) -> bytes:
    """An act with an amount field that claims PDF/A (the conversion used to be skipped)."""
    return _sign(dev_pki, claim_pdfa(make_form_pdf(value="1 000 EUR")), PadesLevel.B_LTA).pdf


def _live_fields(pdf: bytes) -> list[str]:
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        form = doc.Root.get("/AcroForm")
        fields = [] if form is None else list(form.get("/Fields", []))
        return [str(f.get("/T")) for f in fields if f.get("/FT") != "/Sig"]


def test_act_fields_are_locked_before_the_first_signature(signed_form_act: bytes) -> None:
    import subprocess

    assert _live_fields(signed_form_act) == []
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=signed_form_act, capture_output=True, check=True
    ).stdout
    assert b"1 000 EUR" in text, "the flattened amount must still be shown"


def test_form_field_changed_after_our_signature_is_rejected(
    dev_pki: DevPki, signed_form_act: bytes
) -> None:
    # Whatever the attacker does to bring an amount field back, the act is modified.
    for tampered in (
        attacks.add_text_field(signed_form_act),
        attacks.add_annotation(signed_form_act),
    ):
        report = validate_pdf(tampered, options(dev_pki))
        assert not report.valid
        assert report.signatures[0].problems[0].startswith(MODIFIED)


@pytest.fixture(scope="module")
def visa_with_live_field(dev_pki: DevPki) -> bytes:
    """A visa made by another tool on a form act: its amount field is still fillable."""
    jean = dev_pki.signer("Jean Martin")
    return sign_as_another_tool(
        make_form_pdf(value="1 000 EUR"),
        pkcs12_path=str(jean.pkcs12_path),
        passphrase=jean.passphrase,
    )


def test_form_filled_after_another_tools_signature_is_rejected(
    dev_pki: DevPki, visa_with_live_field: bytes
) -> None:
    assert validate_pdf(visa_with_live_field, options(dev_pki, allow_fetching=True)).valid
    tampered = attacks.change_field_value(visa_with_live_field, "Montant", "1 000 000 EUR")
    report = validate_pdf(tampered, options(dev_pki, allow_fetching=True))
    assert not report.valid
    assert report.signatures[0].problems[0].startswith(MODIFIED), report.signatures[0].problems


def test_mayor_signature_after_a_visa_locks_the_remaining_fields(
    dev_pki: DevPki, visa_with_live_field: bytes
) -> None:
    signed = _sign(dev_pki, visa_with_live_field, PadesLevel.B_LTA)
    report = validate_pdf(signed.pdf, options(dev_pki, allow_fetching=True))
    assert report.valid, [s.problems for s in report.signatures]
    assert _field_lock(signed.pdf, signed.field_name) == ["Montant"]
    tampered = attacks.change_field_value(signed.pdf, "Montant", "1 000 000 EUR")
    report = validate_pdf(tampered, options(dev_pki, allow_fetching=True))
    assert [s.valid for s in report.signatures] == [False, False]
    for signature in report.signatures:
        assert signature.problems[0].startswith(MODIFIED), signature.problems


def _field_lock(pdf: bytes, field_name: str) -> list[str]:
    """The fields a signature field's FieldMDP /Lock names, checked in the signature too."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        for field in doc.Root.AcroForm.Fields:
            if field.get("/T") == field_name:
                lock = field.Lock
                assert lock.Action == "/Include"
                references = field.V.Reference
                assert any(r.TransformMethod == "/FieldMDP" for r in references)
                return [str(name) for name in lock.Fields]
    raise AssertionError(f"no field {field_name}")
