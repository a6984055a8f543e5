"""The development PKI's server loads its own keys without OpenSSL's RSA check, and only there."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from devstack.pki import DevPki, own_keys_unchecked
from signatures import timestamp_bytes, verify_timestamp


def test_keys_load_alike_and_the_check_comes_back_after_the_block(dev_pki: DevPki) -> None:
    pem = next((dev_pki.directory / "keys").glob("*.key.pem")).read_bytes()
    checked = serialization.load_pem_private_key(pem, None)
    loaders = serialization.load_der_private_key, serialization.load_pem_private_key
    with own_keys_unchecked():
        assert serialization.load_pem_private_key is not loaders[1]
        unchecked = serialization.load_pem_private_key(pem, None)
    assert (serialization.load_der_private_key, serialization.load_pem_private_key) == loaders
    assert unchecked.private_numbers() == checked.private_numbers()  # type: ignore[union-attr]


def test_the_served_pki_timestamps(dev_pki: DevPki) -> None:
    token = timestamp_bytes(b"dematflow", tsa_url=dev_pki.tsa_url)
    assert verify_timestamp(b"dematflow", token, trust_roots=dev_pki.trust_roots).valid
