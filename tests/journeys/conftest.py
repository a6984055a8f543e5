"""One `dematflow serve` per test session, started as the README says in a fresh copy of the
repository (its tracked files), with the default settings and the default relative `var/`: only
the web port is set. The journeys drive it with Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.journeys.support import ARTIFACTS, AXE, ROOT, Demo, Walk

CHROMIUM = "/usr/lib/chromium/chromium"
START_TIMEOUT = 240.0
"""First start on a loaded 2-core machine: PKI, SeaweedFS, simulators, database, demo seeding."""
PACKAGES = ("engine", "web", "signatures", "archiving", "connectors", "devstack")
_durations: dict[str, float] = {}


@dataclass(frozen=True)
class Served:
    """The running platform as a new user meets it: an address and its `var/`."""

    base: str
    checkout: Path
    data_dir: Path
    demo: Demo


def _fresh_copy(target: Path) -> None:
    """The repository's tracked files (as in this working tree), modification times kept so the
    installed bytecode stays valid; nothing of the developer's `var/`, `.venv` or caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name)
    # What `make run` does before `serve` (`make compile`): bytecode, so that each process of
    # serve does not compile the whole code base at start-up.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", *PACKAGES], cwd=target, check=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_served(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dematflow serve s'est arrêté ({process.returncode}) :\n{log.read_text()}")
        shown = log.read_text(errors="replace")  # the demo accounts once the demo is whole
        if "Uvicorn running" in shown and "Comptes de démonstration" in shown:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
        time.sleep(0.5)  # waiting for a child process, not for the UI
    pytest.fail(f"dematflow serve n'a pas démarré en {START_TIMEOUT:.0f} s :\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # serve stops its worker, scheduler and services
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`dematflow serve` of the installed virtualenv (not reinstalled), run from a fresh copy:
    PYTHONPATH puts the copy's packages before the editable install of this checkout."""
    subprocess.run(["bash", str(ROOT / "scripts" / "install-test-assets.sh")], check=True)
    assert AXE.is_file(), "axe-core manque : make test-assets"
    checkout = tmp_path_factory.mktemp("depot")
    _fresh_copy(checkout)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMATFLOW_")}
    env |= {"DEMATFLOW_WEB_PORT": str(port), "PYTHONPATH": str(checkout)}
    log = checkout / "serve.log"
    dematflow = Path(sys.executable).parent / "dematflow"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(dematflow), "serve"],
            cwd=checkout,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_served(process, port, log)
        data_dir = checkout / "var"
        demo = Demo.read(data_dir / "identifiants-demo.txt")
        yield Served(f"http://127.0.0.1:{port}", checkout, data_dir, demo)
    finally:
        _stop(process)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, ARTIFACTS / "serve.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped, as in tests/browser: sync Playwright holds an event loop while open."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def walk(request: pytest.FixtureRequest, browser: Browser, served: Served) -> Iterator[Walk]:
    """A journey in its own browser context; its duration is printed at the end of the run."""
    # bypass_csp: axe is injected as an inline script, which the platform's CSP rightly refuses.
    context = browser.new_context(
        locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page: Page = context.new_page()
    page.set_default_timeout(30_000)
    name = request.node.name.removeprefix("test_")
    shutil.rmtree(ARTIFACTS / name, ignore_errors=True)
    journey = Walk(page, served.base, served.demo, name, served.data_dir)
    try:
        yield journey
    finally:
        _durations[name] = journey.elapsed()
        context.close()
        with (ARTIFACTS / "durees.txt").open("a", encoding="utf-8") as out:
            out.write(f"{name} : {_durations[name]:.1f} s\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _durations:
        return
    terminalreporter.section("durée des parcours (tests/journeys)")
    for name, seconds in _durations.items():
        terminalreporter.write_line(f"{name} : {seconds:.1f} s")
    terminalreporter.write_line(f"captures d'écran : {ARTIFACTS}")
