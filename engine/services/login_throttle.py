"""Login throttling shared by every web process: attempts are counted in the database.

Each attempt is counted (atomic upsert) before its password is checked, then the counts of the
last quarter hour are read: concurrent attempts on one account serialize on the same row, so
the limits are strict bounds whatever the number of web processes. A successful login forgets
the account's attempts and does not count against its address.

Following OWASP's guidance against lock-out abuse, an account is limited per source address
(`per_account`: guessing from one address stops after a few attempts, and nobody else is
locked out by it) and, much higher, across all addresses (`per_account_total`: a distributed
guess stops too); a browser where the account logged in before (a known-device cookie) is not
held by the account-wide limit, so the owner still logs in while the account is under attack.

On top of the counts, consecutive failures of one account from one source are slowed down
progressively (OWASP "Authentication Cheat Sheet": increasing delays): after `free_failures`
failures each new attempt waits 1, 2, 4, 8... seconds (at most `max_delay`) after the last
failure. No server thread sleeps: an attempt made too early is refused at once with the time
left (« Réessayez dans N secondes »), and is not counted. A known device has a delay of its own,
so an attacker's failures from the same address do not slow its owner down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.persistence.uow import UnitOfWork

__all__ = [
    "ThrottlePolicy",
    "begin_attempt",
    "delay_after",
    "record_failed_login",
    "record_failure",
    "record_success",
    "retry_after",
]

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many login attempts are allowed, per account and per client address."""

    per_account: int = 5
    """Attempts allowed for one username from one address in `window` (a success clears
    them)."""
    per_account_total: int = 50
    """Attempts allowed for one username from every address together in `window`, except
    from a known device."""
    per_address: int = 20
    """Failed attempts allowed from one client address in `window`."""
    window: timedelta = timedelta(minutes=15)
    """How far back attempts count."""
    slot: timedelta = timedelta(minutes=1)
    """Granularity of the counts (one row per key and slot)."""
    free_failures: int = 2
    """Consecutive failures (one account, one source) before attempts are delayed."""
    max_delay: int = 60
    """Longest delay between attempts, in seconds; 0 turns progressive delays off."""


def delay_after(policy: ThrottlePolicy, failures: int) -> int:
    """Seconds an attempt waits after `failures` consecutive failures: 0, 0, 1, 2, 4, 8...
    (with the default two free failures), capped at `max_delay`."""
    if policy.max_delay <= 0 or failures < policy.free_failures:
        return 0
    return min(1 << min(failures - policy.free_failures, 30), policy.max_delay)


def _delay_key(username: str, address: str, known_device: bool) -> str:
    return f"u:{username}|{address}" + ("|appareil" if known_device else "")


def _delay_wait(uow: UnitOfWork, policy: ThrottlePolicy, key: str, now: datetime) -> int:
    """Seconds before the next attempt of `key` is allowed by its progressive delay."""
    found = uow.login_failures.get(key)
    if found is None:
        return 0
    failures, last = found
    if now - last > policy.window:  # no longer consecutive: forgotten
        return 0
    ready = last + timedelta(seconds=delay_after(policy, failures))
    return max(0, math.ceil((ready - now).total_seconds()))


