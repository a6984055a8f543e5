"""Detached seals and RFC 3161 timestamps against the real local PKI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signatures.devpki import DevPki
from signatures.errors import KeyStoreError, TimestampError
from signatures.keys import Pkcs12Key
from signatures.seal import (
    seal_detached,
    timestamp_bytes,
    verify_detached_seal,
    verify_timestamp,
)

pytestmark = pytest.mark.integration

DATA = b"racine de Merkle du journal: 9f86d081884c7d659a2feaa0c55ad015"


def test_seal_with_timestamp_verifies(dev_pki: DevPki) -> None:
    seal = seal_detached(DATA, key=dev_pki.seal.key, timestamp_url=dev_pki.tsa_url)
    verdict = verify_detached_seal(DATA, seal, trust_roots=dev_pki.trust_roots)
    assert verdict.valid, verdict.problems
    assert verdict.problems == ()
    assert verdict.signer == dev_pki.seal.display_name
    assert verdict.timestamp is not None
    assert abs(verdict.timestamp - datetime.now(UTC)) < timedelta(minutes=1)


def test_seal_without_timestamp_verifies_without_time(dev_pki: DevPki) -> None:
    seal = seal_detached(DATA, key=dev_pki.seal.key, timestamp_url=None)
    verdict = verify_detached_seal(DATA, seal, trust_roots=dev_pki.trust_roots)
    assert verdict.valid, verdict.problems
    assert verdict.timestamp is None


def test_seal_over_altered_data_is_invalid(dev_pki: DevPki) -> None:
    seal = seal_detached(DATA, key=dev_pki.seal.key, timestamp_url=dev_pki.tsa_url)
    verdict = verify_detached_seal(DATA + b"!", seal, trust_roots=dev_pki.trust_roots)
    assert not verdict.valid
    assert any("empreinte" in problem for problem in verdict.problems)


def test_seal_with_wrong_trust_root_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    seal = seal_detached(DATA, key=dev_pki.seal.key, timestamp_url=dev_pki.tsa_url)
    verdict = verify_detached_seal(DATA, seal, trust_roots=rogue_pki.trust_roots)
    assert not verdict.valid
    assert any("confiance" in problem for problem in verdict.problems)


def test_seal_by_untrusted_signer_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    seal = seal_detached(DATA, key=rogue_pki.seal.key, timestamp_url=dev_pki.tsa_url)
    verdict = verify_detached_seal(DATA, seal, trust_roots=dev_pki.trust_roots)
    assert not verdict.valid


def test_garbage_seal_is_a_verdict_not_an_exception(dev_pki: DevPki) -> None:
    verdict = verify_detached_seal(DATA, b"\x30\x03\x02\x01\x00", trust_roots=dev_pki.trust_roots)
    assert not verdict.valid
    assert verdict.problems


def test_timestamp_token_verifies(dev_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA, token, trust_roots=dev_pki.trust_roots)
    assert verdict.valid, verdict.problems
    assert verdict.time is not None
    assert abs(verdict.time - datetime.now(UTC)) < timedelta(minutes=1)


def test_timestamp_over_altered_data_is_invalid(dev_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA + b"x", token, trust_roots=dev_pki.trust_roots)
    assert not verdict.valid
    assert verdict.time is not None


def test_timestamp_with_wrong_trust_root_is_invalid(dev_pki: DevPki, rogue_pki: DevPki) -> None:
    token = timestamp_bytes(DATA, tsa_url=dev_pki.tsa_url)
    verdict = verify_timestamp(DATA, token, trust_roots=rogue_pki.trust_roots)
    assert not verdict.valid
    assert any("confiance" in problem for problem in verdict.problems)


def test_unreachable_tsa_raises(dev_pki: DevPki) -> None:
    with pytest.raises(TimestampError):
        timestamp_bytes(DATA, tsa_url="http://127.0.0.1:9/tsa")


def test_wrong_passphrase_raises(dev_pki: DevPki) -> None:
    key = Pkcs12Key(path=dev_pki.seal.pkcs12_path, passphrase=b"wrong")
    with pytest.raises(KeyStoreError):
        seal_detached(DATA, key=key, timestamp_url=None)


def test_dev_pki_does_not_hand_out_keys(dev_pki: DevPki) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://127.0.0.1:{dev_pki.port}/pfx-download/dematflow-dev")
    caught.value.close()
    assert caught.value.code == 404
