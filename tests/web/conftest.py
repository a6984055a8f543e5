"""Web test fixtures: users of every role, a client, and logged-in browser sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from devstack.pki import DevPki
from engine.bootstrap import Platform, build_platform
from engine.services.admin import deploy_directory
from engine.settings import PKISettings, Settings, SmtpSettings
from tests.fixtures.services import TEST_PROCEDURES
from tests.fixtures.smtp import SmtpServer
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


@pytest.fixture
def live_platform(
    settings: Settings, dev_pki: DevPki, smtp_server: SmtpServer
) -> Iterator[Platform]:
    """The platform with the dev PKI (seal, TSA), a real SMTP server, the test procedures and
    the test users: what the real worker operations of a citizen request need."""
    platform = build_platform(
        settings.model_copy(
            update={
                "pki": PKISettings(dev_dir=dev_pki.directory),
                "smtp": SmtpSettings(
                    host=smtp_server.host, port=smtp_server.port, sender="mairie@commune-test.fr"
                ),
            }
        )
    )
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_users(platform)
    smtp_server.clear()
    yield platform
    platform.db.dispose()
