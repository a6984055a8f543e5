"""Request ids round trip, and the access log line: JSON, route template, nothing personal."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.observability import JsonFormatter
from tests.engine.support import SIREN_A
from tests.web.support import PASSWORD
from web.logging_middleware import ACCESS_LOGGER, UNMATCHED, valid_request_id

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""The middleware does not touch the database: one backend is enough."""


@pytest.fixture
def access_log() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The access log as the production handler writes it: one JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(ACCESS_LOGGER)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@sqlite_only
def test_a_well_formed_request_id_comes_back(web: TestClient) -> None:
    response = web.get("/health/live", headers={"X-Request-ID": "proxy-7f3a-01"})
    assert response.headers["x-request-id"] == "proxy-7f3a-01"


@sqlite_only
@pytest.mark.parametrize(
    "sent", ["a b", "<script>", "x" * 65, "id;rm", "caf\xe9".encode("latin-1")]
)
def test_a_malformed_request_id_is_replaced_by_a_new_one(
    web: TestClient, sent: str | bytes
) -> None:
    response = web.get("/health/live", headers={"X-Request-ID": sent})
    returned = response.headers["x-request-id"]
    assert returned != sent and uuid.UUID(returned).version == 4


@sqlite_only
def test_without_header_each_request_gets_its_own_id(web: TestClient) -> None:
    first = web.get("/health/live").headers["x-request-id"]
    second = web.get("/health/live").headers["x-request-id"]
    assert first != second and uuid.UUID(first) and uuid.UUID(second)


def test_valid_request_id_rules() -> None:
    assert valid_request_id("abc-DEF-123") == "abc-DEF-123"
    assert valid_request_id("x" * 64) == "x" * 64
    assert valid_request_id("") is None and valid_request_id(None) is None
    assert valid_request_id("abc\n") is None


@sqlite_only
def test_access_line_is_json_with_route_template_status_duration_and_request_id(
    web: TestClient, access_log: Callable[[], list[dict[str, Any]]]
) -> None:
    response = web.get(
        f"/api/tenants/{SIREN_A}/cases",
        params={"status": "running", "procedure": "arrete-dupont-jean"},
        auth=("agent.a", PASSWORD),
        headers={"X-Request-ID": "req-0001"},
    )
    assert response.status_code == 200
    (line,) = access_log()
    assert line["logger"] == ACCESS_LOGGER and line["level"] == "INFO"
    assert line["request_id"] == "req-0001"
    method, path, status, duration, unit = line["message"].split(" ")
    assert (method, path, status, unit) == ("GET", "/api/tenants/{tenant}/cases", "200", "ms")
    assert float(duration) >= 0
    raw = json.dumps(line)
    # No query string, no concrete path, no user name, no password.
    for personal in ("dupont", "running", "?", SIREN_A, "agent.a", PASSWORD):
        assert personal not in raw, personal


@sqlite_only
def test_every_request_gets_one_line_and_unmatched_paths_are_not_logged(
    web: TestClient, access_log: Callable[[], list[dict[str, Any]]]
) -> None:
    web.get("/health/live")
    missing = web.get("/dossiers-de/jean.dupont@example.fr")
    web.post(f"/api/tenants/{SIREN_A}/cases", json={"procedure": "arrete", "data": {}})
    lines = access_log()
    assert [line["message"].split(" ")[:3] for line in lines] == [
        ["GET", "/health/live", "200"],
        ["GET", UNMATCHED, str(missing.status_code)],
        ["POST", "/api/tenants/{tenant}/cases", "401"],
    ]
    assert "dupont" not in json.dumps(lines)
    assert len({line["request_id"] for line in lines}) == 3


@sqlite_only
def test_access_record_carries_structured_fields(web: TestClient) -> None:
    """The record holds the fields apart, for a formatter that writes them as JSON keys."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(ACCESS_LOGGER)
    handler, previous = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        web.get("/health/live")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    (record,) = records
    fields = {k: getattr(record, k) for k in ("method", "path", "status", "duration_ms")}
    assert fields["method"] == "GET" and fields["path"] == "/health/live"
    assert fields["status"] == 200 and isinstance(fields["duration_ms"], float)


def test_access_fields_are_separate_json_keys() -> None:
    from engine.observability import JsonFormatter

    record = logging.LogRecord("web.access", logging.INFO, __file__, 1, "GET /x 200", (), None)
    record.method, record.path, record.status, record.duration_ms = "GET", "/x", 200, 1.5
    line = json.loads(JsonFormatter().format(record))
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == (
        "GET",
        "/x",
        200,
        1.5,
    )
