"""Tenant admin, security: requiring a second factor (of élus, of admins, of one member) and
the warning when a signing role goes to an account that could not confirm a signature."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import InvalidInput
from engine.domain.task_access import CONFIRMED_LANES
from engine.domain.tenant_records import Member
from engine.services import admin as admin_services
from engine.services import second_factor
from engine.services.queries import accounts as account_queries
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other
from web.security import check_csrf

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]


def signing_warning(unit: UnitOfWork, member: Member) -> str | None:
    """Why this member, who holds a signing role, could not confirm a signature (no password
    of any kind and no second factor), and what the admin can do; None when they can."""
    if not member.roles & CONFIRMED_LANES:
        return None
    row = account_queries.user_by_id(unit, member.user_id)
    enrolled, required = second_factor.gate(unit, member.user_id)
    if row is None or row.password_hash or enrolled:
        return None
    warning = (
        "Ce compte n'a ni mot de passe ni double authentification : en l'état, il ne pourra "
        "confirmer aucun visa ni aucune signature."
    )
    if required:
        return (
            f"{warning} La double authentification lui est demandée : il devra l'activer à "
            "sa prochaine connexion (par ProConnect), avant toute autre action."
        )
    return (
        f"{warning} Exigez la double authentification (il l'activera à sa prochaine connexion "
        "par ProConnect) ou définissez-lui un mot de passe provisoire ci-dessous."
    )


@router.post("/c/{tenant}/admin/double-authentification")
def require_second_factor(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    """The roles whose members must have a second factor (unchecked: none)."""
    roles = frozenset(r for r in form.getlist("roles") if isinstance(r, str))
    try:
        second_factor.set_policy(
            unit, tenant=access.tenant.siren, roles=roles, actor=access.actor, now=p.clock()
        )
    except InvalidInput as exc:
        flash(request, str(exc))
        return see_other(f"/c/{access.tenant.siren}/admin/parametres#double-authentification")
    unit.commit()
    if roles:
        labels = ", ".join({"elu": "élus", "admin": "administrateurs"}[r] for r in sorted(roles))
        done = (
            f"Double authentification exigée des {labels} : ceux qui ne l'ont pas l'activeront "
            "à leur prochaine connexion, avant toute autre action."
        )
    else:
        done = "La double authentification n'est plus exigée (chacun peut l'activer pour lui)."
    flash(request, done)
    return see_other(f"/c/{access.tenant.siren}/admin/parametres#double-authentification")


@router.post("/c/{tenant}/admin/utilisateurs/{user_id}/double-authentification")
def demand_second_factor(
    request: Request, user_id: uuid.UUID, access: TenantAdmin, unit: UowDep, p: PlatformDep
) -> Response:
    """One member must set up a second factor at their next login."""
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    second_factor.demand(
        unit, tenant=access.tenant.siren, user_id=user_id, actor=access.actor, now=p.clock()
    )
    unit.commit()
    flash(
        request,
        f"Double authentification exigée de « {member.username} » : il l'activera à sa "
        "prochaine connexion, avant toute autre action.",
    )
    return see_other(f"/c/{access.tenant.siren}/admin/utilisateurs/{user_id}")
