"""Who may open and complete each user task of the shipped procedures, on every channel.

Every scenario of processes/* is driven on the platform's database: service results, messages
and timers come from the scenario (as its runner applies them), and every user task it reaches
is completed through the platform, by its assignee or their deputy, through the API or the
engine's service. Before that, each distinct task (procedure, task, lane, assigned or not) is
asked for by five kinds of people — the assignee (or a holder of the lane's role), their deputy,
another holder of the role, a holder of another role, another tenant's user — through the HTML
page (open and submit), the API (open and complete) and the engine's services, which must all
give the same answer, refusals with the same French message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.domain.errors import Conflict, DematflowError, Forbidden, NotFound
from engine.domain.model import Actor, Case, HumanTask
from engine.runtime.clock import frozen_now
from engine.services import admin, delegations, task_access
from engine.services import cases as case_services
from engine.services.steps import load_case, save_loaded
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B
from tests.support.scenarios import _apply_step, _parse_start, _pick_task, load_scenarios
from tests.web.support import PASSWORD, USERS, login
from web.app import create_app

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PROCEDURES = ["deliberation", "seance-conseil", "arrete", "demande-usager", "commande-publique"]
HOLDERS = {"agent": ("agent.a", "agent2.a"), "elu": ("elu.a", "elu2.a")}
"""Two holders of each lane's role in tenant A."""
OTHER_ROLE = "archiviste.a"
OTHER_TENANT = "agent.b"
DEPUTY_ROLES = ("archiviste",)
"""Deputies hold none of the lanes' roles: what they may do comes from the delegation alone."""
STALE = 10**6
"""A case version never reached: an allowed person passes the access check and then gets the
conflict (409), so the probe completes nothing whatever the form accepts."""

# The rule is pure (engine.domain.task_access) and the channels read the same rows on both
# databases; PostgreSQL runs of complete_task are covered by the engine and web tests. Walking
# every procedure through three channels is the suite's heaviest test: run it once, on SQLite.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class People:
    """The tenant's people: roles by login, a logged-in browser each, made on first use."""

    platform: Platform
    app: Any
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    browsers: dict[str, tuple[TestClient, str]] = field(default_factory=dict)

    def add(self, login_: str, roles: tuple[str, ...], tenant: str = SIREN_A) -> None:
        if login_ in self.roles:
            return
        with self.platform.uow() as uow:
            admin.create_user(
                uow,
                username=login_,
                display_name=f"Personne {login_}",
                password=PASSWORD,
                tenant=tenant,
                roles=roles,
                actor=OPERATOR,
                now=self.platform.clock(),
            )
            uow.commit()
        self.roles[login_] = roles

    def deputy_of(self, delegator: str) -> str:
        """The deputy of `delegator`, with a delegation in force now."""
        deputy = f"{delegator}.suppleant"
        if deputy not in self.roles:
            self.add(deputy, DEPUTY_ROLES)
            now = self.platform.clock()
            with self.platform.uow() as uow:
                delegations.create_delegation(
                    uow,
                    tenant=SIREN_A,
                    delegator=delegator,
                    deputy=deputy,
                    starts=now - timedelta(days=1),
                    ends=now + timedelta(days=60),
                    reason="Congés",
                    actor=OPERATOR,
                    now=now,
                )
                uow.commit()
        return deputy

    def assignee(self, task: HumanTask) -> str:
        """The person a task is assigned to: the circuit's signers are élus, its visas agents
        (chef de service, DGS, finances)."""
        assert task.assignee is not None
        self.add(task.assignee, ("elu",) if task.name == "signer" else ("agent",))
        return task.assignee

    def actor(self, login_: str) -> Actor:
        return Actor(f"user:{login_}", frozenset(self.roles[login_]), f"Personne {login_}")

    def browser(self, login_: str) -> tuple[TestClient, str]:
        if login_ not in self.browsers:
            client = TestClient(self.app, follow_redirects=False)
            client.__enter__()
            self.browsers[login_] = (client, login(client, login_))
        return self.browsers[login_]


@pytest.fixture
def staff(people: Platform) -> Iterator[People]:
    made = People(people, create_app(platform=people))
    for login_, (_tenant, roles) in USERS.items():
        made.roles[login_] = roles
    made.add("agent2.a", ("agent",))
    made.add("elu2.a", ("elu",))
    yield made
    for client, _csrf in made.browsers.values():
        client.__exit__(None, None, None)


