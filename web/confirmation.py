"""Confirming a visa or a signature (the élus' lane): the person proves it is them again.

With a password of their own (never one an admin set) they type it; with a second factor they
also give a code (once per code) — always when their tenant requires one of élus. An account
with neither (an élu invited without a password, logging in through ProConnect) cannot confirm:
it is told to activate the second factor in « Mon compte ». Failures count as failed logins
(throttle and progressive delays)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from engine.services import second_factor
from engine.services.admin import check_password
from engine.services.queries import accounts as account_queries
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess, client_address, wait_message

__all__ = ["Confirmation", "confirm_signature", "confirmation_for"]

NO_MEANS = (
    "Votre compte n'a pas de mot de passe personnel ni de double authentification : vous ne "
    "pouvez pas confirmer un visa ou une signature. Activez la double authentification dans "
    "« Mon compte » (/compte/double-authentification) : vous confirmerez alors avec un code "
    "de votre application ; ou demandez un mot de passe à l'administrateur de la collectivité."
)
TEMPORARY = (
    "Votre mot de passe est provisoire (choisi par un administrateur) : il ne permet pas de "
    "signer. Choisissez le vôtre dans « Mon compte »."
)


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation asks of this person."""

    password: bool
    code: bool
    impossible: str | None = None
    """Why this person cannot confirm at all (French), with how to fix it."""


def confirmation_for(unit: UnitOfWork, access: TenantAccess) -> Confirmation:
    row = account_queries.user_by_id(unit, access.principal.user_id)
    if row is None:
        return Confirmation(False, False, NO_MEANS)
    if row.password_temporary:
        return Confirmation(False, False, TEMPORARY)
    enrolled, _required = second_factor.gate(unit, access.principal.user_id)
    password = bool(row.password_hash)
    if not password and not enrolled:
        return Confirmation(False, False, NO_MEANS)
    if not enrolled and "elu" in second_factor.policy(unit, access.tenant.siren):
        return Confirmation(
            password,
            False,
            "Votre collectivité exige la double authentification pour signer : "
            "activez-la dans « Mon compte » (/compte/double-authentification).",
        )
    return Confirmation(password, enrolled)


def confirm_signature(
    request: Request, unit: UnitOfWork, access: TenantAccess, password: object, code: object
) -> str | None:
    """None when confirmed; else why not, in French."""
    needed = confirmation_for(unit, access)
    if needed.impossible:
        return needed.impossible
    limiter = request.app.state.login_limiter
    username, address = access.principal.username, client_address(request)
    wait = limiter.retry_after(unit, username, address)
    if wait:
        return wait_message(wait)
    row = account_queries.user_by_id(unit, access.principal.user_id)
    assert row is not None
    error = None
    if needed.password and not (
        isinstance(password, str) and check_password(row.password_hash, password)
    ):
        error = "Mot de passe de confirmation incorrect."
    elif needed.code and not (
        isinstance(code, str)
        and second_factor.check_code(
            unit,
            row.id,
            code,
            secret_key=request.app.state.platform.settings.secret_key,
            now=request.app.state.platform.clock(),
        )
    ):
        error = "Code de confirmation incorrect ou déjà utilisé."
    if error:
        limiter.failed(unit, username, address)
    if error or needed.code:
        # The failure counts, the code is used up, whatever the rest of the request does.
        unit.commit()
    return error
