"""Delegations of signature over the in-memory unit of work: who records them, when they are in
force, who revokes them, what the journal says."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from engine.domain.errors import Forbidden, InvalidInput
from engine.services import delegations
from tests.fakes.memory_uow import MemoryDatabase
from tests.unit.support import NOW, PLATFORM, TENANT, delegate, person

DAY = timedelta(days=1)


def _create(
    db: MemoryDatabase,
    actor: str,
    deputy: str,
    *,
    starts: datetime = NOW,
    ends: datetime = NOW + 3 * DAY,
    reason: str = "",
) -> None:
    with db.uow() as uow:
        delegations.create_delegation(
            uow,
            tenant=TENANT,
            delegator="maire",
            deputy=deputy,
            starts=starts,
            ends=ends,
            reason=reason,
            actor=person(actor),
            now=NOW,
        )
        uow.commit()


@pytest.mark.parametrize(
    ("actor", "deputy", "period", "error", "message"),
    [
        ("maire", "maire", {}, InvalidInput, "se déléguer à soi-même"),
        ("secretaire", "secretaire", {}, Forbidden, "Seul le délégant ou un administrateur"),
        ("adjoint", "adjointe", {}, Forbidden, "Seul le délégant ou un administrateur"),
        ("maire", "inconnu", {}, InvalidInput, "« inconnu » n'est pas un utilisateur actif"),
        ("maire", "adjoint", {"ends": NOW - DAY}, InvalidInput, "Période de délégation invalide"),
        ("maire", "adjoint", {"ends": NOW + 400 * DAY}, InvalidInput, "un an au plus"),
        ("maire", "adjoint", {"starts": NOW.replace(tzinfo=None)}, InvalidInput, "sans fuseau"),
        ("maire", "adjoint", {"reason": "x" * 501}, InvalidInput, "Motif trop long"),
    ],
)
def test_refused_delegations_say_why_in_french(
    db: MemoryDatabase,
    actor: str,
    deputy: str,
    period: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        _create(db, actor, deputy, **period)
    assert db.state.delegations == {} and db.state.journal[TENANT] == []


def test_an_administrator_records_it_for_someone_else_and_the_journal_names_both(
    db: MemoryDatabase,
) -> None:
    _create(db, "secretaire", "adjointe", reason="Arrêté n° 2026-12")
    (entry,) = db.state.journal[TENANT]
    assert entry.kind == "delegation.created" and entry.actor == "user:secretaire"
    assert entry.payload["mention"] == "Zoé Lefèvre par délégation de Marie Dupont"
    assert (
        entry.payload["delegant"] == "user:maire" and entry.payload["motif"] == "Arrêté n° 2026-12"
    )


def test_in_force_only_within_its_period_and_until_revoked(db: MemoryDatabase) -> None:
    delegation = delegate(db.uow, start_in=2 * DAY, lasts=5 * DAY)
    with db.uow() as uow:
        in_force = [
            delegations.delegators_of(uow, tenant=TENANT, deputy="adjoint", at=NOW + n * DAY)
            for n in (0, 2, 6, 7)
        ]
    # Not yet, from its start, still the day before its (exclusive) end, no longer.
    assert in_force == [[], ["maire"], ["maire"], []]
    with db.uow() as uow:
        with pytest.raises(Forbidden, match="Vous ne pouvez pas révoquer"):
            delegations.revoke_delegation(
                uow, tenant=TENANT, delegation_id=delegation.id, actor=person("dgs"), now=NOW
            )
        revoked = delegations.revoke_delegation(
            uow, tenant=TENANT, delegation_id=delegation.id, actor=person("adjoint"), now=NOW
        )
        again = delegations.revoke_delegation(
            uow, tenant=TENANT, delegation_id=delegation.id, actor=PLATFORM, now=NOW + DAY
        )
        uow.commit()
    assert revoked.revoked_at == NOW and revoked.revoked_by == "user:adjoint"
    assert again == revoked  # revoking twice changes nothing
    with db.uow() as uow:
        assert (
            delegations.delegators_of(uow, tenant=TENANT, deputy="adjoint", at=NOW + 3 * DAY) == []
        )
        # Still on both people's screens until its end.
        listed = delegations.delegations_of(uow, tenant=TENANT, login="maire", now=NOW)
    assert [d.id for d in listed] == [delegation.id]
    kinds = [e.kind for e in db.state.journal[TENANT]]
    assert kinds == ["delegation.created", "delegation.revoked"]


def test_expired_delegations_leave_the_screens(db: MemoryDatabase) -> None:
    delegate(db.uow, start_in=-10 * DAY, lasts=5 * DAY)
    current = delegate(db.uow, deputy="adjointe")
    with db.uow() as uow:
        mine = delegations.delegations_of(uow, tenant=TENANT, login="maire", now=NOW)
        assert [d.id for d in mine] == [current.id]
        assert delegations.delegators_of(uow, tenant=TENANT, deputy="adjoint", at=NOW) == []
