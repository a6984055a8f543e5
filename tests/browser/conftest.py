"""Browser fixtures: the web app served by uvicorn on 127.0.0.1, Debian's Chromium, axe-core."""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from engine.bootstrap import Platform, build_platform
from engine.services.admin import deploy_directory
from engine.settings import Settings
from tests.fixtures.services import TEST_OPERATIONS, TEST_PROCEDURES
from tests.web.support import make_users
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/lib/chromium/chromium"
AXE = ROOT / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core, installed once by scripts/install-test-assets.sh (npm), then used offline.

    Under a lock: parallel test workers would otherwise run npm into one directory at once."""
    (ROOT / ".tools").mkdir(exist_ok=True)
    with (ROOT / ".tools" / "axe.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["bash", str(ROOT / "scripts" / "install-test-assets.sh")], check=True)
    return AXE


@pytest.fixture(scope="session")
def live_platform(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("browser")
    shutil.copy(sqlite_template, directory / "db.sqlite3")
    settings = Settings(
        data_dir=directory / "data",
        database_url=f"sqlite:///{directory / 'db.sqlite3'}",
        operation_modules=[TEST_OPERATIONS],
        secret_key="browser-tests-secret-key",
    )
    platform = build_platform(settings)
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_users(platform)
    yield platform
    platform.db.dispose()


@pytest.fixture(scope="session")
def live_url(live_platform: Platform) -> Iterator[str]:
    """The application on a free port of 127.0.0.1, in a thread of this process."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(platform=live_platform), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped: Playwright's sync API keeps an event loop running in the main thread
    while it is open, which would break every later `asyncio.run` (pyHanko signs with it)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # bypass_csp: axe is injected as an inline script, which our CSP rightly refuses.
    context = browser.new_context(
        locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    tab = context.new_page()
    yield tab
    context.close()


def login_as(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


@pytest.fixture
def check_page(axe_script: Path) -> Callable[[Page, str], None]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the page and save a screenshot of it."""

    def check(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        page.add_script_tag(path=str(axe_script))
        result: dict[str, Any] = page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        violations = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
        ]
        assert not violations, f"{name}: " + json.dumps(violations, ensure_ascii=False, indent=1)

    return check
