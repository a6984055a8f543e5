"""The `dematflow` console script: one group per area, each in its own module, imported only
when its command runs (so `--help` does not load pyHanko, SQLAlchemy or SpiffWorkflow)."""

from __future__ import annotations

import importlib
import sys

import click

COMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module, attribute, short help shown by `dematflow --help`)
    "archives": (
        "engine.cli.archives",
        "group",
        "Paquets d'archives scellés (SEDA 2.3 + BagIt), audit d'intégrité, export.",
    ),
    "audit": ("engine.cli.admin", "audit", "Journal d'audit."),
    "beat": (
        "engine.cli.run",
        "beat",
        "Lancer le planificateur des traitements périodiques (minuteurs, relais, audits).",
    ),
    "cases": ("engine.cli.cases", "cases", "Dossiers."),
    "db": ("engine.cli.admin", "db", "Base de données."),
    "ops": ("engine.cli.admin", "ops", "Exploitation : travail bloqué, relances."),
    "processes": ("engine.cli.admin", "processes", "Procédures (BPMN)."),
    "rgpd": (
        "engine.cli.rgpd",
        "rgpd",
        "Données personnelles (RGPD) : purge des dossiers clos, registre des traitements.",
    ),
    "serve": (
        "devstack.cli_serve",
        "serve",
        "Plateforme embarquée : base, PKI, simulateurs, worker, planificateur et web.",
    ),
    "signatures": (
        "engine.cli.signatures",
        "group",
        "Signatures électroniques PAdES : signer et vérifier des PDF.",
    ),
    "simulators": (
        "devstack.cli_simulators",
        "group",
        "Services simulés (préfecture @ctes, ProConnect) pour les tests et la démonstration.",
    ),
    "tenants": ("engine.cli.admin", "tenants", "Collectivités (tenants)."),
    "users": ("engine.cli.admin", "users", "Comptes locaux."),
    "web": ("engine.cli.run", "web", "Servir l'API et l'interface web (uvicorn)."),
    "worker": ("engine.cli.run", "worker", "Lancer un worker Celery sur les files données."),
}
"""Every top-level command; `tests/cli/test_commands.py` checks each short help against the
command's own docstring and that the README lists every command. The development commands
(`serve`, `simulators`) live in `devstack`, named here by module path only: this table is the
product's one reference to it."""


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _help = COMMANDS[cmd_name]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != "devstack" or not module_name.startswith("devstack."):
                raise
            raise click.ClickException(
                f"« {cmd_name} » est un outil de développement, absent de cette installation "
                "(image de production)"
            ) from exc
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{attribute} is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of `--help`, from the table above: no command module is imported."""
        rows = [
            (name, COMMANDS[name][2] if name in COMMANDS else self.commands[name].short_help or "")
            for name in self.list_commands(ctx)
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup)
def cli() -> None:
    """dematflow : procédures (BPMN) et archivage électronique des collectivités."""


def main() -> None:
    """Console entry point."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
