"""Who may send a signal to a case from outside: the `signals:` declarations of procedure.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

from engine.domain.errors import ProcessDefinitionError

__all__ = ["SignalRule", "caught_signals", "signal_rules"]


@dataclass(frozen=True)
class SignalRule:
    """Who may send one signal (`connector`, `operator` with a reason, roles of the procedure)."""

    name: str
    senders: frozenset[str]


def signal_rules(declared: Any, allowed: Iterable[str]) -> dict[str, SignalRule]:
    """`signals: {name: {from: [connector|operator|role, ...]}}`; a signal carries no payload."""
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise ProcessDefinitionError("procedure.yaml : `signals` doit associer un nom à sa règle")
    known = set(allowed)
    rules: dict[str, SignalRule] = {}
    for name, rule in declared.items():
        where = f"procedure.yaml, signal « {name} »"
        senders = rule.get("from") if isinstance(rule, dict) else None
        if (
            not isinstance(senders, list)
            or not senders
            or not all(isinstance(s, str) for s in senders)
        ):
            raise ProcessDefinitionError(f"{where} : `from` doit lister qui peut l'envoyer")
        unknown = sorted(set(senders) - known)
        if unknown:
            raise ProcessDefinitionError(
                f"{where} : expéditeur inconnu {', '.join(unknown)} "
                "(connector, operator ou un rôle de la procédure)"
            )
        rules[str(name)] = SignalRule(str(name), frozenset(senders))
    return rules


def caught_signals(specs: Iterable[Any]) -> set[str]:
    """Names of the signals the given process specs wait for (catch events, boundaries, starts)."""
    names: set[str] = set()
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(task_spec, CatchingEvent) and isinstance(
                definition, SignalEventDefinition
            ):
                names.add(definition.name)
    return names
