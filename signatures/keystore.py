"""Open a pyHanko signer on the key store the caller named; the key never leaves that store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from asn1crypto import x509
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import Signer

from signatures.errors import KeyStoreError
from signatures.keys import KeySource, Pkcs11Key, Pkcs12Key

__all__ = ["open_signer", "signer_name"]


def _open_pkcs12(key: Pkcs12Key) -> Signer:
    try:
        data = Path(key.path).read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"Magasin de clés PKCS#12 illisible : {key.path}.") from exc
    try:
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=key.passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(
            "Impossible d'ouvrir le magasin de clés PKCS#12 (phrase de passe incorrecte ?)."
        ) from exc
    if not isinstance(signer, Signer) or signer.signing_cert is None:
        raise KeyStoreError(f"Le magasin de clés {key.path} ne contient ni clé ni certificat.")
    return signer


@contextmanager
def _open_pkcs11(key: Pkcs11Key) -> Iterator[Signer]:
    import pkcs11
    from pyhanko.config.pkcs11 import PKCS11SignatureConfig, TokenCriteria
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11SigningContext

    config = PKCS11SignatureConfig(
        module_path=str(key.module_path),
        token_criteria=TokenCriteria(label=key.token_label),
        user_pin=key.pin,
        key_label=key.key_label,
        cert_label=key.cert_label,
        # Pull every certificate on the token so that the chain goes into the signature.
        other_certs_to_pull=None,
    )
    try:
        context = PKCS11SigningContext(config)
        signer: Signer = context.__enter__()  # type: ignore[no-untyped-call]
    except (SigningError, pkcs11.PKCS11Error, OSError) as exc:
        raise KeyStoreError(
            f"Impossible d'ouvrir le jeton PKCS#11 « {key.token_label} » : {exc}"
        ) from exc
    try:
        try:
            signer.signing_cert  # noqa: B018  (loads the certificate now, to fail early)
        except (SigningError, pkcs11.PKCS11Error) as exc:
            raise KeyStoreError(
                f"Clé ou certificat introuvable sur le jeton « {key.token_label} » : {exc}"
            ) from exc
        yield signer
    finally:
        context.__exit__(None, None, None)  # type: ignore[no-untyped-call]


@contextmanager
def open_signer(key: KeySource) -> Iterator[Signer]:
    """A pyHanko signer for ``key``, open for the duration of the ``with`` block.

    A PKCS#11 session is opened here, in the calling process (sessions do not survive a fork),
    and closed at the end of the block.
    """
    if isinstance(key, Pkcs12Key):
        yield _open_pkcs12(key)
    elif isinstance(key, Pkcs11Key):
        with _open_pkcs11(key) as signer:
            yield signer
    else:  # pragma: no cover - guarded by the type checker
        raise KeyStoreError(f"Source de clé inconnue : {type(key).__name__}.")


def signer_name(cert: x509.Certificate) -> str:
    """The certificate holder's common name, or the whole subject when it has none."""
    subject = cert.subject.native
    name = subject.get("common_name")
    return str(name) if name else str(cert.subject.human_friendly)
