"""The login rate limit lives in the database: every web process shares it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from engine.bootstrap import Platform, build_platform
from engine.persistence.db import is_sqlite
from engine.persistence.tables import metadata
from engine.services.login_throttle import ThrottlePolicy
from engine.settings import Settings
from tests.web.support import PASSWORD, csrf_of, login
from web.app import create_app
from web.security import LoginLimiter


@pytest.fixture
def second_process(people: Platform, settings: Settings) -> Iterator[Platform]:
    """Another platform on the same database: its own engine and pool, like another worker."""
    other = build_platform(settings)
    yield other
    other.db.dispose()


def _attempt(client: TestClient, username: str, password: str) -> int:
    token = csrf_of(client.get("/connexion").text)
    form = {"identifiant": username, "mot_de_passe": password, "csrf_token": token}
    return client.post("/connexion", data=form).status_code


def test_two_app_instances_share_the_limit(people: Platform, second_process: Platform) -> None:
    clock = _Clock()
    apps = [create_app(platform=p) for p in (people, second_process)]
    for app in apps:
        app.state.login_limiter.clock = clock
    with (
        TestClient(apps[0], follow_redirects=False) as one,
        TestClient(apps[1], follow_redirects=False) as two,
    ):
        statuses = []
        for i in range(5):  # a minute apart: past the progressive delays, within the window
            statuses.append(_attempt((one, two)[i % 2], "elu.a", "mauvais"))
            clock.now += timedelta(minutes=1)
        assert statuses == [401] * 5  # 3 on one process, 2 on the other
        for client in (one, two):
            token = csrf_of(client.get("/connexion").text)
            form = {"identifiant": "elu.a", "mot_de_passe": PASSWORD, "csrf_token": token}
            refused = client.post("/connexion", data=form)
            assert refused.status_code == 429
            wait = int(refused.headers["retry-after"])
            assert 10 * 60 < wait <= 16 * 60
            minutes = round(wait / 60)
            assert f"Trop de tentatives : réessayez dans {minutes} minute(s)." in refused.text
        api = two.get("/api/me", auth=("elu.a", PASSWORD))
        assert api.status_code == 429 and int(api.headers["retry-after"]) > 0
        assert "Trop de tentatives" in api.json()["detail"]
        # Another account is not locked out; a success does not count against the address.
        for client in (one, two, one):
            assert login(client, "agent.a")


class _Limiter:
    """The limiter as the app builds it, each call made within a request's unit of work.

    PostgreSQL: the limiter commits in transactions of its own; the request's unit is rolled
    back (as after a failed login) and the counts must survive. SQLite: the counts are in the
    request's unit, which the caller commits on failure."""

    def __init__(self, platform: Platform, clock: Callable[[], datetime], policy: ThrottlePolicy):
        self.platform = platform
        self.own = not is_sqlite(platform.db)
        factory = platform.uow if self.own else None
        self.limiter = LoginLimiter(clock=clock, uow_factory=factory, policy=policy)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.limiter, name)

        def call(*args: str) -> Any:
            with self.platform.uow() as unit:
                result = method(unit, *args)
                if not self.own:
                    unit.commit()
            return result

        return call


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_attempts_leave_the_window_and_old_rows_are_purged(people: Platform) -> None:
    clock = _Clock()
    limiter = _Limiter(people, clock, ThrottlePolicy(per_account=3, per_account_total=3))
    assert [limiter.begin("elu.a", "10.0.0.1") for _ in range(3)] == [0, 0, 0]
    clock.now += timedelta(minutes=5)
    wait = limiter.begin("elu.a", "10.0.0.2")
    # The three attempts were in the slot 09:00–09:01: they stop counting at 09:16.
    assert wait == (datetime(2026, 3, 2, 9, 16, tzinfo=UTC) - clock.now).total_seconds()
    assert limiter.retry_after("elu.a", "10.0.0.3") == wait  # a refused attempt is not counted
    clock.now = datetime(2026, 3, 2, 9, 16, tzinfo=UTC)
    assert limiter.retry_after("elu.a", "10.0.0.3") == 0
    assert limiter.begin("autre", "10.0.0.9") == 0  # any write purges the expired slots
    with people.uow() as uow:
        left = uow.login_attempts.slots(["u:elu.a", "a:10.0.0.1"], since=clock.now - timedelta(1))
    # The 09:00 slot is gone; the refused attempt of 09:05 left a slot counting zero.
    assert left == {"u:elu.a": [(datetime(2026, 3, 2, 9, 5, tzinfo=UTC), 0)], "a:10.0.0.1": []}


def test_the_address_limit_counts_failures_only(people: Platform) -> None:
    clock = _Clock()
    policy = ThrottlePolicy(per_account=100, per_address=3)
    limiter = _Limiter(people, clock, policy)
    for _ in range(10):  # ten agents behind one address log in
        assert limiter.begin("agent.a", "10.0.0.1") == 0
        limiter.succeeded("agent.a", "10.0.0.1")
    for username in ("x", "y", "z"):
        assert limiter.begin(username, "10.0.0.1") == 0
    assert limiter.begin("agent.a", "10.0.0.1") > 0
    assert limiter.begin("agent.a", "10.0.0.2") == 0
    # Re-authentication failures before signing count too.
    limiter.failed("elu.a", "10.0.0.5")
    assert limiter.retry_after("elu.a", "10.0.0.5") == 0
    assert limiter.begin("elu.a", "10.0.0.5") == 0


