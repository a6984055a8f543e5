"""Open a pyHanko signer on the key store the caller named; the key never leaves that store.

Signers are kept in a small process-local cache keyed by the key source the caller named (the
library never picks a key by itself): a PKCS#12 file is parsed once per process (and again when
the file changes on disk), a PKCS#11 session is opened once per process, after any fork, and
used by one signature at a time. pyHanko's own ``SimpleSigner`` re-parses the private key on
every signature (~40-80 ms for RSA-2048); :class:`_KeptKeySigner` keeps the parsed key.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from signatures.errors import DocumentRefusedError, KeyStoreError, TimestampError
from signatures.keys import KeySource, Pkcs11Key, Pkcs12Key

__all__ = ["MAX_CACHED_SIGNERS", "close_signers", "open_signer", "signer_name"]

MAX_CACHED_SIGNERS = 32
"""Most key stores kept open per process; the least recently used one is dropped first."""


class _KeptKeySigner(SimpleSigner):
    """A ``SimpleSigner`` that keeps the parsed private key instead of re-parsing it each time."""

    def __init__(self, private_key: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        key = self._private_key
        if algorithm == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            signature: bytes = key.sign(
                data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
            )
            return signature
        if algorithm == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            pss, hash_algo = process_pss_params(mechanism["parameters"])
            signature = key.sign(data, pss, hash_algo)
            return signature
        if algorithm == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        result: bytes = super().sign_raw(data, digest_algorithm)  # other key types: pyHanko
        return result


def _load_pkcs12(key: Pkcs12Key) -> Signer:
    try:
        data = Path(key.path).read_bytes()
    except OSError as exc:
        raise KeyStoreError(f"Magasin de clés PKCS#12 illisible : {key.path}.") from exc
    try:
        private_key, cert, others = pkcs12.load_key_and_certificates(data, key.passphrase)
    except (ValueError, TypeError) as exc:
        raise KeyStoreError(
            "Impossible d'ouvrir le magasin de clés PKCS#12 (phrase de passe incorrecte ?)."
        ) from exc
    if private_key is None or cert is None:
        raise KeyStoreError(f"Le magasin de clés {key.path} ne contient ni clé ni certificat.")
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register_multiple({translate_pyca_cryptography_cert_to_asn1(c) for c in others})
    return _KeptKeySigner(
        private_key,
        signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
        signing_cert=translate_pyca_cryptography_cert_to_asn1(cert),
        cert_registry=registry,
    )


_INHERITED_MODULES: set[str] = set()
"""PKCS#11 modules initialised by a parent process before a fork (reinitialise before use)."""
_OPENED_MODULES: set[str] = set()


def _after_fork_in_child() -> None:
    # Parsed PKCS#12 keys are plain memory and stay usable. The parent's token sessions are
    # unusable here and must not be closed from here either: forget them. The module state
    # inherited still says "logged in" (UserAlreadyLoggedIn on the next login), so the module
    # is finalised and initialised again before its next use. Locks held by other threads of
    # the parent at fork time would never be released here: make new ones.
    global _CACHE_LOCK
    _CACHE_LOCK = threading.Lock()
    for key in [k for k, entry in _CACHE.items() if entry.context is not None]:
        del _CACHE[key]
    _LOADING.clear()
    _INHERITED_MODULES.update(_OPENED_MODULES)
    _OPENED_MODULES.clear()


def _reinitialise_if_inherited(pkcs11: Any, module_path: str) -> None:
    if module_path in _INHERITED_MODULES:
        _INHERITED_MODULES.discard(module_path)
        pkcs11.lib(module_path).reinitialize()
    _OPENED_MODULES.add(module_path)


def _open_pkcs11(key: Pkcs11Key) -> tuple[Any, Signer]:
    """An entered ``PKCS11SigningContext`` and its signer (certificate loaded, to fail early)."""
    import pkcs11
    from pyhanko.config.pkcs11 import PKCS11SignatureConfig, TokenCriteria
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.pkcs11 import PKCS11SigningContext

    try:
        _reinitialise_if_inherited(pkcs11, str(key.module_path))
    except (pkcs11.PKCS11Error, OSError) as exc:
        raise KeyStoreError(f"Module PKCS#11 inutilisable : {key.module_path} ({exc}).") from exc

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
        signer.signing_cert  # noqa: B018  (loads the certificate now, to fail early)
    except (SigningError, pkcs11.PKCS11Error) as exc:
        context.__exit__(None, None, None)  # type: ignore[no-untyped-call]
        raise KeyStoreError(
            f"Clé ou certificat introuvable sur le jeton « {key.token_label} » : {exc}"
        ) from exc
    return context, signer


