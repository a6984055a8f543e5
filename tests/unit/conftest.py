"""The fast tier's fixture: an in-memory database with a commune, its people and procedures."""

from __future__ import annotations

import pytest

from tests.fakes.memory_uow import MemoryDatabase
from tests.unit.support import OTHER_TENANT, PEOPLE, PROCEDURES, TENANT


@pytest.fixture
def db() -> MemoryDatabase:
    database = MemoryDatabase()
    database.add_tenant(TENANT)
    database.add_tenant(OTHER_TENANT)
    for login, (name, roles) in PEOPLE.items():
        database.add_user(login, name, tenant=TENANT, roles=roles)
    return database


@pytest.fixture
def circuit_spec(db: MemoryDatabase) -> str:
    """The hash of the signature-circuit test procedure, deployed in `db`."""
    return db.deploy(PROCEDURES / "circuit_test")
