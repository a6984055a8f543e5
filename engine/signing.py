"""Which keys, TSA and trust anchors signing uses: production PKI from settings, else the
development PKI built by `dematflow serve` (or a test fixture) under data_dir/pki."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from engine.settings import Settings
from signatures import KeySource, Pkcs11Key, Pkcs12Key
from signatures.devpki import DevPki, load_dev_pki


@dataclass(frozen=True)
class SigningSetup:
    timestamp_url: str | None
    trust_roots: tuple[bytes, ...]
    key_for: Callable[[str, str], KeySource]
    """(login, display name) → that person's key; never anybody else's."""
    seal_key: KeySource
    organisation: str


def dev_pki_dir(settings: Settings) -> Path:
    return settings.pki.dev_dir or settings.data_dir / "pki"


def _der(path: Path) -> bytes:
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


def signing_setup(settings: Settings) -> SigningSetup:
    pki = settings.pki
    if not pki.tsa_url:
        dev: DevPki = load_dev_pki(dev_pki_dir(settings))
        return SigningSetup(
            timestamp_url=dev.tsa_url,
            trust_roots=dev.trust_roots,
            key_for=lambda _login, name: dev.signer(name).key,
            seal_key=dev.seal.key,
            organisation=dev.seal.display_name,
        )
    roots = tuple(_der(path) for path in pki.trust_anchors)
    if pki.pkcs11_module:
        module, token, pin = (
            Path(pki.pkcs11_module),
            pki.pkcs11_token_label or "",
            pki.pkcs11_pin or "",
        )

        def token_key(login: str, _name: str = "") -> KeySource:
            return Pkcs11Key(
                module_path=module, token_label=token, pin=pin, key_label=login, cert_label=login
            )

        return SigningSetup(
            pki.tsa_url, roots, token_key, token_key(pki.seal_label), pki.seal_label
        )
    if pki.pkcs12_dir:
        directory = pki.pkcs12_dir
        passphrase = (pki.pkcs12_passphrase or "").encode() or None

        def file_key(login: str, _name: str = "") -> KeySource:
            return Pkcs12Key(path=directory / f"{login}.p12", passphrase=passphrase)

        return SigningSetup(pki.tsa_url, roots, file_key, file_key(pki.seal_label), pki.seal_label)
    raise ValueError(
        "PKI de production incomplète : configurez un module PKCS#11 ou un dossier PKCS#12."
    )
