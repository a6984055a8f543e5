"""`dematflow processes versions|deploy|migrate-plan|migrate|rollback` on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from engine.runtime.specs import ProcessBundle, read_procedure_dir
from tests.engine.support import SIREN_A, SIREN_B
from tests.support.versions import relabelled, without_task

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DEMATFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def _write(bundle: ProcessBundle, folder: Path) -> Path:
    for name, content in bundle.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return folder


def _start(run, tenant: str) -> str:  # type: ignore[no-untyped-def]
    started = run("cases", "start", "--tenant", tenant, "--procedure", "arrete")
    assert started.exit_code == 0, started.output
    return started.output.split("\t")[0]


def test_deploy_plan_migrate_and_rollback(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    for siren in (SIREN_A, SIREN_B):
        assert (
            run("tenants", "create", "--siren", siren, "--name", f"Commune {siren}").exit_code == 0
        )
    case_a = _start(run, SIREN_A)
    case_b = _start(run, SIREN_B)
    v1 = read_procedure_dir(ROOT / "processes" / "arrete")

    refused = run("processes", "deploy", str(_write(relabelled(v1), tmp_path / "v2")))
    assert refused.exit_code == 1 and "--tenant SIREN ou --all-tenants" in refused.output
    deployed = run("processes", "deploy", str(tmp_path / "v2"), "--tenant", SIREN_A)
    assert deployed.exit_code == 0, deployed.output
    assert "arrete v2" in deployed.output and SIREN_A in deployed.output

    listed = run("processes", "versions", "--procedure", "arrete").output
    assert f"{SIREN_A}\tarrete\tv2\tv1 : 1" in listed
    assert f"{SIREN_B}\tarrete\tv1\tv1 : 1" in listed

    plan = run("processes", "migrate-plan", "--procedure", "arrete", "--to", "v2")
    assert plan.exit_code == 0, plan.output
    assert f"{SIREN_A}\t{case_a}" in plan.output and "\tmigrable" in plan.output
    assert "pas déployée pour cette collectivité" in plan.output  # B has no v2
    assert "champs ajoutés : Remarque (v2)" in plan.output

    moved = run("processes", "migrate", "--procedure", "arrete", "--to", "2")
    assert moved.exit_code == 0, moved.output
    assert "v1 → v2" in moved.output and "1 dossier(s) migré(s)" in moved.output
    shown = json.loads(run("cases", "show", "--tenant", SIREN_A, case_a).output)
    assert shown["spec_hash"] == relabelled(v1).hash

    back = run("processes", "rollback", "--tenant", SIREN_A, case_a)
    assert back.exit_code == 0, back.output
    again = run("processes", "rollback", "--tenant", SIREN_A, case_a)
    assert again.exit_code == 1 and again.output.startswith("erreur : Ce dossier n'a pas")

    # v3 removes the task both cases wait at: reported, and migrating it fails, untouched.
    _write(without_task(v1, "rediger"), tmp_path / "v3")
    assert run("processes", "deploy", str(tmp_path / "v3"), "--all-tenants").exit_code == 0
    plan = run(
        "processes", "migrate-plan", "--procedure", "arrete", "--to", "v3", "--tenant", SIREN_B
    )
    assert "NON MIGRABLE" in plan.output and "rediger" in plan.output
    forced = run("processes", "migrate", "--procedure", "arrete", "--to", "v3", "--case", case_b)
    assert forced.exit_code == 1 and "non migré" in forced.output
    shown = json.loads(run("cases", "show", "--tenant", SIREN_B, case_b).output)
    assert shown["spec_hash"] == v1.hash
