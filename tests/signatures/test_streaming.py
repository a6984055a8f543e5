"""Signing into a caller's stream: the document is never copied, the result is the same PDF."""

from __future__ import annotations

import io
import mmap
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.pki import DevPki
from engine.cli.signatures import group
from signatures.errors import DocumentRefusedError, SigningFailedError, TimestampError
from signatures.keys import Pkcs12Key
from signatures.overlay import AppendOverlay
from signatures.pades import PadesLevel, SignRequest, sign_pdf, sign_pdf_to
from signatures.validation import ValidationOptions, validate_pdf, validate_pdf_for_archive
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def _request(pki: DevPki, level: PadesLevel, **changes: object) -> SignRequest:
    marie = pki.signer("Marie Dupont")
    base = SignRequest(
        key=marie.key,
        signer_display_name=marie.display_name,
        level=level,
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
        convert_to_pdfa=False,
    )
    return SignRequest(**{**base.__dict__, **changes})


def _online(pki: DevPki) -> ValidationOptions:
    return ValidationOptions(trust_roots=pki.trust_roots, allow_fetching=True)


def _pdfsig(path: Path) -> str:
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    return done.stdout


def test_overlay_reads_across_the_boundary_and_never_writes_into_the_document() -> None:
    overlay = AppendOverlay(b"0123456789")
    overlay.seek(0, io.SEEK_END)
    assert overlay.write(b"abc") == 3
    overlay.seek(8)
    assert overlay.read(4) == b"89ab"
    buffer = bytearray(10)
    overlay.seek(5)
    assert overlay.readinto(buffer) == 8
    assert bytes(buffer[:8]) == b"56789abc"
    overlay.seek(11)
    overlay.write(b"Z")  # rewriting appended bytes is allowed (ByteRange, Contents)
    overlay.seek(3)
    with pytest.raises(io.UnsupportedOperation):
        overlay.write(b"x")
    assert overlay.getvalue() == b"0123456789aZc"
    out = io.BytesIO()
    assert overlay.write_to(out) == 13
    assert out.getvalue() == b"0123456789aZc"
    assert overlay.size == 13 and overlay.appended == 3


@pytest.mark.parametrize("level", [PadesLevel.B_B, PadesLevel.B_LTA])
def test_streamed_signature_is_valid_and_the_input_untouched(
    dev_pki: DevPki, level: PadesLevel, tmp_path: Path
) -> None:
    original = make_pdf(pages=2, padding=300_000)
    kept = bytes(original)
    target = tmp_path / "signe.pdf"
    with target.open("wb") as output:
        outcome = sign_pdf_to(original, _request(dev_pki, level), output)
    signed = target.read_bytes()
    assert original == kept
    assert signed.startswith(original)
    assert outcome.size == len(signed)
    assert outcome.level is level and outcome.signer_certificate_name == "Marie Dupont"
    assert "Signature is Valid" in _pdfsig(target)
    report = validate_pdf(signed, _online(dev_pki))
    assert report.valid, report.signatures[0].problems
    if level is PadesLevel.B_LTA:
        archived = validate_pdf_for_archive(
            signed, ValidationOptions(trust_roots=dev_pki.trust_roots)
        )
        assert archived.valid, archived.signatures[0].problems


def test_memory_mapped_second_signature_keeps_the_first_valid(
    dev_pki: DevPki, tmp_path: Path
) -> None:
    first = tmp_path / "premier.pdf"
    first.write_bytes(sign_pdf(make_pdf(), _request(dev_pki, PadesLevel.B_T)).pdf)
    jean = dev_pki.signer("Jean Martin")
    second = tmp_path / "second.pdf"
    request = _request(dev_pki, PadesLevel.B_T, key=jean.key, signer_display_name="Jean")
    with (
        first.open("rb") as handle,
        second.open("wb") as output,
        mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        sign_pdf_to(data, request, output)
    report = validate_pdf(second.read_bytes(), _online(dev_pki))
    assert [s.signer for s in report.signatures] == ["Marie Dupont", "Jean Martin"]
    assert report.valid, [s.problems for s in report.signatures]
    assert _pdfsig(second).count("Signature is Valid") == 2


def test_bad_input_writes_nothing(dev_pki: DevPki) -> None:
    output = io.BytesIO()
    no_key = Pkcs12Key(path=Path("/nonexistent/key.p12"), passphrase=b"x")
    with pytest.raises(DocumentRefusedError, match="pas un document PDF"):
        sign_pdf_to(b"pas un pdf", _request(dev_pki, PadesLevel.B_B, key=no_key), output)
    assert output.getvalue() == b""


def test_bytes_api_gives_the_same_document_as_the_stream(dev_pki: DevPki) -> None:
    # B-B with the same key and field name differs only by the signing time inside the CMS.
    original = make_pdf()
    request = _request(dev_pki, PadesLevel.B_B, field_name="Signature1")
    streamed = io.BytesIO()
    sign_pdf_to(original, request, streamed)
    in_bytes = sign_pdf(original, request).pdf
    assert len(in_bytes) == len(streamed.getvalue())
    assert in_bytes[: len(original)] == streamed.getvalue()[: len(original)] == original


def _cli_sign(pki: DevPki, source: Path, target: Path, *extra: str) -> tuple[int, str]:
    marie = pki.signer("Marie Dupont")
    result = CliRunner().invoke(
        group,
        [
            "sign",
            str(source),
            str(target),
            "--pkcs12",
            str(marie.pkcs12_path),
            "--name",
            "Marie Dupont",
            "--no-pdfa",
            "--trust-root",
            str(pki.root_cert_path),
            *extra,
        ],
        env={"DEMATFLOW_PKCS12_PASSPHRASE": marie.passphrase.decode()},
    )
    return result.exit_code, result.output


def test_cli_failure_leaves_no_file_behind(dev_pki: DevPki, tmp_path: Path) -> None:
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
    source.write_bytes(make_pdf(padding=400_000))
    code, output = _cli_sign(
        dev_pki, source, target, "--level", "B-T", "--tsa-url", "http://127.0.0.1:9/tsa"
    )
    assert code == 1
    assert "horodatage" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acte.pdf"]

    empty = tmp_path / "vide.pdf"
    empty.write_bytes(b"")
    code, output = _cli_sign(dev_pki, empty, target, "--level", "B-B")
    assert code == 1 and "vide" in output
    assert not target.exists()

    code, output = _cli_sign(dev_pki, source, target, "--level", "B-B")
    assert code == 0, output
    assert "Signature is Valid" in _pdfsig(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acte-signe.pdf", "acte.pdf", "vide.pdf"]


def test_timestamp_failure_is_reported_after_intake(dev_pki: DevPki) -> None:
    with pytest.raises(TimestampError):
        sign_pdf_to(
            make_pdf(),
            _request(dev_pki, PadesLevel.B_T, timestamp_url="http://127.0.0.1:9/tsa"),
            io.BytesIO(),
        )


def test_an_output_that_cannot_be_written_is_a_clear_error(dev_pki: DevPki) -> None:
    output = io.BytesIO()
    output.close()
    with pytest.raises(SigningFailedError, match="Écriture du document signé impossible"):
        sign_pdf_to(make_pdf(), _request(dev_pki, PadesLevel.B_B), output)
