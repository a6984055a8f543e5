"""Detached CMS seals and RFC 3161 timestamps over arbitrary bytes (used to seal archives).

A seal proves *who* sealed, not only that some trusted certificate did: the caller names the
expected seal identities (SHA-256 fingerprints of the designated seal certificates, taken from
its own configuration, never from the sealed data) and any other certificate is refused, even
one issued by the same CA. Trust comes from the DER roots the caller passes, the time from the
timestamp token carried by the seal.

Revocation is checked hard: at sealing time the OCSP responses and CRLs of the seal
certificate's chain are fetched (a revoked or untrusted seal certificate is refused) and
embedded in the CMS ``crls`` field; verification judges the certificate at the seal's time
with that embedded data (offline, the default) or fetches the current status (``online``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asn1crypto import cms, ocsp, tsp, x509

from signatures.errors import KeyStoreError, SigningFailedError, TimestampError
from signatures.keys import KeySource

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext

__all__ = [
    "SEAL_KEY_USAGES",
    "SealIdentity",
    "SealVerdict",
    "TimestampVerdict",
    "normalise_fingerprint",
    "seal_detached",
    "seal_identity",
    "timestamp_bytes",
    "verify_detached_seal",
    "verify_timestamp",
]


SEAL_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
"""A seal certificate must allow at least one of these key usages."""

REVINFO_TOLERANCE = timedelta(minutes=5)
"""How long after the seal's timestamp its embedded revocation data may have been produced."""

_OCSP_FORMAT = "ocsp_response"


@dataclass(frozen=True)
class SealIdentity:
    """A designated seal: which certificate is allowed to seal (from configuration)."""

    fingerprint: str
    """SHA-256 of the certificate (DER), lowercase hex without separators."""
    subject: str = ""
    """Subject of the certificate, for people (never used to decide)."""
    key_usage: tuple[str, ...] = ()
    """Key usages of the certificate (asn1crypto names), for people."""

    @classmethod
    def of_certificate(cls, cert: x509.Certificate | bytes) -> SealIdentity:
        """The identity of a certificate (asn1crypto object or DER)."""
        if isinstance(cert, bytes):
            cert = x509.Certificate.load(cert)
        usages = cert.key_usage_value.native if cert.key_usage_value is not None else set()
        return cls(
            fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
            subject=str(cert.subject.human_friendly),
            key_usage=tuple(sorted(usages)),
        )


def normalise_fingerprint(text: str) -> str:
    """A published SHA-256 fingerprint (``AB:CD:…`` or hex) as lowercase hex; ValueError if not."""
    cleaned = "".join(ch for ch in text if ch not in ": \t").lower()
    if len(cleaned) != 64 or any(ch not in "0123456789abcdef" for ch in cleaned):
        raise ValueError(
            f"Empreinte SHA-256 de sceau invalide : « {text} » (64 chiffres hexadécimaux attendus)."
        )
    return cleaned


def seal_identity(key: KeySource) -> SealIdentity:
    """The identity of the certificate held in the seal's key store."""
    from signatures.keystore import open_signer

    with open_signer(key) as signer:
        cert = signer.signing_cert
    if cert is None:
        raise KeyStoreError("Le magasin de clés du cachet ne contient pas de certificat.")
    return SealIdentity.of_certificate(cert)


@dataclass(frozen=True)
class SealVerdict:
    """Outcome of checking a detached seal: a value, never an exception."""

    valid: bool
    """True when the data is intact, the signature correct, the sealer the expected one and
    its certificate trusted, valid and not revoked at the seal's time."""
    signer: str
    """Common name of the sealing certificate ("" when it could not be read)."""
    timestamp: datetime | None
    """Time certified by the seal's valid signature timestamp, if any."""
    problems: tuple[str, ...]
    """Every problem found, in French; empty when valid."""
    sealer: SealIdentity | None = None
    """Identity of the certificate that actually sealed (None when unreadable)."""


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
    from signatures.tsa import timestamper_for

    return timestamper_for(url)


def _roots(trust_roots: Sequence[bytes]) -> list[x509.Certificate]:
    return [x509.Certificate.load(der) for der in trust_roots]


async def _gather_revocation(
    data: bytes, signed_data: cms.SignedData, trust_roots: Sequence[bytes]
) -> tuple[list[Any], list[Any]]:
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    from signatures.keystore import signer_name

    context = ValidationContext(
        trust_roots=_roots(trust_roots), allow_fetching=True, revocation_mode="hard-fail"
    )
    try:
        status = await async_validate_detached_cms(data, signed_data, context)
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]
    if status.revoked:
        raise SigningFailedError(
            "Scellement refusé : le certificat du cachet "
            f"« {signer_name(status.signing_cert)} » est révoqué."
        )
    if not (status.intact and status.valid and status.trusted):
        raise SigningFailedError(
            "Scellement refusé : le certificat du cachet "
            f"« {signer_name(status.signing_cert)} » n'est pas de confiance ou son statut de "
            "révocation n'a pu être obtenu."
        )
    return list(context.ocsps), list(context.crls)


