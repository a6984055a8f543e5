"""Where a signing key lives: the caller names the key store, the library never picks a key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["KeySource", "Pkcs11Key", "Pkcs12Key"]


@dataclass(frozen=True)
class Pkcs12Key:
    """A software key and its certificate chain in a PKCS#12 (.pfx) file."""

    path: Path
    """The PKCS#12 file."""
    passphrase: bytes | None
    """The file's passphrase (``None`` when the file is not encrypted)."""

    def __repr__(self) -> str:
        return f"Pkcs12Key(path={str(self.path)!r}, passphrase=<hidden>)"


@dataclass(frozen=True)
class Pkcs11Key:
    """A key held by a PKCS#11 token (an HSM in production, SoftHSM2 in tests)."""

    module_path: Path
    """The PKCS#11 module, e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""
    token_label: str
    """Label of the token holding the key."""
    pin: str
    """User PIN of the token."""
    key_label: str
    """Label of the private key object."""
    cert_label: str
    """Label of the signer's certificate object on the token."""

    def __repr__(self) -> str:
        return (
            f"Pkcs11Key(module_path={str(self.module_path)!r}, token_label={self.token_label!r}, "
            f"pin=<hidden>, key_label={self.key_label!r}, cert_label={self.cert_label!r})"
        )


KeySource = Pkcs12Key | Pkcs11Key
"""A key store reference, resolved by the caller from the signer's identity."""
