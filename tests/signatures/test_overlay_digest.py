"""The byte-range digest taken on the overlay (signatures/digest.py): right bytes, hashed once."""

from __future__ import annotations

import hashlib
import importlib.metadata
import inspect
import io
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest

from devstack.pki import DevPki
from signatures import digest
from signatures.overlay import HASH_CHUNK_BYTES, AppendOverlay, kernel_clone
from signatures.pades import PadesLevel, SignRequest, sign_file_to, sign_pdf
from signatures.validation import ValidationOptions, validate_pdf, validate_pdf_for_archive
from tests.signatures.pdfs import make_pdf

PYHANKO_VERSION = "0.38.0"
PYHANKO_FILL_SHA256 = "d20ffd1bf9d2f7b8f4145a747f0a1e84c014a707d5860ff3922d0e1abb8f34cd"
"""SHA-256 of the source of ``PdfByteRangeDigest.fill`` that ``signatures.digest._fill`` follows."""


def test_the_overridden_pyhanko_method_is_the_one_the_override_follows() -> None:
    """Fails when pyHanko changes the method ``signatures/digest.py`` replaces: re-read the new
    ``fill`` and carry any new step over to ``_fill`` before updating the pins here."""
    assert importlib.metadata.version("pyhanko") == PYHANKO_VERSION
    source = inspect.getsource(digest.PYHANKO_FILL)
    assert hashlib.sha256(source.encode()).hexdigest() == PYHANKO_FILL_SHA256, source
    assert PdfByteRangeDigest.fill is digest._fill  # installed by importing signatures.pades


def _expected(data: bytes, ranges: list[tuple[int, int]]) -> bytes:
    return hashlib.sha256(b"".join(data[start:end] for start, end in ranges)).digest()


