"""The retention schedule (tableau de gestion): the default one and each tenant's own rules."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from archiving import (
    FinalAction,
)
from engine.domain.archives import (
    RetentionRuleRow,
)
from engine.domain.errors import InvalidInput
from engine.domain.model import Actor
from engine.persistence.uow import UnitOfWork

DEFAULT_SCHEDULE_FILE = Path(__file__).with_name("retention_schedule.json")


def default_schedule() -> dict[str, RetentionRuleRow]:
    data: dict[str, Any] = json.loads(DEFAULT_SCHEDULE_FILE.read_text("utf-8"))
    return {
        name: RetentionRuleRow(
            name, entry["rule_id"], int(entry["years"]), entry["final_action"], entry["access_rule"]
        )
        for name, entry in data.items()
        if not name.startswith("_")
    }


def retention_rule(uow: UnitOfWork, tenant: str, typologie: str) -> RetentionRuleRow:
    """The tenant's own rule for this typologie, else the default schedule's; else refused."""
    rule = uow.archives.retention_rule(tenant, typologie) or default_schedule().get(typologie)
    if rule is None:
        raise InvalidInput(
            f"Aucune règle de conservation pour la typologie « {typologie} » : "
            "complétez le tableau de gestion."
        )
    return rule


def set_retention_rule(
    uow: UnitOfWork, tenant: str, rule: RetentionRuleRow, *, actor: Actor, now: datetime
) -> None:
    """Record a tenant's own retention schedule entry (journaled)."""
    if rule.years < 0 or rule.final_action not in {a.value for a in FinalAction}:
        raise InvalidInput("Règle de conservation invalide.")
    uow.archives.set_retention_rule(tenant, rule, now)
    uow.journal.append(
        tenant=tenant,
        kind="archive.retention_rule",
        case_id=None,
        actor=actor.user_id,
        payload=asdict(rule),
        now=now,
    )
