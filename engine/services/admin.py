"""Platform administration: tenants, users and roles, process deployment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.domain.errors import Conflict, InvalidInput, NotFound, ProcessDefinitionError
from engine.domain.model import Actor, Tenant, check_siren
from engine.persistence.uow import UnitOfWork
from engine.runtime.specs import ProcessBundle, parse_bundle, read_procedure_dir

ROLES = ("agent", "elu", "archiviste", "admin")
"""Per-tenant roles: clerk, signatory, archivist, tenant admin. BPMN lanes name these roles."""

_HASHER = PasswordHasher()


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
    actor: Actor,
    now: datetime,
) -> uuid.UUID:
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
    if tenant is not None and uow.tenants.get(tenant) is None:
        raise NotFound("Collectivité inconnue.")
    user_id = uow.users.add(
        username=username,
        display_name=display_name,
        email=email,
        password_hash=hash_password(password) if password else None,
        is_operator=is_operator,
        now=now,
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


def deploy_bundle(
    uow: UnitOfWork, bundle: ProcessBundle, *, operations: list[str], now: datetime
) -> bool:
    """Validate and store a definition; False when this exact content is already deployed."""
    parsed = parse_bundle(bundle, operations=operations)
    return uow.specs.save(
        digest=bundle.hash,
        procedure=bundle.procedure,
        process_id=bundle.main_process,
        title=parsed.bundle.title,
        files=dict(bundle.files),
        now=now,
    )


@dataclass(frozen=True)
class Deployment:
    procedure: str
    hash: str
    created: bool
    error: str | None = None


def deploy_directory(
    uow: UnitOfWork, root: Path, *, operations: list[str], now: datetime, strict: bool = True
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
