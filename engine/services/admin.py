"""Platform and tenant administration: tenants, users and roles, process deployment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.domain.errors import Conflict, InvalidInput, NotFound, ProcessDefinitionError
from engine.domain.model import Actor, Tenant, check_siren
from engine.domain.tenant_records import Member
from engine.persistence.uow import UnitOfWork
from engine.runtime.specs import OperationCatalog, ProcessBundle, parse_bundle, read_procedure_dir
from engine.services.passwords import check_new_password

ROLES = ("agent", "elu", "archiviste", "admin")
"""Per-tenant roles: clerk, signatory, archivist, tenant admin. BPMN lanes name these roles."""

_HASHER = PasswordHasher()


class WrongCurrentPassword(InvalidInput):
    """The current password given to change it is wrong (counts as a failed login)."""


def create_tenant(uow: UnitOfWork, *, siren: str, name: str, actor: Actor, now: datetime) -> Tenant:
    check_siren(siren)
    if not name.strip():
        raise InvalidInput("Le nom de la collectivité est obligatoire.")
    if uow.tenants.get(siren) is not None:
        raise Conflict(f"La collectivité {siren} existe déjà.")
    tenant = Tenant(siren, name.strip())
    uow.tenants.add(tenant, now)
    uow.journal.append(
        tenant=siren,
        kind="tenant.created",
        case_id=None,
        actor=actor.user_id,
        payload={"name": tenant.name},
        now=now,
    )
    uow.seal_journal_after_commit(siren)
    return tenant


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise InvalidInput("Le mot de passe doit compter au moins 12 caractères.")
    return _HASHER.hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    uow: UnitOfWork,
    *,
    username: str,
    display_name: str,
    password: str | None,
    email: str | None = None,
    tenant: str | None = None,
    roles: tuple[str, ...] = (),
    is_operator: bool = False,
    temporary: bool = False,
    actor: Actor,
    now: datetime,
) -> uuid.UUID:
    """`temporary`: the password was chosen by an admin for the user (an invitation); it only
    opens the page to choose their own, and must pass the password policy."""
    username = username.strip().lower()
    if not username or len(username) > 120:
        raise InvalidInput("Identifiant invalide.")
    if uow.users.by_username(username) is not None:
        raise Conflict(f"L'utilisateur « {username} » existe déjà.")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(
            f"Rôle(s) inconnu(s) : {', '.join(unknown)} (valides : {', '.join(ROLES)})."
        )
    if roles and tenant is None:
        raise InvalidInput("Un rôle se donne dans une collectivité : précisez --tenant.")
    found = uow.tenants.get(tenant) if tenant is not None else None
    if tenant is not None and found is None:
        raise NotFound("Collectivité inconnue.")
    if temporary and password:
        names = (username, display_name, email, found.name if found else None)
        check_new_password(password, names)
    user_id = uow.users.add(
        username=username,
        display_name=display_name,
        email=email,
        password_hash=hash_password(password) if password else None,
        is_operator=is_operator,
        now=now,
        password_temporary=temporary and bool(password),
    )
    for role in roles:
        assert tenant is not None
        uow.users.grant(user_id, tenant, role)
    if tenant is not None:
        uow.journal.append(
            tenant=tenant,
            kind="user.created",
            case_id=None,
            actor=actor.user_id,
            payload={"username": username, "roles": list(roles)},
            now=now,
        )
    return user_id


# Members of a tenant ------------------------------------------------------------------
#
# A tenant admin manages the people of their own tenant only: roles are granted and revoked in
# that tenant, deactivation suspends the membership there (the account and its other tenants are
# untouched), and each change is journaled with who made it. The tenant never ends up without an
# active admin.


def list_members(uow: UnitOfWork, tenant: str) -> list[Member]:
    return uow.tenant_admin.members(tenant)


def get_member(uow: UnitOfWork, tenant: str, user_id: uuid.UUID) -> Member:
    member = uow.tenant_admin.member(tenant, user_id)
    if member is None:
        raise NotFound("Ce compte n'est pas membre de la collectivité.")
    return member


def _is_self(member: Member, actor: Actor) -> bool:
    return actor.user_id == f"user:{member.username}"


def _journal(
    uow: UnitOfWork,
    tenant: str,
    kind: str,
    member: Member,
    actor: Actor,
    now: datetime,
    **extra: str,
) -> None:
    uow.journal.append(
        tenant=tenant,
        kind=kind,
        case_id=None,
        actor=actor.user_id,
        payload={"username": member.username, **extra},
        now=now,
    )


def _keeps_an_admin(uow: UnitOfWork, tenant: str, leaving: Member) -> None:
    if uow.tenant_admin.active_admins(tenant) - {leaving.user_id}:
        return
    raise Conflict(
        "La collectivité doit garder au moins un administrateur actif : "
        "nommez d'abord un autre administrateur."
    )


def set_roles(
    uow: UnitOfWork,
    *,
    tenant: str,
    user_id: uuid.UUID,
    roles: frozenset[str],
    actor: Actor,
    now: datetime,
) -> Member:
    """Grant the roles the member lacks and revoke the others, in this tenant only."""
    unknown = sorted(roles - set(ROLES))
    if unknown:
        raise InvalidInput(f"Rôle(s) inconnu(s) : {', '.join(unknown)}.")
    if not roles:
        raise InvalidInput(
            "Un membre garde au moins un rôle ; pour lui retirer l'accès, désactivez-le."
        )
    uow.tenant_admin.lock_members(tenant)
    member = get_member(uow, tenant, user_id)
    removed = member.roles - roles
    if "admin" in removed:
        if _is_self(member, actor):
            raise Conflict(
                "Vous ne pouvez pas retirer votre propre rôle d'administrateur : "
                "demandez-le à un autre administrateur."
            )
        if member.active:
            _keeps_an_admin(uow, tenant, member)
    for role in sorted(roles - member.roles):
        uow.users.grant(user_id, tenant, role)
        _journal(uow, tenant, "user.role_granted", member, actor, now, role=role)
    for role in sorted(removed):
        uow.users.revoke(user_id, tenant, role)
        _journal(uow, tenant, "user.role_revoked", member, actor, now, role=role)
    if roles != member.roles:
        uow.users.end_sessions(user_id)  # the member logs in again under the new roles
    return get_member(uow, tenant, user_id)


def grant_role(
    uow: UnitOfWork, *, tenant: str, user_id: uuid.UUID, role: str, actor: Actor, now: datetime
) -> Member:
    member = get_member(uow, tenant, user_id)
    return set_roles(
        uow, tenant=tenant, user_id=user_id, roles=member.roles | {role}, actor=actor, now=now
    )


def revoke_role(
    uow: UnitOfWork, *, tenant: str, user_id: uuid.UUID, role: str, actor: Actor, now: datetime
) -> Member:
    member = get_member(uow, tenant, user_id)
    return set_roles(
        uow, tenant=tenant, user_id=user_id, roles=member.roles - {role}, actor=actor, now=now
    )


def deactivate_member(
    uow: UnitOfWork, *, tenant: str, user_id: uuid.UUID, actor: Actor, now: datetime
) -> Member:
    """Suspend the member in this tenant: their roles are kept but grant nothing."""
    uow.tenant_admin.lock_members(tenant)
    member = get_member(uow, tenant, user_id)
    if member.suspended_at is not None:
        raise Conflict(f"« {member.username} » est déjà désactivé dans la collectivité.")
    if "admin" in member.roles:
        if _is_self(member, actor) and not uow.tenant_admin.active_admins(tenant) - {user_id}:
            raise Conflict(
                "Vous êtes le dernier administrateur actif : vous ne pouvez pas vous désactiver."
            )
        _keeps_an_admin(uow, tenant, member)
    uow.tenant_admin.suspend(tenant, user_id, by=actor.user_id, now=now)
    uow.users.end_sessions(user_id)
    _journal(uow, tenant, "user.deactivated", member, actor, now)
    return get_member(uow, tenant, user_id)


def reactivate_member(
    uow: UnitOfWork, *, tenant: str, user_id: uuid.UUID, actor: Actor, now: datetime
) -> Member:
    member = get_member(uow, tenant, user_id)
    if member.suspended_at is None:
        raise Conflict(f"« {member.username} » est déjà actif dans la collectivité.")
    uow.tenant_admin.resume(tenant, user_id)
    _journal(uow, tenant, "user.reactivated", member, actor, now)
    return get_member(uow, tenant, user_id)


def reset_password(
    uow: UnitOfWork,
    *,
    tenant: str,
    user_id: uuid.UUID,
    password: str,
    actor: Actor,
    now: datetime,
) -> Member:
    """Set a temporary password chosen by the tenant admin (hashed with argon2): it passes the
    password policy, and only opens the page where the member chooses their own.

    Refused for an account that also belongs to another tenant or runs the platform: its
    password opens more than this tenant, so only the platform operator may reset it."""
    member = get_member(uow, tenant, user_id)
    row = uow.users.by_id(user_id)
    assert row is not None
    if row.is_operator or uow.tenant_admin.other_tenants(user_id, tenant):
        raise Conflict(
            "Ce compte donne accès à d'autres espaces que votre collectivité : "
            "seul l'exploitant de la plateforme peut réinitialiser son mot de passe."
        )
    found = uow.tenants.get(tenant)
    names = (row.username, row.display_name, row.email, found.name if found else None)
    check_new_password(password, names)
    uow.users.set_password_hash(user_id, hash_password(password), temporary=True)
    # The journal says who reset it and when, never the password or its hash.
    _journal(uow, tenant, "user.password_reset", member, actor, now)
    return member


def change_own_password(
    uow: UnitOfWork, *, user_id: uuid.UUID, current: str, new: str, confirmation: str
) -> None:
    """Self-service change: the current password (temporary or not) is required, the new one
    passes the policy and differs from it; the credential version is raised (every other
    session and token ends)."""
    row = uow.users.by_id(user_id)
    if row is None or not row.active:
        raise NotFound("Compte introuvable.")
    if not check_password(row.password_hash, current):
        raise WrongCurrentPassword("Mot de passe actuel incorrect.")
    if new != confirmation:
        raise InvalidInput("Les deux saisies du nouveau mot de passe diffèrent.")
    if new == current:
        raise InvalidInput("Le nouveau mot de passe doit être différent de l'actuel.")
    names: list[str | None] = [row.username, row.display_name, row.email]
    for siren in uow.users.tenants_of(user_id):
        found = uow.tenants.get(siren)
        names.append(found.name if found else None)
    check_new_password(new, names)
    uow.users.set_password_hash(user_id, hash_password(new), temporary=False)


def deploy_bundle(
    uow: UnitOfWork, bundle: ProcessBundle, *, operations: OperationCatalog, now: datetime
) -> bool:
    """Validate and store a definition; False when this exact content is already deployed.

    Each service task must name one of `operations` with the parameters it takes."""
    parsed = parse_bundle(bundle, operations=operations)
    created = uow.specs.save(
        digest=bundle.hash,
        procedure=bundle.procedure,
        process_id=bundle.main_process,
        title=parsed.bundle.title,
        files=dict(bundle.files),
        now=now,
    )
    # Numbered and deployed for every tenant (one deployed for a single tenant is widened
    # when its files are deployed again from a folder: `processes/` is for everyone).
    uow.versions.record_deployment(
        spec_hash=bundle.hash, procedure=bundle.procedure, tenant=None, by="system:deploy", now=now
    )
    return created


@dataclass(frozen=True)
class Deployment:
    procedure: str
    hash: str
    created: bool
    error: str | None = None


def deploy_directory(
    uow: UnitOfWork,
    root: Path,
    *,
    operations: OperationCatalog,
    now: datetime,
    strict: bool = True,
) -> list[Deployment]:
    """Deploy every procedure folder of `root`. Not strict: an invalid procedure is reported and
    skipped, so one broken model does not stop the platform (its running cases keep their spec)."""
    deployed = []
    for directory in sorted(p for p in root.iterdir() if (p / "procedure.yaml").is_file()):
        try:
            bundle = read_procedure_dir(directory)
            created = deploy_bundle(uow, bundle, operations=operations, now=now)
        except ProcessDefinitionError as exc:
            if strict:
                raise
            deployed.append(Deployment(directory.name, "", False, str(exc)))
            continue
        deployed.append(Deployment(bundle.procedure, bundle.hash, created))
    return deployed
