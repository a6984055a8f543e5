"""The processes of a bench run on 127.0.0.1, shared by the load benches (`bench_load`,
`bench_pipeline`, `bench_fair_share`): PostgreSQL as its superuser, `dematflow web` and
`dematflow worker` processes each in its own process group, and waiting for them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import psycopg

from devstack.process import free_port

__all__ = ["PG_ADMIN", "Alive", "Fleet", "free_port", "pg", "start_web", "start_workers", "wait"]

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def pg(sql: str, dbname: str = "test", params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement in `dbname` (autocommit) and return its rows, if any."""
    with psycopg.connect(PG_ADMIN.replace("dbname=test", f"dbname={dbname}")) as conn:
        conn.autocommit = True
        cursor = conn.execute(sql, params)  # type: ignore[arg-type,unused-ignore]
        return cursor.fetchall() if cursor.description else []


class Alive(Protocol):
    """What `wait` needs of a fleet of processes: to raise if one of them died."""

    def check_alive(self) -> None: ...


@dataclass
class Fleet:
    """Child processes, each in its own process group (uvicorn and Celery fork)."""

    env: dict[str, str]
    logs: Path
    processes: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = field(default_factory=list)

    def launch(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start `dematflow <args>`, its output in `<logs>/<name>.log`."""
        path = self.logs / f"{name}.log"
        log = path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((process, log))
        return process, path

    def spawn(self, name: str, *args: str) -> Path:
        """As `launch`, returning only the log's path."""
        return self.launch(name, *args)[1]

    def check_alive(self) -> None:
        for process, log in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{log.name}: the process exited ({process.returncode})")

    def stop(self, only: Sequence[subprocess.Popen[bytes]] | None = None) -> None:
        """Stop every process (or those of `only`): SIGTERM to its group, SIGKILL after 30 s."""
        chosen = [(p, log) for p, log in self.processes if only is None or p in only]
        for process, _log in chosen:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in chosen:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()
        self.processes = [(p, log) for p, log in self.processes if (p, log) not in chosen]


def wait(fleet: Alive, ready: Callable[..., Any], what: str, timeout: float = 90) -> None:
    """Poll `ready` until it is true; raise if a process of `fleet` died or on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fleet.check_alive()
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def web_up(url: str) -> bool:
    try:
        return httpx.get(url + "/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def start_web(fleet: Fleet, timeout: float = 90) -> tuple[str, subprocess.Popen[bytes]]:
    """`dematflow web` on a free port, once it answers; its URL and process."""
    port = free_port()
    process, _log = fleet.launch("web", "web", "--host", "127.0.0.1", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait(fleet, lambda: web_up(url), "the web process", timeout=timeout)
    return url, process


def start_workers(
    fleet: Fleet,
    workers: Sequence[tuple[str, str | None]],
    *,
    database_url: str,
    broker_url: str,
    timeout: float = 120,
) -> list[subprocess.Popen[bytes]]:
    """One `dematflow worker --concurrency 1` per (log name, queues: None for every queue),
    once each answers; their processes in the same order.

    The workers log at WARNING (no "ready." line): each is asked whether it is ready with
    Celery's ping, over the broker."""
    from engine.settings import BrokerSettings, Settings
    from engine.worker.app import make_celery

    started = []
    for name, queues in workers:
        args = ("--queues", queues) if queues else ()
        started.append(fleet.launch(name, "worker", *args, "--concurrency", "1")[0])
    app = make_celery(Settings(database_url=database_url, broker=BrokerSettings(url=broker_url)))
    names = {f"dematflow-{p.pid}@{socket.gethostname()}" for p in started}
    answered: set[str] = set()

    def all_ready() -> bool:
        for reply in app.control.ping(destination=sorted(names - answered), timeout=1.0):
            answered.update(reply)
        return answered >= names

    wait(fleet, all_ready, "the workers", timeout=timeout)
    return started