def test_concurrent_attempts_never_exceed_the_limit(
    people: Platform, second_process: Platform
) -> None:
    policy = ThrottlePolicy(per_account=5, per_account_total=5)  # the account-wide bound
    limiters = [_Limiter(p, p.clock, policy) for p in (people, second_process)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        waits = list(pool.map(lambda i: limiters[i % 2].begin("elu.a", f"10.0.0.{i}"), range(24)))
    assert sorted(waits)[:6] == [0, 0, 0, 0, 0, sorted(waits)[5]]
    assert waits.count(0) == 5


def test_the_migration_creates_the_table_as_declared(people: Platform) -> None:
    with people.db.connect() as conn:
        assert "login_attempts" in inspect(conn).get_table_names()
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert [d for d in differences if "login_attempts" in repr(d)] == []


def _from(app: Any, address: str) -> TestClient:
    client = TestClient(app, client=(address, 40000), follow_redirects=False)
    client.__enter__()
    return client


def test_guesses_from_rotating_addresses_do_not_lock_the_owner_out(people: Platform) -> None:
    app = create_app(platform=people)
    for i in range(6):
        assert _attempt(_from(app, f"198.51.100.{i + 1}"), "elu.a", "mauvais") == 401
    # Each address is still held back for its own guesses...
    attacker = _from(app, "198.51.100.9")
    assert [_attempt(attacker, "elu.a", "mauvais") for _ in range(6)][-1] == 429
    # ...while the owner, from another address, logs in with the right password.
    assert _attempt(_from(app, "203.0.113.20"), "elu.a", PASSWORD) == 303


def test_a_known_device_gets_in_during_a_distributed_attack(people: Platform) -> None:
    app = create_app(platform=people)
    app.state.login_limiter.policy = ThrottlePolicy(per_account_total=8)
    owner = _from(app, "203.0.113.20")
    assert _attempt(owner, "elu.a", PASSWORD) == 303
    assert "dematflow_appareil" in owner.cookies
    statuses = [_attempt(_from(app, f"198.51.100.{i + 1}"), "elu.a", "mauvais") for i in range(9)]
    assert statuses[-1] == 429  # the account-wide limit stops the distributed guessing
    # A new browser, even with the right password, waits; the owner's browser does not.
    assert _attempt(_from(app, "203.0.113.30"), "elu.a", PASSWORD) == 429
    assert _attempt(owner, "elu.a", PASSWORD) == 303
    # The device cookie names its account: it does not help against another one.
    assert _attempt(owner, "agent.a", "mauvais") == 401


def test_failures_in_a_row_delay_the_next_attempt(people: Platform) -> None:
    """OWASP's progressive delays: 0, 0, 1, 2, 4, 8... seconds after each failure (capped),
    per account and source; an attempt made too early is refused and not counted."""
    clock = _Clock()
    policy = ThrottlePolicy(per_account=100, per_address=100, per_account_total=100, max_delay=8)
    limiter = _Limiter(people, clock, policy)
    observed = []
    for _ in range(7):
        observed.append(limiter.retry_after("elu.a", "10.0.0.1"))
        if observed[-1]:
            assert limiter.begin("elu.a", "10.0.0.1") == observed[-1]  # too early: refused
            clock.now += timedelta(seconds=observed[-1])
        assert limiter.begin("elu.a", "10.0.0.1") == 0
        limiter.failed_login("elu.a", "10.0.0.1")
    assert observed == [0, 0, 1, 2, 4, 8, 8]
    # Only this account from this source waits; a success starts again from nothing.
    assert limiter.retry_after("elu.a", "10.0.0.2") == 0
    assert limiter.retry_after("agent.a", "10.0.0.1") == 0
    clock.now += timedelta(seconds=8)
    assert limiter.begin("elu.a", "10.0.0.1") == 0
    limiter.succeeded("elu.a", "10.0.0.1")
    limiter.failed_login("elu.a", "10.0.0.1")
    assert limiter.retry_after("elu.a", "10.0.0.1") == 0
    # Failures older than the window are no longer consecutive.
    for _ in range(3):
        limiter.failed_login("agent.a", "10.0.0.1")
    assert limiter.retry_after("agent.a", "10.0.0.1") == 2
    clock.now += policy.window + timedelta(seconds=1)
    assert limiter.retry_after("agent.a", "10.0.0.1") == 0


def test_a_delayed_attempt_is_refused_at_once_and_the_owners_device_is_not_slowed(
    people: Platform,
) -> None:
    app = create_app(platform=people)
    clock = _Clock()
    app.state.login_limiter.clock = clock
    app.state.login_limiter.policy = ThrottlePolicy(per_account=50, per_address=50)
    owner = _from(app, "192.0.2.10")
    assert _attempt(owner, "elu.a", PASSWORD) == 303  # this browser is now known
    attacker = _from(app, "192.0.2.10")  # the same address (a town hall behind one NAT)
    for _ in range(8):  # far apart: each one is allowed, and the delay grows to its cap
        assert _attempt(attacker, "elu.a", "mauvais") == 401
        clock.now += timedelta(minutes=1)
    assert _attempt(attacker, "elu.a", "mauvais") == 401
    token = csrf_of(attacker.get("/connexion").text)
    started = time.monotonic()
    refused = attacker.post(
        "/connexion",
        data={"identifiant": "elu.a", "mot_de_passe": PASSWORD, "csrf_token": token},
    )
    elapsed = time.monotonic() - started
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "Trop de tentatives : réessayez dans 60 seconde(s)." in refused.text
    assert elapsed < 5  # answered at once: no server thread sleeps through the delay
    # The owner's browser, at the same address, has a delay of its own: not held back.
    assert _attempt(owner, "elu.a", PASSWORD) == 303
    clock.now += timedelta(seconds=60)
    assert _attempt(attacker, "elu.a", PASSWORD) == 303  # the wait over, the right password works
