"""List pages and list endpoints issue the same number of SQL statements whatever the page size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A, start
from tests.web.support import PASSWORD, login

CASES = 24


def _counter(platform: Platform) -> tuple[list[str], Callable[[], None]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(platform.db, "before_cursor_execute", record)
    return statements, lambda: event.remove(platform.db, "before_cursor_execute", record)


def _count(client: TestClient, statements: list[str], url: str, **kwargs: Any) -> int:
    statements.clear()
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    return len(statements)


def test_list_pages_run_a_constant_number_of_queries(web: TestClient, people: Platform) -> None:
    for _ in range(CASES):
        start(people, "arrete")
    token = web.post("/api/auth/token", auth=("agent.a", PASSWORD)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    login(web, "agent.a")
    statements, stop = _counter(people)
    try:
        for url, small, large, kwargs in (
            (f"/api/tenants/{SIREN_A}/cases", "limit=2", "limit=20", {"headers": bearer}),
            (f"/api/tenants/{SIREN_A}/tasks", "limit=2", "limit=20", {"headers": bearer}),
            (f"/c/{SIREN_A}/dossiers", "taille=2", "taille=20", {}),
            (f"/c/{SIREN_A}/taches", "taille=2", "taille=20", {}),
        ):
            few = _count(web, statements, f"{url}?{small}", **kwargs)
            many = _count(web, statements, f"{url}?{large}", **kwargs)
            assert few == many, f"{url}: {few} statements for 2 rows, {many} for 20"
            # 10: per request, the tenant's clock (web/training.py) and, for a session, whether
            # the person has or owes a second factor (web/auth.py) are read once each.
            assert many <= 10, f"{url}: {many} statements"
    finally:
        stop()