def _personas(people: People, task: HumanTask) -> dict[str, tuple[str, str]]:
    """Kind of person -> (login, expected answer: ok, denied or absent)."""
    if task.assignee is not None:
        assignee = people.assignee(task)
        same_role = HOLDERS[people.roles[assignee][0]][0]
        found = {
            "personne assignée": (assignee, "ok"),
            "son délégataire": (people.deputy_of(assignee), "ok"),
            "autre titulaire de son rôle": (same_role, "denied"),
        }
        if task.lane in HOLDERS and HOLDERS[task.lane][0] != same_role:
            found["titulaire du rôle du couloir"] = (HOLDERS[task.lane][0], "denied")
    else:
        holder, other_holder = HOLDERS[str(task.lane)]
        found = {
            "titulaire du rôle": (holder, "ok"),
            "autre titulaire du rôle": (other_holder, "ok"),
            "délégataire d'un titulaire": (people.deputy_of(holder), "denied"),
        }
    found["titulaire d'un autre rôle"] = (OTHER_ROLE, "denied")
    found["utilisateur d'une autre collectivité"] = (OTHER_TENANT, "absent")
    return found


def _page_outcome(status: int, body: str) -> tuple[str, str | None]:
    if status == 403:
        detail = re.search(r"</h1>\s*<p>(.*?)</p>", body, re.S)
        return "denied", html.unescape(detail.group(1)) if detail else body[:200]
    # 422: the form refused (after the access check), 409: the stale version.
    return {200: "ok", 409: "ok", 422: "ok", 404: "absent"}.get(status, f"HTTP {status}"), None


def _api_outcome(response: Any) -> tuple[str, str | None]:
    status = response.status_code
    if status == 403:
        return "denied", response.json()["detail"]
    return {200: "ok", 409: "ok", 404: "absent"}.get(status, f"HTTP {status}"), None


def _service(call: Any) -> tuple[str, str | None]:
    try:
        call()
    except Conflict:
        return "ok", None
    except Forbidden as exc:
        return "denied", str(exc)
    except NotFound:
        return "absent", None
    return "ok", None


def _probe(people: People, case: Case, task: HumanTask) -> list[str]:
    """Every person x channel for one task; the disagreements, in French."""
    wrong = []
    for who, (login_, expected) in _personas(people, task).items():
        tenant = SIREN_B if login_ == OTHER_TENANT else SIREN_A
        client, csrf = people.browser(login_)
        page = f"/c/{SIREN_A}/dossiers/{case.id}/taches/{task.id}"
        api = f"/api/tenants/{SIREN_A}/cases/{case.id}/tasks/{task.id}"
        basic = (login_, PASSWORD)
        outcomes: dict[str, tuple[str, str | None]] = {}
        response = client.get(page)
        outcomes["page (ouvrir)"] = _page_outcome(response.status_code, response.text)
        # Submitted (with the password) on a stale version: 409 when allowed, else 403/404.
        response = client.post(
            page, data={"csrf_token": csrf, "confirmation": PASSWORD, "version": str(STALE)}
        )
        outcomes["page (valider)"] = _page_outcome(response.status_code, response.text)
        outcomes["API (ouvrir)"] = _api_outcome(client.get(api, auth=basic))
        outcomes["API (valider)"] = _api_outcome(
            client.post(api, auth=basic, json={"data": {}, "version": STALE})
        )
        actor = people.actor(login_)

        def opened(actor: Actor = actor, tenant: str = tenant) -> None:
            with people.platform.uow() as uow:
                task_access.open_task(
                    uow,
                    tenant=tenant,
                    case_id=case.id,
                    task_id=task.id,
                    actor=actor,
                    now=people.platform.clock(),
                )

        def completed(actor: Actor = actor, tenant: str = tenant) -> None:
            with people.platform.uow() as uow:  # never committed
                case_services.complete_task(
                    uow,
                    tenant=tenant,
                    case_id=case.id,
                    task_id=task.id,
                    data={},
                    actor=actor,
                    now=people.platform.clock(),
                    expected_version=STALE,
                )

        outcomes["service (ouvrir)"] = _service(opened)
        outcomes["service (terminer)"] = _service(completed)
        messages = {m for _o, m in outcomes.values() if m is not None}
        service_message = outcomes["service (terminer)"][1]
        for channel, (got, message) in outcomes.items():
            if got != expected:
                wrong.append(f"{task.name} ({task.lane}), {who} [{login_}], {channel}: {got}")
            elif message is not None and message != service_message:
                wrong.append(f"{task.name}, {who}, {channel}: message différent ({messages})")
    return wrong


