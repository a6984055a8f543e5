"""Who delivers an outside message or signal, and whether they may: `messages:` and `signals:` decide.

The platform's own code (the @ctes connector, council session operations, the citizen portal)
delivers as the connector. A person may deliver only a message their procedure declares for one
of their roles; the platform operator only one declared for `operator`, and always with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.domain.errors import Forbidden, InvalidInput
from engine.domain.model import Actor
from engine.runtime.specs import CONNECTOR, OPERATOR, ProcessBundle
from engine.services.forms import validate_form

MAX_REASON = 1000


@dataclass(frozen=True)
class MessageOrigin:
    """The channel a message comes through, set by the entry point, never by the payload."""

    channel: Literal["connector", "person", "operator"]
    actor: Actor
    reason: str = ""

    @classmethod
    def connector(cls, actor: Actor) -> MessageOrigin:
        return cls("connector", actor)

    @classmethod
    def person(cls, actor: Actor) -> MessageOrigin:
        return cls("person", actor)

    @classmethod
    def operator(cls, actor: Actor, reason: str) -> MessageOrigin:
        reason = reason.strip()
        if not reason:
            raise InvalidInput(
                "Le motif est obligatoire pour remettre un message à la place du connecteur."
            )
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"Le motif dépasse {MAX_REASON} caractères.")
        return cls("operator", actor, reason)


def check_delivery(
    bundle: ProcessBundle, message: str, origin: MessageOrigin, payload: dict[str, Any]
) -> None:
    """Refuse a sender the procedure does not allow, then a payload outside the message's schema."""
    rule = bundle.messages.get(message)
    if origin.channel != "connector":
        if rule is None or rule.senders == {CONNECTOR}:
            raise Forbidden(
                f"Le message « {message} » ne peut être remis que par le connecteur de la "
                "plateforme."
            )
        if origin.channel == "operator" and OPERATOR not in rule.senders:
            raise Forbidden(f"L'exploitant ne peut pas remettre le message « {message} ».")
        if origin.channel == "person" and not origin.actor.roles & (
            rule.senders - {CONNECTOR, OPERATOR}
        ):
            raise Forbidden(f"Votre rôle ne permet pas de remettre le message « {message} ».")
    if rule is not None and rule.schema is not None:
        validate_form(dict(rule.schema), payload)


def check_signal(bundle: ProcessBundle, signal: str, origin: MessageOrigin) -> None:
    """Refuse a signal the procedure does not declare (`signals:`), then a sender it does not
    allow: the same rule as for messages, without a payload."""
    rule = bundle.signals.get(signal)
    if rule is None:
        raise InvalidInput(
            f"Le signal « {signal} » n'est pas déclaré par la procédure « {bundle.procedure} » "
            "(rubrique signals: de procedure.yaml) : il ne peut pas être envoyé de l'extérieur."
        )
    if origin.channel == "connector":
        return
    if rule.senders == {CONNECTOR}:
        raise Forbidden(
            f"Le signal « {signal} » ne peut être envoyé que par le connecteur de la plateforme."
        )
    if origin.channel == "operator" and OPERATOR not in rule.senders:
        raise Forbidden(f"L'exploitant ne peut pas envoyer le signal « {signal} ».")
    if origin.channel == "person" and not origin.actor.roles & (
        rule.senders - {CONNECTOR, OPERATOR}
    ):
        raise Forbidden(f"Votre rôle ne permet pas d'envoyer le signal « {signal} ».")
