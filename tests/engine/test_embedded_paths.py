"""The embedded default with the default relative data dir (`var`), whatever the process's cwd
when the child services (PKI, SeaweedFS, simulator) are started."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.embedded import prefecture_env, start_embedded_services
from engine.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_relative_data_dir_starts_every_embedded_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_environ: None
) -> None:
    project = tmp_path / "clone"
    project.mkdir()
    monkeypatch.chdir(project)
    settings = Settings(data_dir=Path("var"))
    assert settings.data_dir == project / "var", "data_dir is resolved once, against the cwd"
    assert settings.resolved_database_url() == f"sqlite:///{project / 'var' / 'dematflow.sqlite3'}"

    services = start_embedded_services(settings)
    try:
        # Elsewhere now: nothing the services were given may depend on the cwd.
        monkeypatch.chdir(tmp_path)
        env = services.env
        assert Path(env["DEMATFLOW_PKI__DEV_DIR"]) == project / "var" / "pki"
        assert (project / "var" / "pki" / "certs" / "root.cer").is_file()
        assert (project / "var" / "s3" / "data" / "s3.json").is_file()
        assert (project / "var" / "prefecture").is_dir()
        assert (project / "var" / "courriels").is_dir()
        assert not (tmp_path / "var").exists()
        # Each service answers (the TSA takes POST only: a GET on its CRL proves the server).
        from devstack.pki import load_dev_pki

        pki = load_dev_pki(project / "var" / "pki")
        assert httpx.get(pki.crl_urls[0], timeout=5).status_code == 200
        actes = httpx.get(env["DEMATFLOW_ACTES__BASE_URL"], timeout=5)
        assert actes.status_code < 500
    finally:
        services.stop()


def test_the_embedded_simulators_answers_are_fetched_within_seconds() -> None:
    """With the embedded prefecture simulator, its acknowledgements reach the dossiers within
    seconds (journey 1 waited up to a minute for the AR); a period set by hand is kept."""
    env = prefecture_env(4242, {})
    assert env["DEMATFLOW_ACTES__BASE_URL"] == "http://127.0.0.1:4242"
    period = float(env["DEMATFLOW_ACTES__POLL_PERIOD_SECONDS"])
    assert period <= 5 < Settings().actes.poll_period_seconds
    chosen = prefecture_env(4242, {"DEMATFLOW_ACTES__POLL_PERIOD_SECONDS": "30"})
    assert "DEMATFLOW_ACTES__POLL_PERIOD_SECONDS" not in chosen
