"""Which keys, TSA and trust anchors signing uses: the production PKI from settings, else a
local PKI described as plain data in its directory (`signing.json`), such as the development
PKI that `dematflow serve` or a test fixture builds under data_dir/pki."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.settings import Settings
from signatures import KeySource, Pkcs11Key, Pkcs12Key
from signatures.errors import KeyStoreError

LOCAL_PKI_FILE = "signing.json"
"""What a local PKI directory tells signing, written by whoever built the PKI."""


@dataclass(frozen=True)
class SigningSetup:
    timestamp_url: str | None
    trust_roots: tuple[bytes, ...]
    key_for: Callable[[str, str], KeySource]
    """(login, display name) → that person's key; never anybody else's."""
    seal_key: KeySource
    organisation: str


@dataclass(frozen=True)
class LocalPki:
    """A local PKI as plain data: PKCS#12 files sharing one passphrase, keyed by display name."""

    tsa_url: str
    """RFC 3161 time-stamping endpoint."""
    trust_anchors: tuple[Path, ...]
    """Certificates (DER or PEM) of the trust anchors."""
    passphrase: str
    """Passphrase of every PKCS#12 file."""
    seal_name: str
    """Display name of the organisation seal."""
    seal_pkcs12: Path
    signers: dict[str, Path] = field(default_factory=dict)
    """Display name → PKCS#12 file of each signatory."""

    @property
    def trust_roots(self) -> tuple[bytes, ...]:
        return tuple(trust_anchor_der(path) for path in self.trust_anchors)

    def _key(self, path: Path) -> Pkcs12Key:
        return Pkcs12Key(path=path, passphrase=self.passphrase.encode())

    @property
    def seal_key(self) -> Pkcs12Key:
        return self._key(self.seal_pkcs12)

    def signer_key(self, display_name: str) -> Pkcs12Key:
        try:
            return self._key(self.signers[display_name])
        except KeyError:
            raise KeyStoreError(
                f"Aucun signataire de démonstration nommé « {display_name} »."
            ) from None


def dev_pki_dir(settings: Settings) -> Path:
    return settings.pki.dev_dir or settings.data_dir / "pki"


def write_local_pki(directory: Path, pki: LocalPki) -> Path:
    """Describe a local PKI in `directory` (mode 0600: the file holds the passphrase)."""
    path = directory / LOCAL_PKI_FILE
    data = {
        "tsa_url": pki.tsa_url,
        "trust_anchors": [str(p) for p in pki.trust_anchors],
        "passphrase": pki.passphrase,
        "seal": {"name": pki.seal_name, "pkcs12": str(pki.seal_pkcs12)},
        "signers": {name: str(p) for name, p in pki.signers.items()},
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, ensure_ascii=False, indent=2)
    temporary.replace(path)
    return path


def read_local_pki(directory: Path) -> LocalPki:
    """The local PKI described in `directory`; :class:`KeyStoreError` when there is none."""
    directory = directory.resolve()
    try:
        data = json.loads((directory / LOCAL_PKI_FILE).read_text("utf-8"))
        return LocalPki(
            tsa_url=str(data["tsa_url"]),
            trust_anchors=tuple(Path(p) for p in data["trust_anchors"]),
            passphrase=str(data["passphrase"]),
            seal_name=str(data["seal"]["name"]),
            seal_pkcs12=Path(data["seal"]["pkcs12"]),
            signers={str(name): Path(p) for name, p in data["signers"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KeyStoreError(f"PKI de développement introuvable dans {directory}.") from exc


def trust_anchor_der(path: Path) -> bytes:
    """A trust anchor certificate file (DER or PEM) as DER."""
    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


def signing_setup(settings: Settings) -> SigningSetup:
    pki = settings.pki
    if not pki.tsa_url:
        local = read_local_pki(dev_pki_dir(settings))
        return SigningSetup(
            timestamp_url=local.tsa_url,
            trust_roots=local.trust_roots,
            key_for=lambda _login, name: local.signer_key(name),
            seal_key=local.seal_key,
            organisation=local.seal_name,
        )
    roots = tuple(trust_anchor_der(path) for path in pki.trust_anchors)
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
