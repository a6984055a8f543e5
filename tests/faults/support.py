"""What the fault tests share: the settings of their real processes on the session's private
PostgreSQL and Redis (the processes themselves: `tests.fixtures.processes`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from engine.settings import BrokerSettings, Settings
from tests.fixtures.services import TEST_OPERATIONS


def fault_settings(
    database_url: str, redis_url: str, data_dir: Path, *, visibility_timeout: int = 5
) -> Settings:
    """Production pairing on the private services: the tests' operations loaded, a short
    visibility timeout (a killed worker's job comes back in seconds; longer than any job)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        operation_modules=[TEST_OPERATIONS],
        broker=BrokerSettings(url=redis_url, visibility_timeout=visibility_timeout),
        secret_key=secrets.token_urlsafe(32),
    )
