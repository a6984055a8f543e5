"""Webhooks: signatures, retry policy, address checks (incl. DNS rebinding), real deliveries."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from connectors.errors import UnsafeTargetError
from connectors.retry import RetryPolicy, next_delay
from connectors.webhooks.delivery import WebhookEndpoint, WebhookEvent, deliver_webhook
from connectors.webhooks.signing import sign_webhook, verify_webhook
from connectors.webhooks.targets import TargetPolicy, check_target_url, embedded_ipv4

SECRET = b"0123456789abcdef0123456789abcdef"
LOCAL = TargetPolicy(allowed_networks=("127.0.0.1/32",), allowed_schemes=("http", "https"))


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, dict(self.headers), body))
        status = {"/ok": 200, "/boom": 503, "/gone": 410, "/redirect": 302}.get(self.path, 200)
        if self.path == "/slow":
            time.sleep(1.5)
        self.send_response(status)
        if status == 302:
            self.send_header("location", "http://10.0.0.1/internal")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _event(event_id: str = "evt_1") -> WebhookEvent:
    return WebhookEvent(
        id=event_id,
        type="actes.acknowledged",
        occurred_at=dt.datetime(2025, 3, 21, 9, 0, tzinfo=dt.UTC),
        data={"case": "DEL-2025-014", "objet": "Budget été"},
    )


def test_signature_round_trip_and_tampering() -> None:
    headers = sign_webhook(SECRET, message_id="msg_1", timestamp=1_700_000_000, body=b"{}")
    assert headers["webhook-signature"].startswith("v1,")
    assert verify_webhook(SECRET, headers, b"{}", now=1_700_000_010)
    assert not verify_webhook(SECRET, headers, b"{ }", now=1_700_000_010)
    assert not verify_webhook(b"other-secret", headers, b"{}", now=1_700_000_010)
    assert not verify_webhook(SECRET, headers, b"{}", now=1_700_000_000 + 301)  # replay window
    assert not verify_webhook(SECRET, {**headers, "webhook-id": "msg_2"}, b"{}", now=1_700_000_000)


def test_signature_matches_the_standard_webhooks_construction() -> None:
    import base64
    import hashlib
    import hmac

    headers = sign_webhook(SECRET, message_id="m", timestamp=5, body=b"abc")
    expected = base64.b64encode(hmac.new(SECRET, b"m.5.abc", hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_retry_policy_is_exponential_capped_and_bounded() -> None:
    policy = RetryPolicy(base_seconds=30, factor=2, max_seconds=300, max_attempts=6, jitter=0.5)
    delays = [next_delay(policy, attempt) for attempt in range(1, 7)]
    assert delays == [30, 60, 120, 240, 300, None]
    assert next_delay(policy, 1, random_fraction=0.5) == 37.5
    with pytest.raises(ValueError):
        next_delay(policy, 0)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        # IPv6 addresses that lead to a forbidden IPv4 address:
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254 (cloud metadata)
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:0:5db8:d822:0:ffff:80ff:fffe",  # Teredo, obfuscated client 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254
    ],
)
def test_forbidden_addresses(address: str) -> None:
    with pytest.raises(UnsafeTargetError):
        check_target_url(
            "https://hooks.example.fr/x", policy=TargetPolicy(), resolver=lambda h, p: [address]
        )


def test_embedded_ipv4_addresses_are_found() -> None:
    found = {
        a: [str(v4) for v4 in embedded_ipv4(ipaddress.IPv6Address(a))]
        for a in (
            "2002:7f00:1::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b::7f00:1",
            "::ffff:10.0.0.1",
            "2a01:e0a::1",
        )
    }
    assert found == {
        "2002:7f00:1::": ["127.0.0.1"],
        "2001:0:4136:e378:8000:63bf:3fff:fdd2": ["65.54.227.120", "192.0.2.45"],
        "64:ff9b::7f00:1": ["127.0.0.1"],
        "::ffff:10.0.0.1": ["10.0.0.1"],
        "2a01:e0a::1": [],
    }


def test_6to4_of_a_public_address_stays_allowed() -> None:
    resolver = lambda h, p: ["2002:5db8:d822::1"]  # noqa: E731 (6to4 of 93.184.216.34)
    assert check_target_url("https://hooks.example.fr/x", policy=TargetPolicy(), resolver=resolver)


def test_every_resolved_address_is_checked() -> None:
    resolver = lambda h, p: ["93.184.216.34", "10.0.0.5"]  # noqa: E731
    with pytest.raises(UnsafeTargetError, match=r"10\.0\.0\.5"):
        check_target_url("https://hooks.example.fr/x", policy=TargetPolicy(), resolver=resolver)
    public = check_target_url(
        "https://hooks.example.fr/x", policy=TargetPolicy(), resolver=lambda h, p: ["93.184.216.34"]
    )
    assert public == ["93.184.216.34"]


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.fr/x", "ftp://x/y", "https://user:pw@hooks.example.fr/", "https:///x"],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        check_target_url(url, policy=TargetPolicy(), resolver=lambda h, p: ["93.184.216.34"])


def test_delivery_is_signed_and_recorded(receiver: str) -> None:
    _Receiver.received.clear()
    endpoint = WebhookEndpoint(f"{receiver}/ok", SECRET, tenant="214400000")
    record = deliver_webhook(endpoint, _event(), policy=LOCAL, attempt=2)
    assert (
        record.succeeded and record.status_code == 200 and record.attempt == 2 and not record.error
    )
    assert record.duration_ms >= 0
    [(_path, headers, body)] = _Receiver.received
    assert verify_webhook(SECRET, headers, body, now=int(time.time()))
    assert json.loads(body) == {
        "id": "evt_1",
        "type": "actes.acknowledged",
        "tenant": "214400000",
        "timestamp": "2025-03-21T09:00:00+00:00",
        "data": {"case": "DEL-2025-014", "objet": "Budget été"},
    }


@pytest.mark.parametrize(
    ("path", "code", "retryable"),
    [("/boom", 503, True), ("/gone", 410, False), ("/redirect", 302, False)],
)
def test_failures_are_records(receiver: str, path: str, code: int, retryable: bool) -> None:
    record = deliver_webhook(
        WebhookEndpoint(f"{receiver}{path}", SECRET, "t"), _event(), policy=LOCAL
    )
    assert (record.succeeded, record.status_code, record.retryable) == (False, code, retryable)
    assert record.error


def test_timeout_and_refused_connection_are_retryable(receiver: str) -> None:
    slow = deliver_webhook(
        WebhookEndpoint(f"{receiver}/slow", SECRET, "t"),
        _event(),
        policy=LOCAL,
        timeout_seconds=0.3,
    )
    assert slow.retryable and slow.status_code is None and "Délai" in slow.error
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = deliver_webhook(
        WebhookEndpoint(f"http://127.0.0.1:{port}/", SECRET, "t"), _event(), policy=LOCAL
    )
    assert refused.retryable and refused.status_code is None


def test_loopback_is_refused_unless_allowed(receiver: str) -> None:
    _Receiver.received.clear()
    strict = TargetPolicy(allowed_schemes=("http",))
    record = deliver_webhook(
        WebhookEndpoint(f"{receiver}/ok", SECRET, "t"), _event(), policy=strict
    )
    assert not record.succeeded and not record.retryable and "interdite" in record.error
    assert _Receiver.received == []


def test_dns_rebinding_is_caught_at_connect_time(receiver: str) -> None:
    _Receiver.received.clear()
    port = int(receiver.rsplit(":", 1)[1])
    answers = iter(
        [["93.184.216.34"], ["127.0.0.1"]]
    )  # public when checked, loopback when connecting
    record = deliver_webhook(
        WebhookEndpoint(f"http://rebind.example.fr:{port}/ok", SECRET, "t"),
        _event(),
        policy=TargetPolicy(allowed_schemes=("http",)),
        resolver=lambda h, p: next(answers),
    )
    assert not record.succeeded and not record.retryable and "127.0.0.1" in record.error
    assert _Receiver.received == []
