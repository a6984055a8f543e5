"""Accounts of agents who log in with OpenID Connect (ProConnect): tenant mapping, linking, creation.

Rules a town hall expects (see docs/oidc.md):
- the agent's `siret` names their employer; its 9 first digits are the SIREN of the tenant they
  work for (or an explicit SIRET → tenant mapping decides), and that tenant must be open to OIDC;
- an identity already linked logs in to its account: roles are whatever an admin granted;
- otherwise an account the tenant admin created with the agent's e-mail is linked to it (an
  invitation); with ``provisioning="agent"`` an unknown agent gets a new account with the clerk
  role only. Élu, archivist or admin roles, and the platform operator, are never given by OIDC;
- every link and creation is journaled in the tenant's journal; a refusal writes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from engine.domain.errors import Conflict, Forbidden
from engine.domain.model import Actor, Tenant
from engine.persistence.uow import UnitOfWork
from engine.services.admin import create_user

__all__ = ["AgentIdentity", "LoginRefused", "Provisioning", "sign_in_agent", "tenant_of_siret"]

SIRET = re.compile(r"^[0-9]{14}$")
OIDC_ACTOR = Actor.system("oidc")
NEW_AGENT_ROLE = "agent"
"""The only role OIDC ever grants, and only with ``provisioning="agent"``."""


class LoginRefused(Forbidden):
    """The provider authenticated the person, but this platform does not let them in."""


@dataclass(frozen=True)
class AgentIdentity:
    """What the provider asserted, after its signatures were checked."""

    issuer: str
    """`iss` of the ID token: with `subject`, the stable key of the identity."""
    subject: str
    """`sub`: the provider's identifier of the person (stable, opaque)."""
    email: str | None
    given_name: str
    usual_name: str
    siret: str | None
    """SIRET of the agent's organisation (ProConnect `siret` claim)."""
    email_verified: bool = True
    """False only when the provider says so (ProConnect e-mails are verified)."""

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.usual_name) if p) or (self.email or "")


@dataclass(frozen=True)
class Provisioning:
    """How identities map to tenants and what a first login may create."""

    mode: Literal["invitation", "agent"] = "invitation"
    tenant_by_siret: Mapping[str, str] | None = None
    """Explicit SIRET → SIREN mapping, checked before the SIREN prefix rule."""
    allowed_tenants: frozenset[str] = frozenset()
    """Tenants open to OIDC login; empty: all of them."""


def tenant_of_siret(uow: UnitOfWork, siret: str | None, policy: Provisioning) -> Tenant:
    """The tenant the agent works for, or LoginRefused with the reason in French."""
    if not siret or not SIRET.match(siret):
        raise LoginRefused(
            "Votre fournisseur d'identité n'a pas transmis le SIRET de votre organisation : "
            "la connexion est impossible."
        )
    siren = (policy.tenant_by_siret or {}).get(siret, siret[:9])
    tenant = uow.tenants.get(siren)
    if tenant is None or (policy.allowed_tenants and siren not in policy.allowed_tenants):
        raise LoginRefused(
            f"Votre organisation (SIRET {siret}) n'utilise pas cette plateforme : "
            "aucune collectivité ne lui correspond."
        )
    return tenant


def sign_in_agent(
    uow: UnitOfWork, identity: AgentIdentity, policy: Provisioning, *, now: datetime
) -> uuid.UUID:
    """The account to open a session for; links or creates it as the policy allows."""
    tenant = tenant_of_siret(uow, identity.siret, policy)
    row = uow.users.by_oidc_subject(identity.issuer, identity.subject)
    if row is not None:
        if not row.active:
            raise LoginRefused("Votre compte est désactivé : contactez l'exploitant.")
        _refuse_if_deactivated(uow, tenant, uuid.UUID(str(row.id)))
        uow.users.touch_oidc(
            issuer=identity.issuer, subject=identity.subject, siret=identity.siret, now=now
        )
        return uuid.UUID(str(row.id))
    if not identity.email:
        raise LoginRefused(
            "Votre fournisseur d'identité n'a pas transmis votre adresse e-mail : "
            "la connexion est impossible."
        )
    invited = _invited_account(uow, identity, tenant)
    if invited is not None:
        _refuse_if_deactivated(uow, tenant, invited)
        _link(uow, invited, identity, tenant, now=now)
        return invited
    if policy.mode != "agent":
        raise LoginRefused(
            f"Aucun compte n'a été ouvert pour vous dans « {tenant.name} ». Demandez à "
            f"l'administrateur de votre collectivité de créer votre compte avec l'adresse "
            f"{identity.email}, puis reconnectez-vous."
        )
    try:
        user_id = create_user(
            uow,
            username=identity.email,
            display_name=identity.display_name,
            password=None,
            email=identity.email.lower(),
            tenant=tenant.siren,
            roles=(NEW_AGENT_ROLE,),
            actor=OIDC_ACTOR,
            now=now,
        )
    except Conflict as exc:
        raise LoginRefused(
            f"Un compte existe déjà sous l'identifiant {identity.email.lower()} : demandez à "
            "l'administrateur de votre collectivité de le rattacher à votre identité."
        ) from exc
    _link(uow, user_id, identity, tenant, now=now)
    return user_id


def _refuse_if_deactivated(uow: UnitOfWork, tenant: Tenant, user_id: uuid.UUID) -> None:
    """The tenant admin deactivated this member: no session at all, rather than one that
    opens nothing (the identity provider vouches for the person, not for their access)."""
    member = uow.tenant_admin.member(tenant.siren, user_id)
    if member is not None and member.suspended_at is not None:
        raise LoginRefused(
            f"Votre compte a été désactivé par l'administrateur de « {tenant.name} » : "
            "adressez-vous à lui pour le faire réactiver."
        )


def _invited_account(uow: UnitOfWork, identity: AgentIdentity, tenant: Tenant) -> uuid.UUID | None:
    """An account created for this agent by the tenant admin, not yet linked to a provider."""
    assert identity.email is not None
    if not identity.email_verified:
        return None
    for row in uow.users.by_email(identity.email):
        user_id = uuid.UUID(str(row.id))
        if (
            row.active
            and not row.is_operator
            and uow.tenant_admin.member(tenant.siren, user_id) is not None
            and uow.users.oidc_subject_of(user_id, identity.issuer) is None
        ):
            return user_id
    return None


def _link(
    uow: UnitOfWork, user_id: uuid.UUID, identity: AgentIdentity, tenant: Tenant, *, now: datetime
) -> None:
    uow.users.link_oidc(
        user_id, issuer=identity.issuer, subject=identity.subject, siret=identity.siret, now=now
    )
    row = uow.users.by_id(user_id)
    assert row is not None
    uow.journal.append(
        tenant=tenant.siren,
        kind="user.oidc_linked",
        case_id=None,
        actor=OIDC_ACTOR.user_id,
        payload={"username": row.username, "issuer": identity.issuer, "siret": identity.siret},
        now=now,
    )
