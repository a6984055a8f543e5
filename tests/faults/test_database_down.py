"""The database stopped while cases advance under real `dematflow web` and worker processes:
the web answers 503 in French (page or problem+json, no traceback), the worker retries, and
once the database is back every case completes with nothing half-written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.domain.model import CaseStatus, JobState
from engine.persistence import tables as t
from engine.services.archives.journal_checks import verify_journal
from tests.engine.support import SIREN_A, complete, get, start
from tests.faults.support import fault_settings
from tests.fixtures.private_services import PrivatePostgres
from tests.fixtures.processes import Web, producer, wait_for, worker

pytestmark = pytest.mark.faults

CASES = 4


def test_database_stopped_mid_run_and_back(
    private_postgres: PrivatePostgres,
    private_pg_database_url: str,
    private_redis_url: str,
    tmp_path: Path,
) -> None:
    settings = fault_settings(private_pg_database_url, private_redis_url, tmp_path / "data")
    with producer(settings) as p:
        with (
            Web(settings, tmp_path / "web.log") as web,
            worker(settings, tmp_path / "worker.log") as work,
        ):
            assert web.client.get(f"/registre/{SIREN_A}").status_code == 200
            cases = [start(p, "service_test") for _ in range(CASES)]
            for case in cases:
                # Each job lingers 1 s in its act phase: the database goes while one runs.
                complete(p, case, "saisir", {"mode": "compter", "attente": 1})

            def one_running() -> bool:
                with p.uow() as uow:
                    states = [j.state for c in cases for j in uow.jobs.for_case(SIREN_A, c.id)]
                return JobState.RUNNING in states

            wait_for(one_running, 60, "a job to run", work)
            p.db.dispose()
            private_postgres.stop("fast")
            stopped_at = time.monotonic()

            page = web.client.get(f"/registre/{SIREN_A}")  # read by a middleware first
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "base de données ne répond pas" in page.text
            assert "Traceback" not in page.text and "Internal Server Error" not in page.text
            assert page.headers.get("retry-after")

            api = web.client.post("/api/auth/token", auth=("agent", "mot de passe"))
            assert api.status_code == 503
            assert api.headers["content-type"] == "application/problem+json"
            body = api.json()
            assert body["status"] == 503 and body["title"] == "Service momentanément indisponible"
            assert "base de données" in body["detail"]

            assert web.client.get("/health/ready").status_code == 503
            time.sleep(max(0.0, 3 - (time.monotonic() - stopped_at)))  # the worker retries
            assert work.running() and web.running()
            private_postgres.start()

            def all_completed() -> bool:
                return all(get(p, case).status == CaseStatus.COMPLETED for case in cases)

            wait_for(all_completed, 90, "every case to complete", work)
            assert web.client.get(f"/registre/{SIREN_A}").status_code == 200
        assert "Traceback" not in web.output(), web.output()[-3000:]
        assert "ne répond pas ; réessayez dans quelques instants ; nouvel essai" in work.output(), (
            "the worker met the outage"
        )

        with p.uow() as uow:
            jobs = [j for c in cases for j in uow.jobs.for_case(SIREN_A, c.id)]
            effects = uow.connection.execute(select(func.count()).select_from(t.operation_effects))
            chain = verify_journal(uow, SIREN_A)
            succeeded = [
                e for c in cases for e in uow.journal.for_case(SIREN_A, c.id)
                if e.kind == "job.succeeded"
            ]  # fmt: skip
        assert [j.state for j in jobs] == [JobState.DONE] * CASES
        # The outage is neither an interruption (the worker lived) nor a failed attempt.
        assert [(j.attempts, j.interruptions) for j in jobs] == [(1, 0)] * CASES
        assert effects.scalar_one() == CASES, "each effect remembered once"
        assert len(succeeded) == CASES, "one journal entry per job"
        assert chain.intact, chain.findings
        values = sorted(get(p, case).data["compteur"]["valeur"] for case in cases)
        assert values == list(range(1, CASES + 1)), "each case counted once, none twice"
