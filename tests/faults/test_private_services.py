"""The private PostgreSQL and Redis of the fault tests stop and start again on demand."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests.fixtures.private_services import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.faults


def test_private_postgres_stops_and_comes_back(
    private_postgres: PrivatePostgres, private_pg_database_url: str
) -> None:
    assert private_postgres.port != 5432
    dsn = private_pg_database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    private_postgres.stop("immediate")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)
    private_postgres.start()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_private_redis_stops_and_comes_back(
    private_redis: PrivateRedis, private_redis_url: str
) -> None:
    assert private_redis.port != 6379
    client = redis.Redis.from_url(private_redis_url)
    client.set("k", "v")
    private_redis.stop(kill=True)
    with pytest.raises(redis.ConnectionError):
        client.get("k")
    private_redis.start()
    assert client.get("k") is None  # no persistence: a restart loses what it held
    client.close()
