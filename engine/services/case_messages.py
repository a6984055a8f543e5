"""Messages a person may deliver from a case's page: those the case waits for now and that its
procedure (`messages:` of procedure.yaml) allows one of the person's roles to send.

The page shows one action per such message, a form generated from the message's JSON Schema,
and delivers it through `cases.deliver_message`, the service the API uses: same checks, same
journal entry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import Conflict, Forbidden, FormValidationError, NotFound
from engine.domain.model import Actor, Case, CaseStatus
from engine.ports import UnitOfWork
from engine.runtime.specs import CONNECTOR, OPERATOR, MessageRule
from engine.services import cases as case_services
from engine.services.form_checks import timed_checks
from engine.services.messages import MessageOrigin
from engine.services.steps import load_case, load_process

__all__ = ["ACTION_KEYWORD", "SendableMessage", "deliver_from_page", "sendable_messages"]

ACTION_KEYWORD = "x-action"
"""The label of the case page's action in the message's schema (« Enregistrer une offre reçue »);
JSON Schema validators ignore it. Without it the schema's title is used."""


@dataclass(frozen=True)
class SendableMessage:
    """A message the case waits for and the person may deliver."""

    name: str
    action: str
    """The label of the action on the case page."""
    title: str
    """The message's title (its schema's), as the form's heading explains it."""
    correlation: str | None
    """The value the case waits with (the API's `correlation`)."""
    schema: Mapping[str, Any] | None


def _may_send(rule: MessageRule | None, actor: Actor) -> bool:
    """A role of the person among the rule's senders (the connector and operator are not roles
    a person holds on a tenant's page)."""
    return rule is not None and bool(actor.roles & (rule.senders - {CONNECTOR, OPERATOR}))


def sendable_messages(
    uow: UnitOfWork, *, tenant: str, case_id: uuid.UUID, actor: Actor
) -> list[SendableMessage]:
    """The messages this case waits for that `actor` may deliver, in the order it waits."""
    loaded = load_case(uow, tenant, case_id)
    if loaded.case.status is not CaseStatus.RUNNING:
        return []
    bundle = load_process(uow, loaded.case.spec_hash).bundle
    found: dict[str, SendableMessage] = {}
    for wait in loaded.before.messages:
        rule = bundle.messages.get(wait.message)
        if wait.message in found or rule is None or not _may_send(rule, actor):
            continue
        schema = rule.schema or {}
        title = str(schema.get("title") or wait.message)
        action = str(schema.get(ACTION_KEYWORD) or title)
        found[wait.message] = SendableMessage(
            wait.message, action, title, wait.correlation, rule.schema
        )
    return list(found.values())


def sendable_message(
    uow: UnitOfWork, *, tenant: str, case_id: uuid.UUID, message: str, actor: Actor
) -> SendableMessage:
    """The message if this case waits for it and `actor` may deliver it: NotFound when the case
    does not wait for it (or no longer), Forbidden when the person's roles may not send it."""
    loaded = load_case(uow, tenant, case_id)
    waits = (
        [w for w in loaded.before.messages if w.message == message]
        if loaded.case.status is CaseStatus.RUNNING
        else []
    )
    if not waits:
        raise NotFound(f"Ce dossier n'attend pas (ou plus) le message « {message} ».")
    rule = load_process(uow, loaded.case.spec_hash).bundle.messages.get(message)
    if not _may_send(rule, actor):
        raise Forbidden(f"Votre rôle ne permet pas de remettre le message « {message} ».")
    for sendable in sendable_messages(uow, tenant=tenant, case_id=case_id, actor=actor):
        if sendable.name == message:
            return sendable
    raise NotFound(f"Ce dossier n'attend pas (ou plus) le message « {message} ».")


def deliver_from_page(
    uow: UnitOfWork,
    *,
    tenant: str,
    case_id: uuid.UUID,
    message: str,
    payload: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> Case:
    """Deliver `message` to this case, as the person, through the API's service: the payload is
    checked against the message's schema there, its dates against the clock here (a bid
    received tomorrow is refused); the caller commits."""
    sendable = sendable_message(uow, tenant=tenant, case_id=case_id, message=message, actor=actor)
    problems = timed_checks(sendable.schema, payload, uow.cases.get(tenant, case_id).data, now)
    if problems:
        raise FormValidationError(problems)
    updated = case_services.deliver_message(
        uow,
        tenant=tenant,
        message=message,
        correlation=sendable.correlation,
        payload=payload,
        origin=MessageOrigin.person(actor),
        now=now,
    )
    if updated.id != case_id:  # another case waits with the same value: deliver nothing
        raise Conflict(
            f"Un autre dossier attend le message « {message} » avec la même référence : "
            "rien n'a été enregistré."
        )
    return updated
