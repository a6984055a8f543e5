"""The check of a signature just made (validate_new_signature) against the full validation.

Every case is judged by both: the fast check must reach the same verdict as validate_pdf,
and where the signed output was corrupted or the trust is wrong, both must say invalid.
"""

from __future__ import annotations

import dataclasses

import pytest
from asn1crypto import cms

from devstack.pki import DevPki
from signatures.pades import PadesLevel, SignedPdf, SignRequest, VisibleField, sign_pdf
from signatures.validation import ValidationOptions, validate_new_signature, validate_pdf
from signatures.verdicts import ValidationReport
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def _sign(pki: DevPki, level: PadesLevel, **changes: object) -> SignedPdf:
    marie = pki.signer("Marie Dupont")
    fields: dict[str, object] = {
        "key": marie.key,
        "signer_display_name": marie.display_name,
        "level": level,
        "quality": "Le Maire",
        "reason": "Approbation de la délibération",
        "visible": VisibleField(page=1, box=(320, 40, 565, 120)),
        "timestamp_url": pki.tsa_url,
        "trust_roots": pki.trust_roots,
        "convert_to_pdfa": False,
        **changes,
    }
    return sign_pdf(make_pdf(pages=2), SignRequest(**fields))  # type: ignore[arg-type]


def _both(
    signed: SignedPdf, options: ValidationOptions
) -> tuple[ValidationReport, ValidationReport]:
    return validate_new_signature(signed, options), validate_pdf(signed.pdf, options)


def _tampered(signed: SignedPdf, offset: int, byte: bytes) -> SignedPdf:
    assert signed.pdf[offset : offset + 1] != byte
    pdf = signed.pdf[:offset] + byte + signed.pdf[offset + 1 :]
    return dataclasses.replace(signed, pdf=pdf)


@pytest.mark.parametrize("fetching", [False, True])
@pytest.mark.parametrize("level", list(PadesLevel))
def test_same_verdict_as_the_full_validation(
    dev_pki: DevPki, level: PadesLevel, fetching: bool
) -> None:
    signed = _sign(dev_pki, level)
    assert signed.location is not None and signed.location.first_signature
    options = ValidationOptions(trust_roots=dev_pki.trust_roots, allow_fetching=fetching)
    fast, full = _both(signed, options)
    # Offline, B-B and B-T carry no revocation data: invalid for both (hard-fail).
    assert fast.valid is full.valid is (fetching or level.embeds_validation_info)
    (mine,), (theirs,) = fast.signatures, full.signatures
    for name in ("signer", "pades_level", "revocation_status", "trust_anchor", "problems"):
        assert getattr(mine, name) == getattr(theirs, name), name
    assert mine.chain == theirs.chain
    assert [t.valid for t in mine.timestamps] == [t.valid for t in theirs.timestamps]
    assert [t.valid for t in fast.document_timestamps] == [
        t.valid for t in full.document_timestamps
    ]
    assert fast.problems == full.problems


def test_a_wrong_trust_root_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    signed = _sign(dev_pki, PadesLevel.B_LTA)
    fast, full = _both(signed, ValidationOptions(trust_roots=rogue_pki.trust_roots))
    assert not fast.valid and not full.valid
    assert fast.signatures[0].problems == full.signatures[0].problems


def test_a_byte_flipped_in_the_document_is_invalid(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, PadesLevel.B_LTA)
    offset = signed.pdf.index(b"595 842") + 2  # a page's width: 595 -> 596
    fast, full = _both(_tampered(signed, offset, b"6"), ValidationOptions(dev_pki.trust_roots))
    assert not fast.valid and not full.valid
    assert any("le contenu signé a changé" in p for p in fast.signatures[0].problems)


def test_a_byte_flipped_after_the_contents_is_invalid(dev_pki: DevPki) -> None:
    """In the signed range after the signature value (the padding of /ByteRange)."""
    signed = _sign(dev_pki, PadesLevel.B_LT)
    assert signed.location is not None
    offset = signed.pdf.index(b"] ", signed.location.contents_end) + 1
    fast, full = _both(_tampered(signed, offset, b"\t"), ValidationOptions(dev_pki.trust_roots))
    assert not fast.valid and not full.valid


