"""`serve` restarts a worker or scheduler child that died, within a limit per minute."""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

import pytest

from devstack.cli_serve import public_urls
from devstack.process import ChildProcess, Supervisor, start_process


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sleeper(tmp_path: Path) -> ChildProcess:
    """A stand-in for `dematflow worker`: a child that runs until it is killed."""
    return start_process(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        what="worker",
        log=tmp_path / "worker.log",
    )


def _kill(child: ChildProcess) -> None:
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(timeout=10)


def test_a_killed_child_is_restarted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(period=0.05)
    first = supervisor.add(lambda: _sleeper(tmp_path))
    supervisor.start()
    try:
        _kill(first)
        deadline = time.monotonic() + 10
        while supervisor.children[0] is first and time.monotonic() < deadline:
            time.sleep(0.05)
        (restarted,) = supervisor.children
        assert restarted is not first and restarted.running()
        assert "worker : arrêté de lui-même (code -9), redémarrage" in caplog.text
    finally:
        supervisor.stop(timeout=5)
    assert not restarted.running(), "stopping serve stops the restarted child too"


def test_restarts_are_limited_per_minute(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    supervisor = Supervisor(max_restarts=2, window=60.0, clock=clock)
    supervisor.add(lambda: _sleeper(tmp_path))
    try:
        for _ in range(2):
            _kill(supervisor.children[0])
            supervisor.check()
            assert supervisor.children[0].running()
        dead = supervisor.children[0]
        _kill(dead)
        with caplog.at_level(logging.ERROR):
            supervisor.check()
            supervisor.check()
        assert supervisor.children[0] is dead, "a third death in the minute: no restart"
        suspended = [r for r in caplog.records if "redémarrage suspendu" in r.getMessage()]
        assert len(suspended) == 1, "said once, not at every pass"

        clock.now += 61  # the minute is over: it is tried again
        supervisor.check()
        assert supervisor.children[0] is not dead and supervisor.children[0].running()
    finally:
        supervisor.stop(timeout=5)


def test_published_acts_link_to_the_port_served() -> None:
    """Served on another port than 8000 (DEMATFLOW_WEB_PORT, --port), the public register's
    links to the published acts open on that port (journey 1 saw 127.0.0.1:8000 links on a
    platform served elsewhere); an address set by hand is kept."""
    assert public_urls({}, "127.0.0.1", 8147) == {
        "DEMATFLOW_PUBLICATION__BASE_URL": "http://127.0.0.1:8147"
    }
    assert public_urls({}, "0.0.0.0", 8000)["DEMATFLOW_PUBLICATION__BASE_URL"] == (
        "http://127.0.0.1:8000"
    )
    chosen = {"DEMATFLOW_PUBLICATION__BASE_URL": "https://www.mairie.fr"}
    assert public_urls(chosen, "127.0.0.1", 8147) == {}
