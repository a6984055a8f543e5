"""Second factor (TOTP, RFC 6238): enrolment, codes, recovery codes, tenants' requirements.

A member enrols from « Mon compte »: the page shows a QR code (`otpauth://` URI, SVG drawn by
segno) and the secret in text, and a first code confirms it; ten one-time recovery codes are then
shown once and stored hashed. Secrets are stored encrypted (Fernet, AES-128-CBC + HMAC-SHA256)
with a key derived by HKDF-SHA256 from the platform's secret key (`DEMATFLOW_SECRET_KEY`):
a copy of the database alone does not give them away; changing the secret key makes them
unreadable (members then log in with a recovery code and enrol again).

A code is accepted in its 30-second step and the steps either side (clock drift), once: the
step accepted last is stored and a code of that step or an earlier one is refused (replay).
A tenant admin may require a second factor for roles of their tenant (élus, admins) or for one
member; the pages send such a member to the enrolment page until they have one.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pyotp.utils import strings_equal

from engine.domain.errors import Conflict, InvalidInput
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork

__all__ = [
    "ISSUER",
    "RECOVERY_CODES",
    "REQUIRABLE_ROLES",
    "Enrolment",
    "FactorStatus",
    "begin_enrolment",
    "check_code",
    "confirm_enrolment",
    "demand",
    "disable",
    "gate",
    "pending_enrolment",
    "policy",
    "set_policy",
    "status",
]

log = logging.getLogger(__name__)

ISSUER = "dematflow"
"""Name the authenticator app shows beside the account."""
RECOVERY_CODES = 10
REQUIRABLE_ROLES = ("elu", "admin")
"""Roles a tenant may require a second factor for: those who sign and those who administer."""
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
"""Recovery code letters: no 0/o, 1/l/i to misread (31 letters, 10 per code: ~49 bits)."""


@cache
def _fernet(secret_key: str) -> Fernet:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dematflow-second-factor")
    return Fernet(base64.urlsafe_b64encode(kdf.derive(secret_key.encode())))


def _seal(secret_key: str, secret: str) -> str:
    return _fernet(secret_key).encrypt(secret.encode()).decode("ascii")


def _open(secret_key: str, sealed: str | None) -> str | None:
    if not sealed:
        return None
    try:
        return _fernet(secret_key).decrypt(sealed.encode("ascii")).decode()
    except InvalidToken:  # the platform's secret key changed: recovery codes still work
        return None


def _hash(user_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(b"dematflow-recovery\x00" + user_id.bytes + code.encode()).hexdigest()


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


@dataclass(frozen=True)
class FactorStatus:
    """A member's second factor, and whether they must have one."""

    enrolled: bool
    required_for: tuple[tuple[str, str], ...]
    """(tenant, role) whose tenant requires a second factor for that role."""
    demanded: bool
    """A tenant admin required this member to set one up."""
    codes_left: int

    @property
    def required(self) -> bool:
        return bool(self.required_for) or self.demanded


def status(uow: UnitOfWork, user_id: uuid.UUID) -> FactorStatus:
    row = uow.second_factors.get(user_id)
    enrolled = row is not None and row.confirmed_at is not None
    return FactorStatus(
        enrolled=enrolled,
        required_for=tuple(uow.second_factors.required_by(user_id)),
        demanded=row is not None and row.demanded_at is not None,
        codes_left=uow.second_factors.codes_left(user_id) if enrolled else 0,
    )


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret for manual entry and its QR code."""

    secret: str
    uri: str
    qr_svg_data_uri: str

    @property
    def grouped(self) -> str:
        """The secret in groups of four letters, easier to type."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def _enrolment(secret: str, username: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return Enrolment(secret, uri, qr)


def begin_enrolment(
    uow: UnitOfWork, user_id: uuid.UUID, *, username: str, secret_key: str, now: datetime
) -> Enrolment:
    """A new secret, stored encrypted and unconfirmed until a first code comes back."""
    row = uow.second_factors.get(user_id)
    if row is not None and row.confirmed_at is not None and _open(secret_key, row.secret):
        # (A secret the current key cannot read — the key was changed — may be replaced.)
        raise Conflict("La double authentification est déjà activée sur votre compte.")
    secret = pyotp.random_base32()
    uow.second_factors.start(user_id, _seal(secret_key, secret), now)
    return _enrolment(secret, username)


def pending_enrolment(
    uow: UnitOfWork, user_id: uuid.UUID, *, username: str, secret_key: str
) -> Enrolment | None:
    """The enrolment under way (secret set, not confirmed yet), to show it again."""
    row = uow.second_factors.get(user_id)
    if row is None or row.confirmed_at is not None:
        return None
    secret = _open(secret_key, row.secret)
    return _enrolment(secret, username) if secret else None


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step - 1, step, step + 1):
        if strings_equal(code, totp.generate_otp(candidate)):
            return candidate
    return None