def _embed_revocation(content_info: cms.ContentInfo, ocsps: list[Any], crls: list[Any]) -> bytes:
    signed_data = content_info["content"]
    choices = [cms.RevocationInfoChoice(name="crl", value=crl) for crl in crls]
    choices += [
        cms.RevocationInfoChoice(
            name="other",
            value=cms.OtherRevocationInfoFormat(
                {"other_rev_info_format": _OCSP_FORMAT, "other_rev_info": response}
            ),
        )
        for response in ocsps
    ]
    if choices:
        signed_data["crls"] = cms.RevocationInfoChoices(choices)
    # Only what changed is encoded again: the CRLs and OCSP responses keep the bytes their
    # issuers signed, the signer info the bytes the seal signed. `dump(force=True)` re-encoded
    # every value of every CRL (0.7 s of a 1.4 s seal with the PKI's CRLs, bench_pipeline).
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()
    return der


def _embedded_revocation(signed_data: cms.SignedData) -> tuple[list[Any], list[Any]]:
    ocsps: list[Any] = []
    crls: list[Any] = []
    for choice in signed_data["crls"] or ():
        if choice.name == "crl":
            crls.append(choice.chosen)
        elif choice.chosen["other_rev_info_format"].native == _OCSP_FORMAT:
            ocsps.append(ocsp.OCSPResponse.load(choice.chosen["other_rev_info"].dump()))
    return ocsps, crls


def seal_detached(
    data: bytes,
    *,
    key: KeySource,
    timestamp_url: str | None,
    trust_roots: Sequence[bytes] = (),
) -> bytes:
    """Seal ``data``: a detached CAdES-style CMS SignedData (sha256), DER.

    With a ``timestamp_url``, the signature gets an RFC 3161 signature timestamp as an
    unsigned attribute. With ``trust_roots``, the seal certificate's chain is checked online
    (hard-fail: a revoked or unverifiable certificate refuses the seal) and the OCSP responses
    and CRLs obtained are embedded in the seal, for offline verification later.
    """
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko.sign.validation import errors as validation_errors

    from signatures.keystore import open_signer

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
    if not trust_roots:
        der: bytes = content_info.dump()
        return der
    try:
        ocsps, crls = asyncio.run(_gather_revocation(data, content_info["content"], trust_roots))
    except (validation_errors.SignatureValidationError, ValueError, OSError) as exc:
        raise SigningFailedError(
            f"Scellement refusé : statut de révocation du cachet indisponible ({exc})."
        ) from exc
    return _embed_revocation(content_info, ocsps, crls)


