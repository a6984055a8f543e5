"""The `dematflow` console script: one group per area, each in its own module."""

from __future__ import annotations

import importlib
import sys

import click

# Each module named here defines `group`, a click.Group added under its own name.
COMMAND_GROUP_MODULES = (
    "engine.cli.signatures",
    "engine.cli.archives",
    "engine.cli.simulators",
)


@click.group()
def cli() -> None:
    """dematflow: workflows and electronic archive for French local authorities."""


def _register_core() -> None:
    from engine.cli import admin, cases, run

    for command in (
        admin.db,
        admin.tenants,
        admin.users,
        admin.processes,
        admin.audit,
        admin.ops,
        cases.cases,
        run.serve,
        run.web,
        run.worker,
        run.beat,
    ):
        cli.add_command(command)


def _register_groups() -> None:
    for module_name in COMMAND_GROUP_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        cli.add_command(module.group)


_register_core()
_register_groups()


def main() -> None:
    """Console entry point."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
