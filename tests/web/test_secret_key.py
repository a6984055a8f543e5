"""The secret key: production processes refuse the public default or a short key; `serve`
makes one per installation; nothing signed with the public default is accepted."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from devstack.embedded import start_embedded_services
from engine.bootstrap import Platform, build_platform
from engine.settings import (
    DEFAULT_SECRET_KEY,
    ActesSettings,
    PKISettings,
    Settings,
    SmtpSettings,
    StorageSettings,
)
from tests.web.support import make_users
from web.app import create_app
from web.sessions import sign

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 24 + os.urandom(16).hex()

PRODUCTION_LIKE = {
    "DEMATFLOW_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "DEMATFLOW_BROKER__URL": "redis://127.0.0.1:6379/9",
    "DEMATFLOW_STORAGE__ENDPOINT": "127.0.0.1:9",
    "DEMATFLOW_PKI__TSA_URL": "http://127.0.0.1:9/tsa",
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMATFLOW_")}
    return {**env, **PRODUCTION_LIKE, **extra, "PYTHONPATH": str(ROOT)}


def test_web_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli.main", "web", "--port", "9"],
        env=_env(DEMATFLOW_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert "DEMATFLOW_SECRET_KEY" in line and "n'est pas défini" in line


@pytest.mark.parametrize("command", ["web", "worker", "beat"])
@pytest.mark.parametrize(
    ("key", "words"),
    [(DEFAULT_SECRET_KEY, "n'est pas défini"), ("court-mais-pas-assez-31-octets!", "trop courte")],
)
def test_every_production_process_refuses_a_weak_key(
    monkeypatch: pytest.MonkeyPatch, command: str, key: str, words: str
) -> None:
    from engine.cli.main import cli

    for name, value in PRODUCTION_LIKE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DEMATFLOW_SECRET_KEY", key)
    result = CliRunner().invoke(cli, [command])
    assert result.exit_code == 78
    assert "DEMATFLOW_SECRET_KEY" in result.output and words in result.output


def test_serve_makes_a_private_key_per_installation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Every other embedded service configured: only the key is made here.
    settings = Settings(
        data_dir=tmp_path,
        storage=StorageSettings(endpoint="127.0.0.1:9"),
        pki=PKISettings(tsa_url="http://127.0.0.1:9/tsa"),
        actes=ActesSettings(base_url="http://127.0.0.1:9"),
        smtp=SmtpSettings(host="127.0.0.1"),
    )
    monkeypatch.delenv("DEMATFLOW_SECRET_KEY", raising=False)
    keys = []
    for _ in range(2):
        services = start_embedded_services(settings)
        services.stop()
        keys.append(os.environ["DEMATFLOW_SECRET_KEY"])
        monkeypatch.delenv("DEMATFLOW_SECRET_KEY")
    assert keys[0] == keys[1]  # kept across restarts: sessions survive them
    assert Settings(secret_key=keys[0]).secret_key_problem() is None
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_entrypoint_refuses_an_empty_secret_key_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "true"],
        env={"PATH": os.environ["PATH"], "DEMATFLOW_SECRET_KEY_FILE": str(tmp_path / "empty")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 64
    assert "DEMATFLOW_SECRET_KEY" in done.stderr and "fichier vide" in done.stderr


@pytest.fixture
def keyed(settings: Settings) -> Iterator[Platform]:
    platform = build_platform(settings.model_copy(update={"secret_key": STRONG_KEY}))
    make_users(platform)
    yield platform
    platform.db.dispose()


def test_nothing_forged_with_the_public_key_gets_in(keyed: Platform) -> None:
    with keyed.uow() as uow:
        operator = uow.users.by_username("exploitant")
    assert operator is not None
    public = DEFAULT_SECRET_KEY.encode()
    cookie = sign(
        hashlib.sha256(b"dematflow-session\x00" + public).digest(), {"user": str(operator.id)}
    )
    token = sign(
        hashlib.sha256(b"dematflow-api-token\x00" + public).digest(), {"u": str(operator.id)}
    )
    with TestClient(create_app(platform=keyed), follow_redirects=False) as client:
        client.cookies.set("dematflow_session", cookie)
        page = client.get("/exploitation")
        assert page.status_code == 303 and page.headers["location"].startswith("/connexion")
        client.cookies.clear()
        api = client.get("/api/tenants", headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 401
