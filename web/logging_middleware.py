"""Request ids and one access log line per request, with nothing personal in it.

The line names the route's path template (`/api/tenants/{tenant}/cases/{case_id}`), never the
concrete path or the query string (either may carry a name, an address, a search term), and no
user, body or client address. The request id comes from a well-formed `X-Request-ID` header (a
proxy's or a client's, to follow one call across services) or is made here; it is set in
`engine.observability.request_id` for every log line written while the request runs, and sent
back in the response.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.observability import request_id

__all__ = ["ACCESS_LOGGER", "REQUEST_ID_HEADER", "AccessLogMiddleware", "valid_request_id"]

REQUEST_ID_HEADER = "x-request-id"
ACCESS_LOGGER = "web.access"
UNMATCHED = "<unmatched>"
"""Logged instead of the path when no route matched: the raw path is not logged."""

_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")

log = logging.getLogger(ACCESS_LOGGER)


def valid_request_id(value: str | None) -> str | None:
    """The header's value if it is short and made of letters, digits and dashes only."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return None


def _path_template(scope: Scope) -> str:
    """The matched route's template; the router stores the route in the scope it was given."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class AccessLogMiddleware:
    """Sets the request id, returns it as `X-Request-ID`, logs method, route, status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = valid_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER)) or str(uuid.uuid4())
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # an exception before the response started ends as a 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started)
            request_id.reset(token)


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    method = str(scope.get("method", ""))
    path = _path_template(scope)
    duration_ms = round(seconds * 1000, 1)
    log.info(
        "%s %s %d %.1f ms",
        method,
        path,
        status,
        duration_ms,
        extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
    )
