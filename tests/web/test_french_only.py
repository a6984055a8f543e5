"""No English word a user can see: every page of the demo, by every role, scanned for them.

The demo (`dematflow serve`'s, seeded through the real services: development PKI, prefecture
simulator, mail drop, S3) holds every procedure at several stages; each demo user crawls the
pages their links lead to — dashboard, inbox, case list, every case and task page, parapheur,
delegations, archives, administration, operator screens — and so do an anonymous visitor (public
register, citizen forms). The visible text (text nodes, the page title, `alt`, `title`,
`placeholder`, `aria-label`, button values) must hold none of the English words below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from devstack.demo import DEMO_SIREN, seed_demo
from engine.bootstrap import Platform
from tests.fixtures.embedded import embedded_platform_in
from tests.web.support import csrf_of
from web.app import create_app

pytestmark = pytest.mark.integration

ENGLISH = frozenset(
    {
        "deliberation", "altered", "done", "elu", "pending", "error", "errors", "true", "false",
        "none", "null", "signed", "sealed", "task", "tasks", "running", "completed",
        "cancelled", "failed", "upload", "rendered", "received", "approve", "approved",
        "reject", "rejected", "draft", "status", "sent", "retry", "dead", "undefined", "nan",
        "user", "system", "agent:", "submit", "cancel", "delete", "file", "files",
    }
)  # fmt: skip
"""Words of the code and its data that must never reach a person (`agent` is French too)."""
HIDDEN_TAGS = frozenset({"script", "style", "template"})
VISIBLE_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label")
SKIP = re.compile(
    r"/(pdf|apercu\.png|fichier|dip|accuse|decision|deconnexion)$|\.(csv|json|ico|svg|png)$"
)
PAGE_LIMIT = 400


class VisibleText(HTMLParser):
    """The text a person sees or hears (screen readers) and the page's links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in HIDDEN_TAGS:
            self._hidden += 1
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        self.parts.extend(str(values[a]) for a in VISIBLE_ATTRIBUTES if values.get(a))
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.parts.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    words = re.findall(r"[\w:]+", " ".join(parser.parts).lower())
    return {w for w in words if w in ENGLISH or w.rstrip(":") in ENGLISH - {"agent:"}}


def test_the_scanner_finds_english_in_visible_text_only() -> None:
    page = (
        "<title>Dossier</title><p>Statut : running</p><img alt='signed'>"
        "<script>var done = true;</script><p>projet_deliberation.pdf, Élu, délibération</p>"
        "<p>Traitement : False</p>"
    )
    assert english_words(page) == {"running", "signed", "false"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Platform]:
    directory = tmp_path_factory.mktemp("demo-francais")
    with embedded_platform_in(directory, sqlite_template) as platform:
        credentials = directory / "identifiants-demo.txt"
        assert seed_demo(platform, credentials)
        platform.credentials = credentials.read_text()  # type: ignore[attr-defined]
        yield platform


def _passwords(credentials: str) -> dict[str, str]:
    found = {}
    for line in credentials.splitlines():
        match = re.match(r"^([a-z_]+)\s+(\S+)\s+.+\(.*\)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def _crawl(client: TestClient, starts: list[str]) -> dict[str, set[str]]:
    """Every page reachable from `starts` by GET links of this site: path -> English words."""
    allowed = (f"/c/{DEMO_SIREN}", f"/registre/{DEMO_SIREN}", f"/demarches/{DEMO_SIREN}",
               f"/public/{DEMO_SIREN}", "/exploitation", "/espaces", "/connexion")  # fmt: skip
    seen: set[str] = set()
    queue = list(starts)
    found: dict[str, set[str]] = {}
    while queue and len(seen) < PAGE_LIMIT:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
            continue
        found[url] = english_words(response.text)
        parser = VisibleText()
        parser.feed(response.text)
        for link in parser.links:
            parts = urlsplit(urljoin("http://testserver" + url, link))
            if parts.netloc != "testserver" or SKIP.search(parts.path):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.path.startswith(allowed) and target not in seen:
                queue.append(target)
    return found


def _login(client: TestClient, username: str, password: str) -> None:
    token = csrf_of(client.get("/connexion").text)
    response = client.post(
        "/connexion",
        data={"identifiant": username, "mot_de_passe": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_no_english_word_on_any_page_of_the_demo(demo: Platform) -> None:
    app = create_app(platform=demo)
    passwords = _passwords(demo.credentials)  # type: ignore[attr-defined]
    assert {"agent", "maire", "archiviste", "admin", "operateur"} <= passwords.keys()
    problems: dict[str, set[str]] = {}
    visited = 0
    base = f"/c/{DEMO_SIREN}"
    for username, starts in (
        ("agent", [base, f"{base}/dossiers?statut=completed"]),
        ("chef_service", [base]),
        ("maire", [base, f"{base}/parapheur"]),
        ("archiviste", [base, f"{base}/archives"]),
        ("admin", [base]),
        ("operateur", ["/espaces", "/exploitation", "/exploitation/sante"]),
        (None, ["/", "/connexion", f"/demarches/{DEMO_SIREN}", f"/registre/{DEMO_SIREN}"]),
    ):
        with TestClient(app, follow_redirects=True) as client:
            if username is not None:
                _login(client, username, passwords[username])
            pages = _crawl(client, starts)
        visited += len(pages)
        for url, words in pages.items():
            if words:
                problems[f"{username or 'anonyme'} {url}"] = words
    assert visited > 40, f"only {visited} pages visited"
    assert not problems, "\n".join(f"{k}: {sorted(v)}" for k, v in sorted(problems.items()))
