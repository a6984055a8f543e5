"""Schema migrations with Alembic, configured in code (no alembic.ini to ship).

On SQLite a migration that alters a table copies it into a new one, drops the old one and
renames the copy (Alembic's batch mode). With foreign keys enforced, dropping a table that other
rows refer to fails: a database holding cases (tenants referred to by cases, journal, jobs...)
could not be upgraded, only an empty one. Foreign keys are therefore off while SQLite migrates
(SQLite ignores the switch inside a transaction, so it is set before), every reference is then
checked before the commit, and they are on again for whoever uses the connection next.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Upgrade to every head: independent branches (added in parallel) all apply."""
    config = _config(engine)
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    with engine.connect() as connection:
        _foreign_keys(connection, on=False)
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration: références cassées {broken[:5]}")
        finally:
            _foreign_keys(connection, on=True)


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign keys outside any transaction (on the driver's connection)."""
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


def autogenerate(engine: Engine, message: str) -> None:
    """Developer helper: write a new revision comparing the tables with the database."""
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
