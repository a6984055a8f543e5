"""PDF/A is verified, not believed: a document that merely claims it is converted before signing."""

from __future__ import annotations

import io
import time
import zlib

import pikepdf
import pytest

from devstack.pki import DevPki
from signatures.pades import PadesLevel, SignRequest, VisibleField, sign_pdf
from signatures.pdfa import convert_to_pdfa, pdfa_problems, pdfa_shortcomings
from tests.signatures.pdfs import claim_pdfa, make_form_pdf, make_pdf


def _with_javascript(pdf_bytes: bytes) -> bytes:
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    pdf.Root.OpenAction = pikepdf.Dictionary(
        S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('acte');")
    )
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _metadata_bomb(inflated: int = 200 * 1024 * 1024) -> bytes:
    """A small PDF whose XMP stream inflates to ``inflated`` bytes (written by hand)."""
    bomb = zlib.compress(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b" " * inflated, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /Metadata /Subtype /XML /Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb)
        + bomb
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture(scope="module")
def true_pdfa() -> bytes:
    return convert_to_pdfa(make_pdf()).pdf


def test_a_mere_claim_is_not_believed() -> None:
    claimed = claim_pdfa(make_pdf())
    found = pdfa_shortcomings(claimed)
    assert "polices non incorporées : Helvetica" in found
    assert "aucun profil de sortie (OutputIntent) PDF/A" in found
    assert pdfa_problems(claimed), "missing fonts and output intent are problems, not notes"


def test_a_converted_document_truly_conforms(true_pdfa: bytes) -> None:
    assert pdfa_shortcomings(true_pdfa) == ()
    assert pdfa_problems(true_pdfa) == ()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (make_pdf, "aucune déclaration PDF/A"),
        (lambda: claim_pdfa(make_pdf(), part="4"), "déclaration PDF/A incohérente"),
    ],
)
def test_claims_are_checked(make: object, reason: str) -> None:
    assert any(reason in f for f in pdfa_shortcomings(make()))  # type: ignore[operator]


def test_javascript_is_found(true_pdfa: bytes) -> None:
    assert "le document contient du JavaScript" in pdfa_shortcomings(_with_javascript(true_pdfa))


def test_a_metadata_bomb_is_not_inflated() -> None:
    bomb = _metadata_bomb()
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    assert pdfa_shortcomings(bomb) == ("métadonnées XMP trop volumineuses",)
    assert time.perf_counter() - started < 2


def _request(pki: DevPki, **changes: object) -> SignRequest:
    marie = pki.signer("Marie Dupont")
    base = SignRequest(
        key=marie.key,
        signer_display_name=marie.display_name,
        level=PadesLevel.B_B,
        visible=VisibleField(page=1, box=(340, 40, 560, 120)),
        trust_roots=pki.trust_roots,
    )
    return SignRequest(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def _first_revision(signed: bytes) -> bytes:
    """The document as it was just before the first signature (its first %%EOF)."""
    end = signed.index(b"%%EOF") + len(b"%%EOF")
    return signed[:end] + b"\n"


@pytest.mark.integration
@pytest.mark.parametrize(
    "source",
    [
        claim_pdfa(make_pdf()),
        claim_pdfa(make_form_pdf()),
        pytest.param("javascript", id="claims-pdfa-with-javascript"),
    ],
)
def test_a_document_that_only_claims_pdfa_is_converted_before_signing(
    dev_pki: DevPki, true_pdfa: bytes, source: bytes | str
) -> None:
    document = _with_javascript(claim_pdfa(make_pdf())) if source == "javascript" else source
    assert isinstance(document, bytes)
    signed = sign_pdf(document, _request(dev_pki))
    assert signed.original == document, "converted: the original is kept"
    before_signature = _first_revision(signed.pdf)
    assert pdfa_shortcomings(before_signature) == ()
    assert pdfa_problems(signed.pdf) == ()


@pytest.mark.integration
def test_a_true_pdfa_is_signed_as_is(dev_pki: DevPki, true_pdfa: bytes) -> None:
    signed = sign_pdf(true_pdfa, _request(dev_pki))
    assert signed.original is None
    assert signed.pdf.startswith(true_pdfa)
    assert pdfa_problems(signed.pdf) == ()


def test_a_page_without_resources_is_checked() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    del pdf.pages[0].obj.Resources
    out = io.BytesIO()
    pdf.save(out)
    assert pdfa_shortcomings(claim_pdfa(out.getvalue())) == (
        "aucun profil de sortie (OutputIntent) PDF/A",
    )