def test_overlay_digest_is_the_digest_of_the_ranges_wherever_they_lie() -> None:
    base = bytes(range(256)) * (3 * HASH_CHUNK_BYTES // 256) + b"fin"  # several chunks
    overlay = AppendOverlay(base)
    overlay.seek(0, io.SEEK_END)
    overlay.write(b"<<mise a jour>>" * 10)
    whole = overlay.getvalue()
    size = len(whole)
    cases = [
        [(0, size)],
        [(0, len(base) + 20), (len(base) + 40, size)],  # a signature's /ByteRange
        [(0, len(base)), (len(base), size)],
        [(0, 10), (HASH_CHUNK_BYTES - 3, HASH_CHUNK_BYTES + 5)],  # inside the document
        [(5, len(base) + 7)],  # not from 0: no running hash
        [(len(base) + 3, len(base) + 9)],  # inside the update only
        [(0, 0), (size, size)],
    ]
    for ranges in cases * 2:  # the second time, from the kept running hash
        assert overlay.digest("sha256", ranges) == _expected(whole, ranges), ranges
    assert (
        overlay.digest("sha512", cases[1])
        == hashlib.sha512(whole[: len(base) + 20] + whole[len(base) + 40 :]).digest()
    )
    for bad in ([(0, size + 1)], [(-1, 4)], [(9, 3)]):
        with pytest.raises(ValueError, match="outside"):
            overlay.digest("sha256", bad)


def _request(pki: DevPki, level: PadesLevel) -> SignRequest:
    marie = pki.signer("Marie Dupont")
    return SignRequest(
        key=marie.key,
        signer_display_name=marie.display_name,
        level=level,
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
        convert_to_pdfa=False,
    )


def _online(pki: DevPki) -> ValidationOptions:
    return ValidationOptions(trust_roots=pki.trust_roots, allow_fetching=True)


def _signed_digests_match_the_file(signed: bytes) -> int:
    """Each embedded signature's signed message digest is SHA-256 of its /ByteRange in the file."""
    reader = PdfFileReader(io.BytesIO(signed))
    for embedded in reader.embedded_signatures:
        start1, length1, start2, length2 = embedded.byte_range
        covered = signed[start1 : start1 + length1] + signed[start2 : start2 + length2]
        attrs = embedded.signer_info["signed_attrs"]
        if embedded.sig_object["/Type"] == "/DocTimeStamp":
            info = embedded.signed_data["encap_content_info"]["content"].parsed
            signed_digest = info["message_imprint"]["hashed_message"].native
        else:
            signed_digest = find_unique_cms_attribute(attrs, "message_digest").native
        assert signed_digest == hashlib.sha256(covered).digest()
    return len(reader.embedded_signatures)


def _flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.integration
@pytest.mark.parametrize("level", [PadesLevel.B_B, PadesLevel.B_LTA])
def test_file_signature_is_valid_and_a_flipped_byte_breaks_it(
    dev_pki: DevPki, tmp_path: Path, level: PadesLevel
) -> None:
    original = make_pdf(pages=2, padding=3 * HASH_CHUNK_BYTES + 12_345)
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
    source.write_bytes(original)
    with source.open("rb") as handle, target.open("wb") as output:
        sign_file_to(handle, _request(dev_pki, level), output)
    signed = target.read_bytes()
    assert signed.startswith(original)
    assert _signed_digests_match_the_file(signed) == (2 if level is PadesLevel.B_LTA else 1)
    report = validate_pdf(signed, _online(dev_pki))
    assert report.valid, [s.problems for s in report.signatures]
    if level is PadesLevel.B_LTA:
        archived = validate_pdf_for_archive(
            signed, ValidationOptions(trust_roots=dev_pki.trust_roots)
        )
        assert archived.valid, [s.problems for s in archived.signatures]
    name = signed.find(b"(Marie Dupont)", len(original))  # the signature dictionary's /Name
    assert name > 0
    # One byte of the document (its padding stream), one of the update: "Marie" -> "Larie".
    for at in (len(original) // 2, name + 1):
        tampered = validate_pdf(_flipped(signed, at), _online(dev_pki))
        assert not tampered.valid
        problems = " ".join(p for s in tampered.signatures for p in s.problems)
        assert "empreinte différente" in problems or not tampered.signatures, problems


@pytest.mark.integration
@pytest.mark.parametrize("to_file", [False, True])
@pytest.mark.parametrize("level", [PadesLevel.B_B, PadesLevel.B_LTA])
def test_the_document_is_read_once_for_all_its_digests(
    dev_pki: DevPki,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    level: PadesLevel,
    to_file: bool,
) -> None:
    """No read-back of the document through the stream to hash it, and one pass over it for
    the digests and the copy: a B-LTA (signature, then document timestamp) hashed it twice,
    and a file to file signature read it once more for the copy, before."""
    original = make_pdf(pages=1, padding=2 * HASH_CHUNK_BYTES)
    read_back: list[int] = []
    real_readinto = AppendOverlay.readinto

    def spied_readinto(self: AppendOverlay, buffer: bytearray | memoryview) -> int:
        read_back.append(real_readinto(self, buffer))
        return read_back[-1]

    monkeypatch.setattr(AppendOverlay, "readinto", spied_readinto)
    passes: list[int] = []
    real_chunks = AppendOverlay._base_chunks

    def spied_chunks(self: AppendOverlay, start: int, end: int) -> Iterator[memoryview]:
        passes.append(end - start)
        return real_chunks(self, start, end)

    monkeypatch.setattr(AppendOverlay, "_base_chunks", spied_chunks)
    if to_file:
        source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
        source.write_bytes(original)
        with source.open("rb") as handle, target.open("wb") as output:
            sign_file_to(handle, _request(dev_pki, level), output)
        signed = target.read_bytes()
    else:
        signed = sign_pdf(original, _request(dev_pki, level)).pdf
    assert _signed_digests_match_the_file(signed) == (2 if level is PadesLevel.B_LTA else 1)
    assert sum(read_back) < 64 * 1024, f"{sum(read_back)} bytes read back through the stream"
    assert passes == [len(original)]


def test_writing_and_hashing_in_one_pass_while_a_digest_waits() -> None:
    base = os.urandom(5 * HASH_CHUNK_BYTES + 77)
    for _ in range(20):  # whichever thread takes the document's hash first
        overlay = AppendOverlay(base)
        overlay.seek(0, io.SEEK_END)
        overlay.write(b"<<mise a jour>>")
        output = io.BytesIO()
        with ThreadPoolExecutor(max_workers=1) as pool:
            written = pool.submit(overlay.write_base_to, output, hashing="sha256")
            ranges = [(0, len(base) + 3), (len(base) + 9, overlay.size)]
            got = overlay.digest("sha256", ranges)
            assert written.result() == len(base)
        assert got == _expected(overlay.getvalue(), ranges)
        assert output.getvalue() == base


def test_kernel_clone_shares_or_declines_without_writing(tmp_path: Path) -> None:
    content = os.urandom(3 * 4096 + 100)
    source = tmp_path / "source.pdf"
    source.write_bytes(content)
    with source.open("rb") as src:
        with (tmp_path / "copie").open("w+b") as out:
            if kernel_clone(src, out, len(content)):  # XFS with reflink, Btrfs
                assert out.tell() == len(content)
                out.write(b"apres")
                out.flush()
                out.seek(0)
                assert out.read() == content + b"apres"
            else:  # ext4, tmpfs: nothing written, position unchanged
                assert out.tell() == 0 and out.read() == b""
        assert not kernel_clone(src, io.BytesIO(), len(content))  # no descriptor
        with (tmp_path / "partiel").open("wb") as out:
            assert not kernel_clone(src, out, 10)  # not the whole file
        with (tmp_path / "ajout").open("ab") as out:
            assert not kernel_clone(src, out, len(content))  # append mode
        with (tmp_path / "decale").open("wb") as out:
            out.write(b"avant")
            assert not kernel_clone(src, out, len(content))  # a clone lands at 0 only
    assert (tmp_path / "partiel").read_bytes() == b"" == (tmp_path / "ajout").read_bytes()
    assert (tmp_path / "decale").read_bytes() == b"avant"
