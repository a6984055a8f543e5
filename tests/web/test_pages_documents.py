"""Documents on the case page: upload with French errors, previews cached by digest, inline PDF."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import resource
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.services.documents import store_document
from engine.settings import Settings
from tests.engine.support import SIREN_A, start
from tests.fixtures.services import TEST_OPERATIONS
from tests.signatures.pdfs import make_encrypted_pdf, make_pdf
from tests.web.support import PASSWORD
from web import previews
from web.previews import PNG_MAGIC, PreviewCache, render_first_page

Login = Callable[[str], tuple[TestClient, str]]
LIMIT = 300_000
"""A small upload limit (bytes) so that "too big" is cheap to test."""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        operation_modules=[TEST_OPERATIONS],
        max_upload_bytes=LIMIT,
    )


def _case_url(people: Platform) -> str:
    case = start(people, "arrete")
    return f"/c/{SIREN_A}/dossiers/{case.id}"


def _documents(people: Platform, case_url: str) -> list[str]:
    with people.uow() as uow:
        case_id = uuid.UUID(case_url.rsplit("/", 1)[1])
        return [d.name for d in uow.documents.for_case(SIREN_A, case_id)]


def _upload(
    client: TestClient, token: str, case_url: str, name: str, content: bytes, **headers: str
) -> object:
    return client.post(
        f"{case_url}/documents",
        data={"csrf_token": token},
        files={"fichier": (name, content, "application/pdf")},
        headers=headers,
    )


def test_clerk_uploads_a_pdf_that_is_listed_with_a_preview(
    browser_as: Login, people: Platform
) -> None:
    client, token = browser_as("agent.a")
    case_url = _case_url(people)
    page = client.get(case_url)
    assert "Taille maximale : 292 Ko." in page.text  # LIMIT, in binary units
    assert (
        'enctype="multipart/form-data"' in page.text
        and 'accept="application/pdf,.pdf"' in page.text
    )
    assert "Aucun document dans ce dossier." in page.text

    pdf = make_pdf(pages=2, text="Arrete de voirie")
    done = _upload(client, token, case_url, "../arrêté voirie.pdf", pdf)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == f"{case_url}#documents"  # type: ignore[attr-defined]
    page = client.get(case_url)
    assert "Document « arrêté voirie.pdf » ajouté au dossier." in page.text
    assert "Document ajouté" in page.text  # the journal entry, in the timeline
    preview = re.search(rf'src="(/c/{SIREN_A}/documents/[0-9a-f-]+/apercu\.png)"', page.text)
    assert preview, page.text
    assert "Aperçu indisponible" not in page.text
    image = client.get(preview.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(PNG_MAGIC)

    pdf_url = preview.group(1).replace("/apercu.png", "/pdf")
    assert f'href="{pdf_url}"' in page.text
    shown = client.get(pdf_url)
    assert shown.status_code == 200 and shown.content == pdf
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.headers["content-security-policy"] == "sandbox"
    assert shown.headers["x-content-type-options"] == "nosniff"
    # Cached once per digest, on disk, under the data directory.
    cached = list((people.settings.data_dir / "apercus").glob("*-p1.png"))
    assert [p.name for p in cached] == [f"{_sha256(pdf)}-p1.png"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a not a pdf", "Seuls les fichiers PDF sont acceptés."),
        (make_encrypted_pdf(), "chiffré ou protégé par mot de passe"),
        (b"%PDF-1.7\n1 0 obj garbage\n%%EOF", "corrompu ou illisible"),
        (
            make_pdf(padding=LIMIT + 10),
            "Fichier trop volumineux : 293 Ko (taille maximale : 292 Ko).",
        ),
        (b"", "Le fichier est vide."),
    ],
    ids=["pas-un-pdf", "chiffre", "corrompu", "trop-gros", "vide"],
)
def test_a_refused_upload_is_explained_next_to_the_field_and_writes_nothing(
    browser_as: Login, people: Platform, content: bytes, message: str
) -> None:
    client, token = browser_as("agent.a")
    case_url = _case_url(people)
    refused = _upload(client, token, case_url, "piece.pdf", content)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    error = re.search(r'<p class="field-error" id="champ-fichier-erreur"[^>]*>([^<]*)</p>', html)
    assert error and message.replace("'", "&#39;") in error.group(1), html
    assert 'aria-invalid="true"' in html and "champ-fichier-aide champ-fichier-erreur" in html
    assert _documents(people, case_url) == []
    journal = client.get(case_url).text
    assert "Document ajouté" not in journal

    scripted = _upload(
        client, token, case_url, "piece.pdf", content, **{"X-Requested-With": "XMLHttpRequest"}
    )
    assert scripted.status_code == 422  # type: ignore[attr-defined]
    assert message in scripted.json()["erreur"]  # type: ignore[attr-defined]
    assert _documents(people, case_url) == []


def test_the_upload_script_gets_json_and_the_size_limit_is_shown(
    browser_as: Login, people: Platform
) -> None:
    client, token = browser_as("agent.a")
    case_url = _case_url(people)
    assert 'data-max-bytes="300000"' in client.get(case_url).text
    done = _upload(
        client, token, case_url, "a.pdf", make_pdf(), **{"X-Requested-With": "XMLHttpRequest"}
    )
    assert done.status_code == 200  # type: ignore[attr-defined]
    assert done.json() == {"location": f"{case_url}#documents"}  # type: ignore[attr-defined]
    assert _documents(people, case_url) == ["a.pdf"]


def test_only_clerks_upload_and_only_to_running_cases(browser_as: Login, people: Platform) -> None:
    case_url = _case_url(people)
    elu, elu_token = browser_as("elu.a")
    assert "Ajouter un document PDF" not in elu.get(case_url).text
    assert _upload(elu, elu_token, case_url, "a.pdf", make_pdf()).status_code == 403  # type: ignore[attr-defined]
    clerk, token = browser_as("agent.a")
    cancelled = clerk.post(
        f"/api/tenants/{SIREN_A}/cases/{case_url.rsplit('/', 1)[1]}/cancel",
        json={"reason": "doublon"},
        headers={"Authorization": "Bearer " + _token(clerk)},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert "Ajouter un document PDF" not in clerk.get(case_url).text
    refused = _upload(clerk, token, case_url, "a.pdf", make_pdf())
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "plus en cours" in refused.text  # type: ignore[attr-defined]
    assert _documents(people, case_url) == []


def _token(client: TestClient) -> str:
    answer = client.post("/api/auth/token", auth=("agent.a", PASSWORD))
    return str(answer.json()["access_token"])


def test_a_document_that_cannot_be_rendered_says_so_instead_of_failing(
    browser_as: Login, people: Platform
) -> None:
    """A received document is only checked for its PDF header: poppler may fail on it."""
    case_url = _case_url(people)
    broken = b"%PDF-1.4\nthis is not a PDF body at all\n%%EOF\n"
    with people.uow() as uow:
        document = store_document(
            uow,
            tenant=SIREN_A,
            name="recu.pdf",
            content=broken,
            actor_id="system",
            now=people.clock(),
            max_bytes=LIMIT,
            kind="received",
            case_id=uuid.UUID(case_url.rsplit("/", 1)[1]),
        )
        uow.commit()
    client, _token = browser_as("archiviste.a")
    page = client.get(case_url)
    assert page.status_code == 200
    assert "Aperçu indisponible" in page.text and "recu.pdf" in page.text
    assert "apercu.png" not in page.text
    image = client.get(f"/c/{SIREN_A}/documents/{document.id}/apercu.png")
    assert image.status_code == 404 and image.text == "Aperçu indisponible."
    # The failure is cached too: poppler is not run again for the same digest.
    assert (people.settings.data_dir / "apercus" / f"{document.sha256}-p1.echec").is_file()


def test_the_cache_renders_each_digest_once(tmp_path: Path) -> None:
    calls: list[int] = []

    def renderer(pdf: bytes, *, work_dir: Path) -> bytes | None:
        calls.append(len(pdf))
        return render_first_page(pdf, work_dir=work_dir)

    cache = PreviewCache(tmp_path / "apercus", renderer)
    pdf = make_pdf()
    digest = _sha256(pdf)
    first = cache.ensure(digest, lambda: pdf)
    second = cache.ensure(digest, lambda: pdf)
    assert first is not None and first == second and first.read_bytes().startswith(PNG_MAGIC)
    assert calls == [len(pdf)]
    with pytest.raises(ValueError):
        cache.ensure("../../etc/passwd", lambda: pdf)


WRITE_PNG = "open(sys.argv[-1] + '.png', 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(64))\n"
"""What a renderer that got through would leave: a PNG where pdftoppm writes it."""


@pytest.mark.parametrize(
    "script",
    [
        # A renderer that takes too long (it would then succeed): killed at the timeout.
        "#!/usr/bin/python3\nimport sys, time\ntime.sleep(4)\n" + WRITE_PNG,
        # A renderer that takes 2 GiB (it would then succeed): refused by the memory limit.
        "#!/usr/bin/python3\nimport sys\nblob = bytearray(2 * 1024 ** 3)\n" + WRITE_PNG,
    ],
    ids=["timeout", "memoire"],
)
def test_a_runaway_renderer_is_stopped_and_gives_no_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    """The limits are enforced on the child process itself (here standing in for poppler)."""
    runaway = tmp_path / "renderer"
    runaway.write_text(script)
    runaway.chmod(0o755)
    monkeypatch.setattr(previews, "PDFTOPPM", str(runaway))
    monkeypatch.setattr(previews, "LIMITS", dataclasses.replace(previews.LIMITS, wall_seconds=1.0))
    assert previews.render_first_page(make_pdf(), work_dir=tmp_path) is None
    # The same renderer without the limits does produce an image: the limits stopped it.
    unlimited = dataclasses.replace(
        previews.LIMITS, wall_seconds=30.0, memory_bytes=resource.RLIM_INFINITY
    )
    monkeypatch.setattr(previews, "LIMITS", unlimited)
    assert previews.render_first_page(make_pdf(), work_dir=tmp_path) is not None
    assert list(tmp_path.glob("tmp*")) == []  # the scratch directory is gone
