"""Tenant admin (members and roles, procedure catalogue, settings) and platform operator
(tenants, health) screens."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, FieldError, FormValidationError, InvalidInput, NotFound
from engine.domain.model import Actor
from engine.domain.tenant_records import Member
from engine.services import admin as admin_services
from engine.services import cases as case_services
from engine.services import second_factor, tenant_clock, tenant_settings
from engine.services.passwords import notify_reset
from engine.services.queries import accounts as account_queries
from engine.services.queries import operator as operator_queries
from web.auth import Principal, TenantAccess, page_access, page_operator
from web.deps import PlatformDep, UowDep
from web.pages import admin_rgpd, admin_security, operator_versions
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.security import check_csrf
from web.templating import render

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
router.include_router(admin_security.router)
router.include_router(admin_rgpd.router)
router.include_router(operator_versions.router)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
Operator = Annotated[Principal, Depends(page_operator)]


def _operator_actor(principal: Principal) -> Actor:
    return Actor(f"user:{principal.username}", frozenset({"operator"}), principal.display_name)


def _users_page(
    request: Request, access: TenantAdmin, unit: UowDep, *, status: int = 200, **context: Any
) -> Response:
    values = {
        "roles": admin_services.ROLES,
        "members": admin_services.list_members(unit, access.tenant.siren),
        "values": {},
        "error": None,
        **context,
    }
    return tenant_page(request, access, "admin_users.html", values, status=status)


@router.get("/c/{tenant}/admin/utilisateurs")
def users(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    return _users_page(request, access, unit)


@router.post("/c/{tenant}/admin/utilisateurs")
def create_user(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "mot_de_passe"}
    roles = tuple(r for r in form.getlist("roles") if isinstance(r, str))
    password = form.get("mot_de_passe")
    try:
        if not roles:
            raise InvalidInput("Choisissez au moins un rôle.")
        user_id = admin_services.create_user(
            unit,
            username=str(form.get("identifiant", "")),
            display_name=str(form.get("nom", "")).strip() or str(form.get("identifiant", "")),
            email=str(form.get("courriel", "")).strip() or None,
            password=password if isinstance(password, str) and password else None,
            tenant=access.tenant.siren,
            roles=roles,
            temporary=True,  # chosen by the admin: the newcomer chooses their own at login
            actor=access.actor,
            now=p.clock(),
        )
    except (InvalidInput, Conflict, NotFound) as exc:
        return _users_page(
            request, access, unit, status=422, values=values, error=str(exc), chosen=roles
        )
    unit.commit()
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    warning = admin_security.signing_warning(unit, member)
    notice = f" Attention : {warning} (sur sa fiche)" if warning else ""
    flash(request, f"Utilisateur « {member.username} » créé.{notice}")
    return see_other(f"/c/{access.tenant.siren}/admin/utilisateurs")


# Members ---------------------------------------------------------------------------------

MEMBER_FORMS = ("roles", "activation", "mot_de_passe")
"""The forms of a member's page; an error is shown beside the one that was submitted."""


def _member_page(
    request: Request,
    access: TenantAdmin,
    unit: UowDep,
    member: Member,
    *,
    status: int = 200,
    form: str | None = None,
    error: str | None = None,
) -> Response:
    context = {
        "member": member,
        "roles": admin_services.ROLES,
        "errors": {form: error} if form else {},
        "is_self": member.username == access.principal.username,
        "signing_warning": admin_security.signing_warning(unit, member),
        "factor": second_factor.status(unit, member.user_id),
    }
    return tenant_page(request, access, "admin_member.html", context, status=status)


def _member_base(access: TenantAccess, user_id: uuid.UUID) -> str:
    return f"/c/{access.tenant.siren}/admin/utilisateurs/{user_id}"


@router.get("/c/{tenant}/admin/utilisateurs/{user_id}")
def member_page(
    request: Request, user_id: uuid.UUID, access: TenantAdmin, unit: UowDep
) -> Response:
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    return _member_page(request, access, unit, member)


