"""Password policy: what a new password must not be (French messages saying what to do).

At least 12 characters; not one of the 10,000 most common passwords (the list shipped in
``common_passwords.txt``, from the zxcvbn package, even with digits or symbols around it); not
mostly repeated or sequential characters (``aaaaaaaaaaaa``, ``123456789012``); not built on the
user's login, names or e-mail, nor on the collectivité's name."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path

from connectors.errors import PermanentError, RetryableError
from connectors.mail.mailer import Notification, send_notification
from connectors.mail.rendering import NotificationKind
from engine.domain.errors import InvalidInput
from engine.rendering.formatting import MAIL_FILTERS
from engine.services.mail_relay import relay_config
from engine.settings import SmtpSettings

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_new_password", "notify_reset"]

log = logging.getLogger(__name__)

MIN_LENGTH = 12
MAX_LENGTH = 200
"""Bounded before hashing (argon2 hashes any length, a form field should not)."""

_LIST = Path(__file__).with_name("common_passwords.txt")
_ADVICE = (
    "Choisissez une phrase de passe de plusieurs mots sans rapport entre eux, "
    "par exemple « tuile-vélo-orage-marché »."
)


@cache
def _common() -> frozenset[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _fold(text: str) -> str:
    """Lower case without accents: « Élodie » and « elodie » are the same name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _runs_cover(password: str) -> int:
    """How many characters belong to runs of 3 or more repeated or sequential characters
    (``aaa``, ``abc``, ``321``)."""
    covered = [False] * len(password)
    start = 0
    while start < len(password) - 2:
        step = ord(password[start + 1]) - ord(password[start])
        end = start + 1
        if step in (-1, 0, 1):
            while end + 1 < len(password) and ord(password[end + 1]) - ord(password[end]) == step:
                end += 1
        if end - start >= 2:
            covered[start : end + 1] = [True] * (end - start + 1)
            start = end
        else:
            start += 1
    return sum(covered)


def check_new_password(password: str, personal: Iterable[str | None] = ()) -> None:
    """InvalidInput with what to do when `password` is too weak; `personal` are the user's
    login, names, e-mail and the collectivité's name."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères. {_ADVICE}"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Le mot de passe ne peut dépasser {MAX_LENGTH} caractères.")
    folded = _fold(password)
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", folded)
    if folded in _common() or core in _common() or folded.rstrip("0123456789!?.*_-") in _common():
        raise InvalidInput(
            "Ce mot de passe figure parmi les plus courants (listes de mots de passe divulgués) "
            f"et serait deviné en quelques essais. {_ADVICE}"
        )
    if len(set(folded)) < 5 or _runs_cover(folded) * 2 > len(folded):
        raise InvalidInput(
            "Ce mot de passe est fait surtout de caractères répétés ou qui se suivent "
            f"(« aaaa », « 1234 », « abcd »). {_ADVICE}"
        )
    for value in personal:
        for word in re.split(r"[\s@.,'’_-]+", _fold(value or "")):
            if len(word) >= 4 and word in folded:
                raise InvalidInput(
                    "Le mot de passe ne doit pas reprendre votre identifiant, votre nom, votre "
                    f"adresse électronique ni le nom de la collectivité. {_ADVICE}"
                )


def notify_reset(
    settings: SmtpSettings,
    *,
    to: str | None,
    recipient_name: str,
    username: str,
    admin_name: str,
    tenant_name: str,
    now: datetime,
) -> bool:
    """Tell the member by mail that an admin reset their password (never the password itself).
    False when it could not be sent (no address, no relay configured, relay refusing)."""
    if not to or not settings.host:
        return False
    config = relay_config(settings)
    context = {
        "recipient_name": recipient_name,
        "username": username,
        "admin_name": admin_name,
        "tenant_name": tenant_name,
        "reset_at": now,
        "sender_name": settings.sender_name,
    }
    notice = Notification(kind=NotificationKind.ACCOUNT_RESET, to=(to,), context=context)
    try:
        sent = send_notification(notice, config=config, filters=MAIL_FILTERS)
    except (RetryableError, PermanentError) as exc:
        log.warning("avis de réinitialisation non envoyé à %s : %s", username, exc)
        return False
    return bool(sent.recipients)
