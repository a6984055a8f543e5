"""The tenant clock rule, in one place: a training tenant's "now" is the real time plus its offset.

Entry points take the real time from the platform clock; whatever works for one tenant's cases
asks here for that tenant's time (`tenant_now`) or enters its clock (`on_tenant_clock`), so the
request edge, the job runner and the periodic jobs all read the same time for the same tenant.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.domain.errors import Conflict, InvalidInput, NotFound
from engine.domain.french import PARIS
from engine.domain.model import Actor
from engine.domain.training import TenantClock
from engine.persistence.uow import UnitOfWork

__all__ = [
    "ClockMove",
    "TimerDue",
    "add_months",
    "end_training",
    "make_training",
    "move_target",
    "tenant_clock",
    "tenant_now",
    "training_tenants",
    "upcoming_timers",
]


@dataclass(frozen=True)
class TimerDue:
    """A timer waiting in a case of the tenant."""

    case_id: str
    reference: str
    title: str
    name: str
    due_at: datetime


@dataclass(frozen=True)
class ClockMove:
    """How a trainer asked to move the clock: by a duration or to a date."""

    by: timedelta | None = None
    months: int = 0
    """Calendar months, in Europe/Paris (the same day of the month, or the month's last)."""
    to: datetime | None = None


def tenant_clock(uow: UnitOfWork, tenant: str) -> TenantClock:
    """The tenant's clock: the real one unless the tenant is a training space."""
    return uow.tenants.clock(tenant)


def training_tenants(uow: UnitOfWork) -> set[str]:
    """The SIRENs of the training spaces."""
    return set(uow.tenants.training_clocks())


def tenant_now(uow: UnitOfWork, tenant: str, real_now: datetime) -> datetime:
    """The tenant's time at the real instant `real_now`."""
    return tenant_clock(uow, tenant).now(real_now)


def make_training(uow: UnitOfWork, *, tenant: str, actor: Actor, now: datetime) -> None:
    """Flag the tenant as a training space (espace de formation), its clock at the real time.

    Refused for a tenant that already sent acts to the prefecture: they are real acts, and a
    training space's acts, pages and PDFs are fictitious (marked FORMATION)."""
    if uow.tenants.get(tenant) is None:
        raise NotFound("Collectivité inconnue.")
    if uow.tenants.clock(tenant).training:
        return
    sent = uow.actes.count_sent(tenant)
    if sent:
        raise Conflict(
            f"Cette collectivité a déjà transmis {sent} acte(s) réel(s) à la préfecture : "
            "elle ne peut pas devenir un espace de formation, dont les actes sont fictifs. "
            "Créez plutôt une collectivité dédiée à la formation."
        )
    uow.tenants.set_clock(tenant, TenantClock(training=True))
    uow.journal.append(
        tenant=tenant,
        kind="tenant.training",
        case_id=None,
        actor=actor.user_id,
        payload={},
        now=now,
    )


def end_training(uow: UnitOfWork, *, tenant: str, actor: Actor, now: datetime) -> None:
    """Take the training flag off a tenant flagged by mistake, before it was used.

    Refused once it holds cases (fictitious ones would mix with real ones) or once its clock
    was moved (its dates would go back to the real time)."""
    if uow.tenants.get(tenant) is None:
        raise NotFound("Collectivité inconnue.")
    clock = uow.tenants.clock(tenant)
    if not clock.training:
        return
    _first, cases = uow.cases.search(tenant, limit=1)
    if cases:
        raise Conflict(
            f"Cet espace de formation contient {cases} dossier(s) fictif(s) : il ne peut pas "
            "redevenir une collectivité réelle, ses dossiers se mêleraient aux vrais. "
            "Créez une autre collectivité pour le service réel."
        )
    if clock.offset:
        raise Conflict(
            "L'horloge de cet espace de formation a été avancée : le quitter ferait reculer ses "
            "dates. Créez une autre collectivité pour le service réel."
        )
    uow.tenants.set_clock(tenant, TenantClock())
    uow.journal.append(
        tenant=tenant,
        kind="tenant.training_ended",
        case_id=None,
        actor=actor.user_id,
        payload={},
        now=now,
    )


def move_target(clock: TenantClock, move: ClockMove, real_now: datetime) -> datetime:
    """The tenant time a trainer's move leads to; refused when it goes back or stands still."""
    if not clock.training:
        raise InvalidInput("Seul un espace de formation peut avancer son horloge.")
    current = clock.now(real_now)
    if move.months > 0:
        return add_months(current, move.months)
    if move.by is not None:
        if move.by <= timedelta(0):
            raise InvalidInput("L'horloge de formation ne peut qu'avancer.")
        return current + move.by
    if move.to is None:
        raise InvalidInput("Indiquez une durée ou une date.")
    if move.to <= current:
        raise InvalidInput(
            "L'horloge de formation ne recule jamais : choisissez une date postérieure "
            "à la date du jour de formation."
        )
    return move.to


def add_months(moment: datetime, months: int) -> datetime:
    """The same local time `months` calendar months later, in Europe/Paris."""
    local = moment.astimezone(PARIS)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def upcoming_timers(uow: UnitOfWork, tenant: str, *, limit: int = 20) -> list[TimerDue]:
    """The tenant's waiting timers, the earliest first."""
    found = []
    for case_id, name, due_at in uow.cases.tenant_timers(tenant, limit):
        case = uow.cases.get(tenant, case_id)
        found.append(TimerDue(str(case_id), case.reference, case.title, name, due_at))
    return found