@dataclass
class Drive:
    """One scenario driven on the database, and what it met."""

    people: People
    probed: set[tuple[str, str, str | None, bool]]
    wrong: list[str] = field(default_factory=list)
    completions: int = 0
    by_deputy: int = 0

    def scenario(self, procedure: str, name: str, scenario: dict[str, Any]) -> None:
        platform = self.people.platform
        now = _parse_start(scenario.get("start_at"))
        with platform.uow() as uow:
            case = case_services.start_case(
                uow,
                tenant=SIREN_A,
                procedure=procedure,
                data=dict(scenario.get("start") or {}),
                actor=self.people.actor("agent.a"),
                now=platform.clock(),
            )
            uow.commit()
        for index, step in enumerate(scenario.get("steps") or [], start=1):
            where = f"{procedure}/{name}, étape {index}"
            if "complete" in step:
                self.complete(procedure, case, step, where)
            else:
                now = self.other_step(case, step, now, where)

    def other_step(self, case: Case, step: dict[str, Any], now: datetime, where: str) -> datetime:
        """A service result, a message or a timer, applied as the scenario runner does; the
        parameters the scenario expects are not compared (the signers here are other people)."""
        applied = {k: v for k, v in step.items() if k not in ("params", "due_in")}
        platform = self.people.platform
        with platform.uow() as uow, frozen_now(now):
            loaded = load_case(uow, SIREN_A, case.id)
            now = _apply_step(loaded.runtime, applied, now, where)
            save_loaded(uow, loaded, now=platform.clock())
            uow.commit()
        return now

    def complete(self, procedure: str, case: Case, step: dict[str, Any], where: str) -> None:
        platform = self.people.platform
        with platform.uow() as uow:
            loaded = load_case(uow, SIREN_A, case.id)
            ready = _pick_task(loaded.runtime, step, where)
            task = uow.cases.human_task(SIREN_A, ready.id)
            current = uow.cases.get(SIREN_A, case.id)
        assert task is not None, f"{where}: {ready.name} prête mais absente de la liste des tâches"
        key = (procedure, task.name, task.lane, task.assignee is not None)
        if key not in self.probed:
            self.probed.add(key)
            self.wrong += [f"{where}: {w}" for w in _probe(self.people, current, task)]
        data = {k: v for k, v in (step.get("data") or {}).items() if not k.endswith("_par")}
        self.completions += 1
        if task.assignee is not None and self.completions % 2:
            login_ = self.people.deputy_of(self.people.assignee(task))
            self.by_deputy += 1
        elif task.assignee is not None:
            login_ = self.people.assignee(task)
        else:
            login_ = HOLDERS[str(task.lane)][self.completions % 2]
        if self.completions % 3:
            client, _csrf = self.people.browser(login_)
            response = client.post(
                f"/api/tenants/{SIREN_A}/cases/{case.id}/tasks/{task.id}",
                auth=(login_, PASSWORD),
                json={"data": data},
            )
            assert response.status_code == 200, f"{where}: {login_}: {response.text}"
        else:
            with platform.uow() as uow:
                case_services.complete_task(
                    uow,
                    tenant=SIREN_A,
                    case_id=case.id,
                    task_id=task.id,
                    data=data,
                    actor=self.people.actor(login_),
                    now=platform.clock(),
                )
                uow.commit()
        with platform.uow() as uow:
            assert uow.cases.human_task(SIREN_A, task.id) is None, f"{where}: toujours prête"
            entry = uow.journal.for_case(SIREN_A, case.id)[-1]
        assert entry.kind == "task.completed" and entry.actor == f"user:{login_}", where
        if login_ != task.assignee and task.assignee is not None:
            assert entry.payload["pour"] == f"user:{task.assignee}", where


@pytest.mark.timeout(900)
@pytest.mark.parametrize("procedure", PROCEDURES)
def test_who_may_open_and_complete_every_task(staff: People, procedure: str) -> None:
    drive = Drive(staff, probed=set())
    covered: set[str] = set()
    for name, scenario in load_scenarios(PROCESSES / procedure):
        completes = {step["complete"] for step in scenario.get("steps") or [] if "complete" in step}
        if completes <= covered:
            continue  # reaches no task that the procedure's earlier scenarios did not
        covered |= completes
        try:
            drive.scenario(procedure, name, scenario)
        except DematflowError as exc:
            drive.wrong.append(f"{procedure}/{name}: {type(exc).__name__}: {exc}")
    assert not drive.wrong, "\n".join(drive.wrong)
    assert {name for _p, name, _lane, _assigned in drive.probed} == covered
    if procedure == "deliberation":
        # The circuit's visas (agents) and signature (the mayor) are assigned tasks in the élu
        # lane: the case refused before this rule; the deputies completed some of them.
        assert ("deliberation", "viser", "elu", True) in drive.probed
        assert ("deliberation", "signer", "elu", True) in drive.probed
        assert drive.by_deputy > 0
