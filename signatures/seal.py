"""Detached CMS seals and RFC 3161 timestamps over arbitrary bytes (used to seal archives).

Verification never touches the network: trust comes from the DER roots the caller passes, and
the time from the timestamp token carried by the seal. Revocation is not checked here (no
network); the timestamp proves when the seal was made.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms, tsp, x509
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation import errors as validation_errors
from pyhanko.sign.validation.generic_cms import (
    async_validate_detached_cms,
    validate_tst_signed_data,
)
from pyhanko_certvalidator import ValidationContext

from signatures.errors import SigningFailedError, TimestampError
from signatures.keys import KeySource
from signatures.keystore import open_signer, signer_name
from signatures.tsa import timestamper_for

__all__ = [
    "SealVerdict",
    "TimestampVerdict",
    "seal_detached",
    "timestamp_bytes",
    "verify_detached_seal",
    "verify_timestamp",
]


@dataclass(frozen=True)
class SealVerdict:
    """Outcome of checking a detached seal: a value, never an exception."""

    valid: bool
    """True when the data is intact, the signature correct and the signer trusted."""
    signer: str
    """Common name of the sealing certificate ("" when it could not be read)."""
    timestamp: datetime | None
    """Time certified by the seal's valid signature timestamp, if any."""
    problems: tuple[str, ...]
    """Every problem found, in French; empty when valid."""


@dataclass(frozen=True)
class TimestampVerdict:
    """Outcome of checking an RFC 3161 token against data."""

    valid: bool
    """True when the token covers the data and its TSA chains to a trusted root."""
    time: datetime | None
    """Time stated by the token (even when invalid, if it could be read)."""
    problems: tuple[str, ...]
    """Every problem found, in French; empty when valid."""


def _timestamper(url: str) -> HTTPTimeStamper:
    return timestamper_for(url)


def seal_detached(data: bytes, *, key: KeySource, timestamp_url: str | None) -> bytes:
    """Seal ``data``: a detached CAdES-style CMS SignedData (sha256), DER.

    With a ``timestamp_url``, the signature gets an RFC 3161 signature timestamp as an
    unsigned attribute.
    """
    timestamper = _timestamper(timestamp_url) if timestamp_url else None
    with open_signer(key) as signer:
        try:
            content_info = asyncio.run(
                signer.async_sign_general_data(
                    data, "sha256", detached=True, use_cades=True, timestamper=timestamper
                )
            )
        except TimestampRequestError as exc:
            raise TimestampError(
                f"L'autorité d'horodatage {timestamp_url} n'a pas répondu correctement."
            ) from exc
        except (ValueError, OSError) as exc:
            raise SigningFailedError(f"Le scellement a échoué : {exc}") from exc
    der: bytes = content_info.dump()
    return der


def timestamp_bytes(data: bytes, *, tsa_url: str) -> bytes:
    """An RFC 3161 timestamp token (CMS ContentInfo, DER) over sha256(``data``)."""
    digest = hashlib.sha256(data).digest()
    try:
        token = asyncio.run(_timestamper(tsa_url).async_timestamp(digest, "sha256"))
    except (TimestampRequestError, OSError, ValueError) as exc:
        raise TimestampError(
            f"L'autorité d'horodatage {tsa_url} n'a pas répondu correctement."
        ) from exc
    der: bytes = token.dump()
    return der


def _context(trust_roots: Sequence[bytes], moment: datetime | None = None) -> ValidationContext:
    roots = [x509.Certificate.load(der) for der in trust_roots]
    return ValidationContext(
        trust_roots=roots,
        allow_fetching=False,
        revocation_mode="soft-fail",
        moment=moment,
    )


def _signed_data(der: bytes, what: str) -> cms.SignedData | str:
    try:
        content_info = cms.ContentInfo.load(der)
        if content_info["content_type"].native != "signed_data":
            return f"{what} n'est pas une structure CMS SignedData."
        signed_data = content_info["content"]
        signed_data.native  # noqa: B018  (forces a full parse of the structure)
    except (ValueError, TypeError, KeyError) as exc:
        return f"{what} est illisible : {exc}"
    return signed_data


