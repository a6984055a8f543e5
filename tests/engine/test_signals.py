"""Signals sent to a case from outside: declared in `signals:`, role-checked, journaled, and
caught by intermediate, boundary and event sub-process start events."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import (
    Conflict,
    DematflowError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProcessDefinitionError,
)
from engine.domain.model import Actor, Case, CaseStatus
from engine.runtime.specs import bundle_from_files, parse_bundle
from engine.services import cases as case_services
from engine.services.admin import deploy_directory
from engine.services.messages import MessageOrigin
from tests.engine.support import SIREN_A, get, make_tenants, start
from tests.support.cli import Invoke, embedded_cli
from web.errors import status_of

ROOT = Path(__file__).resolve().parents[2]
BPMN = (Path(__file__).parent / "bpmn" / "signals.bpmn").read_text(encoding="utf-8")
MANIFEST = """id: signaux
title: "Test : signaux envoyés de l'extérieur"
main_process: signaux
roles:
  agent: "Agent"
  elu: "Élu"
signals:
  reprise:
    from: [agent]
  annulation:
    from: [operator, elu]
  relance:
    from: [connector]
"""
AGENT = Actor("user:agent", frozenset({"agent"}), "Agent")
ELU = Actor("user:elu", frozenset({"elu"}), "Élu")
REPRISE = "Reprise de l'instruction"


def _write(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "procedure.yaml").write_text(MANIFEST, encoding="utf-8")
    (folder / "signaux.bpmn").write_text(BPMN, encoding="utf-8")


@pytest.fixture
def p(platform: Platform, tmp_path: Path) -> Platform:
    _write(tmp_path / "signaux")
    with platform.uow() as uow:
        deploy_directory(uow, tmp_path, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_tenants(platform)
    return platform


def _send(p: Platform, case: Case | uuid.UUID, signal: str, origin: MessageOrigin) -> Case:
    case_id = case if isinstance(case, uuid.UUID) else case.id
    with p.uow() as uow:
        done = case_services.deliver_signal(
            uow, tenant=SIREN_A, case_id=case_id, signal=signal, origin=origin, now=p.clock()
        )
        uow.commit()
    return done


def _refused(p: Platform, case: Case, signal: str, origin: MessageOrigin) -> DematflowError:
    with pytest.raises(DematflowError) as caught:
        _send(p, case, signal, origin)
    after = get(p, case)
    assert after.version == case.version and after.status == case.status
    return caught.value


def _journal(p: Platform, case: Case) -> list[dict[str, object]]:
    with p.uow() as uow:
        entries = uow.journal.for_case(SIREN_A, case.id)
    return [dict(e.payload, actor=e.actor) for e in entries if e.kind == "signal.received"]


def test_intermediate_and_boundary_signals_fire_and_are_journaled(p: Platform) -> None:
    case = start(p, "signaux")
    assert list(case.current_steps) == [REPRISE]
    after = _send(p, case, "reprise", MessageOrigin.person(AGENT))
    assert list(after.current_steps) == ["Vérifier le dossier"]
    done = _send(p, after, "annulation", MessageOrigin.person(ELU))
    assert done.status == CaseStatus.COMPLETED
    assert done.data["statut"] == "classé sans suite"
    assert _journal(p, case) == [
        {"signal": "reprise", "origin": "person", "actor": "user:agent"},
        {"signal": "annulation", "origin": "person", "actor": "user:elu"},
    ]


def test_the_operator_sends_with_a_reason(p: Platform) -> None:
    case = _send(p, start(p, "signaux"), "reprise", MessageOrigin.person(AGENT))
    operator = MessageOrigin.operator(Actor.system("exploitant"), "demande retirée par courrier")
    assert _send(p, case, "annulation", operator).status == CaseStatus.COMPLETED
    assert _journal(p, case)[-1]["reason"] == "demande retirée par courrier"


def test_an_event_subprocess_started_by_a_signal_runs_without_interrupting(p: Platform) -> None:
    case = start(p, "signaux")
    after = _send(p, case, "relance", MessageOrigin.connector(Actor.system("portail")))
    assert after.status == CaseStatus.RUNNING
    assert REPRISE in after.current_steps
    # a second relance starts the event sub-process again
    again = _send(p, after, "relance", MessageOrigin.connector(Actor.system("portail")))
    assert REPRISE in again.current_steps


@pytest.mark.parametrize(
    ("signal", "origin", "status", "text"),
    [
        ("inconnu", MessageOrigin.person(AGENT), 422, "n'est pas déclaré"),
        ("inconnu", MessageOrigin.connector(Actor.system("x")), 422, "n'est pas déclaré"),
        ("reprise", MessageOrigin.person(ELU), 403, "Votre rôle ne permet pas"),
        ("relance", MessageOrigin.person(AGENT), 403, "que par le connecteur"),
        ("reprise", MessageOrigin.operator(Actor.system("e"), "motif"), 403, "L'exploitant"),
        ("annulation", MessageOrigin.person(ELU), 409, "n'attend pas le signal"),
    ],
)
def test_refusals_leave_the_case_unchanged(
    p: Platform, signal: str, origin: MessageOrigin, status: int, text: str
) -> None:
    case = start(p, "signaux")
    error = _refused(p, case, signal, origin)
    assert status_of(error)[0] == status
    assert text in str(error)
    assert _journal(p, case) == []


def test_an_unknown_case_is_404(p: Platform) -> None:
    with pytest.raises(NotFound) as caught:
        _send(p, uuid.uuid4(), "reprise", MessageOrigin.person(AGENT))
    assert status_of(caught.value)[0] == 404


def test_a_finished_case_no_longer_receives_signals(p: Platform) -> None:
    case = _send(p, start(p, "signaux"), "reprise", MessageOrigin.person(AGENT))
    done = _send(p, case, "annulation", MessageOrigin.person(ELU))
    with pytest.raises(Conflict):
        _send(p, done, "annulation", MessageOrigin.person(ELU))


def test_declarations_are_checked_at_deployment() -> None:
    files = {"signaux.bpmn": BPMN.encode()}

    def parse(manifest: str) -> None:
        parse_bundle(bundle_from_files({**files, "procedure.yaml": manifest.encode()}))

    parse(MANIFEST)
    with pytest.raises(ProcessDefinitionError, match="attendu par aucun événement : fantome"):
        parse(MANIFEST + "  fantome:\n    from: [agent]\n")
    with pytest.raises(ProcessDefinitionError, match="expéditeur inconnu archiviste"):
        parse(MANIFEST.replace("from: [agent]", "from: [archiviste]"))
    with pytest.raises(ProcessDefinitionError, match="`from` doit lister"):
        parse(MANIFEST.replace("from: [agent]", "from: []"))


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    invoke, processes = embedded_cli(tmp_path, monkeypatch)
    _write(processes / "signaux")
    return invoke


def test_the_cli_sends_a_signal(run) -> None:  # type: ignore[no-untyped-def]
    started = run("cases", "start", "--tenant", SIREN_A, "--procedure", "signaux", "--as", "agent")
    assert started.exit_code == 0, started.output
    case_id = started.output.split("\t")[0]
    signal = ("cases", "signal", "--tenant", SIREN_A, case_id)
    refused = run(*signal, "reprise", "--as", "elu")
    assert refused.exit_code == 1
    assert "Votre rôle ne permet pas d'envoyer le signal « reprise »" in refused.output
    undeclared = run(*signal, "inconnu", "--as", "agent")
    assert undeclared.exit_code == 1 and "n'est pas déclaré" in undeclared.output
    assert "Traceback" not in undeclared.output
    assert run(*signal, "reprise", "--as", "agent").exit_code == 0
    no_reason = run(*signal, "annulation")
    assert no_reason.exit_code == 1 and "motif est obligatoire" in no_reason.output
    done = run(*signal, "annulation", "--reason", "retrait de la demande")
    assert done.exit_code == 0, done.output
    shown = run("cases", "show", "--tenant", SIREN_A, case_id)
    assert done.output.strip().endswith("completed"), shown.output
    unknown = run("cases", "signal", "--tenant", SIREN_A, str(uuid.uuid4()), "reprise")
    assert unknown.exit_code == 1 and len(unknown.output.strip().splitlines()) == 1


def test_forbidden_and_invalid_are_the_errors_the_api_maps() -> None:
    assert status_of(Forbidden("x"))[0] == 403 and status_of(InvalidInput("x"))[0] == 422