def timestamp_bytes(data: bytes, *, tsa_url: str) -> bytes:
    """An RFC 3161 timestamp token (CMS ContentInfo, DER) over sha256(``data``)."""
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

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
    from pyhanko_certvalidator import ValidationContext

    return ValidationContext(
        trust_roots=_roots(trust_roots),
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
        # Parsed lazily: converting it whole (timestamp token, revocation data) costs more
        # than the checks; parse errors met later are caught in verify_detached_seal.
        if len(signed_data["signer_infos"]) != 1:
            return f"{what} doit porter exactement une signature."
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
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

    def imprint(algorithm: str) -> bytes:
        return hashlib.new(algorithm, data).digest()

    result: dict[str, Any] = await validate_tst_signed_data(signed_data, context, imprint)
    return result


def verify_timestamp(
    data: bytes, token: bytes, *, trust_roots: Sequence[bytes]
) -> TimestampVerdict:
    """Check that ``token`` is an RFC 3161 timestamp over ``data`` from a trusted TSA."""
    from pyhanko.sign.validation import errors as validation_errors

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


def _identity_problems(
    cert: x509.Certificate, sealer: SealIdentity, expected: Sequence[SealIdentity]
) -> list[str]:
    problems: list[str] = []
    if cert.self_signed != "no":
        problems.append(f"Le certificat du sceau « {sealer.subject} » est auto-signé.")
    if not expected:
        problems.append(
            "Aucune identité de sceau attendue n'est configurée : impossible de savoir qui "
            "devait sceller (donnez l'empreinte publiée du cachet)."
        )
    elif sealer.fingerprint not in {identity.fingerprint for identity in expected}:
        wanted = ", ".join(
            f"« {identity.subject or '?'} » ({identity.fingerprint})" for identity in expected
        )
        problems.append(
            f"Le sceau a été apposé par « {sealer.subject} » (empreinte SHA-256 "
            f"{sealer.fingerprint}), qui n'est pas le cachet désigné : attendu {wanted}."
        )
    if not SEAL_KEY_USAGES & set(sealer.key_usage):
        problems.append(
            "Le certificat du sceau n'autorise pas la signature (usage de clé "
            f"{', '.join(sealer.key_usage) or 'absent'})."
        )
    constraints = cert.basic_constraints_value
    if constraints is not None and constraints["ca"].native:
        problems.append("Le certificat du sceau est un certificat d'autorité, pas un cachet.")
    return problems


def _validity_problem(cert: x509.Certificate, moment: datetime) -> str | None:
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if moment < not_before:
        return (
            f"Le certificat du sceau n'était pas encore valide à la date du sceau "
            f"({moment.isoformat()} ; valide à partir du {not_before.isoformat()})."
        )
    if moment > not_after:
        return (
            f"Le certificat du sceau était expiré à la date du sceau "
            f"({moment.isoformat()} ; expiré le {not_after.isoformat()})."
        )
    return None


async def _revocation_problems(
    cert: x509.Certificate,
    signed_data: cms.SignedData,
    trust_roots: Sequence[bytes],
    *,
    moment: datetime | None,
    online: bool,
) -> list[str]:
    """Hard revocation check of the sealer's chain: online now, or with the data embedded at
    sealing time, judged at ``moment`` (the seal's time)."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import (
        PathError,
        PathValidationError,
        RevokedError,
        ValidationError,
    )

    if online:
        context = ValidationContext(
            trust_roots=_roots(trust_roots), allow_fetching=True, revocation_mode="hard-fail"
        )
    else:
        ocsps, crls = _embedded_revocation(signed_data)
        if not ocsps and not crls:
            return [
                "Le sceau ne contient aucune donnée de révocation (OCSP/CRL) de la date du "
                "scellement : le statut du certificat du sceau ne peut être établi hors ligne."
            ]
        context = ValidationContext(
            trust_roots=_roots(trust_roots),
            allow_fetching=False,
            revocation_mode="hard-fail",
            ocsps=ocsps,
            crls=crls,
            moment=moment,
            time_tolerance=REVINFO_TOLERANCE,
        )
    others = [
        choice.chosen
        for choice in signed_data["certificates"] or ()
        if choice.name == "certificate"
    ]
    validator = CertificateValidator(cert, intermediate_certs=others, validation_context=context)
    try:
        await validator.async_validate_path()
    except RevokedError:
        when = "aujourd'hui" if online else "à la date du sceau"
        return [f"Le certificat du sceau était révoqué {when}."]
    except (PathError, PathValidationError, ValidationError) as exc:
        where = "en ligne" if online else "dans les données de révocation du sceau"
        return [
            f"Le statut de révocation du certificat du sceau n'a pu être établi {where} "
            f"({type(exc).__name__})."
        ]
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]
    return []


async def _check_seal(
    data: bytes,
    signed_data: cms.SignedData,
    trust_roots: Sequence[bytes],
    expected: Sequence[SealIdentity],
    online: bool,
) -> tuple[Any, list[str]]:
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms

    status = await async_validate_detached_cms(data, signed_data, _context(trust_roots))
    timestamp_status = status.timestamp_validity
    problems: list[str] = []
    moment: datetime | None = None
    if timestamp_status is None:
        problems.append("Le sceau ne porte pas d'horodatage : sa date n'est pas prouvée.")
    elif not (timestamp_status.intact and timestamp_status.valid and timestamp_status.trusted):
        problems.append("L'horodatage du sceau n'est pas valide ou pas de confiance.")
    else:
        moment = timestamp_status.timestamp
        if not status.trusted:
            # An expired sealing certificate is fine if it was valid when the TSA saw the seal.
            status = await async_validate_detached_cms(
                data, signed_data, _context(trust_roots, moment=moment)
            )
    problems[:0] = _trust_problem(
        {
            "intact": status.intact,
            "valid": status.valid,
            "trust_problem_indic": status.trust_problem_indic,
        },
        "du signataire",
    )
    chain_trusted = not problems
    cert = status.signing_cert
    problems += _identity_problems(cert, SealIdentity.of_certificate(cert), expected)
    if moment is not None:
        expired = _validity_problem(cert, moment)
        if expired:
            problems.append(expired)
        elif chain_trusted:
            problems += await _revocation_problems(
                cert, signed_data, trust_roots, moment=moment, online=online
            )
    return status, problems


def verify_detached_seal(
    data: bytes,
    cms_der: bytes,
    *,
    trust_roots: Sequence[bytes],
    expected: Sequence[SealIdentity],
    online: bool = False,
) -> SealVerdict:
    """Check a detached seal made by :func:`seal_detached` over ``data``.

    Valid only when the data is intact, the seal timestamped by a trusted TSA, made by one of
    the ``expected`` seal identities (from the caller's configuration, never from the data),
    whose certificate is not self-signed, allows signing, chains to ``trust_roots`` and was
    neither expired nor revoked at the seal's time. Revocation comes from the data embedded at
    sealing time (offline, default) or is fetched now (``online``); both are hard-fail.
    """
    from pyhanko.sign.validation import errors as validation_errors

    from signatures.keystore import signer_name

    signed_data = _signed_data(cms_der, "Le sceau")
    if isinstance(signed_data, str):
        return SealVerdict(valid=False, signer="", timestamp=None, problems=(signed_data,))
    try:
        status, problems = asyncio.run(
            _check_seal(data, signed_data, trust_roots, expected, online)
        )
    except (
        validation_errors.SignatureValidationError,
        ValueError,
        TypeError,
        KeyError,
        OSError,
    ) as exc:
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
        sealer=SealIdentity.of_certificate(status.signing_cert),
    )


# tsp is imported for its side effect of registering the TSTInfo content type with asn1crypto.
_ = tsp
