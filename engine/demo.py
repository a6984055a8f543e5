"""Demo data for the embedded default: one commune, a user per role, cases at several stages."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine.bootstrap import Platform
from engine.domain.model import Actor
from engine.services import admin
from engine.services import cases as case_services

DEMO_SIREN = "213400005"
DEMO_NAME = "Commune de Démonstration"
DEMO_USERS = (
    ("agent", "Claire Agent", ("agent",)),
    ("maire", "Marie Dupont", ("elu",)),
    ("adjoint", "Jean Martin", ("elu",)),
    ("archiviste", "Paul Archiviste", ("archiviste",)),
    ("admin", "Alice Administratrice", ("admin", "agent")),
)
DRAFT = {
    "objet": "Arrêté portant réglementation de la circulation rue des Écoles",
    "nature": "2",
    "texte": "Le maire arrête : la circulation est interdite rue des Écoles le 14 juillet.",
}


def seed_demo(platform: Platform, credentials_file: Path) -> bool:
    """Create the demo tenant once; passwords are random and written to `credentials_file`."""
    now = platform.clock()
    system = Actor.system("demo")
    with platform.uow() as uow:
        if uow.tenants.get(DEMO_SIREN) is not None:
            return False
        admin.create_tenant(uow, siren=DEMO_SIREN, name=DEMO_NAME, actor=system, now=now)
        lines = [f"Collectivité de démonstration : {DEMO_NAME} (SIREN {DEMO_SIREN})", ""]
        for login, name, roles in (*DEMO_USERS, ("operateur", "Opérateur de la plateforme", ())):
            password = secrets.token_urlsafe(12)
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=password,
                tenant=DEMO_SIREN if roles else None,
                roles=roles,
                is_operator=not roles,
                actor=system,
                now=now,
            )
            lines.append(f"{login:12} {password}   {name} ({', '.join(roles) or 'opérateur'})")
        uow.commit()
    agent = Actor("user:agent", frozenset({"agent"}), "Claire Agent")
    maire = Actor("user:maire", frozenset({"elu"}), "Marie Dupont")
    with platform.uow() as uow:
        first = case_services.start_case(
            uow, tenant=DEMO_SIREN, procedure="arrete", data={}, actor=agent, now=now
        )
        second = case_services.start_case(
            uow, tenant=DEMO_SIREN, procedure="arrete", data={}, actor=agent, now=now
        )
        uow.commit()
    for case, steps in ((first, 1), (second, 2)):
        for index in range(steps):
            with platform.uow() as uow:
                task = uow.cases.human_tasks(DEMO_SIREN, case_id=case.id)[0]
                actor, data = (agent, DRAFT) if index == 0 else (maire, {"decision": "signer"})
                case_services.complete_task(
                    uow,
                    tenant=DEMO_SIREN,
                    case_id=case.id,
                    task_id=task.id,
                    data=data,
                    actor=actor,
                    now=platform.clock(),
                )
                uow.commit()
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return True
