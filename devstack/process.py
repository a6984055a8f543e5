"""The one lifecycle of every development server run as a child process (PKI, S3, simulators,
the worker and scheduler of `serve`): start it with its output in a log file, wait until it
answers (on a port, a URL or a probe of its own) within a timeout, stop it with SIGTERM and then
SIGKILL; and, for the children that must keep running, restart them when they stop on their own."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

log = logging.getLogger(__name__)

__all__ = [
    "ChildProcess",
    "ProcessNotReady",
    "Supervisor",
    "free_port",
    "port_open",
    "start_process",
    "stop_all",
]


class ProcessNotReady(RuntimeError):
    """A child stopped at start-up or did not answer in time; the message (French) says which
    and where its log is."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free when asked."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class ChildProcess:
    """A running child and its log; stop it with :meth:`stop` (or use it as a context manager)."""

    what: str
    """What it is, in French, for messages (« simulateur de préfecture »)."""
    process: subprocess.Popen[bytes]
    log_path: Path | None
    """File receiving its standard output and error; None: inherited from this process."""
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM) without waiting."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float) -> None:
        """Wait up to `timeout` seconds after :meth:`terminate`, then SIGKILL it."""
        try:
            self.process.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; wait for it and close its log."""
        self.terminate()
        self.wait_stopped(timeout)

    def wait_ready(self, probe: Callable[[], bool], *, timeout: float) -> None:
        """Poll `probe` until it answers True; :class:`ProcessNotReady` if the child exits first
        or `timeout` seconds pass (the child is then stopped)."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                self.stop()
                raise ProcessNotReady(
                    f"{self.what} : arrêté au démarrage (code {self.process.returncode})"
                    + self._see_log()
                )
            if probe():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ProcessNotReady(
                    f"{self.what} : ne répond pas après {timeout:.0f} s" + self._see_log()
                )
            time.sleep(0.05)

    def _see_log(self) -> str:
        return f" ; voir {self.log_path}" if self.log_path is not None else ""

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_process(
    command: Sequence[str],
    *,
    what: str,
    log: Path | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready: Callable[[], bool] | None = None,
    port: int | None = None,
    timeout: float = 30.0,
) -> ChildProcess:
    """Start `command`, its output appended to `log`, and wait until it is ready: `ready()`
    answers True, or 127.0.0.1:`port` accepts connections; neither given, do not wait."""
    log_file = log.open("ab") if log is not None else None
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file is not None else None,
            cwd=cwd,
            env={**os.environ, **env} if env is not None else None,
        )
    except BaseException:
        if log_file is not None:
            log_file.close()
        raise
    child = ChildProcess(what, process, log, log_file)
    probe = ready if ready is not None else (lambda: port_open(port)) if port else None
    if probe is not None:
        child.wait_ready(probe, timeout=timeout)
    return child


def stop_all(children: Sequence[ChildProcess], timeout: float = 15.0) -> None:
    """Stop several children together: SIGTERM to each, then one shared deadline."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + timeout
    for child in children:
        child.wait_stopped(deadline - time.monotonic())


@dataclass
class _Supervised:
    start: Callable[[], ChildProcess]
    child: ChildProcess
    restarts: deque[float] = field(default_factory=deque)
    given_up: bool = False


class Supervisor:
    """Children restarted when they stop on their own (a crashed worker must not leave the
    platform silently stalled), at most `max_restarts` times per `window` seconds each."""

    def __init__(
        self,
        *,
        max_restarts: int = 5,
        window: float = 60.0,
        period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_restarts = max_restarts
        self.window = window
        self.period = period
        self._clock = clock
        self._supervised: list[_Supervised] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def children(self) -> list[ChildProcess]:
        with self._lock:
            return [entry.child for entry in self._supervised]

    def add(self, start: Callable[[], ChildProcess]) -> ChildProcess:
        """Start a child with `start` (called again for each restart) and supervise it."""
        child = start()
        with self._lock:
            self._supervised.append(_Supervised(start, child))
        return child

    def check(self) -> None:
        """One pass: restart the children that stopped, within the limit."""
        with self._lock:
            for entry in self._supervised:
                if not self._stopping.is_set() and not entry.child.running():
                    self._restart(entry)

    def _restart(self, entry: _Supervised) -> None:
        now = self._clock()
        while entry.restarts and now - entry.restarts[0] > self.window:
            entry.restarts.popleft()
        what, code = entry.child.what, entry.child.process.returncode
        if len(entry.restarts) >= self.max_restarts:
            if not entry.given_up:
                log.error(
                    "%s : arrêté %s fois en %.0f s, redémarrage suspendu (code %s)",
                    what, len(entry.restarts) + 1, self.window, code,
                )  # fmt: skip
                entry.given_up = True
            return
        log.warning("%s : arrêté de lui-même (code %s), redémarrage", what, code)
        entry.child.wait_stopped(0.1)  # reaped already; closes its log
        entry.restarts.append(now)
        entry.given_up = False
        try:
            entry.child = entry.start()
        except Exception as exc:  # next pass tries again, within the limit
            log.error("%s : redémarrage impossible : %s", what, exc)

    def start(self) -> None:
        """Check the children every `period` seconds in a background thread."""
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self.period):
            try:
                self.check()
            except Exception:
                log.exception("surveillance des processus enfants")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop supervising, then stop every child (SIGTERM, then SIGKILL after `timeout`)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        stop_all(self.children, timeout=timeout)
