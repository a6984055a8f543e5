"""`dematflow archives audit|export --platform`: through the platform (database records, journal
entries), not only the object store (`archives retention|hold`: archives_retention)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.common import echo_json, fail, settings_with_store
from engine.domain.errors import DematflowError
from engine.domain.model import Actor

if TYPE_CHECKING:
    from engine.bootstrap import Platform
    from engine.services.archives.setup import ArchiveSetup


def _platform() -> tuple[Platform, ArchiveSetup]:
    from engine.bootstrap import build_platform
    from engine.services.archives.setup import archive_setup

    platform = build_platform(settings_with_store())
    try:
        return platform, archive_setup(platform.settings)
    except DematflowError as exc:
        platform.db.dispose()
        fail(str(exc), code=2)
        raise


def platform_audit(tenant: str, batch_size: int) -> None:
    """Run the tenant's audit to its end (resuming the current one), print its report."""
    from engine.jobs.archive_audits import audit_batch

    platform, setup = _platform()
    try:
        while True:
            run = audit_batch(
                platform.uow,
                setup,
                tenant,
                now=platform.clock(),
                batch_size=batch_size,
                every=timedelta(0),
            )
            if run is None or run.error:
                fail(run.error if run and run.error else "aucun audit à mener", code=2)
                return
            if run.finished_at is not None:
                break
        with platform.uow() as uow:
            findings = uow.archives.findings(tenant, run.id)
    finally:
        platform.db.dispose()
    echo_json(
        {
            "run": str(run.id),
            "packages_checked": run.packages_checked,
            "objects_checked": run.objects_checked,
            "bytes_read": run.bytes_read,
            "findings": [f.__dict__ for f in findings],
        }
    )
    sys.exit(0 if not findings else 1)


def platform_export(tenant: str, package_id: str | None, target: Path) -> None:
    from engine.services.archives.exports import export_package_dip, export_tenant_archives

    platform, setup = _platform()
    actor = Actor.system("cli")
    try:
        with platform.uow() as uow:
            if package_id:
                export_package_dip(
                    uow, setup, tenant, package_id, target, actor=actor, now=platform.clock()
                )
                message = f"DIP écrit : {target}"
            else:
                counts = export_tenant_archives(
                    uow, setup, tenant, target, actor=actor, now=platform.clock()
                )
                message = (
                    f"{counts['packages']} paquet(s), {counts['objects']} objet(s), "
                    f"{counts['journal_entries']} entrée(s) de journal exportés dans {target}"
                )
            uow.commit()
    except (DematflowError, FileExistsError) as exc:
        fail(str(exc), code=2)
    finally:
        platform.db.dispose()
    click.echo(message)