def _slot(policy: ThrottlePolicy, moment: datetime) -> datetime:
    return _EPOCH + ((moment - _EPOCH) // policy.slot) * policy.slot


def _limits(
    policy: ThrottlePolicy, username: str, address: str, *, known_device: bool = False
) -> list[tuple[str, int]]:
    """(key, limit) pairs, always in the same order: the account from this address, the
    address, then the account from everywhere (not checked from a known device)."""
    limits = [
        (f"u:{username}|{address}", policy.per_account),
        (f"a:{address}", policy.per_address),
    ]
    if not known_device:
        limits.append((f"u:{username}", policy.per_account_total))
    return limits


def _wait(
    policy: ThrottlePolicy, slots: Sequence[tuple[datetime, int]], limit: int, now: datetime
) -> int:
    """Seconds until fewer than `limit` attempts remain in the window; 0 if already so."""
    remaining = sum(count for _, count in slots)
    for start, count in slots:
        if remaining < limit:
            break
        remaining -= count
        if remaining < limit:
            leaves = start + policy.slot + policy.window
            return max(1, math.ceil((leaves - now).total_seconds()))
    return 0


def _counts(
    uow: UnitOfWork, policy: ThrottlePolicy, keys: Sequence[str], now: datetime
) -> dict[str, list[tuple[datetime, int]]]:
    return uow.login_attempts.slots(keys, since=_slot(policy, now - policy.window))


def retry_after(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    *,
    username: str,
    address: str,
    now: datetime,
    known_device: bool = False,
) -> int:
    """Seconds to wait before a new attempt is allowed; 0 when it is (nothing is written)."""
    limits = _limits(policy, username, address, known_device=known_device)
    counts = _counts(uow, policy, [key for key, _ in limits], now)
    waits = [_wait(policy, counts[key], limit, now) for key, limit in limits]
    return max(*waits, _delay_wait(uow, policy, _delay_key(username, address, known_device), now))


def begin_attempt(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    *,
    username: str,
    address: str,
    now: datetime,
    known_device: bool = False,
) -> int:
    """Count an attempt before its password is checked: 0 to go ahead, else the seconds to
    wait (the attempt is refused and not counted). Also forgets the slots that no longer
    count. The caller commits at once, so that other processes see the attempt.

    An attempt made before the progressive delay of its account and source ran out is refused
    the same way (the count limits stay the strict bound under concurrency)."""
    delayed = _delay_wait(uow, policy, _delay_key(username, address, known_device), now)
    if delayed:
        return delayed
    slot = _slot(policy, now)
    limits = _limits(policy, username, address, known_device=known_device)
    for key, _ in limits:  # always in the same order: no deadlock between two attempts
        uow.login_attempts.add(key, slot)
    counts = _counts(uow, policy, [key for key, _ in limits], now)
    over = [key for key, limit in limits if sum(n for _, n in counts[key]) > limit]
    wait = 0
    if over:
        for key, limit in limits:
            uow.login_attempts.add(key, slot, -1)
            undone = [(s, n - 1 if s == slot else n) for s, n in counts[key]]
            wait = max(wait, _wait(policy, undone, limit, now))
    uow.login_attempts.purge(_slot(policy, now - policy.window))
    return wait


def record_success(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    *,
    username: str,
    address: str,
    now: datetime,
    known_device: bool = False,
) -> None:
    """After a correct password: forget the account's attempts from this address and, unless
    they came from a known device (which the account-wide count did not see), one from
    everywhere; the address keeps only its failures (many agents behind one address log in
    all day)."""
    pair, (address_key, _), *everywhere = _limits(
        policy, username, address, known_device=known_device
    )
    uow.login_attempts.clear(pair[0])
    uow.login_failures.clear(_delay_key(username, address, known_device))
    uow.login_attempts.add(address_key, _slot(policy, now), -1)
    for key, _ in everywhere:
        uow.login_attempts.add(key, _slot(policy, now), -1)


def record_failure(
    uow: UnitOfWork, policy: ThrottlePolicy, *, username: str, address: str, now: datetime
) -> None:
    """A failed check that did not go through `begin_attempt` (re-authentication to sign)."""
    slot = _slot(policy, now)
    for key, _ in _limits(policy, username, address):
        uow.login_attempts.add(key, slot)
    record_failed_login(uow, policy, username=username, address=address, now=now)


def record_failed_login(
    uow: UnitOfWork,
    policy: ThrottlePolicy,
    *,
    username: str,
    address: str,
    now: datetime,
    known_device: bool = False,
) -> None:
    """A wrong password or code: one more consecutive failure for the account and source
    (the next attempt is delayed once they pass `free_failures`)."""
    uow.login_failures.purge(now - policy.window)
    uow.login_failures.fail(_delay_key(username, address, known_device), now)
