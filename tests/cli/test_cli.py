"""The `dematflow` console script on the embedded default (SQLite, filesystem broker)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.engine.support import SIREN_A

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DEMATFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEMATFLOW_NEW_PASSWORD", "un-mot-de-passe-solide")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_admin_and_case_commands(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("db", "upgrade").exit_code == 0
    assert run("tenants", "create", "--siren", SIREN_A, "--name", "Commune test").exit_code == 0
    created = run(
        "users",
        "create",
        "--username",
        "agent",
        "--name",
        "Agent",
        "--tenant",
        SIREN_A,
        "--role",
        "agent",
    )
    assert created.exit_code == 0, created.output
    listed = run("processes", "list")
    assert "arrete" in listed.output
    assert run("processes", "validate", str(ROOT / "processes" / "arrete")).exit_code == 0

    started = run("cases", "start", "--tenant", SIREN_A, "--procedure", "arrete", "--as", "agent")
    assert started.exit_code == 0, started.output
    case_id = started.output.split("\t")[0]
    shown = json.loads(run("cases", "show", "--tenant", SIREN_A, case_id).output)
    task_id = shown["tasks"][0]["id"]
    data = json.dumps({"objet": "Arrêté test", "nature": "3", "texte": "Texte de l'arrêté."})
    done = run(
        "cases", "complete", "--tenant", SIREN_A, case_id, task_id, "--data", data, "--as", "agent"
    )
    assert done.exit_code == 0, done.output
    assert "version 2" in done.output
    assert run("cases", "list", "--tenant", SIREN_A).output.count("running") == 1
    stuck = run("ops", "stuck")
    assert stuck.exit_code == 0, stuck.output
    assert "0 dossier(s) en erreur" in stuck.output
    # Without an archive store there are no locked seals to check: the full check refuses to
    # say "intact", the chain alone can still be checked on request.
    unsealed = run("audit", "verify", "--tenant", SIREN_A)
    assert unsealed.exit_code == 1
    assert "vérification des sceaux du journal impossible" in unsealed.output
    verified = run("audit", "verify", "--tenant", SIREN_A, "--chain-only")
    assert verified.exit_code == 0 and "chaîne intègre : 4 entrées" in verified.output

    database = tmp_path / "var" / "dematflow.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE journal SET actor = 'user:intrus' WHERE seq = 3")
    tampered = run("audit", "verify", "--tenant", SIREN_A, "--chain-only")
    assert tampered.exit_code == 1
    assert "journal altéré à partir de l'entrée 3" in tampered.output


def test_errors_exit_non_zero_with_one_line(run) -> None:  # type: ignore[no-untyped-def]
    run("db", "upgrade")
    bad = run("tenants", "create", "--siren", "123", "--name", "X")
    assert bad.exit_code == 1
    assert bad.output.strip().splitlines() == [
        "erreur : SIREN invalide « 123 » : 9 chiffres attendus."
    ]
    unknown = run("cases", "start", "--tenant", SIREN_A, "--procedure", "arrete")
    assert unknown.exit_code == 1 and unknown.output.strip() == "erreur : Collectivité inconnue."
    invalid_data = run("tenants", "create", "--siren", SIREN_A, "--name", "Commune")
    assert invalid_data.exit_code == 0
    form = run("cases", "start", "--tenant", SIREN_A, "--procedure", "arrete", "--data", "[1]")
    assert form.exit_code == 1 and form.output.startswith("erreur : un objet JSON est attendu")


def test_validate_reports_file_element_and_line(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "processes" / "arrete", broken)
    bpmn = broken / "arrete.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace('targetRef="signer"', 'targetRef="nulle_part"', 1),
        encoding="utf-8",
    )
    result = run("processes", "validate", str(broken))
    assert result.exit_code == 1
    assert "arrete.bpmn" in result.output and "ligne" in result.output


def test_validate_refuses_a_naive_timer_date(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "naive"
    shutil.copytree(ROOT / "processes" / "arrete", broken)
    bpmn = broken / "arrete.bpmn"
    text = bpmn.read_text(encoding="utf-8").replace(
        '<bpmn:timeDuration>"P30D"</bpmn:timeDuration>',
        '<bpmn:timeDate>"2027-01-15T09:00:00"</bpmn:timeDate>',
    )
    bpmn.write_text(text, encoding="utf-8")
    result = run("processes", "validate", str(broken))
    assert result.exit_code == 1
    assert "sans fuseau" in result.output