def test_a_forged_byte_range_is_invalid(dev_pki: DevPki) -> None:
    """The /ByteRange stated in the file must be the one that was hashed."""
    signed = _sign(dev_pki, PadesLevel.B_LT)
    assert signed.location is not None
    offset = signed.pdf.index(b"/ByteRange [0 ", signed.location.contents_end) + 12
    fast, full = _both(_tampered(signed, offset, b"1"), ValidationOptions(dev_pki.trust_roots))
    assert not fast.valid and not full.valid


def test_a_corrupted_signature_timestamp_is_invalid(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, PadesLevel.B_LT)
    where = signed.location
    assert where is not None
    hex_contents = signed.pdf[where.contents_start + 1 : where.contents_end - 1]
    info = cms.ContentInfo.load(bytes.fromhex(hex_contents.decode()))
    (attr,) = [
        a
        for a in info["content"]["signer_infos"][0]["unsigned_attrs"]
        if a["type"].native == "signature_time_stamp_token"
    ]
    tsa_signature = attr["values"][0]["content"]["signer_infos"][0]["signature"].contents
    at = hex_contents.upper().index(tsa_signature.hex().upper().encode())
    offset = where.contents_start + 1 + at + 10
    digit = b"0" if signed.pdf[offset : offset + 1] != b"0" else b"1"
    fast, full = _both(_tampered(signed, offset, digit), ValidationOptions(dev_pki.trust_roots))
    assert not fast.valid and not full.valid
    problem = "L'horodatage de la signature n'est pas valide ou pas de confiance."
    assert problem in fast.signatures[0].problems
    assert problem in full.signatures[0].problems


def test_a_timestamp_from_an_untrusted_authority_is_invalid(
    dev_pki: DevPki, rogue_pki: DevPki
) -> None:
    signed = _sign(dev_pki, PadesLevel.B_T, timestamp_url=rogue_pki.tsa_url)
    options = ValidationOptions(trust_roots=dev_pki.trust_roots, allow_fetching=True)
    fast, full = _both(signed, options)
    assert not fast.valid and not full.valid
    assert fast.signatures[0].problems == full.signatures[0].problems


def test_a_byte_flipped_in_the_document_timestamp_revision_is_invalid(dev_pki: DevPki) -> None:
    """After the signature's revision, in the bytes the document timestamp covers."""
    signed = _sign(dev_pki, PadesLevel.B_LTA)
    assert signed.location is not None
    doc_ts = signed.pdf.rindex(b"/Type /DocTimeStamp")
    offset = signed.pdf.index(b"] ", signed.pdf.rindex(b"/ByteRange [0 ", 0, doc_ts)) + 1
    assert offset > signed.location.revision_end
    fast, full = _both(_tampered(signed, offset, b"\t"), ValidationOptions(dev_pki.trust_roots))
    assert not fast.valid and not full.valid
    assert not fast.document_timestamps[0].valid


def test_a_wrong_location_is_invalid_not_an_error(dev_pki: DevPki) -> None:
    signed = _sign(dev_pki, PadesLevel.B_LTA)
    assert signed.location is not None
    for shift in (-1, 1, 10_000_000):
        moved = dataclasses.replace(
            signed.location, contents_start=signed.location.contents_start + shift
        )
        report = validate_new_signature(
            dataclasses.replace(signed, location=moved), ValidationOptions(dev_pki.trust_roots)
        )
        assert not report.valid


def test_a_document_signed_before_is_validated_in_full(dev_pki: DevPki) -> None:
    first = _sign(dev_pki, PadesLevel.B_LTA)
    jean = dev_pki.signer("Jean Martin")
    request = SignRequest(
        key=jean.key,
        signer_display_name=jean.display_name,
        level=PadesLevel.B_LTA,
        timestamp_url=dev_pki.tsa_url,
        trust_roots=dev_pki.trust_roots,
    )
    second = sign_pdf(first.pdf, request)
    assert second.location is not None and not second.location.first_signature
    report = validate_new_signature(second, ValidationOptions(dev_pki.trust_roots))
    assert report.valid
    assert len(report.signatures) == 2
