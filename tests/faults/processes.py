"""Real `dematflow` processes (worker, web) for the fault tests, on the session's private
PostgreSQL and Redis; killed, stopped and restarted by the tests."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from devstack.process import free_port, port_open
from engine.bootstrap import Platform, build_operations, build_platform
from engine.services.admin import deploy_directory
from engine.settings import BrokerSettings, Settings
from engine.worker.app import connect_platform
from tests.engine.support import make_tenants
from tests.fixtures.services import TEST_OPERATIONS, TEST_PROCEDURES

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = secrets.token_urlsafe(32)


def fault_settings(
    database_url: str, redis_url: str, data_dir: Path, *, visibility_timeout: int = 5
) -> Settings:
    """Production pairing on the private services: the tests' operations loaded, a short
    visibility timeout (a killed worker's job comes back in seconds; longer than any job)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        operation_modules=[TEST_OPERATIONS],
        broker=BrokerSettings(url=redis_url, visibility_timeout=visibility_timeout),
        secret_key=SECRET_KEY,
    )


@contextmanager
def producer(settings: Settings, procedures: Path = TEST_PROCEDURES) -> Iterator[Platform]:
    """A platform whose committed jobs go to the broker, the test procedures deployed, the two
    test tenants created."""
    setup = build_platform(settings)
    with setup.uow() as uow:
        deploy_directory(
            uow, procedures, operations=build_operations(settings), now=datetime.now(UTC)
        )
        uow.commit()
    setup.db.dispose()
    _app, platform = connect_platform(settings)
    make_tenants(platform)
    try:
        yield platform
    finally:
        platform.db.dispose()


def connector_environment(settings: Settings) -> dict[str, str]:
    """The SMTP relay and the @ctes tiers of `settings`, as a worker reads them."""
    env = {
        "DEMATFLOW_SMTP__HOST": settings.smtp.host,
        "DEMATFLOW_SMTP__PORT": str(settings.smtp.port),
        "DEMATFLOW_SMTP__SENDER": settings.smtp.sender,
        "DEMATFLOW_SMTP__TIMEOUT_SECONDS": str(settings.smtp.timeout_seconds),
        "DEMATFLOW_ACTES__BASE_URL": settings.actes.base_url,
        "DEMATFLOW_ACTES__TIMEOUT_SECONDS": str(settings.actes.timeout_seconds),
    }
    for name in ("client_cert", "client_key", "ca_bundle"):
        value = getattr(settings.actes, name)
        if value is not None:
            env[f"DEMATFLOW_ACTES__{name.upper()}"] = str(value)
    return env


def environment(settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "DEMATFLOW_DATABASE_URL": settings.resolved_database_url(),
        "DEMATFLOW_BROKER__URL": str(settings.broker.url),
        "DEMATFLOW_BROKER__VISIBILITY_TIMEOUT": str(settings.broker.visibility_timeout),
        "DEMATFLOW_OPERATION_MODULES": json.dumps(settings.operation_modules),
        "DEMATFLOW_DATA_DIR": str(settings.data_dir),
        "DEMATFLOW_SECRET_KEY": SECRET_KEY,
        "PYTHONPATH": str(ROOT),
        **connector_environment(settings),
        **(extra or {}),
    }


class Process:
    """A `dematflow` command in its own process group, its output in `log`."""

    def __init__(
        self, args: list[str], settings: Settings, log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", *args],
            cwd=ROOT,
            env=environment(settings, env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def children(self) -> list[int]:
        """Pids of its direct children (a Celery worker's pool processes)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == self.process.pid:
                found.append(int(entry.name))
        return found

    def kill_hard(self) -> None:
        """SIGKILL to the whole group (the worker and its pool), as a host crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def worker(
    settings: Settings, log: Path, env: Mapping[str, str] | None = None, concurrency: int = 1
) -> Process:
    return Process(
        ["worker", "--concurrency", str(concurrency), "--log-format", "text"], settings, log, env
    )


class Web(Process):
    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        super().__init__(
            ["web", "--host", "127.0.0.1", "--port", str(self.port), "--log-format", "text"],
            settings,
            log,
        )
        try:
            wait_for(lambda: port_open(self.port), 60, "the web to listen", self)
        except BaseException:
            Process.stop(self)
            raise
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def stop(self) -> None:
        self.client.close()
        super().stop()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, process: Process | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and not process.running():
            raise AssertionError(
                f"the process exited ({process.process.returncode}) before {what}:\n"
                + process.output()[-3000:]
            )
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