@router.post("/c/{tenant}/admin/utilisateurs/{user_id}/roles")
def member_roles(
    request: Request,
    user_id: uuid.UUID,
    access: TenantAdmin,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    roles = frozenset(r for r in form.getlist("roles") if isinstance(r, str))
    try:
        admin_services.set_roles(
            unit,
            tenant=access.tenant.siren,
            user_id=user_id,
            roles=roles,
            actor=access.actor,
            now=p.clock(),
        )
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _member_page(
            request, access, unit, member, status=status, form="roles", error=str(exc)
        )
    unit.commit()
    warning = admin_security.signing_warning(
        unit, admin_services.get_member(unit, access.tenant.siren, user_id)
    )
    flash(
        request,
        f"Rôles de « {member.username} » enregistrés."
        + (f" Attention : {warning}" if warning else ""),
    )
    return see_other(_member_base(access, user_id))


@router.post("/c/{tenant}/admin/utilisateurs/{user_id}/activation")
def member_activation(
    request: Request,
    user_id: uuid.UUID,
    access: TenantAdmin,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    action = form.get("action")
    change = {
        "desactiver": admin_services.deactivate_member,
        "reactiver": admin_services.reactivate_member,
    }.get(action if isinstance(action, str) else "")
    try:
        if change is None:
            raise InvalidInput("Choisissez de désactiver ou de réactiver le compte.")
        change(unit, tenant=access.tenant.siren, user_id=user_id, actor=access.actor, now=p.clock())
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _member_page(
            request, access, unit, member, status=status, form="activation", error=str(exc)
        )
    unit.commit()
    done = "désactivé" if action == "desactiver" else "réactivé"
    flash(request, f"Compte « {member.username} » {done} dans la collectivité.")
    return see_other(_member_base(access, user_id))


@router.post("/c/{tenant}/admin/utilisateurs/{user_id}/mot-de-passe")
def member_password(
    request: Request,
    user_id: uuid.UUID,
    access: TenantAdmin,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    member = admin_services.get_member(unit, access.tenant.siren, user_id)
    password = form.get("mot_de_passe")
    confirmation = form.get("confirmation")
    try:
        if not isinstance(password, str) or not password:
            raise InvalidInput("Saisissez le mot de passe provisoire.")
        if password != confirmation:
            raise InvalidInput("Les deux saisies du mot de passe diffèrent.")
        admin_services.reset_password(
            unit,
            tenant=access.tenant.siren,
            user_id=user_id,
            password=password,
            actor=access.actor,
            now=p.clock(),
        )
    except (InvalidInput, Conflict) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return _member_page(
            request, access, unit, member, status=status, form="mot_de_passe", error=str(exc)
        )
    unit.commit()
    row = account_queries.user_by_id(unit, user_id)
    told = row is not None and notify_reset(
        p.settings.smtp,
        to=row.email,
        recipient_name=row.display_name,
        username=row.username,
        admin_name=access.principal.display_name,
        tenant_name=access.tenant.name,
        now=p.clock(),
    )
    notice = (
        "un courriel l'en a averti (sans le mot de passe)."
        if told
        else "aucun courriel n'a pu l'en avertir (adresse ou serveur de courriel absent)."
    )
    flash(
        request,
        f"Mot de passe provisoire de « {member.username} » enregistré : communiquez-le lui par "
        f"un canal sûr ; il devra le changer à sa prochaine connexion ; {notice}",
    )
    return see_other(_member_base(access, user_id))


# Procedure catalogue ---------------------------------------------------------------------


def _catalogue_page(
    request: Request,
    access: TenantAdmin,
    unit: UowDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "entries": tenant_settings.catalogue(unit, access.tenant.siren),
        "errors": errors or {},
    }
    return tenant_page(request, access, "admin_procedures.html", context, status=status)


@router.get("/c/{tenant}/admin/procedures")
def procedures(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    return _catalogue_page(request, access, unit)


@router.post("/c/{tenant}/admin/procedures/{procedure}")
def set_procedure(
    request: Request,
    procedure: str,
    access: TenantAdmin,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    state = form.get("etat")
    version = form.get("version")
    try:
        if state not in ("activee", "desactivee"):
            raise FormValidationError(
                [FieldError("etat", "Choisissez si la procédure est activée ou non.")]
            )
        entry = tenant_settings.set_procedure(
            unit,
            tenant=access.tenant.siren,
            procedure=procedure,
            enabled=state == "activee",
            pinned_hash=version if isinstance(version, str) and version else None,
            actor=access.actor,
            now=p.clock(),
        )
    except FormValidationError as exc:
        errors = {procedure: "; ".join(e.message for e in exc.errors)}
        return _catalogue_page(request, access, unit, status=422, errors=errors)
    unit.commit()
    shown = "activée" if entry.enabled else "désactivée"
    flash(request, f"Procédure « {entry.title} » {shown}.")
    return see_other(f"/c/{access.tenant.siren}/admin/procedures")


# Settings --------------------------------------------------------------------------------


def _settings_page(
    request: Request,
    access: TenantAdmin,
    unit: UowDep,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    retention_values: dict[str, str] | None = None,
    retention_errors: dict[str, str] | None = None,
) -> Response:
    tenant = access.tenant.siren
    lines = tenant_settings.retention_lines(unit, tenant)
    current_retention = {f"annees_{line.typologie}": str(line.current.years) for line in lines}
    current_retention |= {f"sort_{line.typologie}": line.current.final_action for line in lines}
    context = {
        "values": values
        if values is not None
        else tenant_settings.read_settings(unit, tenant).as_form(),
        "errors": errors or {},
        "limits": tenant_settings.LIMITS,
        "retention": lines,
        "retention_values": retention_values or current_retention,
        "retention_errors": retention_errors or {},
        "final_actions": tenant_settings.FINAL_ACTIONS,
        "second_factor_roles": second_factor.policy(unit, tenant),
    }
    return tenant_page(request, access, "admin_settings.html", context, status=status)


@router.get("/c/{tenant}/admin/parametres")
def settings_page(request: Request, access: TenantAdmin, unit: UowDep) -> Response:
    return _settings_page(request, access, unit)


@router.post("/c/{tenant}/admin/parametres")
def save_settings(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    submitted = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        parsed = tenant_settings.parse_settings(submitted)
    except FormValidationError as exc:
        errors = {e.path: e.message for e in exc.errors}
        return _settings_page(request, access, unit, status=422, values=submitted, errors=errors)
    tenant_settings.save_settings(
        unit, tenant=access.tenant.siren, settings=parsed, actor=access.actor, now=p.clock()
    )
    unit.commit()
    flash(request, "Paramètres enregistrés.")
    return see_other(f"/c/{access.tenant.siren}/admin/parametres")


@router.post("/c/{tenant}/admin/conservation")
def save_retention(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    submitted = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        changed = tenant_settings.save_retention(
            unit, tenant=access.tenant.siren, form=submitted, actor=access.actor, now=p.clock()
        )
    except FormValidationError as exc:
        errors = {e.path: e.message for e in exc.errors}
        return _settings_page(
            request,
            access,
            unit,
            status=422,
            retention_values=submitted,
            retention_errors=errors,
        )
    unit.commit()
    flash(
        request,
        f"Durées de conservation enregistrées ({len(changed)} modifiée(s)) ; "
        "elles s'appliquent aux dossiers scellés désormais.",
    )
    return see_other(f"/c/{access.tenant.siren}/admin/parametres#conservation")


def _tenants_page(request: Request, unit: UowDep, *, status: int = 200, **context: Any) -> Response:
    values = {
        "tenants": account_queries.all_tenants(unit),
        "training": tenant_clock.training_tenants(unit),
        "error": None,
        "values": {},
        "flash": request.session.pop("flash", None),
        **context,
    }
    return render(request, "operator_tenants.html", values, status=status)


@router.get("/exploitation")
def tenants(request: Request, principal: Operator, unit: UowDep) -> Response:
    return _tenants_page(request, unit)


@router.post("/exploitation/collectivites")
def create_tenant(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    siren: Annotated[str, Form(max_length=20)] = "",
    nom: Annotated[str, Form(max_length=200)] = "",
    formation: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    actor, now = _operator_actor(principal), p.clock()
    try:
        tenant = admin_services.create_tenant(
            unit, siren=siren.strip(), name=nom, actor=actor, now=now
        )
        if formation:
            tenant_clock.make_training(unit, tenant=tenant.siren, actor=actor, now=now)
    except (InvalidInput, Conflict) as exc:
        values = {"siren": siren, "nom": nom, "formation": bool(formation)}
        return _tenants_page(request, unit, status=422, error=str(exc), values=values)
    unit.commit()
    kind = "Espace de formation {} créé" if formation else "Collectivité {} créée"
    flash(request, f"{kind.format(tenant.siren)} : {tenant.name}.")
    return see_other("/exploitation")


def _training_page(
    request: Request, unit: UowDep, siren: str, *, status: int = 200, error: str | None = None
) -> Response:
    tenant = next((t for t in account_queries.all_tenants(unit) if t.siren == siren), None)
    if tenant is None:
        raise NotFound("Collectivité inconnue.")
    context = {
        "subject": tenant,
        "is_training": siren in tenant_clock.training_tenants(unit),
        "error": error,
    }
    return render(request, "operator_training.html", context, status=status)


@router.get("/exploitation/collectivites/{tenant}/formation")
def training_confirm(request: Request, principal: Operator, unit: UowDep, tenant: str) -> Response:
    """What flagging (or unflagging) a tenant as a training space means, before it is done."""
    return _training_page(request, unit, tenant)


@router.post("/exploitation/collectivites/{tenant}/formation")
def training_set(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    tenant: str,
    etat: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    siren, actor, now = tenant, _operator_actor(principal), p.clock()
    try:
        if etat == "formation":
            tenant_clock.make_training(unit, tenant=siren, actor=actor, now=now)
        elif etat == "reel":
            tenant_clock.end_training(unit, tenant=siren, actor=actor, now=now)
        else:
            raise InvalidInput("Choisissez de passer en formation ou d'en sortir.")
    except (InvalidInput, Conflict) as exc:
        return _training_page(request, unit, siren, status=422, error=str(exc))
    unit.commit()
    done = (
        "est désormais un espace de formation"
        if etat == "formation"
        else ("n'est plus un espace de formation")
    )
    flash(request, f"La collectivité {siren} {done}.")
    return see_other("/exploitation")


def _operation_label(p: Any, name: str) -> str:
    """An operation's French description (« Transmet l'acte à la préfecture… »), else its name."""
    if name not in p.operations.names():
        return name
    return str(p.operations.get(name).description or name)


@router.get("/exploitation/sante")
def health(request: Request, principal: Operator, unit: UowDep, p: PlatformDep) -> Response:
    stuck = operator_queries.stuck_jobs(unit, limit=100)
    return render(
        request,
        "operator_health.html",
        {
            "health": operator_queries.platform_health(unit),
            "tenant_names": {t.siren: t.name for t in account_queries.all_tenants(unit)},
            "cases_in_error": operator_queries.cases_in_error(unit, limit=100),
            "stuck_jobs": stuck,
            "operations": {j.operation: _operation_label(p, j.operation) for j in stuck},
            "tdt_url": p.settings.actes.base_url,
            "flash": request.session.pop("flash", None),
        },
    )


@router.post("/exploitation/dossiers/{tenant}/{case_id}/relancer")
def retry_case(
    request: Request,
    principal: Operator,
    unit: UowDep,
    p: PlatformDep,
    tenant: str,
    case_id: uuid.UUID,
) -> Response:
    """An operator retries a case in error: each waiting service task gets a new job attempt."""
    try:
        case = case_services.retry_case(
            unit, tenant=tenant, case_id=case_id, actor=_operator_actor(principal), now=p.clock()
        )
    except Conflict as exc:
        flash(request, f"Relance impossible : {exc}")
        return see_other("/exploitation/sante")
    unit.commit()
    flash(request, f"Dossier {case.reference} relancé.")
    return see_other("/exploitation/sante")
