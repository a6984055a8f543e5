"""Procedure versions on a real database (SQLite and PostgreSQL): deployment for one tenant or
all, the version each tenant starts on, and migrating running cases (dry run, apply, rollback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import Conflict, FormValidationError
from engine.domain.model import Case
from engine.runtime.specs import ProcessBundle, read_procedure_dir
from engine.services import procedure_versions as pv
from engine.services import tenant_settings
from tests.engine.support import (
    ELU,
    OPERATOR,
    SIREN_A,
    SIREN_B,
    complete,
    make_tenants,
    ready,
    start,
)
from tests.support.versions import ADDED_FIELD, relabelled, without_task

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture
def p(platform: Platform) -> Iterator[Platform]:
    make_tenants(platform)
    yield platform


def _deploy(p: Platform, bundle: ProcessBundle, tenant: str | None) -> pv.DeployedVersion:
    with p.uow() as uow:
        deployed = pv.deploy_version(
            uow, bundle, operations=p.operations, tenant=tenant, actor=OPERATOR, now=p.clock()
        )
        uow.commit()
    return deployed


def _state(p: Platform, case: Case) -> tuple[object, ...]:
    with p.uow() as uow:
        row, header, fmt, tasks = uow.cases.get_with_state(case.tenant, case.id)
        return row.spec_hash, row.version, header, fmt, tasks


def _tasks(p: Platform, case: Case) -> dict[str, dict[str, object] | None]:
    with p.uow() as uow:
        return {t.name: t.form for t in uow.cases.human_tasks(case.tenant, case_id=case.id)}


def _kinds(p: Platform, case: Case) -> list[str]:
    with p.uow() as uow:
        return [e.kind for e in uow.journal.for_case(case.tenant, case.id)]


def test_versions_per_tenant_migration_and_rollback(p: Platform) -> None:
    v1 = read_procedure_dir(PROCESSES / "arrete")
    at_rediger = start(p, "arrete")
    at_signer = start(p, "arrete")
    complete(
        p, at_signer, "rediger", {"objet": "Arrêté", "nature": "3", "texte": "Le maire arrête."}
    )
    other = start(p, "arrete", tenant=SIREN_B)

    deployed = _deploy(p, relabelled(v1), SIREN_A)
    assert (deployed.number, deployed.recorded, deployed.tenant) == (2, True, SIREN_A)
    with p.uow() as uow:
        versions, rows = pv.tenant_versions(uow)
    active = {(r.tenant, r.procedure): r for r in rows}
    assert active[(SIREN_A, "arrete")].active.number == 2  # type: ignore[union-attr]
    assert active[(SIREN_B, "arrete")].active.number == 1  # type: ignore[union-attr]
    assert active[(SIREN_A, "arrete")].running == {"v1": 2}
    assert [v.label for v in versions if v.procedure == "arrete"] == ["v2", "v1"]
    # New cases start on the tenant's version; running ones keep theirs.
    assert start(p, "arrete").spec_hash == deployed.hash
    assert start(p, "arrete", tenant=SIREN_B).spec_hash == v1.hash
    assert _state(p, at_rediger)[0] == v1.hash
    # Tenant B's admin cannot pin a version deployed for A only.
    with p.uow() as uow, pytest.raises(FormValidationError):
        tenant_settings.set_procedure(
            uow,
            tenant=SIREN_B,
            procedure="arrete",
            enabled=True,
            pinned_hash=deployed.hash,
            actor=OPERATOR,
            now=p.clock(),
        )

    with p.uow() as uow:
        plan = pv.plan_migration(uow, procedure="arrete", target="v2")
    by_case = {c.case_id: c for c in plan.cases}
    assert plan.already == 1
    assert by_case[at_rediger.id].preview.migrable
    assert by_case[at_signer.id].preview.migrable
    refused = by_case[other.id].preview
    assert not refused.migrable and "pas déployée pour cette collectivité" in refused.reasons[0]

    before_signer = _state(p, at_signer)
    timers_before = _timers(p, at_signer)
    for case in (at_rediger, at_signer):
        with p.uow() as uow:
            pv.apply_migration(
                uow,
                tenant=SIREN_A,
                case_id=case.id,
                target=deployed.hash,
                actor=OPERATOR,
                now=p.clock(),
            )
            uow.commit()
    assert _state(p, at_signer)[0] == deployed.hash
    assert ADDED_FIELD in _tasks(p, at_signer)["signer"]["properties"]  # type: ignore[index]
    assert _timers(p, at_signer) == timers_before  # the reminder keeps its due date
    assert "case.migrated" in _kinds(p, at_signer)
    with p.uow() as uow, pytest.raises(Conflict, match="déjà en version v2"):
        pv.apply_migration(
            uow,
            tenant=SIREN_A,
            case_id=at_signer.id,
            target=deployed.hash,
            actor=OPERATOR,
            now=p.clock(),
        )

    # Rollback restores the stored state exactly, and the waits index with it.
    with p.uow() as uow:
        pv.rollback_migration(
            uow, tenant=SIREN_A, case_id=at_signer.id, actor=OPERATOR, now=p.clock()
        )
        uow.commit()
    spec, version, header, fmt, tasks = _state(p, at_signer)
    assert (spec, header, fmt, tasks) == (before_signer[0], *before_signer[2:])
    assert version == before_signer[1] + 2  # type: ignore[operator]
    assert ADDED_FIELD not in _tasks(p, at_signer)["signer"]["properties"]  # type: ignore[index]
    assert _timers(p, at_signer) == timers_before
    assert _kinds(p, at_signer)[-1] == "case.migration_rolled_back"
    complete(p, at_signer, "signer", {"decision": "signer"}, actor=ELU)

    # The migrated case goes on on v2 (its new form), and can no longer be rolled back.
    complete(
        p,
        at_rediger,
        "rediger",
        {"objet": "Arrêté v2", "nature": "3", "texte": "Le maire arrête.", ADDED_FIELD: "vu"},
    )
    with p.uow() as uow, pytest.raises(Conflict, match="a avancé depuis sa migration"):
        pv.rollback_migration(
            uow, tenant=SIREN_A, case_id=at_rediger.id, actor=OPERATOR, now=p.clock()
        )

    # A version without the task a case waits at: reported, refused, nothing written.
    v3 = _deploy(p, without_task(v1, "rediger"), None)
    waiting = start(p, "arrete", tenant=SIREN_B)
    assert _state(p, waiting)[0] == v3.hash  # v3 is for everyone: B now starts on it
    with p.uow() as uow:
        plan = pv.plan_migration(uow, procedure="arrete", target="3", tenants=[SIREN_B])
    (case_plan,) = [c for c in plan.cases if c.case_id == other.id]
    assert not case_plan.preview.migrable
    assert "rediger" in case_plan.preview.reasons[0]
    before = _state(p, other)
    with p.uow() as uow, pytest.raises(Conflict, match="non migrable"):
        pv.apply_migration(
            uow, tenant=SIREN_B, case_id=other.id, target=v3.hash, actor=OPERATOR, now=p.clock()
        )
    assert _state(p, other) == before
    assert "rediger" in ready(p, other, SIREN_B)


def _timers(p: Platform, case: Case) -> list[tuple[object, ...]]:
    with p.uow() as uow:
        timers = uow.cases.tenant_timers(case.tenant, 1000)
    return sorted((name, due) for case_id, name, due in timers if case_id == case.id)
