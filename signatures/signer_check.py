"""Refuse to sign with a certificate that is expired, not yet valid, revoked or untrusted.

Checked at every PAdES level, before the key signs anything: B-B and B-T embed no validation
data, so nothing else would notice. Revocation is checked hard (OCSP or CRL from the
certificate's own URLs): without an answer, no signature. The validation context is the one the
B-LT/B-LTA embedding uses afterwards, so the OCSP answer fetched here is reused there.

A "good" verdict is remembered in the process for :data:`GOOD_STATUS_SECONDS` (a batch of acts
signed by one person costs one OCSP round trip, not one per act); a revoked, expired or unknown
certificate is never remembered, and the validity dates are checked on every signature. An OCSP
answer itself usually stays valid for hours: two minutes is far stricter than relying on it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime

from asn1crypto import x509
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from signatures.errors import KeyStoreError, RevocationUnavailableError, SigningFailedError
from signatures.keystore import signer_name

__all__ = ["GOOD_STATUS_SECONDS", "check_signing_certificate", "forget_good_statuses"]

GOOD_STATUS_SECONDS = 120.0
"""How long a certificate found valid and not revoked is trusted again without a new check."""

_GOOD: dict[tuple[str, ...], float] = {}
"""(certificate SHA-256, trust anchors' SHA-256...) → monotonic time the verdict expires."""
_GOOD_LOCK = threading.Lock()
_MAX_REMEMBERED = 1024


def forget_good_statuses() -> None:
    """Forget every remembered verdict (the next signature of each certificate checks again)."""
    with _GOOD_LOCK:
        _GOOD.clear()


def _remembered(key: tuple[str, ...]) -> bool:
    with _GOOD_LOCK:
        expires = _GOOD.get(key)
        return expires is not None and time.monotonic() < expires


def _remember(key: tuple[str, ...]) -> None:
    with _GOOD_LOCK:
        now = time.monotonic()
        for stale in [k for k, expires in _GOOD.items() if expires <= now]:
            del _GOOD[stale]
        if len(_GOOD) < _MAX_REMEMBERED:
            _GOOD[key] = now + GOOD_STATUS_SECONDS


def _day(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M UTC")


def _check_validity_period(cert: x509.Certificate, name: str, at: datetime) -> None:
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if at < not_before:
        raise SigningFailedError(
            f"Le certificat de « {name} » n'est valide qu'à partir du {_day(not_before)} : "
            "signature refusée."
        )
    if at > not_after:
        raise SigningFailedError(
            f"Le certificat de « {name} » a expiré le {_day(not_after)} : signature refusée."
        )


async def check_signing_certificate(
    signer: Signer,
    context: ValidationContext,
    *,
    at: datetime,
    trust_roots: tuple[bytes, ...],
    remember: bool = True,
) -> None:
    """Raise :class:`SigningFailedError` (French) unless ``signer``'s certificate may sign at ``at``.

    ``context`` carries ``trust_roots`` and the revocation policy (hard-fail expected).
    ``remember`` reuses, and keeps, a recent "good" verdict for the same certificate and anchors.
    """
    cert = signer.signing_cert
    if cert is None:
        raise KeyStoreError("Le magasin de clés ne fournit pas de certificat de signature.")
    name = signer_name(cert)
    _check_validity_period(cert, name, at)
    key = tuple(hashlib.sha256(der).hexdigest() for der in (cert.dump(), *trust_roots))
    if remember and _remembered(key):
        return
    if not trust_roots:
        raise SigningFailedError(
            "Aucune autorité de confiance n'est configurée : la révocation du certificat de "
            f"« {name} » ne peut pas être vérifiée, signature refusée."
        )
    validator = CertificateValidator(
        cert, intermediate_certs=list(signer.cert_registry), validation_context=context
    )
    try:
        await validator.async_validate_usage(set())  # type: ignore[no-untyped-call]
    except RevokedError as exc:
        raise SigningFailedError(
            f"Le certificat de « {name} » est révoqué : signature refusée."
        ) from exc
    except (ExpiredError, NotYetValidError) as exc:
        raise SigningFailedError(
            f"Le certificat de « {name} » ou de son autorité n'est pas en cours de validité : "
            "signature refusée."
        ) from exc
    except InsufficientRevinfoError as exc:
        raise RevocationUnavailableError(
            f"Le statut de révocation du certificat de « {name} » n'a pas pu être vérifié "
            "(répondeur OCSP ou liste de révocation injoignable) : signature refusée."
        ) from exc
    except PathBuildingError as exc:
        raise SigningFailedError(
            f"Le certificat de « {name} » n'est rattaché à aucune autorité de confiance : "
            "signature refusée."
        ) from exc
    except (PathValidationError, ValidationError) as exc:
        raise SigningFailedError(
            f"Le certificat de « {name} » n'a pas pu être validé : signature refusée ({exc})."
        ) from exc
    if remember:
        _remember(key)
