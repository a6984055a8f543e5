"""PAdES signing against the real local PKI, cross-checked with pdfsig and pikepdf."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devstack.pki import DevPki
from signatures.errors import DocumentRefusedError, KeyStoreError, SigningFailedError
from signatures.keys import Pkcs12Key
from signatures.pades import PadesLevel, SignRequest, VisibleField, sign_pdf
from signatures.pdfa import pdfa_problems
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.pdfs import certify_no_changes, make_encrypted_pdf, make_pdf

pytestmark = pytest.mark.integration

BLOCK = VisibleField(page=1, box=(340, 40, 560, 120))


def request(pki: DevPki, level: PadesLevel, **changes: object) -> SignRequest:
    marie = pki.signer("Marie Dupont")
    base = SignRequest(
        key=marie.key,
        signer_display_name=marie.display_name,
        level=level,
        quality="Le Maire",
        reason="Approbation de la délibération",
        location="Saint-Exemple",
        visible=BLOCK,
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
    )
    return SignRequest(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout


def offline(pki: DevPki) -> ValidationOptions:
    return ValidationOptions(trust_roots=pki.trust_roots)


@pytest.mark.parametrize("level", list(PadesLevel))
def test_each_level_is_produced_and_passes_pdfsig(
    dev_pki: DevPki, level: PadesLevel, tmp_path: Path
) -> None:
    signed = sign_pdf(make_pdf(pages=2), request(dev_pki, level))
    assert signed.level is level
    assert signed.signer_certificate_name == "Marie Dupont"
    assert "Signature is Valid" in pdfsig(signed.pdf, tmp_path)
    report = validate_pdf(
        signed.pdf, ValidationOptions(trust_roots=dev_pki.trust_roots, allow_fetching=True)
    )
    assert report.valid, report.signatures[0].problems
    assert report.signatures[0].pades_level == level.value


@pytest.mark.parametrize("level", [PadesLevel.B_LT, PadesLevel.B_LTA])
def test_long_term_levels_validate_offline(dev_pki: DevPki, level: PadesLevel) -> None:
    signed = sign_pdf(make_pdf(), request(dev_pki, level, visible=None))
    report = validate_pdf(signed.pdf, offline(dev_pki))
    assert report.valid, report.signatures[0].problems
    sig = report.signatures[0]
    assert sig.revocation_status == "bon"
    assert sig.revocation_checked_at is not None
    assert sig.trust_anchor == "Racine dematflow (développement)"
    assert len(report.document_timestamps) == (1 if level is PadesLevel.B_LTA else 0)


def test_revocation_fails_hard_by_default_without_embedded_data(dev_pki: DevPki) -> None:
    signed = sign_pdf(make_pdf(), request(dev_pki, PadesLevel.B_B))
    report = validate_pdf(signed.pdf, offline(dev_pki))
    assert not report.valid
    assert any("révocation" in p for p in report.signatures[0].problems)


def test_pdfa_conversion_keeps_original(dev_pki: DevPki) -> None:
    original = make_pdf()
    assert pdfa_problems(original)
    signed = sign_pdf(original, request(dev_pki, PadesLevel.B_B))
    assert signed.original == original
    again = sign_pdf(signed.pdf, request(dev_pki, PadesLevel.B_B, visible=None))
    assert again.original is None, "an already signed document must not be converted"


def test_no_conversion_when_disabled(dev_pki: DevPki) -> None:
    original = make_pdf()
    signed = sign_pdf(original, request(dev_pki, PadesLevel.B_B, convert_to_pdfa=False))
    assert signed.original is None
    assert signed.pdf.startswith(original)


def test_three_signatures_and_a_seal_all_stay_valid(dev_pki: DevPki, tmp_path: Path) -> None:
    pdf = make_pdf(pages=3)
    for index, name in enumerate(("Marie Dupont", "Jean Martin", "Zoé Lefèvre")):
        who = dev_pki.signer(name)
        pdf = sign_pdf(
            pdf,
            request(
                dev_pki,
                PadesLevel.B_LTA,
                key=who.key,
                signer_display_name=name,
                visible=VisibleField(page=-1, box=(40 + 180 * index, 40, 210 + 180 * index, 120)),
            ),
        ).pdf
    seal = dev_pki.seal
    pdf = sign_pdf(
        pdf,
        request(
            dev_pki,
            PadesLevel.B_LTA,
            key=seal.key,
            signer_display_name=seal.display_name,
            visible=None,
        ),
    ).pdf
    report = validate_pdf(pdf, offline(dev_pki))
    assert [s.signer for s in report.signatures] == [
        "Marie Dupont",
        "Jean Martin",
        "Zoé Lefèvre",
        seal.display_name,
    ]
    assert report.valid, [s.problems for s in report.signatures]
    assert pdfsig(pdf, tmp_path).count("Signature is Valid") == 4


def test_expected_certificate_pins_the_key(dev_pki: DevPki) -> None:
    jean = dev_pki.signer("Jean Martin")
    with pytest.raises(KeyStoreError):
        sign_pdf(
            make_pdf(),
            request(dev_pki, PadesLevel.B_B, key=jean.key, expected_cert_sha256="00" * 32),
        )


@pytest.mark.parametrize("level", list(PadesLevel))
@pytest.mark.parametrize(
    ("holder", "reason"), [("revoked_signer", "est révoqué"), ("expired_signer", "a expiré le")]
)
def test_signing_with_a_revoked_or_expired_certificate_is_refused_at_every_level(
    dev_pki: DevPki, level: PadesLevel, holder: str, reason: str
) -> None:
    who = getattr(dev_pki, holder)
    with pytest.raises(SigningFailedError, match=f"« {who.display_name} » {reason}"):
        sign_pdf(make_pdf(), request(dev_pki, level, key=who.key))


def test_signing_with_an_untrusted_certificate_is_refused(
    dev_pki: DevPki, rogue_pki: DevPki
) -> None:
    rogue = rogue_pki.signer("Marie Dupont")
    with pytest.raises(SigningFailedError, match="aucune autorité de confiance"):
        sign_pdf(make_pdf(), request(dev_pki, PadesLevel.B_B, key=rogue.key))


def test_signing_without_trust_anchor_is_refused(dev_pki: DevPki) -> None:
    with pytest.raises(SigningFailedError, match=r"révocation .* ne peut pas être vérifiée"):
        sign_pdf(make_pdf(), request(dev_pki, PadesLevel.B_B, trust_roots=()))


def test_missing_page_is_refused(dev_pki: DevPki) -> None:
    with pytest.raises(SigningFailedError, match="page 5"):
        sign_pdf(
            make_pdf(), request(dev_pki, PadesLevel.B_B, visible=VisibleField(5, (0, 0, 10, 10)))
        )


NO_KEY = Pkcs12Key(path=Path("/nonexistent/key.p12"), passphrase=b"x")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Bonjour, ceci n'est pas un PDF", "pas un document PDF"),
        (make_pdf()[:300], "corrompu"),
        (b"%PDF-1.7\n" + b"\x00garbage" * 50, "corrompu"),
        (make_encrypted_pdf(), "chiffré"),
        (make_pdf(padding=5000), "trop volumineux"),
    ],
)
def test_bad_input_is_refused_before_any_key_is_used(
    dev_pki: DevPki, data: bytes, message: str
) -> None:
    with pytest.raises(DocumentRefusedError, match=message):
        sign_pdf(data, request(dev_pki, PadesLevel.B_B, key=NO_KEY, max_bytes=4000))


def test_certified_no_changes_document_is_refused(dev_pki: DevPki) -> None:
    marie = dev_pki.signer("Marie Dupont")
    locked = certify_no_changes(
        make_pdf(), pkcs12_path=str(marie.pkcs12_path), passphrase=marie.passphrase
    )
    with pytest.raises(DocumentRefusedError, match="certifié"):
        sign_pdf(locked, request(dev_pki, PadesLevel.B_B, key=NO_KEY))


def test_signing_without_a_revocation_answer_is_refused_and_retryable(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from devstack.pki import build_dev_pki
    from devstack.process import free_port
    from signatures.errors import RevocationUnavailableError

    silent = build_dev_pki(  # built but never served: its OCSP responder and CRLs do not answer
        tmp_path_factory.mktemp("silent-pki"),
        signer_names=("Marie Dupont",),
        organisation="Commune muette",
        port=free_port(),
    )
    with pytest.raises(RevocationUnavailableError, match=r"révocation .* n'a pas pu être vérifié"):
        sign_pdf(make_pdf(), request(silent, PadesLevel.B_B, convert_to_pdfa=False))


def test_a_good_verdict_is_remembered_briefly_then_checked_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from devstack.pki import build_dev_pki, serve_dev_pki
    from devstack.process import free_port
    from signatures.errors import RevocationUnavailableError
    from signatures.signer_check import forget_good_statuses

    pki = build_dev_pki(
        tmp_path_factory.mktemp("brief-pki"),
        signer_names=("Marie Dupont",),
        organisation="Commune brève",
        port=free_port(),
    )
    b_b = request(pki, PadesLevel.B_B, convert_to_pdfa=False)
    with serve_dev_pki(pki):
        sign_pdf(make_pdf(), b_b)  # checked online: good, remembered
    sign_pdf(make_pdf(), b_b)  # responder gone: the recent good verdict is reused
    forget_good_statuses()
    with pytest.raises(RevocationUnavailableError):
        sign_pdf(make_pdf(), b_b)
