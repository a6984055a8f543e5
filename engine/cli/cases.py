"""`dematflow cases ...`: start, list, show, complete, message, signal, cancel, retry."""

from __future__ import annotations

import uuid

import click

from engine.cli.common import actor_for, echo_json, one_line_errors, producer_platform, read_json
from engine.domain.model import Actor
from engine.services import cases as case_services
from engine.services.messages import MessageOrigin


@click.group("cases")
def cases() -> None:
    """Dossiers."""


@cases.command("start")
@click.option("--tenant", required=True)
@click.option("--procedure", required=True)
@click.option("--data", help="JSON, ou @fichier.json")
@click.option("--as", "username", help="Agir en tant que cet utilisateur")
@one_line_errors
def start(tenant: str, procedure: str, data: str | None, username: str | None) -> None:
    platform = producer_platform()
    actor = actor_for(platform, username, tenant)
    with platform.uow() as uow:
        case = case_services.start_case(
            uow,
            tenant=tenant,
            procedure=procedure,
            data=read_json(data),
            actor=actor,
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"{case.id}\t{case.reference}\t{case.status.value}")


@cases.command("list")
@click.option("--tenant", required=True)
@click.option("--status")
@click.option("--limit", default=50, show_default=True)
@one_line_errors
def list_cases(tenant: str, status: str | None, limit: int) -> None:
    platform = producer_platform()
    with platform.uow() as uow:
        found, total = uow.cases.search(tenant, status=status, limit=limit)
    for case in found:
        steps = ", ".join(case.current_steps)
        click.echo(f"{case.id}\t{case.reference}\t{case.procedure}\t{case.status.value}\t{steps}")
    click.echo(f"{len(found)} / {total} dossier(s)", err=True)


@cases.command("show")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@one_line_errors
def show(tenant: str, case_id: uuid.UUID) -> None:
    platform = producer_platform()
    with platform.uow() as uow:
        case = uow.cases.get(tenant, case_id)
        tasks = uow.cases.human_tasks(tenant, case_id=case_id)
        events = uow.journal.for_case(tenant, case_id)
    echo_json(
        {
            "id": case.id,
            "reference": case.reference,
            "procedure": case.procedure,
            "spec_hash": case.spec_hash,
            "status": case.status.value,
            "version": case.version,
            "steps": case.current_steps,
            "error": case.error,
            "data": case.data,
            "tasks": [
                {"id": t.id, "name": t.name, "title": t.title, "lane": t.lane} for t in tasks
            ],
            "timeline": [
                {
                    "seq": e.seq,
                    "at": e.recorded_at,
                    "kind": e.kind,
                    "actor": e.actor,
                    "payload": e.payload,
                }
                for e in events
            ],
        }
    )


@cases.command("complete")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@click.argument("task_id", type=click.UUID)
@click.option("--data", help="JSON, ou @fichier.json")
@click.option("--as", "username", help="Agir en tant que cet utilisateur")
@one_line_errors
def complete(
    tenant: str, case_id: uuid.UUID, task_id: uuid.UUID, data: str | None, username: str | None
) -> None:
    platform = producer_platform()
    actor = actor_for(platform, username, tenant)
    with platform.uow() as uow:
        case = case_services.complete_task(
            uow,
            tenant=tenant,
            case_id=case_id,
            task_id=task_id,
            data=read_json(data),
            actor=actor,
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"{case.id}\tversion {case.version}\t{case.status.value}")


@cases.command("message")
@click.option("--tenant", required=True)
@click.option("--name", "message", required=True)
@click.option("--correlation")
@click.option("--data", help="JSON, ou @fichier.json")
@click.option("--as", "username", help="Remettre le message en tant que cet utilisateur")
@click.option("--reason", help="motif, obligatoire quand l'exploitant remet le message (sans --as)")
@one_line_errors
def message(
    tenant: str,
    message: str,
    correlation: str | None,
    data: str | None,
    username: str | None,
    reason: str | None,
) -> None:
    """Remettre un message : au nom d'une personne (--as) ou de l'exploitant, avec un motif."""
    platform = producer_platform()
    if username:
        origin = MessageOrigin.person(actor_for(platform, username, tenant))
    else:
        origin = MessageOrigin.operator(Actor.system("exploitant"), reason or "")
    with platform.uow() as uow:
        case = case_services.deliver_message(
            uow,
            tenant=tenant,
            message=message,
            correlation=correlation,
            payload=read_json(data),
            origin=origin,
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"{case.id}\t{case.status.value}")


@cases.command("signal")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@click.argument("signal")
@click.option("--as", "username", help="Envoyer le signal en tant que cet utilisateur")
@click.option("--reason", help="motif, obligatoire quand l'exploitant envoie le signal (sans --as)")
@one_line_errors
def signal(
    tenant: str, case_id: uuid.UUID, signal: str, username: str | None, reason: str | None
) -> None:
    """Envoyer un signal déclaré (signals: de procedure.yaml) à un dossier."""
    platform = producer_platform()
    if username:
        origin = MessageOrigin.person(actor_for(platform, username, tenant))
    else:
        origin = MessageOrigin.operator(Actor.system("exploitant"), reason or "")
    with platform.uow() as uow:
        case = case_services.deliver_signal(
            uow, tenant=tenant, case_id=case_id, signal=signal, origin=origin, now=platform.clock()
        )
        uow.commit()
    click.echo(f"{case.id}\t{case.status.value}")


@cases.command("cancel")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@click.option("--reason", required=True)
@one_line_errors
def cancel(tenant: str, case_id: uuid.UUID, reason: str) -> None:
    platform = producer_platform()
    with platform.uow() as uow:
        case = case_services.cancel_case(
            uow,
            tenant=tenant,
            case_id=case_id,
            reason=reason,
            actor=actor_for(platform, None, tenant),
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"{case.id}\t{case.status.value}")


@cases.command("retry")
@click.option("--tenant", required=True)
@click.argument("case_id", type=click.UUID)
@one_line_errors
def retry(tenant: str, case_id: uuid.UUID) -> None:
    platform = producer_platform()
    with platform.uow() as uow:
        case = case_services.retry_case(
            uow,
            tenant=tenant,
            case_id=case_id,
            actor=actor_for(platform, None, tenant),
            now=platform.clock(),
        )
        uow.commit()
    click.echo(f"{case.id}\t{case.status.value}")
