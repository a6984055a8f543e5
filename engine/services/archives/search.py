"""The archivist's search over a tenant's archived records, with keyset paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from engine.domain.archives import (
    ARCHIVED,
    TRANSFERRED,
    ArchivedPackage,
)
from engine.domain.errors import InvalidInput, NotFound
from engine.persistence.uow import UnitOfWork

SEARCH_PAGE_SIZE = 50
SEARCH_COUNT_CAP = 1000
"""A result list counts its matches up to this number only ("plus de 1000 résultats")."""


@dataclass(frozen=True)
class SearchFilters:
    """The archivist's search criteria, as typed in the search form."""

    procedure: str = ""
    typologie: str = ""
    act_number: str = ""
    closed_from: date | None = None
    closed_to: date | None = None
    keywords: str = ""
    """Words that must all appear in the record's text (title, act, parties…)."""
    include_waiting: bool = True

    def query(self) -> dict[str, Any]:
        """The repository's keyword arguments (dates as a half-open UTC interval)."""
        start = self.closed_from
        end = self.closed_to + timedelta(days=1) if self.closed_to else None
        return {
            "procedure": self.procedure.strip() or None,
            "typologie": self.typologie.strip() or None,
            "act_number": self.act_number.strip().upper() or None,
            "closed_from": datetime.combine(start, time(0), tzinfo=UTC) if start else None,
            "closed_to": datetime.combine(end, time(0), tzinfo=UTC) if end else None,
            "words": [w for w in self.keywords.lower().split() if w][:10],
            "states": () if self.include_waiting else (ARCHIVED, TRANSFERRED),
        }


@dataclass(frozen=True)
class SearchPage:
    """One page of results, most recently closed first."""

    packages: list[ArchivedPackage]
    matching: int | None
    """Number of matching packages, counted up to `cap + 1` only; None when not counted
    (keyword searches: counting would read the text of every matching record)."""
    cap: int
    next_cursor: str | None
    """Where the next page starts (None on the last page)."""

    @property
    def more_than_cap(self) -> bool:
        return self.matching is not None and self.matching > self.cap


def search_packages(
    uow: UnitOfWork,
    tenant: str,
    *,
    procedure: str | None = None,
    act_number: str | None = None,
    closed_from: date | None = None,
    closed_to: date | None = None,
    keywords: str = "",
    include_waiting: bool = True,
    limit: int = 100,
) -> list[ArchivedPackage]:
    """Archived records of one tenant by procedure, act number, closing dates and keywords."""
    filters = SearchFilters(
        procedure=procedure or "",
        act_number=act_number or "",
        closed_from=closed_from,
        closed_to=closed_to,
        keywords=keywords,
        include_waiting=include_waiting,
    )
    return uow.archives.search(tenant, **filters.query(), limit=min(max(limit, 1), 500))


def _cursor(package: ArchivedPackage) -> str:
    return f"{package.closed_at.astimezone(UTC).isoformat()}|{package.package_id}"


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    moment, _, package_id = cursor.partition("|")
    try:
        closed_at = datetime.fromisoformat(moment)
    except ValueError:
        closed_at = None
    if closed_at is None or closed_at.tzinfo is None or not package_id:
        raise InvalidInput("Page de résultats invalide : relancez la recherche.")
    return closed_at, package_id


def search_archives(
    uow: UnitOfWork,
    tenant: str,
    filters: SearchFilters,
    *,
    after: str = "",
    page_size: int = SEARCH_PAGE_SIZE,
    count_cap: int = SEARCH_COUNT_CAP,
) -> SearchPage:
    """One page of the archivist's search: keyset paging (`after` is the previous page's
    `next_cursor`) and a capped count, so that the page costs the same with a thousand
    records or a million (bench/bench_archive_search.py). Keyword searches are not counted:
    a frequent word in a large collectivité would mean reading a thousand texts per page."""
    query = filters.query()
    size = min(max(page_size, 1), 200)
    rows = uow.archives.search(
        tenant,
        **query,
        after=_parse_cursor(after) if after else None,
        summary=True,
        limit=size + 1,
    )
    matching = (
        None if query["words"] else uow.archives.count_matching(tenant, **query, cap=count_cap)
    )
    more = len(rows) > size
    packages = rows[:size]
    return SearchPage(packages, matching, count_cap, _cursor(packages[-1]) if more else None)


def stored_package(uow: UnitOfWork, tenant: str, package_id: str) -> ArchivedPackage:
    """The tenant's archived or transferred package; :class:`NotFound` for any other."""
    package = uow.archives.get(tenant, package_id)
    if package is None or package.state not in (ARCHIVED, TRANSFERRED):
        raise NotFound("Paquet d'archives introuvable.")
    return package