def confirm_enrolment(
    uow: UnitOfWork, user_id: uuid.UUID, code: str, *, secret_key: str, now: datetime
) -> list[str]:
    """Check the first code against the pending secret; returns the recovery codes (shown
    once, stored hashed). InvalidInput when the code is wrong. Journaled in the member's
    tenants; the caller ends the account's other sessions."""
    row = uow.second_factors.get(user_id)
    secret = _open(secret_key, row.secret) if row is not None else None
    if row is None or row.confirmed_at is not None or secret is None:
        raise Conflict("Aucune activation en cours : recommencez depuis « Mon compte ».")
    step = _matching_step(secret, code, now)
    if step is None:
        raise InvalidInput(
            "Code incorrect : saisissez les 6 chiffres que votre application affiche en ce "
            "moment (vérifiez que l'heure de votre téléphone est exacte)."
        )
    uow.second_factors.confirm(user_id, step, now)
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    uow.second_factors.replace_codes(user_id, [_hash(user_id, c) for c in codes])
    _journal(uow, user_id, "user.second_factor_enabled", now)
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def check_code(
    uow: UnitOfWork, user_id: uuid.UUID, code: str, *, secret_key: str, now: datetime
) -> str | None:
    """`"totp"` or `"recovery"` when `code` is a valid code not used before (it is used up
    now), None otherwise. A TOTP code works once: its step is recorded."""
    row = uow.second_factors.get(user_id)
    if row is None or row.confirmed_at is None or len(code) > 40:
        return None
    secret = _open(secret_key, row.secret)
    step = _matching_step(secret, code, now) if secret else None
    if step is not None:
        if uow.second_factors.use_step(user_id, step):
            return "totp"
        log.warning("TOTP code replayed (or older than the last one used) for user %s", user_id)
        return None
    recovery = _normalise(code)
    if len(recovery) == 10 and uow.second_factors.use_code(user_id, _hash(user_id, recovery), now):
        return "recovery"
    return None


def disable(
    uow: UnitOfWork,
    user_id: uuid.UUID,
    *,
    password_ok: bool,
    code: str,
    secret_key: str,
    now: datetime,
) -> None:
    """Remove the second factor: needs the password (when the account has one: the caller
    checks it) and a valid code. Refused while a tenant requires one of this member."""
    found = status(uow, user_id)
    if not found.enrolled:
        raise Conflict("La double authentification n'est pas activée sur votre compte.")
    if found.required:
        raise Conflict(
            "Votre collectivité exige la double authentification pour votre rôle : "
            "vous ne pouvez pas la désactiver."
        )
    if not password_ok:
        raise InvalidInput("Mot de passe incorrect : la double authentification reste activée.")
    if check_code(uow, user_id, code, secret_key=secret_key, now=now) is None:
        raise InvalidInput("Code incorrect : la double authentification reste activée.")
    uow.second_factors.remove(user_id, now)
    _journal(uow, user_id, "user.second_factor_disabled", now)


def _journal(uow: UnitOfWork, user_id: uuid.UUID, kind: str, now: datetime) -> None:
    row = uow.users.by_id(user_id)
    username = row.username if row is not None else str(user_id)
    for tenant in uow.users.tenants_of(user_id):
        uow.journal.append(
            tenant=tenant,
            kind=kind,
            case_id=None,
            actor=f"user:{username}",
            payload={"username": username},
            now=now,
        )


# Tenants' requirements --------------------------------------------------------------------


def policy(uow: UnitOfWork, tenant: str) -> frozenset[str]:
    """The roles of the tenant whose members must have a second factor."""
    return uow.second_factors.policy(tenant)


def set_policy(
    uow: UnitOfWork, *, tenant: str, roles: frozenset[str], actor: Actor, now: datetime
) -> None:
    unknown = sorted(roles - set(REQUIRABLE_ROLES))
    if unknown:
        raise InvalidInput(f"Rôle(s) non concerné(s) : {', '.join(unknown)}.")
    uow.second_factors.set_policy(tenant, roles, actor.user_id, now)
    uow.journal.append(
        tenant=tenant,
        kind="settings.second_factor",
        case_id=None,
        actor=actor.user_id,
        payload={"roles": sorted(roles)},
        now=now,
    )


def demand(
    uow: UnitOfWork, *, tenant: str, user_id: uuid.UUID, actor: Actor, now: datetime
) -> None:
    """A tenant admin requires one member to set up a second factor at their next login."""
    if uow.tenant_admin.member(tenant, user_id) is None:
        raise InvalidInput("Ce compte n'est pas membre de la collectivité.")
    uow.second_factors.demand(user_id, actor.user_id, now)
    row = uow.users.by_id(user_id)
    uow.journal.append(
        tenant=tenant,
        kind="user.second_factor_demanded",
        case_id=None,
        actor=actor.user_id,
        payload={"username": row.username if row is not None else str(user_id)},
        now=now,
    )


def gate(uow: UnitOfWork, user_id: uuid.UUID) -> tuple[bool, bool]:
    """(has a second factor, must have one): one statement, read on every request."""
    return uow.second_factors.gate(user_id)
