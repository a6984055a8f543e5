"""Signing into a caller's stream: the document is never copied, the result is the same PDF."""

from __future__ import annotations

import errno
import io
import mmap
import subprocess
from pathlib import Path
from typing import BinaryIO

import pytest
from click.testing import CliRunner

from devstack.pki import DevPki
from engine.cli.signatures import group
from signatures import overlay as overlay_module
from signatures.errors import DocumentRefusedError, SigningFailedError, TimestampError
from signatures.keys import Pkcs12Key
from signatures.overlay import AppendOverlay, kernel_copy
from signatures.pades import PadesLevel, SignRequest, sign_file_to, sign_pdf, sign_pdf_to
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


def _copies_refused(*_: int) -> int:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


@pytest.mark.parametrize("refused", [0, 1, 2])
def test_kernel_copy_gives_the_written_bytes_at_the_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: int
) -> None:
    # copy_file_range, then sendfile when it is refused (other file system), then None.
    copies = list(overlay_module._KERNEL_COPIES)
    monkeypatch.setattr(
        overlay_module,
        "_KERNEL_COPIES",
        tuple(_copies_refused if i < refused else c for i, c in enumerate(copies)),
    )
    content = bytes(range(256)) * 5000 + b"fin"
    source = tmp_path / "source.pdf"
    source.write_bytes(content)
    with source.open("rb") as src, (tmp_path / "copie").open("w+b") as out:
        out.write(b"avant")  # buffered, not yet on the descriptor
        copied = kernel_copy(src, out, len(content))
        if refused == len(copies):
            assert copied is None
            assert out.tell() == 5
            return
        assert copied == len(content)
        assert out.tell() == 5 + len(content)
        out.write(b"apres")
        out.flush()
        out.seek(0)
        assert out.read() == b"avant" + content + b"apres"


def test_kernel_copy_declines_what_is_not_a_whole_regular_file(tmp_path: Path) -> None:
    source = tmp_path / "source.pdf"
    source.write_bytes(b"%PDF-1.7 contenu")
    with source.open("rb") as src:
        assert kernel_copy(src, io.BytesIO(), 16) is None  # no descriptor
        with (tmp_path / "copie").open("wb") as out:
            assert kernel_copy(src, out, 10) is None  # not the whole file
        with (tmp_path / "ajout").open("ab") as out:
            assert kernel_copy(src, out, 16) is None  # append mode: position not ours
    assert (tmp_path / "copie").read_bytes() == b"" == (tmp_path / "ajout").read_bytes()


@pytest.mark.parametrize("kernel", [True, False])
def test_signing_file_to_file_is_the_document_then_the_update(
    dev_pki: DevPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: bool
) -> None:
    """Byte for byte what the write path gives: the input file, then the appended update.

    The document is cloned where the file system can (``kernel_clone``), else hashed and
    written in one pass; ``kernel`` False refuses the clone whatever the file system."""
    clones: list[bool] = []
    real_clone = overlay_module.kernel_clone

    def counted(source: BinaryIO, output: BinaryIO, count: int) -> bool:
        clones.append(real_clone(source, output, count) if kernel else False)
        return clones[-1]

    monkeypatch.setattr(overlay_module, "kernel_clone", counted)
    tails: list[bytes] = []
    real_tail = AppendOverlay.write_appended_to

    def kept(self: AppendOverlay, output: BinaryIO) -> int:
        tail = io.BytesIO()
        real_tail(self, tail)
        tails.append(tail.getvalue())
        return real_tail(self, output)

    monkeypatch.setattr(AppendOverlay, "write_appended_to", kept)
    original = make_pdf(pages=2, padding=600_000)
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
    source.write_bytes(original)
    with source.open("rb") as handle, target.open("wb") as output:
        outcome = sign_file_to(handle, _request(dev_pki, PadesLevel.B_T), output)
    signed = target.read_bytes()
    assert len(clones) == 1
    assert signed == original + tails[0]
    assert outcome.size == len(signed) and outcome.original is None
    assert source.read_bytes() == original
    assert "Signature is Valid" in _pdfsig(target)
    assert validate_pdf(signed, _online(dev_pki)).valid


def test_signing_a_bad_file_writes_nothing(dev_pki: DevPki, tmp_path: Path) -> None:
    no_key = Pkcs12Key(path=Path("/nonexistent/key.p12"), passphrase=b"x")
    request = _request(dev_pki, PadesLevel.B_B, key=no_key)
    source = tmp_path / "faux.pdf"
    for content, message in ((b"%PDF-1.7\n" + b"x" * 5000, "corrompu"), (b"", "vide")):
        source.write_bytes(content)
        with (
            source.open("rb") as handle,
            (tmp_path / "sortie.pdf").open("wb") as output,
            pytest.raises(DocumentRefusedError, match=message),
        ):
            sign_file_to(handle, request, output)
        assert (tmp_path / "sortie.pdf").read_bytes() == b""


def test_a_document_converted_before_signing_is_written_not_copied(
    dev_pki: DevPki, tmp_path: Path
) -> None:
    original = make_pdf(pages=1)
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
    source.write_bytes(original)
    request = _request(dev_pki, PadesLevel.B_B, convert_to_pdfa=True)
    with source.open("rb") as handle, target.open("wb") as output:
        outcome = sign_file_to(handle, request, output)
    signed = target.read_bytes()
    assert outcome.original == original
    assert not signed.startswith(original) and outcome.size == len(signed)
    assert "Signature is Valid" in _pdfsig(target)
