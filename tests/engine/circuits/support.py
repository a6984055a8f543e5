"""Helpers for the circuit tests: people of the test commune and a circuit case."""

from __future__ import annotations

import uuid
from typing import Any

from engine.bootstrap import Platform
from engine.domain.model import Actor, Case, HumanTask
from engine.services import admin
from tests.engine.support import OPERATOR, SIREN_A, start

PEOPLE = {
    "maire": ("Marie Dupont", ("elu",)),
    "adjoint": ("Jean Martin", ("elu",)),
    "adjointe": ("Zoé Lefèvre", ("elu",)),
    "dgs": ("Paul Durand", ("agent",)),
    "secretaire": ("Claire Agent", ("agent", "admin")),
}


def person(login: str) -> Actor:
    name, roles = PEOPLE[login]
    return Actor(f"user:{login}", frozenset(roles), name)


def add_people(platform: Platform) -> None:
    with platform.uow() as uow:
        for login, (name, roles) in PEOPLE.items():
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=None,
                tenant=SIREN_A,
                roles=roles,
                actor=OPERATOR,
                now=platform.clock(),
            )
        uow.commit()


def circuit_case(platform: Platform, etapes: list[dict[str, Any]], **document: Any) -> Case:
    doc = document or {"id": str(uuid.uuid4()), "nom": "arrete.pdf", "sha256": "0", "taille": 1}
    return start(platform, "circuit_test", {"circuit": {"etapes": etapes, "document": doc}})


def tasks_of(platform: Platform, case: Case) -> list[HumanTask]:
    with platform.uow() as uow:
        return uow.cases.human_tasks(SIREN_A, case_id=case.id)


def task_for(platform: Platform, case: Case, login: str) -> HumanTask:
    (task,) = [t for t in tasks_of(platform, case) if t.assignee == login]
    return task