def _trust_problem(status_kwargs: dict[str, Any], who: str) -> list[str]:
    problems = []
    if not status_kwargs.get("intact"):
        problems.append("Les données ne correspondent pas à l'empreinte signée.")
    if not status_kwargs.get("valid"):
        problems.append("La valeur de signature est incorrecte.")
    indication = status_kwargs.get("trust_problem_indic")
    if indication is not None:
        problems.append(
            f"Le certificat {who} n'est pas reconnu comme de confiance ({indication.name})."
        )
    return problems


async def _check_token(
    data: bytes, signed_data: cms.SignedData, context: ValidationContext
) -> dict[str, Any]:
    def imprint(algorithm: str) -> bytes:
        return hashlib.new(algorithm, data).digest()

    result: dict[str, Any] = await validate_tst_signed_data(signed_data, context, imprint)
    return result


def verify_timestamp(
    data: bytes, token: bytes, *, trust_roots: Sequence[bytes]
) -> TimestampVerdict:
    """Check that ``token`` is an RFC 3161 timestamp over ``data`` from a trusted TSA."""
    signed_data = _signed_data(token, "Le jeton d'horodatage")
    if isinstance(signed_data, str):
        return TimestampVerdict(valid=False, time=None, problems=(signed_data,))
    try:
        status = asyncio.run(_check_token(data, signed_data, _context(trust_roots)))
    except (validation_errors.SignatureValidationError, ValueError) as exc:
        return TimestampVerdict(
            valid=False, time=None, problems=(f"Jeton d'horodatage invalide : {exc}",)
        )
    problems = _trust_problem(status, "de l'autorité d'horodatage")
    return TimestampVerdict(
        valid=not problems, time=status.get("timestamp"), problems=tuple(problems)
    )


async def _check_seal(
    data: bytes, signed_data: cms.SignedData, trust_roots: Sequence[bytes]
) -> tuple[Any, list[str]]:
    status = await async_validate_detached_cms(data, signed_data, _context(trust_roots))
    timestamp_status = status.timestamp_validity
    problems: list[str] = []
    if timestamp_status is not None:
        if not (timestamp_status.intact and timestamp_status.valid and timestamp_status.trusted):
            problems.append("L'horodatage du sceau n'est pas valide ou pas de confiance.")
        elif not status.trusted:
            # An expired sealing certificate is fine if it was valid when the TSA saw the seal.
            status = await async_validate_detached_cms(
                data, signed_data, _context(trust_roots, moment=timestamp_status.timestamp)
            )
    problems[:0] = _trust_problem(
        {
            "intact": status.intact,
            "valid": status.valid,
            "trust_problem_indic": status.trust_problem_indic,
        },
        "du signataire",
    )
    return status, problems


def verify_detached_seal(
    data: bytes, cms_der: bytes, *, trust_roots: Sequence[bytes]
) -> SealVerdict:
    """Check a detached seal made by :func:`seal_detached` over ``data``, offline."""
    signed_data = _signed_data(cms_der, "Le sceau")
    if isinstance(signed_data, str):
        return SealVerdict(valid=False, signer="", timestamp=None, problems=(signed_data,))
    try:
        status, problems = asyncio.run(_check_seal(data, signed_data, trust_roots))
    except (validation_errors.SignatureValidationError, ValueError) as exc:
        return SealVerdict(
            valid=False, signer="", timestamp=None, problems=(f"Sceau invalide : {exc}",)
        )
    timestamp_status = status.timestamp_validity
    timestamp = (
        timestamp_status.timestamp
        if timestamp_status is not None
        and timestamp_status.intact
        and timestamp_status.valid
        and timestamp_status.trusted
        else None
    )
    return SealVerdict(
        valid=not problems,
        signer=signer_name(status.signing_cert),
        timestamp=timestamp,
        problems=tuple(problems),
    )


# tsp is imported for its side effect of registering the TSTInfo content type with asn1crypto.
_ = tsp
