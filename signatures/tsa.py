"""RFC 3161 clients kept per TSA URL, so that pyHanko never sends a request only to size a token.

pyHanko sizes a document timestamp (PAdES B-LTA) and collects the TSA's certificates (B-LT and
up) from a "dummy" token it requests once per :class:`TimeStamper` object. A client kept per
URL for the life of the process, which also records every real token it receives as that size
model, makes the dummy request happen at most once per process and URL, and usually never: a
B-T/B-LT/B-LTA signature first asks for its signature timestamp, whose token then serves as
the model for the document timestamp.
"""

from __future__ import annotations

import threading
from typing import Any

from asn1crypto import cms
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import extract_ts_certs

__all__ = ["MAX_CACHED_TIMESTAMPERS", "timestamper_for"]

MAX_CACHED_TIMESTAMPERS = 16
"""Most TSA clients kept per process (one per URL)."""

_TIMEOUT_SECONDS = 10


class _ReusableTimeStamper(HTTPTimeStamper):
    """An HTTP TSA client that keeps the last real token as the model for size estimates."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=_TIMEOUT_SECONDS)
        self._lock = threading.Lock()

    def _register_dummy(self, md_algorithm: str, dummy: cms.ContentInfo) -> None:
        # Copy-on-write: another thread may be iterating over the previous dictionaries.
        with self._lock:
            responses = {**self._dummy_response_cache, md_algorithm: dummy}
            certs = dict(self._certs)
            for cert in extract_ts_certs(dummy, self.cert_registry):
                certs[cert.issuer_serial] = cert
            self._dummy_response_cache = responses
            self._certs = certs

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        token = await super().async_timestamp(message_digest, md_algorithm)
        self._register_dummy(md_algorithm, token)
        return token


_CLIENTS: dict[str, _ReusableTimeStamper] = {}
_LOCK = threading.Lock()


def timestamper_for(url: str) -> HTTPTimeStamper:
    """The process's TSA client for ``url`` (aiohttp sessions are per request: loop-safe)."""
    with _LOCK:
        client = _CLIENTS.get(url)
        if client is None:
            if len(_CLIENTS) >= MAX_CACHED_TIMESTAMPERS:
                _CLIENTS.pop(next(iter(_CLIENTS)))
            client = _CLIENTS[url] = _ReusableTimeStamper(url)
        return client