@dataclass
class _Entry:
    """One open key store: its signer, and for a token the session to close and its lock."""

    signer: Signer
    stamp: tuple[int, int] | None
    """(mtime_ns, size) of a PKCS#12 file when it was read; None for a token."""
    context: Any = None
    """The entered PKCS#11 signing context (None for PKCS#12)."""
    pid: int = field(default_factory=os.getpid)
    """Process that opened it: a token session does not survive a fork."""
    use: threading.Lock = field(default_factory=threading.Lock)
    """Held while a token signer is in use: one operation per session at a time."""

    def close(self) -> None:
        if self.context is not None and self.pid == os.getpid():
            # Closing a session that already died must not hide the error that killed it.
            with contextlib.suppress(Exception):
                self.context.__exit__(None, None, None)
            self.context = None


_CACHE: OrderedDict[KeySource, _Entry] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_LOADING: dict[KeySource, threading.Lock] = {}


def _file_stamp(path: Path) -> tuple[int, int]:
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise KeyStoreError(f"Magasin de clés PKCS#12 illisible : {path}.") from exc
    return stat.st_mtime_ns, stat.st_size


def _fresh(key: KeySource, entry: _Entry) -> bool:
    if entry.pid != os.getpid():
        return False
    if isinstance(key, Pkcs12Key):
        return entry.stamp == _file_stamp(key.path)
    return entry.context is not None


def _remember(key: KeySource, entry: _Entry) -> None:
    with _CACHE_LOCK:
        old = _CACHE.pop(key, None)
        _CACHE[key] = entry
        dropped = [_CACHE.popitem(last=False)[1] for _ in range(len(_CACHE) - MAX_CACHED_SIGNERS)]
    for stale in ([old] if old is not None and old is not entry else []) + dropped:
        stale.close()


def _entry_for(key: KeySource) -> _Entry:
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None and _fresh(key, entry):
            _CACHE.move_to_end(key)
            return entry
        loading = _LOADING.setdefault(key, threading.Lock())
    with loading:  # one thread loads a given key store; the others wait and reuse it
        with _CACHE_LOCK:
            entry = _CACHE.get(key)
        if entry is not None and _fresh(key, entry):
            return entry
        if isinstance(key, Pkcs12Key):
            stamp = _file_stamp(key.path)
            entry = _Entry(signer=_load_pkcs12(key), stamp=stamp)
        elif isinstance(key, Pkcs11Key):
            context, signer = _open_pkcs11(key)
            entry = _Entry(signer=signer, stamp=None, context=context)
        else:  # pragma: no cover - guarded by the type checker
            raise KeyStoreError(f"Source de clé inconnue : {type(key).__name__}.")
        _remember(key, entry)
    with _CACHE_LOCK:
        _LOADING.pop(key, None)
    return entry


def _forget(key: KeySource, entry: _Entry) -> None:
    with _CACHE_LOCK:
        if _CACHE.get(key) is entry:
            del _CACHE[key]
    entry.close()


@contextmanager
def open_signer(key: KeySource) -> Iterator[Signer]:
    """A pyHanko signer for exactly the key store ``key`` names, for the ``with`` block.

    The signer comes from the process-local cache (opened on first use). A token signer is
    used by one block at a time; when the block fails for a reason other than the document or
    the TSA, the token session is closed and reopened on next use.
    """
    entry = _entry_for(key)
    if entry.context is None:
        yield entry.signer
        return
    with entry.use:
        try:
            yield entry.signer
        except (DocumentRefusedError, TimestampError):
            raise
        except BaseException:
            _forget(key, entry)
            raise


def close_signers() -> None:
    """Close every cached token session and forget every cached signer of this process."""
    with _CACHE_LOCK:
        entries = list(_CACHE.values())
        _CACHE.clear()
        _LOADING.clear()
    for entry in entries:
        entry.close()


atexit.register(close_signers)
os.register_at_fork(after_in_child=_after_fork_in_child)


def signer_name(cert: x509.Certificate) -> str:
    """The certificate holder's common name, or the whole subject when it has none."""
    subject = cert.subject.native
    name = subject.get("common_name")
    return str(name) if name else str(cert.subject.human_friendly)
