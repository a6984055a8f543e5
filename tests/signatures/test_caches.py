"""Process-local caches: key stores parsed once, TSA clients that never send sizing requests."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devstack.pki import DevPki
from signatures.errors import KeyStoreError
from signatures.keys import Pkcs12Key
from signatures.keystore import close_signers, open_signer
from signatures.pades import PadesLevel, SignRequest, sign_pdf
from signatures.tsa import timestamper_for
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def _request(pki: DevPki, key: Pkcs12Key, level: PadesLevel = PadesLevel.B_B) -> SignRequest:
    return SignRequest(
        key=key,
        signer_display_name="Test",
        level=level,
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
        convert_to_pdfa=False,
    )


def test_a_key_store_is_parsed_once(dev_pki: DevPki) -> None:
    key = dev_pki.signer("Marie Dupont").key
    with open_signer(key) as first, open_signer(key) as second:
        assert first is second
    close_signers()
    with open_signer(key) as third:
        assert third is not first


def test_a_rewritten_key_store_is_read_again(dev_pki: DevPki, tmp_path: Path) -> None:
    path = tmp_path / "signer.p12"
    shutil.copyfile(dev_pki.signer("Marie Dupont").pkcs12_path, path)
    key = Pkcs12Key(path=path, passphrase=dev_pki.signer("Marie Dupont").passphrase)
    with open_signer(key) as before:
        assert before.signing_cert is not None
        assert before.signing_cert.subject.native["common_name"] == "Marie Dupont"
    shutil.copyfile(dev_pki.signer("Jean Martin").pkcs12_path, path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with open_signer(key) as after:
        assert after.signing_cert is not None
        assert after.signing_cert.subject.native["common_name"] == "Jean Martin"


def test_a_wrong_passphrase_is_refused_every_time(dev_pki: DevPki) -> None:
    key = Pkcs12Key(path=dev_pki.signer("Marie Dupont").pkcs12_path, passphrase=b"wrong")
    for _ in range(2):
        with pytest.raises(KeyStoreError), open_signer(key):
            pass


def test_threads_share_one_signer(dev_pki: DevPki) -> None:
    close_signers()
    key = dev_pki.signer("Jean Martin").key
    seen: set[int] = set()
    lock = threading.Lock()

    def sign(number: int) -> bool:
        with open_signer(key) as signer, lock:
            seen.add(id(signer))
        pdf = sign_pdf(make_pdf(text=f"Acte {number}"), _request(dev_pki, key)).pdf
        options = ValidationOptions(trust_roots=dev_pki.trust_roots, allow_fetching=True)
        return validate_pdf(pdf, options).valid

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(sign, range(8)))
    assert len(seen) == 1


def test_b_lta_asks_the_tsa_exactly_twice(dev_pki: DevPki, monkeypatch: pytest.MonkeyPatch) -> None:
    key = dev_pki.signer("Marie Dupont").key
    sign_pdf(make_pdf(), _request(dev_pki, key, PadesLevel.B_LTA))  # the TSA client is warm
    client = timestamper_for(dev_pki.tsa_url)
    original = client.async_request_tsa_response
    calls: list[Any] = []

    async def counting(request: Any) -> Any:
        calls.append(request)
        return await original(request)

    monkeypatch.setattr(client, "async_request_tsa_response", counting)
    signed = sign_pdf(make_pdf(), _request(dev_pki, key, PadesLevel.B_LTA))
    assert len(calls) == 2  # signature timestamp + document timestamp, no sizing request
    report = validate_pdf(signed.pdf, ValidationOptions(trust_roots=dev_pki.trust_roots))
    assert report.valid, report.signatures[0].problems
