"""The CLI on an embedded platform of its own: a data folder, procedures, a commune and people."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli.main import cli
from tests.engine.support import SIREN_A

ROOT = Path(__file__).resolve().parents[2]

Invoke = Callable[..., Result]
"""Runs `dematflow <args>` in this process and returns click's result."""


def embedded_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Invoke, Path]:
    """An `invoke` for the CLI on a fresh embedded platform under `tmp_path`, and the folder of
    its procedures (the shipped `arrete`, plus what the caller writes there before invoking).

    The commune SIREN_A exists at the first call to `invoke`, with the users `agent` (role
    agent) and `elu` (role elu)."""
    processes = tmp_path / "processes"
    shutil.copytree(ROOT / "processes" / "arrete", processes / "arrete")
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DEMATFLOW_PROCESSES_DIR", str(processes))
    monkeypatch.delenv("DEMATFLOW_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEMATFLOW_NEW_PASSWORD", "un-mot-de-passe-solide")
    runner = CliRunner()
    ready: list[bool] = []

    def invoke(*args: str) -> Result:
        if not ready:
            ready.append(True)
            _people(invoke)
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke, processes


def _people(invoke: Invoke) -> None:
    assert invoke("db", "upgrade").exit_code == 0
    assert invoke("tenants", "create", "--siren", SIREN_A, "--name", "Commune").exit_code == 0
    for login, role in (("agent", "agent"), ("elu", "elu")):
        made = invoke(
            "users", "create", "--username", login, "--name", login, "--tenant", SIREN_A,
            "--role", role,
        )  # fmt: skip
        assert made.exit_code == 0, made.output
