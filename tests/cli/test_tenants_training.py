"""`dematflow tenants training` and `tenants create --training`: the operator's command line for
training spaces, with the same refusals as the operator's page."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.engine.support import SIREN_A, SIREN_B


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DEMATFLOW_DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str, answer: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=answer, catch_exceptions=False)

    return invoke


def test_flag_unflag_and_create_a_training_space(run) -> None:  # type: ignore[no-untyped-def]
    assert run("tenants", "create", "--siren", SIREN_A, "--name", "Commune A").exit_code == 0
    created = run("tenants", "create", "--siren", SIREN_B, "--name", "Formation", "--training")
    assert created.exit_code == 0 and "espace de formation créé :" in created.output
    listed = run("tenants", "list").output.splitlines()
    assert f"{SIREN_A}\tCommune A" in listed and f"{SIREN_B}\tFormation\tformation" in listed

    declined = run("tenants", "training", SIREN_A, answer="n\n")
    assert declined.exit_code != 0  # not confirmed: nothing changes
    assert f"{SIREN_A}\tCommune A" in run("tenants", "list").output.splitlines()
    flagged = run("tenants", "training", SIREN_A, answer="o\n")
    assert flagged.exit_code == 0, flagged.output
    assert "est un espace de formation" in flagged.output
    assert f"{SIREN_A}\tCommune A\tformation" in run("tenants", "list").output.splitlines()

    ended = run("tenants", "training", SIREN_A, "--off", "--yes")
    assert ended.exit_code == 0 and "n'est plus un espace de formation" in ended.output
    assert f"{SIREN_A}\tCommune A" in run("tenants", "list").output.splitlines()

    unknown = run("tenants", "training", "999999999", "--yes")
    assert unknown.exit_code != 0 and "Collectivité inconnue" in unknown.output
