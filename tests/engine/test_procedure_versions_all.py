"""Every shipped procedure on a real database (SQLite and PostgreSQL): a case stored at each
distinct set of waits its scenarios reach is migrated to a v2 (relabelled forms, an added
optional field) through the service, then rolled back to exactly the rows it had."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.model import Case, CaseStatus
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import parse_bundle, read_procedure_dir
from engine.services import procedure_versions as pv
from engine.services.steps import save_step
from tests.engine.support import OPERATOR, SIREN_A, make_tenants
from tests.support import scenarios as harness
from tests.support.versions import ADDED_FIELD, REMOVABLE, pauses, relabelled

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def _store(p: Platform, procedure: str, spec_hash: str, runtime: CaseRuntime, now: object) -> Case:
    """The case as production stores it after a step (rows, waits index, jobs)."""
    case = Case(
        id=uuid.uuid4(),
        tenant=SIREN_A,
        procedure=procedure,
        spec_hash=spec_hash,
        reference=f"T-{uuid.uuid4().hex[:10]}",
        title="Dossier de test",
        status=CaseStatus.RUNNING,
        version=0,
        created_at=p.clock(),
        updated_at=p.clock(),
        created_by=OPERATOR.user_id,
    )
    with p.uow() as uow:
        stored = save_step(uow, case, runtime, now=p.clock(), expected_version=None)
        uow.commit()
    return stored


def _rows(p: Platform, case: Case) -> tuple[object, ...]:
    with p.uow() as uow:
        row, header, fmt, tasks = uow.cases.get_with_state(case.tenant, case.id)
        waits = sorted((t.id, t.title) for t in uow.cases.human_tasks(case.tenant, case_id=case.id))
    return row.spec_hash, header, fmt, tasks, waits


@pytest.mark.parametrize("procedure", sorted(REMOVABLE))
def test_cases_at_every_wait_migrate_and_roll_back(platform: Platform, procedure: str) -> None:
    make_tenants(platform)
    v1 = read_procedure_dir(PROCESSES / procedure)
    parsed = parse_bundle(v1)
    with platform.uow() as uow:
        v2 = pv.deploy_version(
            uow,
            relabelled(v1),
            operations=platform.operations,
            tenant=None,
            actor=OPERATOR,
            now=platform.clock(),
        )
        uow.commit()
    seen: set[frozenset[str]] = set()
    for name, scenario in harness.load_scenarios(PROCESSES / procedure):
        for dumped, now in pauses(parsed, scenario, name):
            runtime = CaseRuntime.restore_dumped(parsed, dumped)
            snapshot = runtime.snapshot()
            waits = frozenset(
                [t.name for t in snapshot.ready]
                + [t.node for t in snapshot.timers]
                + [m.message for m in snapshot.messages]
                + [c.name for c in snapshot.service_calls]
            )
            if runtime.completed or waits in seen:
                continue
            seen.add(waits)
            case = _store(platform, procedure, v1.hash, runtime, now)
            before = _rows(platform, case)
            with platform.uow() as uow:
                pv.apply_migration(
                    uow,
                    tenant=SIREN_A,
                    case_id=case.id,
                    target=v2.hash,
                    actor=OPERATOR,
                    now=platform.clock(),
                )
                uow.commit()
            migrated = _rows(platform, case)
            assert migrated[0] == v2.hash, (name, sorted(waits))
            with platform.uow() as uow:
                forms = [t.form for t in uow.cases.human_tasks(SIREN_A, case_id=case.id)]
            assert all(ADDED_FIELD in f["properties"] for f in forms if f), sorted(waits)
            with platform.uow() as uow:
                pv.rollback_migration(
                    uow, tenant=SIREN_A, case_id=case.id, actor=OPERATOR, now=platform.clock()
                )
                uow.commit()
            assert _rows(platform, case) == before, (name, sorted(waits))
            # A later pause of the same scenario is the same workflow (same task ids): this
            # stored copy leaves the task index before the next one is stored.
            with platform.uow() as uow:
                stored = uow.cases.human_tasks(SIREN_A, case_id=case.id)
                uow.cases.change_human_tasks(case, added=[], removed=[t.id for t in stored])
                uow.commit()
    assert len(seen) >= 3, seen
