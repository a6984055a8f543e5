"""Readiness: database, broker, object store (with Object Lock) and time-stamping authority.

Each check is cheap and its result is kept a few seconds, so a probe every few seconds from a
load balancer or compose does not hammer the TSA or S3.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.bootstrap import Platform

CACHE_SECONDS = 15.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)


def _database(platform: Platform) -> Check:
    with platform.uow() as uow:
        uow.tenants.get("000000000")
    return Check("base_de_donnees", True, "ok")


def _object_store(platform: Platform) -> Check:
    from archiving import ObjectStore
    from engine.services.archives.setup import writer_s3_config

    storage = platform.settings.storage
    if not storage.endpoint:
        return Check("stockage", False, "stockage S3 non configuré")
    store = ObjectStore(writer_s3_config(storage, storage.endpoint))
    try:
        bucket = f"{storage.bucket_prefix}-controle"
        store.create_bucket(bucket, object_lock=True)
        store.require_object_lock(bucket)
    finally:
        store.close()
    return Check("stockage", True, "verrouillage d'objets actif")


def _tsa(platform: Platform) -> Check:
    from engine.services.signing_setup import signing_setup
    from signatures import timestamp_bytes

    url = signing_setup(platform.settings).timestamp_url
    if not url:
        return Check("horodatage", False, "aucune autorité d'horodatage")
    timestamp_bytes(b"dematflow readiness", tsa_url=url)
    return Check("horodatage", True, "ok")


class ReadinessProbe:
    def __init__(self, platform: Platform, *, broker: Callable[[], None] | None = None) -> None:
        self.platform = platform
        self.checks: list[tuple[str, Callable[[], Check]]] = [
            ("base_de_donnees", lambda: _database(platform)),
            ("stockage", lambda: _object_store(platform)),
            ("horodatage", lambda: _tsa(platform)),
        ]
        if broker is not None:
            self.checks.insert(
                1,
                ("file_de_messages", lambda: (broker(), Check("file_de_messages", True, "ok"))[1]),
            )
        self._cache: tuple[float, Readiness] | None = None
        self._lock = threading.Lock()

    def run(self) -> Readiness:
        with self._lock:
            if self._cache and time.monotonic() - self._cache[0] < CACHE_SECONDS:
                return self._cache[1]
            results = []
            for name, check in self.checks:
                try:
                    results.append(check())
                except Exception as exc:
                    results.append(Check(name, False, f"{exc.__class__.__name__}: {exc}"[:300]))
            readiness = Readiness(tuple(results))
            self._cache = (time.monotonic(), readiness)
            return readiness
