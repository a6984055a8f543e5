"""What every journey uses: the demo logins read from the file a new user is told to read, and a
walk that logs in, clicks, keeps a screenshot per step and runs axe-core on every page."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "journeys" / "artifacts"
AXE = ROOT / ".tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
_LOGIN_LINE = re.compile(r"^(?P<login>[\w.-]+)\s+(?P<password>\S+)\s{3}(?P<who>.+)$")
_COMMUNE = re.compile(r"^Collectivité de démonstration : .*\(SIREN (\d{9})\)", re.M)
_TRAINING = re.compile(r"^Espace de formation : (?P<name>.+) \(SIREN (?P<siren>\d{9})\)", re.M)


@dataclass(frozen=True)
class Demo:
    """What `var/identifiants-demo.txt` tells a new user: the demo commune, the training space
    (a second collectivité whose clock the trainer moves) and a login per role."""

    siren: str
    passwords: dict[str, str]
    names: dict[str, str]
    training_siren: str | None = None
    training_name: str | None = None

    @classmethod
    def read(cls, path: Path) -> Demo:
        text = path.read_text(encoding="utf-8")
        found = _COMMUNE.search(text)
        assert found, f"{path}: pas de SIREN de collectivité"
        training = _TRAINING.search(text)
        passwords: dict[str, str] = {}
        names: dict[str, str] = {}
        for line in text.splitlines():
            if (match := _LOGIN_LINE.match(line)) is not None:
                passwords[match["login"]] = match["password"]
                names[match["login"]] = match["who"].rsplit(" (", 1)[0]
        return cls(
            siren=found[1],
            passwords=passwords,
            names=names,
            training_siren=training["siren"] if training else None,
            training_name=training["name"] if training else None,
        )


@dataclass
class Walk:
    """One journey in one browser context: a screenshot and an axe-core run per step."""

    page: Page
    base: str
    demo: Demo
    name: str
    data_dir: Path
    """The platform's `var/`: read as output (mail drop) after the clicks, never driven."""
    siren: str = ""
    """The collectivité this journey walks: the demo commune unless the journey chooses the
    training space (`on_training_space`)."""
    steps: int = 0
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.siren = self.siren or self.demo.siren

    def on_training_space(self) -> None:
        """Walk the training space that identifiants-demo.txt describes."""
        if self.demo.training_siren is None:
            pytest.skip("identifiants-demo.txt ne décrit pas d'espace de formation")
        self.siren = self.demo.training_siren

    @property
    def space(self) -> str:
        return f"{self.base}/c/{self.siren}"

    def step(self, label: str) -> None:
        """Keep what the user sees and fail on serious or critical accessibility violations."""
        self.steps += 1
        self.page.wait_for_load_state()
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        shot = folder / f"{self.steps:02d}-{slug}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.page.add_script_tag(path=str(AXE))
        result: dict[str, Any] = self.page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        blocking = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
            if v["impact"] in BLOCKING_IMPACTS
        ]
        assert not blocking, f"{self.name} / {label} ({self.page.url}) : " + json.dumps(
            blocking, ensure_ascii=False, indent=1
        )

    def open(self, path: str, label: str) -> None:
        """A page reached by typing its address (only the addresses the README gives)."""
        self.page.goto(f"{self.base}{path}")
        self.step(label)

    def login(self, login: str) -> None:
        self.page.goto(f"{self.base}/connexion")
        self.page.get_by_label("Identifiant").fill(login)
        self.page.get_by_label("Mot de passe").fill(self.demo.passwords[login])
        self.page.get_by_role("button", name="Se connecter").click()
        expect(self.page.get_by_role("button", name="Se déconnecter")).to_be_visible()
        self.step(f"connexion {login}")
        # A person of several collectivités (the demo commune and the training one) picks the
        # space as they would: the card that shows the walk's SIREN (the operator has none).
        card = self.page.locator(
            f"xpath=//*[contains(normalize-space(.), 'SIREN {self.siren}')][.//a]"
        )
        if self.page.get_by_role("heading", name="Mes espaces").count() and card.count():
            card.last.get_by_role("link").first.click()
            self.step("choix de l'espace")

    def logout(self) -> None:
        self.page.get_by_role("button", name="Se déconnecter").click()
        self.page.wait_for_load_state()

    def nav(self, link: str) -> None:
        """Follow a link of the header's navigation."""
        self.page.get_by_role("navigation").get_by_role("link", name=link, exact=True).click()
        self.step(link)

    def press(self, button: str, *, label: str | None = None) -> None:
        """Click a button (the first of that name) and check the page it leads to."""
        self.page.get_by_role("button", name=button).first.click()
        self.step(label or button)

    def follow(self, link: str, *, label: str | None = None) -> None:
        """Click a link (the first of that name) and check the page it leads to."""
        self.page.get_by_role("link", name=link).first.click()
        self.step(label or link)

    def refresh_until(self, text: str, *, timeout: float = 90.0, row: str | None = None) -> None:
        """What a user does while the worker runs an automatic step: reload until it shows
        (in the table row holding `row`, when given)."""
        # Shown in the page's text: not in the case's diagram, which names every step (reached
        # or not) and gives hover texts (an SVG <title>) before the page's own words.
        outside_diagrams = self.page.locator(
            "xpath=//*[not(ancestor-or-self::*[local-name()='svg'])]"
        )
        scope = self.page.get_by_role("row").filter(has_text=row) if row else self.page
        target = scope.get_by_text(text).and_(outside_diagrams).filter(visible=True).first
        deadline = time.monotonic() + timeout
        while not target.is_visible():
            assert time.monotonic() < deadline, f"{self.page.url} : « {text} » n'apparaît pas"
            self.page.wait_for_timeout(300)  # between two reloads, not a fixed wait
            self.page.reload()

    def open_task(self, task: str, reference: str) -> None:
        """From « Mes tâches », the row of that task in that dossier."""
        self.nav("Mes tâches")
        link = self.page.get_by_role("link", name=f"{task} (dossier {reference})")
        link.click()
        self.step(task)

    def reference(self) -> str:
        """The dossier's reference, from its page's heading (« Dossier 2026-000011 »)."""
        heading = self.page.get_by_role("heading", level=1).first.inner_text()
        found = re.search(r"(?:FORM-)?\d{4}-\d{6}", heading)
        assert found, f"pas de référence de dossier dans « {heading} »"
        return found[0]

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def advance_training_clock(walk: Walk, *, past: str, max_months: int = 4) -> None:
    """The trainer (tenant admin, logged in on the training space) opens « Espace de formation »,
    waits until the dossier's deadline shows among « Échéances à venir » (the worker arms it
    after the acknowledgement), then moves the clock a month at a time until it has passed:
    the timers due fire in order."""
    page = walk.page
    page.goto(walk.space)
    walk.nav("Espace de formation")
    upcoming = page.get_by_role("table").get_by_role("row").filter(has_text=past)
    walk.refresh_until(past)
    for _ in range(max_months):
        if upcoming.count() == 0:
            return
        walk.press("Avancer de 1 mois")
        expect(page.get_by_text("minuteur(s) déclenché(s)")).to_be_visible()
    assert upcoming.count() == 0, f"« {past} » attend toujours après {max_months} mois"


MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_FRENCH_MOMENT = re.compile(r"(\d{1,2})(?:er)? (\w+) (\d{4}) à (\d{1,2}) h (\d{2})")


def french_moment(text: str) -> datetime:
    """The first date and time written in French in `text` (« 1er mars 2027 à 9 h 05 »), as the
    pages show them (engine.domain.french)."""
    found = _FRENCH_MOMENT.search(text)
    assert found, f"date illisible : {text}"
    day, month, year, hour, minute = found.groups()
    return datetime(int(year), MONTHS.index(month) + 1, int(day), int(hour), int(minute))
