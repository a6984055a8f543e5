"""Web test fixtures: users of every role, a client, and logged-in browser sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from tests.web.support import login, make_users
from web.app import create_app


@pytest.fixture
def people(platform: Platform) -> Platform:
    make_users(platform)
    return platform


@pytest.fixture
def web(people: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform=people), follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser_as(people: Platform) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """A fresh client logged in as the given user, with its CSRF token."""
    clients: list[TestClient] = []
    app = create_app(platform=people)

    def make(username: str) -> tuple[TestClient, str]:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client, login(client, username)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
