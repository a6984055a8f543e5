"""Every upload path runs the same intake, and every PDF response is sandboxed.

Paths: the API (`POST /api/tenants/{t}/documents`), the agent's case page, the citizen form and
the pieces sent from the citizen's status link. Hostile files: a 1 GiB XMP decompression bomb,
a deeply nested PDF (RecursionError bait), a PDF without cross-reference, active content.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from collections.abc import Callable

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from engine.bootstrap import Platform
from signatures.active_content import find_active_content
from signatures.sandbox import UNSAFE
from tests.engine.support import SIREN_A, start
from tests.signatures.hostile_pdfs import (
    GIB,
    deeply_nested,
    metadata_bomb,
    with_active_content,
    without_xref,
)
from tests.signatures.pdfs import make_pdf
from tests.web.support import PASSWORD, csrf_of
from tests.web.test_citizen import (
    FORM,
    _acknowledged,
    _ask_for_pieces,
    _run_jobs,
    _valid,
)
from web.app import create_app

Login = Callable[[str], tuple[TestClient, str]]
API = f"/api/tenants/{SIREN_A}/documents"
NESTED = f"{UNSAFE} : sa structure est imbriquée trop profondément."
HOSTILE = {
    "bombe-xmp": (lambda: metadata_bomb(GIB), f"{UNSAFE} : ses métadonnées XMP dépassent"),
    "imbrication": (deeply_nested, NESTED),
    "sans-xref": (without_xref, "Le document PDF est corrompu ou illisible."),
}
ACTIVE = "Ce PDF contient du contenu actif"


def _auth(username: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _count(platform: Platform, table: str) -> int:
    with platform.uow() as uow:
        return int(uow.connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _assert_sandboxed(response: object, *, inline: bool) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-type"] == "application/pdf"
    assert headers["content-security-policy"] == "sandbox"
    assert headers["x-content-type-options"] == "nosniff"
    expected = "inline;" if inline else "attachment;"
    assert headers["content-disposition"].startswith(expected), headers["content-disposition"]


def _active_content(pdf: bytes) -> tuple[str, ...]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return find_active_content(document)


# -- API -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_api_refuses_hostile_pdfs_with_a_french_problem(
    web: TestClient, people: Platform, kind: str
) -> None:
    make, message = HOSTILE[kind]
    documents = _count(people, "documents")
    refused = web.post(
        API, headers=_auth("agent.a"), files={"fichier": ("piece.pdf", make(), "application/pdf")}
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"].startswith(message)
    assert _count(people, "documents") == documents


def test_the_api_removes_active_content_flags_it_and_serves_attachments(
    web: TestClient, people: Platform
) -> None:
    hostile = with_active_content()
    assert _active_content(hostile)
    created = web.post(
        API, headers=_auth("agent.a"), files={"fichier": ("piege.pdf", hostile, "application/pdf")}
    )
    assert created.status_code == 201, created.text
    reference = created.json()
    assert "JavaScript à l'ouverture (/OpenAction)" in reference["contenu_actif_retire"]
    assert "lancement d'un programme (/Launch)" in reference["contenu_actif_retire"]
    back = web.get(f"{API}/{reference['id']}", headers=_auth("agent.a"))
    assert back.status_code == 200
    _assert_sandboxed(back, inline=False)
    assert back.content != hostile and _active_content(back.content) == ()
    assert back.headers["digest"] == f"sha-256={reference['sha256']}"
    with people.uow() as uow:
        kinds = uow.connection.execute(
            text("SELECT payload FROM journal WHERE kind = 'document.active_content_removed'")
        ).all()
    assert len(kinds) == 1 and reference["id"] in str(kinds[0][0])

    plain = make_pdf()
    created = web.post(
        API, headers=_auth("agent.a"), files={"fichier": ("simple.pdf", plain, "application/pdf")}
    )
    assert created.json()["contenu_actif_retire"] == []
    back = web.get(f"{API}/{created.json()['id']}", headers=_auth("elu.a"))
    assert back.content == plain  # a clean file is stored as sent
    _assert_sandboxed(back, inline=False)


# -- agent pages -----------------------------------------------------------------------------


def _case_documents(people: Platform, case_id: uuid.UUID) -> list[uuid.UUID]:
    with people.uow() as uow:
        return [d.id for d in uow.documents.for_case(SIREN_A, case_id)]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_case_page_refuses_hostile_pdfs_in_french(
    browser_as: Login, people: Platform, kind: str
) -> None:
    make, message = HOSTILE[kind]
    client, token = browser_as("agent.a")
    case = start(people, "arrete")
    refused = client.post(
        f"/c/{SIREN_A}/dossiers/{case.id}/documents",
        data={"csrf_token": token},
        files={"fichier": ("piece.pdf", make(), "application/pdf")},
    )
    assert refused.status_code == 422
    assert message.replace("'", "&#39;") in refused.text
    assert _case_documents(people, case.id) == []


def test_the_case_page_removes_active_content_and_says_so(
    browser_as: Login, people: Platform
) -> None:
    client, token = browser_as("agent.a")
    case = start(people, "arrete")
    url = f"/c/{SIREN_A}/dossiers/{case.id}"
    done = client.post(
        f"{url}/documents",
        data={"csrf_token": token},
        files={"fichier": ("piege.pdf", with_active_content(), "application/pdf")},
    )
    assert done.status_code == 303, done.text
    page = client.get(url).text
    assert "Contenu actif retiré : " in page and "/OpenAction" in page
    [document_id] = _case_documents(people, case.id)
    shown = client.get(f"/c/{SIREN_A}/documents/{document_id}/pdf")
    _assert_sandboxed(shown, inline=True)  # the viewer, the one inline PDF
    assert _active_content(shown.content) == ()


# -- citizen form and status link ------------------------------------------------------------


def _submit(client: TestClient, pdf: bytes) -> object:
    token = csrf_of(client.get(FORM).text)
    return client.post(
        FORM,
        data={**_valid(), "csrf_token": token},
        files=[("pieces", ("piece.pdf", pdf, "application/pdf"))],
    )


@pytest.mark.parametrize("kind", [*sorted(HOSTILE), "contenu-actif"])
def test_the_citizen_form_refuses_hostile_pdfs_and_files_nothing(
    people: Platform, kind: str
) -> None:
    make, message = HOSTILE.get(kind, (with_active_content, ACTIVE))
    with TestClient(create_app(platform=people), follow_redirects=False) as client:
        before = {t: _count(people, t) for t in ("documents", "cases", "public_requests")}
        refused = _submit(client, make())
        assert refused.status_code == 422  # type: ignore[attr-defined]
        html = refused.text  # type: ignore[attr-defined]
        assert f"« piece.pdf » : {message}".replace("'", "&#39;") in html, html
        assert {t: _count(people, t) for t in before} == before


@pytest.mark.integration
def test_pieces_from_the_status_link_go_through_the_intake_and_downloads_are_attachments(
    live_platform: Platform,
) -> None:
    with TestClient(create_app(platform=live_platform), follow_redirects=False) as client:
        url, case, outcomes = _acknowledged(live_platform, client)
        assert outcomes[-1] == "connectors.send_mail:done", outcomes
        accuse = client.get(f"{url}/accuse")
        assert accuse.status_code == 200
        _assert_sandboxed(accuse, inline=False)
        _ask_for_pieces(live_platform, case)
        assert _run_jobs(live_platform, case) == ["connectors.send_mail:done"]
        token = csrf_of(client.get(FORM).text)
        documents = _count(live_platform, "documents")
        for pdf, message in ((with_active_content(), ACTIVE), (deeply_nested(), NESTED)):
            refused = client.post(
                f"{url}/pieces",
                data={"csrf_token": token},
                files=[("pieces", ("piece.pdf", pdf, "application/pdf"))],
            )
            assert refused.status_code == 422
            assert re.search(re.escape(message.replace("'", "&#39;")), refused.text)
        assert _count(live_platform, "documents") == documents
        assert "Pièces demandées le" in client.get(url).text  # still waiting for them
