"""Request bodies are refused as soon as they cross their limit, before authentication or any
parsing, through a real uvicorn on 127.0.0.1 (declared and chunked 400 MB bodies)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from engine.bootstrap import Platform
from tests.engine.support import SIREN_A
from tests.web.live import LiveServer, live_server, stream_body
from tests.web.support import PASSWORD, csrf_of
from web.app import create_app

HUGE = 400 * 1024 * 1024
UPLOAD = f"/api/tenants/{SIREN_A}/documents"
FORM = f"/demarches/{SIREN_A}/deposer"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"agent.a:{PASSWORD}".encode()).decode()}
SLACK = 256 * 1024
"""What uvicorn may have buffered past the limit when the middleware refuses."""

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def live(people: Platform) -> Iterator[LiveServer]:
    with live_server(create_app(platform=people)) as server:
        yield server


def _limits(live: LiveServer, people: Platform) -> tuple[int, int]:
    anonymous = people.settings.anonymous_max_body_bytes
    return anonymous, people.settings.max_upload_bytes + 1024 * 1024


def _problem(response: bytes) -> dict[str, object]:
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head
    return json.loads(body)


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_anonymous_upload_is_refused_before_its_body_is_read(
    live: LiveServer, people: Platform, chunked: bool
) -> None:
    anonymous, _ = _limits(live, people)
    sent = stream_body(live.port, UPLOAD, total=HUGE, chunked=chunked)
    assert sent.status == 413
    assert _problem(sent.response)["title"] == "Envoi trop volumineux"
    assert live.counter.body_bytes <= anonymous + SLACK
    # The client could push a few MB into the kernel's buffers, far from the 400 MB.
    assert sent.body_sent < 32 * 1024 * 1024 and sent.seconds < 20


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_authenticated_upload_stops_at_the_upload_limit(
    live: LiveServer, people: Platform, chunked: bool
) -> None:
    _, authenticated = _limits(live, people)
    sent = stream_body(live.port, UPLOAD, total=HUGE, chunked=chunked, headers=BASIC)
    assert sent.status == 413
    assert "Envoi trop volumineux" in str(_problem(sent.response)["detail"])
    assert live.counter.body_bytes <= authenticated + SLACK
    if not chunked:
        assert live.counter.body_bytes == 0  # the declared length is enough
    assert sent.body_sent < authenticated + 32 * 1024 * 1024 and sent.seconds < 30


def test_citizen_form_without_a_session_gets_the_anonymous_limit(
    live: LiveServer, people: Platform
) -> None:
    anonymous, _ = _limits(live, people)
    sent = stream_body(live.port, FORM, total=HUGE, chunked=True)
    assert sent.status == 413
    assert b"text/html" in sent.response and b"Envoi trop volumineux" in sent.response
    assert live.counter.body_bytes <= anonymous + SLACK


def test_citizen_form_with_its_session_stops_at_the_form_limit(
    live: LiveServer, people: Platform
) -> None:
    base = f"http://127.0.0.1:{live.port}"
    page = httpx.get(base + FORM)
    assert page.status_code == 200 and csrf_of(page.text)
    cookie = page.headers["set-cookie"].split(";", 1)[0]
    sent = stream_body(live.port, FORM, total=HUGE, chunked=True, headers={"Cookie": cookie})
    assert sent.status == 413
    assert 5 * 10_000_000 <= live.counter.body_bytes <= 51_000_000 + SLACK


def test_login_form_takes_no_large_body(live: LiveServer, people: Platform) -> None:
    anonymous, _ = _limits(live, people)
    sent = stream_body(live.port, "/connexion", total=4 * 1024 * 1024, chunked=True)
    assert sent.status == 413
    assert live.counter.body_bytes <= anonymous + SLACK


def test_bodies_within_the_limits_still_pass(live: LiveServer, people: Platform) -> None:
    base = f"http://127.0.0.1:{live.port}"
    with httpx.Client(base_url=base) as client:
        token = csrf_of(client.get("/connexion").text)
        login = client.post(
            "/connexion",
            data={"identifiant": "agent.a", "mot_de_passe": PASSWORD, "csrf_token": token},
        )
        assert login.status_code == 303
    pdf = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024)
    upload = httpx.post(base + UPLOAD, files={"fichier": ("a.pdf", pdf)}, headers=BASIC)
    assert upload.status_code != 413  # past the limit check (the content is judged later)
