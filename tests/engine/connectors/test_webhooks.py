"""Tenant webhooks: SSRF-checked endpoints, journal fan-out, signed deliveries, backoff, log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors import verify_webhook
from engine.bootstrap import Platform
from engine.domain.errors import InvalidInput
from engine.jobs import webhooks as webhook_jobs
from engine.services import webhooks
from engine.settings import WebhookSettings
from tests.engine.connectors.conftest import start_actes_case
from tests.engine.support import SIREN_A, SIREN_B

pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    """Answers to give, in order; 204 once they run out."""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.statuses.pop(0) if state.statuses else 204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/dematflow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _subscribe(platform: Platform, url: str, kinds: list[str]) -> webhooks.RegisteredEndpoint:
    with platform.uow() as uow:
        registered = webhooks.add_endpoint(
            uow,
            platform.settings.webhooks,
            tenant=SIREN_A,
            url=url,
            event_kinds=kinds,
            now=platform.clock(),
        )
        # start the cursor now: only events after the subscription are sent
        webhook_jobs.fan_out(uow, SIREN_A, now=platform.clock())
        uow.commit()
    return registered


def test_signed_delivery_once_per_event(cplatform: Platform, receiver: Receiver) -> None:
    registered = _subscribe(cplatform, receiver.url, ["case.started"])
    case = start_actes_case(cplatform)
    report = webhook_jobs.run_webhooks(
        cplatform.uow, cplatform.settings.webhooks, now=cplatform.clock()
    )
    assert report.delivered == 1
    webhook_jobs.run_webhooks(cplatform.uow, cplatform.settings.webhooks, now=cplatform.clock())
    ((headers, body),) = receiver.requests
    secret = webhooks.secret_bytes(registered.secret)
    assert verify_webhook(secret, headers, body, now=int(time.time()))
    assert not verify_webhook(b"wrong-secret-000000000000", headers, body, now=int(time.time()))
    assert str(case.id).encode() in body and b'"type":"case.started"' in body
    with cplatform.uow() as uow:
        (delivery,) = uow.webhooks.deliveries(SIREN_A)
        (attempt,) = uow.webhooks.attempts(SIREN_A, delivery.id)
        assert uow.webhooks.deliveries(SIREN_B) == []
    assert delivery.state == "delivered" and attempt.status_code == 204


def test_failures_are_retried_with_backoff_and_logged(
    cplatform: Platform, receiver: Receiver
) -> None:
    _subscribe(cplatform, receiver.url, ["case.started"])
    start_actes_case(cplatform)
    receiver.statuses = [503, 500]
    settings = cplatform.settings.webhooks
    now = cplatform.clock()
    assert webhook_jobs.run_webhooks(cplatform.uow, settings, now=now).retried == 1
    # not due yet: nothing is sent before the backoff delay
    assert (
        webhook_jobs.run_webhooks(cplatform.uow, settings, now=now + timedelta(seconds=1)).retried
        == 0
    )
    assert (
        webhook_jobs.run_webhooks(cplatform.uow, settings, now=now + timedelta(seconds=6)).retried
        == 1
    )
    report = webhook_jobs.run_webhooks(cplatform.uow, settings, now=now + timedelta(seconds=30))
    assert report.delivered == 1
    with cplatform.uow() as uow:
        (delivery,) = uow.webhooks.deliveries(SIREN_A)
        log = uow.webhooks.attempts(SIREN_A, delivery.id)
    assert [a.status_code for a in log] == [503, 500, 204]
    assert "HTTP 503" in log[0].error
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1  # same id: receivers dedupe


def test_gives_up_after_the_last_attempt(cplatform: Platform, receiver: Receiver) -> None:
    settings = cplatform.settings.webhooks.model_copy(update={"max_attempts": 2})
    _subscribe(cplatform, receiver.url, ["case.started"])
    start_actes_case(cplatform)
    receiver.statuses = [500, 500, 500]
    now = cplatform.clock()
    webhook_jobs.run_webhooks(cplatform.uow, settings, now=now)
    assert (
        webhook_jobs.run_webhooks(cplatform.uow, settings, now=now + timedelta(hours=1)).failed == 1
    )
    assert (
        webhook_jobs.run_webhooks(cplatform.uow, settings, now=now + timedelta(days=1)).failed == 0
    )
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://user:pass@example.org/hook",
        "ftp://example.org/hook",
        "http://192.168.1.10/hook",
    ],
)
def test_internal_targets_are_refused(cplatform: Platform, url: str) -> None:
    strict = WebhookSettings()  # production default: public https targets only
    with cplatform.uow() as uow, pytest.raises(InvalidInput):
        webhooks.add_endpoint(
            uow,
            strict,
            tenant=SIREN_A,
            url=url,
            event_kinds=["case.started"],
            now=cplatform.clock(),
        )


def test_unknown_event_kinds_are_refused(cplatform: Platform, receiver: Receiver) -> None:
    with cplatform.uow() as uow, pytest.raises(InvalidInput, match="Événements inconnus"):
        webhooks.add_endpoint(
            uow,
            cplatform.settings.webhooks,
            tenant=SIREN_A,
            url=receiver.url,
            event_kinds=["case.started", "secrets.dump"],
            now=cplatform.clock(),
        )
