"""`dematflow archives retention|hold`: end-of-DUA decisions and legal holds, always by a named
archivist of the tenant (through the platform: database records, journal entries)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.archives_platform import _platform
from engine.cli.common import actor_for, echo_json, fail
from engine.domain.errors import DematflowError
from engine.domain.model import Actor

if TYPE_CHECKING:
    from archiving.destruction import EliminationVisa
    from engine.bootstrap import Platform


def _archivist(platform: Platform, username: str | None, tenant: str) -> Actor:
    """The named archivist acting: `--user` is required and must hold the role in the tenant."""
    if not username:
        raise ValueError("--user est obligatoire : indiquez l'archiviste qui décide.")
    actor = actor_for(platform, username, tenant)
    if "archiviste" not in actor.roles:
        raise ValueError(f"{username} n'a pas le rôle archiviste dans la collectivité {tenant}.")
    return actor


def _visa(reference: str | None, issued_on: str | None, pdf: Path | None) -> EliminationVisa:
    from archiving.destruction import MAX_VISA_BYTES, EliminationVisa

    if not reference or not issued_on or pdf is None:
        raise ValueError(
            "élimination refusée : --visa-reference, --visa-date et --visa-file (bordereau "
            "d'élimination visé par les Archives départementales, en PDF) sont obligatoires."
        )
    try:
        day = date.fromisoformat(issued_on)
    except ValueError as exc:
        raise ValueError("--visa-date : date invalide (AAAA-MM-JJ attendu).") from exc
    with pdf.open("rb") as stream:
        content = stream.read(MAX_VISA_BYTES + 1)
    if len(content) > MAX_VISA_BYTES:
        raise ValueError("bordereau d'élimination visé trop volumineux (20 Mo au plus).")
    return EliminationVisa(reference, day, content)


def platform_retention(
    tenant: str,
    package_id: str | None,
    decision: str | None,
    years: int | None,
    username: str | None,
    comment: str,
    visa: tuple[str | None, str | None, Path | None] = (None, None, None),
) -> None:
    from engine.services.archives.decisions import decide_retention, pending_decisions

    platform, setup = _platform()
    try:
        now = platform.clock()
        if package_id and decision:
            actor = _archivist(platform, username, tenant)
            with platform.uow() as uow:
                result = decide_retention(
                    uow,
                    setup,
                    tenant,
                    package_id,
                    decision=decision,
                    actor=actor,
                    now=now,
                    years=years,
                    comment=comment,
                    visa=_visa(*visa) if decision == "destroy" else None,
                )
                uow.commit()
            click.echo(result.outcome)
            return
        with platform.uow() as uow:
            due = pending_decisions(uow, tenant, today=now.date())
        echo_json(
            [
                {
                    "package_id": p.package_id,
                    "title": p.title,
                    "fin_dua": p.dua_end.isoformat(),
                    "sort_final": p.final_action,
                }
                for p in due
            ]
        )
    except (DematflowError, ValueError, OSError) as exc:
        fail(str(exc), code=2)
    finally:
        platform.db.dispose()


def platform_hold(
    tenant: str, package_id: str, username: str | None, reason: str, lift: bool
) -> None:
    from engine.services.archives.holds import set_legal_hold

    platform, setup = _platform()
    try:
        actor = _archivist(platform, username, tenant)
        with platform.uow() as uow:
            count = set_legal_hold(
                uow,
                setup,
                tenant,
                package_id,
                on=not lift,
                actor=actor,
                now=platform.clock(),
                reason=reason,
            )
            uow.commit()
    except (DematflowError, ValueError) as exc:
        fail(str(exc), code=2)
    finally:
        platform.db.dispose()
    click.echo(
        f"Conservation pour litige {'levée' if lift else 'placée'} sur {count} version(s) "
        f"du paquet {package_id}."
    )
