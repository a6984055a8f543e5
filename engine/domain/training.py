"""Training tenants (espace de formation): the tenant's own clock and the ambient training mark.

A training tenant's cases run on a clock of their own: the real time plus an offset that a
trainer moves forward (never back), so the offset only grows and the tenant's time keeps the
order in which things really happen. The request or job working for such a tenant enters
`on_tenant_clock`; what takes "now" from the platform clock (the request edge, the job runner)
then reads the tenant's time, and what renders documents sees that it works for a training
tenant (every PDF is marked FORMATION).
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

__all__ = [
    "REAL_CLOCK",
    "TRAINING_MARK",
    "TenantClock",
    "current_clock",
    "goes_outside",
    "in_training",
    "on_tenant_clock",
    "real_time",
    "shifted",
    "training_reference",
]

TRAINING_MARK = "FORMATION"
"""The word every page and document of a training tenant carries."""


@dataclass(frozen=True)
class TenantClock:
    """How a tenant tells the time: `training` tenants add `offset` to the real time."""

    training: bool = False
    """Whether the tenant is a training space (fictitious acts, simulated outside services)."""
    offset: timedelta = timedelta(0)
    """How far ahead of the real time the tenant's clock stands; zero for real tenants."""

    def now(self, real_now: datetime) -> datetime:
        """The tenant's time at the real instant `real_now` (aware, UTC)."""
        if real_now.tzinfo is None:
            raise ValueError("the tenant clock needs an aware time")
        return real_now.astimezone(UTC) + self.offset

    def moved_to(self, target: datetime, real_now: datetime) -> TenantClock:
        """The clock set so that its time at `real_now` is `target`; never backwards."""
        if not self.training:
            raise ValueError("only a training tenant's clock moves")
        wanted = target.astimezone(UTC) - real_now.astimezone(UTC)
        return TenantClock(True, max(self.offset, wanted))


REAL_CLOCK = TenantClock()

_CURRENT: contextvars.ContextVar[TenantClock] = contextvars.ContextVar(
    "dematflow_tenant_clock", default=REAL_CLOCK
)


def current_clock() -> TenantClock:
    """The clock of the tenant the current request or job works for (the real one by default)."""
    return _CURRENT.get()


def in_training() -> bool:
    """Whether the current request or job works for a training tenant."""
    return _CURRENT.get().training


TRAINING_PREFIX = "FORM-"
"""Before every reference of a training tenant's dossiers: its numbers run like a real
tenant's, and a trainee must never take a training dossier for a real one."""


def training_reference(reference: str) -> str:
    """`reference` as the current tenant shows it: prefixed ``FORM-`` in a training space."""
    return f"{TRAINING_PREFIX}{reference}" if in_training() else reference


def shifted(real_now: datetime) -> datetime:
    """`real_now` as the current tenant's clock reads it."""
    return _CURRENT.get().now(real_now)


@contextlib.contextmanager
def on_tenant_clock(clock: TenantClock) -> Iterator[None]:
    """Within this block, the platform clock reads `clock`'s time and documents are marked
    when `clock` is a training one."""
    token = _CURRENT.set(clock)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def real_time(clock: Callable[[], datetime]) -> datetime:
    """What `clock` reads outside any tenant's clock: the real time (never shifted twice)."""
    with on_tenant_clock(REAL_CLOCK):
        return clock()


def goes_outside(address: str) -> bool:
    """Whether `address` (a URL or a host) leaves this machine: a training tenant's acts and
    mails go only to the simulators and the mail drop, which listen on the loopback."""
    host = urlsplit(address).hostname if "//" in address else address.rsplit(":", 1)[0]
    if not host or host == "localhost":
        return not host
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True
