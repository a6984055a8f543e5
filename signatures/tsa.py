"""RFC 3161 clients kept per TSA URL, so that pyHanko never sends a request only to size a token;
HTTP sessions (TSA, OCSP, CRL) built on one TLS context per process.

pyHanko sizes a document timestamp (PAdES B-LTA) and collects the TSA's certificates (B-LT and
up) from a "dummy" token it requests once per :class:`TimeStamper` object. A client kept per
URL for the life of the process, which also records every real token it receives as that size
model, makes the dummy request happen at most once per process and URL, and usually never: a
B-T/B-LT/B-LTA signature first asks for its signature timestamp, whose token then serves as
the model for the document timestamp.

pyHanko and pyhanko-certvalidator open an aiohttp session per TSA request and per validation
context, each with a new TLS context loading certifi's bundle (~18 ms CPU each, three per
B-LTA act, even for http:// URLs). Sessions belong to the event loop that made them, so they
stay per request (per context), but they now share one TLS context, made once: same trust
anchors (certifi's), same verification (certificate and host name required).

One RFC 3161 request cannot serve several signatures: a signature timestamp's imprint is
the hash of that signature's value, a document timestamp's the hash of that file's byte range.
"""

from __future__ import annotations

import functools
import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import certifi
from asn1crypto import cms
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import extract_ts_certs
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.fetchers.api import OwnedFetcherBackend

__all__ = [
    "MAX_CACHED_TIMESTAMPERS",
    "fetcher_backend",
    "http_session",
    "shared_tls_context",
    "timestamper_for",
]

MAX_CACHED_TIMESTAMPERS = 16
"""Most TSA clients kept per process (one per URL)."""

_TIMEOUT_SECONDS = 10


@functools.cache
def shared_tls_context() -> ssl.SSLContext:
    """The process's TLS client context: certifi's anchors, certificate and host checked (the
    context pyhanko-certvalidator makes for every session, made once)."""
    return ssl.create_default_context(cafile=certifi.where())


def http_session() -> aiohttp.ClientSession:
    """A new aiohttp session (bound to the running loop) on the shared TLS context."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=shared_tls_context()))


class _SharedTlsLazySession(LazySession):
    """pyhanko-certvalidator's lazy session, made on the shared TLS context."""

    def get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = http_session()
        session: aiohttp.ClientSession = self._session
        return session


def fetcher_backend() -> OwnedFetcherBackend:
    """OCSP/CRL/certificate fetchers for one validation context, which closes their session
    with itself (``aclose``)."""
    backend = AIOHttpFetcherBackend(session=_SharedTlsLazySession())  # type: ignore[arg-type,no-untyped-call]
    return OwnedFetcherBackend(backend)


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

    @asynccontextmanager
    async def _acquire_session(self) -> AsyncIterator[aiohttp.ClientSession]:
        # As pyHanko does without a session of its own (one per request: a client outlives
        # event loops), on the shared TLS context.
        session = http_session()
        try:
            yield session
        finally:
            await session.close()

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
