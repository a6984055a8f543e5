"""The archivist's pages: search with filters and keyset paging, package page, "vérifier
maintenant", DIP, audit reports, journal verification and the decisions due at the end of a DUA.

Search and journal tests run on packages recorded in the database; the package, audit and
decision tests run on packages really sealed into the SeaweedFS fixture with the dev PKI."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import event, inspect, update

from devstack.s3 import SeaweedServer
from engine.bootstrap import Platform
from engine.domain.archives import ARCHIVED, ArchivedPackage
from engine.jobs.archive_audits import audit_batch
from engine.persistence import tables as t
from engine.persistence.db import is_sqlite
from engine.persistence.tables import metadata
from engine.services import admin
from engine.services.archives.journal_checks import verify_journal
from engine.services.archives.search import SearchFilters, search_archives
from engine.services.archives.setup import archive_setup
from tests.engine.archives.conftest import (  # noqa: F401 (fixtures)
    PlatformFactory,
    archived_case,
    make_platform,
    package_of,
)
from tests.engine.archives.test_audits import _tamper_behind_s3
from tests.engine.archives.test_journal_completeness import _rewrite_from
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B, fixed_clock, start
from tests.web.support import PASSWORD, csrf_of, login
from web.app import create_app
from web.display import date_fr

ARCHIVES = f"/c/{SIREN_A}/archives"
ROW = re.compile(r'<td><a href="/c/\d+/archives/paquets/([^"]+)">')


def _add_archivists(platform: Platform) -> None:
    """An archivist of tenant B (`people` already has archiviste.a), and of A when missing."""
    with platform.uow() as uow:
        for username, tenant in (("archiviste.a", SIREN_A), ("archiviste.b", SIREN_B)):
            if uow.users.by_username(username) is not None:
                continue
            admin.create_user(
                uow,
                username=username,
                display_name=username.capitalize(),
                password=PASSWORD,
                tenant=tenant,
                roles=("archiviste",),
                actor=OPERATOR,
                now=platform.clock(),
            )
        uow.commit()


@pytest.fixture
def client_of(people: Platform) -> Iterator[Callable[[str], TestClient]]:
    """Clients logged in as the given user (the archivists are added by each test)."""
    clients: list[TestClient] = []
    app = create_app(platform=people)

    def make(username: str) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        login(client, username)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _recorded(platform: Platform, count: int) -> list[str]:
    """`count` archived packages of tenant A closed on successive days of 2024 (two on the same
    day, to page across a tie); every third mentions the canteen. Newest first."""
    cases = [start(platform, "arrete") for _ in range(count)]
    ids = []
    with platform.uow() as uow:
        for index, case in enumerate(cases):
            day = datetime(2024, 1, 1, 10, tzinfo=UTC) + timedelta(days=min(index, count - 2))
            typologie = "deliberation" if index % 2 else "arrete"
            package = ArchivedPackage(
                tenant=SIREN_A,
                package_id=f"paquet-{index:02d}",
                case_id=case.id,
                procedure="deliberation" if index % 2 else "arrete",
                typologie=typologie,
                title=f"Acte n° {index}",
                act_number=f"2024-{index:03d}",
                actes_id=None,
                closed_at=day,
                state="en_attente",
                dua_rule="DUA-TEST",
                dua_end=date(2034, 1, 1),
                final_action="Keep",
            )
            words = f"acte {index} {'tarifs cantine' if index % 3 == 0 else 'voirie'}"
            uow.archives.add_waiting(package, search_text=words, now=platform.clock())
            uow.archives.update(SIREN_A, package.package_id, platform.clock(), state=ARCHIVED)
            ids.append(package.package_id)
        uow.commit()
    # Newest first; the two packages of the last day by package id, descending.
    return sorted(ids, key=lambda i: (min(int(i[-2:]), count - 2), i), reverse=True)


def _ids(page: str) -> list[str]:
    return ROW.findall(page)


def _next(page: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', page)
    return html.unescape(found.group(1)) if found else None


def test_search_filters(people: Platform, client_of: Callable[[str], TestClient]) -> None:
    _add_archivists(people)
    every = _recorded(people, 12)
    archivist = client_of("archiviste.a")
    page = archivist.get(ARCHIVES).text
    assert _ids(page) == every and "12 paquet(s) correspondant(s)" in page
    assert "Archivés : 12" in page
    # Each package is reached by its title, not by its identifier.
    assert f'{ARCHIVES}/paquets/paquet-03">Acte n° 3</a>' in page
    assert ">paquet-03</a>" not in page
    # Every search field sits in the same grid cell shape: a label above its control.
    begin = page.index('class="filters-grid"')
    form = page[begin : page.index("</form>", begin)]
    assert form.count('<div class="field">') == 6 and 'type="search" id="q"' in form

    def found(**params: str) -> set[str]:
        response = archivist.get(ARCHIVES, params=params)
        assert response.status_code == 200, response.text
        return set(_ids(response.text))

    canteen = {f"paquet-{i:02d}" for i in range(12) if i % 3 == 0}
    assert found(q="cantine") == canteen
    assert found(q="TARIFS cantine") == canteen  # every word, any case
    assert found(q="cantine voirie") == set()
    assert found(typologie="deliberation") == {f"paquet-{i:02d}" for i in range(1, 12, 2)}
    assert found(procedure="arrete", q="cantine") == {"paquet-00", "paquet-06"}
    assert found(numero=" 2024-007 ") == {"paquet-07"}
    assert found(du="2024-01-03", au="2024-01-04") == {"paquet-02", "paquet-03"}
    assert found(du="2024-01-11") == {"paquet-10", "paquet-11"}  # the same day
    assert found(q="100%_") == set()  # LIKE wildcards are searched literally
    bad = archivist.get(ARCHIVES, params={"du": "03/01/2024"})
    assert bad.status_code == 422 and "Date invalide (format AAAA-MM-JJ attendu)." in bad.text
    # Another collectivité's archivist finds nothing of it, and cannot open its packages.
    other = client_of("archiviste.b")
    assert _ids(other.get(f"/c/{SIREN_B}/archives").text) == []
    assert other.get(f"/c/{SIREN_B}/archives/paquets/paquet-00").status_code == 404
    assert other.get(f"{ARCHIVES}/paquets/paquet-00").status_code == 404


def test_keyset_paging(people: Platform, client_of: Callable[[str], TestClient]) -> None:
    _add_archivists(people)
    every = _recorded(people, 12)
    archivist = client_of("archiviste.a")
    seen: list[str] = []
    url: str | None = f"{ARCHIVES}?taille=5"
    pages = 0
    while url is not None:
        page = archivist.get(url).text
        assert "12 paquet(s) correspondant(s)" in page
        assert ("Première page" in page) == (pages > 0)
        seen += _ids(page)
        url = _next(page)
        pages += 1
    assert pages == 3 and seen == every  # in order, no row twice, none missing
    # Paging keeps the filters.
    first = archivist.get(ARCHIVES, params={"typologie": "deliberation", "taille": "2"}).text
    second_url = _next(first)
    assert second_url is not None and "typologie=deliberation" in second_url
    assert _ids(archivist.get(second_url).text) == ["paquet-07", "paquet-05"]
    by_word = archivist.get(ARCHIVES, params={"q": "acte", "taille": "5"}).text
    assert "5 paquet(s) sur cette page, d'autres suivent" in html.unescape(by_word)
    last = archivist.get(_next(archivist.get(_next(by_word) or "").text) or "").text
    assert "2 paquet(s) sur cette page</caption>" in last and _next(last) is None
    bad = archivist.get(ARCHIVES, params={"apres": "hier|paquet-01"})
    assert bad.status_code == 422
    assert "Page de résultats invalide : relancez la recherche." in bad.text


def test_counts_are_capped(people: Platform) -> None:
    _add_archivists(people)
    _recorded(people, 7)
    with people.uow() as uow:
        capped = search_archives(uow, SIREN_A, SearchFilters(), page_size=2, count_cap=3)
        exact = search_archives(uow, SIREN_A, SearchFilters(typologie="deliberation"), count_cap=3)
        words = search_archives(uow, SIREN_A, SearchFilters(keywords="acte"), page_size=5)
        assert uow.archives.count_by_state(SIREN_A, cap=3) == {ARCHIVED: 4}
        assert uow.archives.count_by_state(SIREN_A) == {ARCHIVED: 7}
    assert capped.matching == 4 and capped.more_than_cap and len(capped.packages) == 2
    assert exact.matching == 3 and not exact.more_than_cap and exact.next_cursor is None
    # Keyword searches are not counted: the page only knows whether more follow.
    assert words.matching is None and len(words.packages) == 5 and words.next_cursor


def test_the_search_page_runs_a_constant_number_of_queries(
    people: Platform, client_of: Callable[[str], TestClient]
) -> None:
    _add_archivists(people)
    _recorded(people, 12)
    archivist = client_of("archiviste.a")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(people.db, "before_cursor_execute", record)
    try:
        counted = []
        for query in ("taille=2", "taille=12", "taille=2&q=cantine", "taille=12&q=acte"):
            statements.clear()
            assert archivist.get(f"{ARCHIVES}?{query}").status_code == 200
            counted.append(len(statements))
    finally:
        event.remove(people.db, "before_cursor_execute", record)
    # The same statements for 2 rows as for 12 (a keyword search is not counted: one fewer).
    assert counted[0] == counted[1] and counted[2] == counted[3] and max(counted) <= 14, (
        counted
    )  # 13: + the tenant clock; 14: + the versements the SAE refused (one statement)


def test_journal_verification_without_the_store_checks_the_chain_and_says_seals_unchecked(
    people: Platform, client_of: Callable[[str], TestClient]
) -> None:
    _add_archivists(people)
    start(people, "arrete")
    archivist = client_of("archiviste.a")
    token = csrf_of(archivist.get(ARCHIVES).text)
    intact = archivist.post(f"{ARCHIVES}/journal/verifier", data={"csrf_token": token})
    assert intact.status_code == 200 and "sceaux non vérifiés" in intact.text
    assert "Journal intègre" not in intact.text  # the chain alone proves nothing
    with people.uow() as uow:
        uow.connection.execute(
            update(t.journal)
            .where(t.journal.c.tenant == SIREN_A, t.journal.c.seq == 2)
            .values(actor="user:faussaire")
        )
        uow.commit()
    altered = archivist.post(f"{ARCHIVES}/journal/verifier", data={"csrf_token": token})
    assert "Journal altéré" in altered.text and "Entrée n° 2" in altered.text
    refused = archivist.post(f"{ARCHIVES}/journal/verifier", data={})
    assert refused.status_code == 403
    # The API says the same: the chain alone is never « intact ».
    api = _api_verify(archivist)
    assert api["complete"] is False and api["intact"] is False and api["unavailable"]
    assert [f["seq"] for f in api["findings"]] == [2]


def _api_verify(client: TestClient) -> dict[str, Any]:
    token = client.post("/api/auth/token", auth=("archiviste.a", PASSWORD)).json()
    response = client.post(
        f"/api/tenants/{SIREN_A}/journal/verify",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.integration
def test_journal_page_runs_the_full_check_and_finds_a_consistent_rewrite(
    make_platform: PlatformFactory,  # noqa: F811
) -> None:
    """The page checks what `audit verify` checks: a journal rewritten consistently in the
    database (hashes recomputed, head row moved) passes the chain alone but not the seals."""
    p = make_platform()
    _add_archivists(p)
    archived_case(p)
    client, token = _archivist(p)
    try:
        intact = client.post(f"{ARCHIVES}/journal/verifier", data={"csrf_token": token}).text
        assert "Journal intègre" in intact and "sceau(x) horodaté(s) vérifié(s)" in intact
        api = _api_verify(client)
        assert api["complete"] and api["intact"] and api["seals_verified"] >= 1
        unsealed = re.search(r"Entrées pas encore scellées : <strong>(\d+)</strong>", intact)
        assert unsealed is not None and int(unsealed.group(1)) >= 1  # the logins since
        with p.db.begin() as conn:
            _rewrite_from(conn, SIREN_A, 2)
        with p.uow() as uow:
            assert verify_journal(uow, SIREN_A).intact  # the old chain-only check saw nothing
        altered = client.post(f"{ARCHIVES}/journal/verifier", data={"csrf_token": token}).text
        assert "Journal altéré" in altered
        assert "ne correspondent plus à la racine" in html.unescape(altered), altered
        api = _api_verify(client)  # the API runs the same full check
        assert api["complete"] is True and api["intact"] is False
        assert any("ne correspondent plus à la racine" in f["problem"] for f in api["findings"])
    finally:
        client.__exit__(None, None, None)


# Packages really sealed into the object store --------------------------------------------------


def _archivist(platform: Platform) -> tuple[TestClient, str]:
    client = TestClient(create_app(platform=platform), follow_redirects=False)
    client.__enter__()
    return client, login(client, "archiviste.a")


@pytest.mark.integration
def test_package_page_verify_now_dip_and_audit_report(
    make_platform: PlatformFactory,  # noqa: F811
    s3_server: SeaweedServer,
) -> None:
    p = make_platform()
    _add_archivists(p)
    package = package_of(p, archived_case(p, title="budget-primitif.pdf"))
    assert package is not None and package.objects and package.retain_until
    client, token = _archivist(p)
    try:
        url = f"{ARCHIVES}/paquets/{package.package_id}"
        page = client.get(url).text
        for item in package.objects:  # every file with its digest
            assert item["key"] in page and item["sha512"] in page
        assert "(manifeste)" in page
        assert package.seal_sha512 and package.seal_sha512 in page
        # The lock's end in French long form, as every other date (« 31 décembre 2036 »).
        assert f"avant le {date_fr(package.retain_until)}" in page and "mode conformité" in page
        assert package.retain_until.strftime("%d/%m/%Y") not in page
        assert "Rapports de validation des signatures" in page and ": valide (" in page
        assert date_fr(package.dua_end) in page  # « 31 décembre 2036 »
        verified = client.post(f"{url}/verifier", data={"csrf_token": token})
        assert verified.status_code == 200 and "Paquet intègre" in verified.text
        assert re.search(r"horodaté le \d{1,2} \w+ \d{4} à \d{1,2} h \d{2}", verified.text)
        dip = client.get(f"{url}/dip")
        assert dip.status_code == 200 and dip.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(dip.content)) as archive:
            names = archive.namelist()
        assert any(name.endswith(".pdf") for name in names), names
        # Bytes changed behind S3's back: "verify now" and the audit both see it.
        setup = archive_setup(p.settings)
        document = next(o["key"] for o in package.objects if "/data/documents/" in o["key"])
        _tamper_behind_s3(s3_server, setup.bucket(SIREN_A), document, b"%PDF-1.7 falsified")
        tampered = client.post(f"{url}/verifier", data={"csrf_token": token}).text
        assert "Paquet NON intègre" in tampered and "anomalie(s)" in tampered
        run = audit_batch(p.uow, setup, SIREN_A, now=p.clock())
        assert run is not None and run.finished_at is not None and run.findings_count > 0
        listing = client.get(ARCHIVES).text
        assert f"{ARCHIVES}/audits/{run.id}" in listing
        assert f"{run.findings_count} anomalie(s)" in listing
        report = client.get(f"{ARCHIVES}/audits/{run.id}").text
        assert "Anomalies relevées" in report and package.package_id in report
        assert client.get(f"{ARCHIVES}/audits/{p.clock():%Y}0000").status_code == 422
    finally:
        client.__exit__(None, None, None)


@pytest.mark.integration
def test_retention_decisions_awaiting_approval(
    make_platform: PlatformFactory,  # noqa: F811
) -> None:
    # Closed in 2020 with a one-year DUA: the decision is due and the lock has expired.
    past = make_platform(clock=fixed_clock(datetime(2020, 1, 6, 9, tzinfo=UTC)))
    _add_archivists(past)
    doomed = package_of(past, archived_case(past, title="a-eliminer.pdf", years=1))
    kept = package_of(past, archived_case(past, title="a-garder.pdf", years=1))
    assert doomed is not None and kept is not None
    now = make_platform()
    fresh = package_of(now, archived_case(now, title="recent.pdf", years=10))
    assert fresh is not None
    client, token = _archivist(now)
    try:
        listing = client.get(ARCHIVES).text
        due = listing.split("Sort final à décider", 1)[1]
        assert doomed.package_id in due and kept.package_id in due
        assert fresh.package_id not in due

        def decide(package_id: str, files: Any = None, **form: str) -> str:
            url = f"{ARCHIVES}/paquets/{package_id}"
            response = client.post(
                f"{url}/sort-final", data={"csrf_token": token, **form}, files=files
            )
            assert response.status_code == 303 and response.headers["location"] == url
            return html.unescape(client.get(url).text)

        page = decide(fresh.package_id, decision="destroy")
        assert "Décision non appliquée : La durée d'utilité administrative" in page
        page = decide(doomed.package_id, decision="oublier")
        assert "Décision non appliquée : Décision inconnue « oublier »." in page
        page = decide(kept.package_id, decision="extend", annees="5", commentaire="Contentieux")
        assert "DUA prolongée jusqu'au" in page and "(Contentieux)" in page
        page = decide(doomed.package_id, decision="destroy", commentaire="Visa du DGS")
        assert "le visa d'élimination des Archives départementales" in page
        visa = {"visa_bordereau": ("visa.pdf", b"%PDF-1.7\n% visa\n", "application/pdf")}
        page = decide(
            doomed.package_id,
            visa,
            decision="destroy",
            commentaire="Visa du DGS",
            visa_reference="AD-2026-7",
            visa_date="2026-01-05",
        )
        assert "Éliminé ; bordereau d'élimination" in page
        after = client.get(ARCHIVES).text
        assert "Sort final à décider" not in after
        assert "Éliminés : 1" in after
    finally:
        client.__exit__(None, None, None)


def test_the_search_indexes_are_migrated_as_declared(people: Platform) -> None:
    with people.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
        indexes = {i["name"] for i in inspect(conn).get_indexes("archive_packages")}
    assert "ix_archive_packages_closed" not in indexes  # replaced by ix_archive_packages_recent
    assert {"ix_archive_packages_recent", "ix_archive_packages_typologie"} <= indexes
    found = [repr(d) for d in differences if "archive_packages" in repr(d)]
    if is_sqlite(people.db):
        # The trigram index is PostgreSQL's only (`ddl_if`); SQLite scans the tenant's rows.
        assert len(found) == 1 and "ix_archive_packages_text" in found[0], found
        assert "ix_archive_packages_text" not in indexes
    else:
        assert found == [] and "ix_archive_packages_text" in indexes
