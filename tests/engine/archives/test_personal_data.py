"""RGPD purge on the real stack (database, SeaweedFS, dev PKI): a closed case loses exactly its
due personal data, not before its delay, never from its sealed package, and the journal (chain,
locked seals, records) still verifies afterwards."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.bootstrap import Platform
from engine.domain.errors import NotFound
from engine.domain.model import Case, CaseStatus
from engine.domain.personal_data import ANONYMISED
from engine.jobs.personal_data import purge_personal_data
from engine.persistence import tables as t
from engine.persistence import tables_archives as a
from engine.persistence import tables_connectors as tc
from engine.persistence import tables_personal_data as pd
from engine.services.archives.exports import verify_stored_package
from engine.services.archives.journal_checks import verify_journal, verify_journal_completeness
from engine.services.archives.setup import ArchiveSetup
from engine.services.documents import document_from_reference, store_document
from engine.services.personal_data import PURGE_KIND
from tests.engine.archives.conftest import ARCHIVISTE, TYPOLOGIE, set_rule, use_platform_env
from tests.engine.support import AGENT, SIREN_A, SIREN_B, complete, run_pending_jobs, start
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

PERSON = {
    "nom": "Moreau",
    "prenom": "Lucie",
    "courriel": "lucie.moreau@exemple.fr",
    "telephone": "06 12 34 56 78",
}
OTHER = {
    "nom": "Bernard",
    "prenom": "Paul",
    "courriel": "paul.bernard@exemple.fr",
    "telephone": "07 11 22 33 44",
}


def _document(p: Platform, name: str, text: str, tenant: str = SIREN_A) -> dict[str, Any]:
    with p.uow() as uow:
        document = store_document(
            uow,
            tenant=tenant,
            name=name,
            content=make_pdf(text=text),
            actor=AGENT,
            now=p.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    return document.reference()


def closed_request(
    p: Platform, person: dict[str, str], *, notified: datetime, tenant: str = SIREN_A
) -> Case:
    """A request with a citizen's data and pieces, decided, archived (sealed package), closed."""
    set_rule(p, 10, tenant=tenant)
    piece = _document(p, f"cni_{person['nom']}.pdf", f"CNI {person['nom']}", tenant)
    plan = _document(p, "plan.pdf", "Plan de situation", tenant)
    data = {
        "objet": "Permission de voirie 8 rue Foch",
        "typologie": TYPOLOGIE,
        "description": f"Je soussignée {person['prenom']} {person['nom']} demande un échafaudage.",
        "demandeur": dict(person),
        "pieces": [piece],
        "plan": plan,
    }
    case = start(p, "rgpd_test", data, tenant=tenant)
    complete(
        p,
        case,
        "decider",
        {"decision": "accorder", "notifie_le": notified.isoformat()},
        tenant=tenant,
    )
    outcomes = run_pending_jobs(p, case)
    assert [o.state.value for o in outcomes] == ["done"], outcomes
    with p.uow() as uow:
        closed = uow.cases.get(tenant, case.id)
    assert closed.status == CaseStatus.COMPLETED
    return closed


def _state(p: Platform, case: Case) -> str:
    """Everything the database holds for the case outside the journal and the archive rows."""
    with p.uow() as uow:
        conn = uow.connection
        rows = [
            *conn.execute(select(t.cases).where(t.cases.c.id == case.id)),
            *conn.execute(select(t.case_tasks).where(t.case_tasks.c.case_id == case.id)),
            *conn.execute(select(t.jobs).where(t.jobs.c.case_id == case.id)),
            *conn.execute(select(tc.mail_sendings).where(tc.mail_sendings.c.case_id == case.id)),
            *conn.execute(
                select(t.operation_effects).where(
                    t.operation_effects.c.idempotency_key.like(f"{case.id}:%")
                )
            ),
        ]
    return json.dumps([list(r) for r in rows], default=str, ensure_ascii=False)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _blob_exists(p: Platform, sha256: str) -> bool:
    with p.uow() as uow:
        found = uow.connection.execute(
            select(t.blobs.c.sha256).where(t.blobs.c.sha256 == sha256)
        ).first()
    return found is not None


def _package_row(p: Platform, case: Case) -> list[Any]:
    with p.uow() as uow:
        return [
            list(r)
            for r in uow.connection.execute(
                select(a.archive_packages).where(a.archive_packages.c.case_id == case.id)
            )
        ]


def _package_valid(p: Platform, setup: ArchiveSetup, package_id: str) -> bool:
    with p.uow() as uow:
        report = verify_stored_package(uow, setup, SIREN_A, package_id)
    return bool(report.intact)


def _data(p: Platform, case: Case) -> dict[str, Any]:
    from engine.services.steps import load_case

    with p.uow() as uow:
        return load_case(uow, case.tenant, case.id).runtime.data


def test_purge_removes_exactly_the_due_data_and_the_journal_still_verifies(
    p: Platform, setup: ArchiveSetup
) -> None:
    notified = p.clock()
    case = closed_request(p, PERSON, notified=notified)
    other = closed_request(p, OTHER, notified=notified + timedelta(days=40))
    data = _data(p, case)
    piece, plan = data["pieces"][0], data["plan"]
    package_before = _package_row(p, case)
    package_id = str(data["archivage"]["paquet"])
    assert _package_valid(p, setup, package_id)
    with p.uow() as uow:  # a mail the case sent (the connector's record of it)
        uow.connection.execute(
            tc.mail_sendings.insert().values(
                tenant=SIREN_A,
                idempotency_key=f"{case.id}:mail:1",
                case_id=case.id,
                message_id="<ar-1@mairie.fr>",
                pending={"to": [PERSON["courriel"]], "subject": "Votre demande"},
                state="sent",
                result={"envoye_le": "2026-12-07T10:00:00Z"},
                created_at=p.clock(),
                updated_at=p.clock(),
            )
        )
        uow.commit()
    before = _state(p, case)
    assert PERSON["courriel"] in before and PERSON["telephone"] in before

    # Not before the delay: a month after the notification nothing moves, dry run or not.
    month = purge_personal_data(p.uow, now=notified + timedelta(days=31))
    assert month.due == [] and month.purged == []
    assert _state(p, case) == before
    # ... and the case is read again only once its first key falls due.
    with p.uow() as uow:
        next_due = uow.connection.execute(
            select(pd.personal_data_due.c.due_at).where(pd.personal_data_due.c.case_id == case.id)
        ).scalar_one()
    assert notified + timedelta(days=59) < _aware(next_due) <= notified + timedelta(days=63)

    # The dry run lists what is due, writes nothing.
    later = notified + timedelta(days=64)
    dry = purge_personal_data(p.uow, now=later, dry_run=True)
    assert [(tenant, d.case_id) for tenant, d in dry.due] == [(SIREN_A, case.id)]
    assert _state(p, case) == before

    report = purge_personal_data(p.uow, now=later)
    assert [(tenant, r.case_id) for tenant, r in report.purged] == [(SIREN_A, case.id)]
    (purged,) = [r for _t, r in report.purged]
    assert set(purged.paths) == {
        "demandeur.nom",
        "demandeur.prenom",
        "demandeur.courriel",
        "demandeur.telephone",
        "pieces",
    }
    assert purged.documents == 1

    after = _state(p, case)
    for value in PERSON.values():
        assert value not in after  # the state, the tasks, the jobs, their effects
    data = _data(p, case)
    assert data["demandeur"] == {k: ANONYMISED for k in PERSON}
    assert data["destinataire"] == {"a": ANONYMISED, "formule": "Madame " + ANONYMISED}
    # not due yet (a year after closure), so kept; the undeclared plan is kept with its bytes
    assert "échafaudage" in data["description"] and "Moreau" not in data["description"]
    assert data["plan"] == plan and _blob_exists(p, plan["sha256"])
    assert data["pieces"] == [{"id": piece["id"], "nom": ANONYMISED, "sha256": piece["sha256"]}]
    assert not _blob_exists(p, piece["sha256"])
    with p.uow() as uow:
        erased = uow.documents.get(SIREN_A, uuid.UUID(piece["id"]))
    assert erased.size == 0 and "Moreau" not in erased.name
    with p.uow() as uow, pytest.raises(NotFound, match="effacé au terme de sa durée"):
        document_from_reference(uow, SIREN_A, data["pieces"][0])

    # The other person's case, notified later, is untouched.
    assert OTHER["courriel"] in _state(p, other)

    # The sealed package: its row, its stored objects and seal as they were.
    assert _package_row(p, case) == package_before
    assert _package_valid(p, setup, package_id)

    # The journal: one entry naming keys and documents, never values; the chain, the locked
    # seals and the records (the case's new version has its entry) all verify.
    with p.uow() as uow:
        entries = [e for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == PURGE_KIND]
        assert verify_journal(uow, SIREN_A).intact
    (entry,) = entries
    assert entry.payload["documents"] == [piece["id"]]
    assert "lucie" not in json.dumps(entry.payload).lower()
    verification = verify_journal_completeness(p.uow, setup, SIREN_A)
    assert verification.intact, verification.findings

    # Idempotent: the same run again does nothing, a year later only the description goes.
    again = purge_personal_data(p.uow, now=later)
    assert again.purged == [] and _state(p, case) == after
    year = purge_personal_data(p.uow, now=later + timedelta(days=366))
    purged_now = {r.case_id: r.paths for _t, r in year.purged}
    assert purged_now[case.id] == ("description",)
    assert set(purged_now[other.id]) >= {"demandeur.nom", "description"}
    assert _data(p, case)["description"] == ANONYMISED
    assert purge_personal_data(p.uow, now=later + timedelta(days=3000)).due == []
    verification = verify_journal_completeness(p.uow, setup, SIREN_A)
    assert verification.intact, verification.findings


def test_a_training_tenant_purges_on_its_own_clock(p: Platform) -> None:
    from engine.domain.training import TenantClock

    notified = p.clock()
    case = closed_request(p, PERSON, notified=notified, tenant=SIREN_B)
    with p.uow() as uow:
        uow.tenants.set_clock(SIREN_B, TenantClock(True, timedelta(days=90)))
        uow.commit()
    report = purge_personal_data(p.uow, now=notified + timedelta(days=1))
    assert [(tenant, r.case_id) for tenant, r in report.purged] == [(SIREN_B, case.id)]


def test_the_operator_lists_then_purges_from_the_cli(
    p: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from engine.cli.main import cli

    notified = p.clock()
    case = closed_request(p, PERSON, notified=notified)
    use_platform_env(p, monkeypatch)
    at = (notified + timedelta(days=64)).isoformat()
    runner = CliRunner()
    dry = runner.invoke(cli, ["rgpd", "purge", "--dry-run", "--at", at])
    assert dry.exit_code == 0, dry.output
    listed = json.loads(dry.output)
    assert listed["a_blanc"] is True and listed["anonymises"] == []
    assert [d["dossier"] for d in listed["dus"]] == [case.reference]
    assert PERSON["courriel"] in _state(p, case)
    done = runner.invoke(cli, ["rgpd", "purge", "--tenant", SIREN_A, "--at", at])
    assert done.exit_code == 0, done.output
    (purged,) = json.loads(done.output)["anonymises"]
    assert purged["dossier"] == case.reference and purged["documents_effaces"] == 1
    assert PERSON["courriel"] not in _state(p, case)
    naive = runner.invoke(cli, ["rgpd", "purge", "--at", "2027-01-01T00:00:00"])
    assert naive.exit_code == 1 and "fuseau" in naive.output
    register = runner.invoke(cli, ["rgpd", "register", "--tenant", SIREN_A])
    assert register.exit_code == 0 and "Procédure de test du RGPD" in register.output


def test_a_case_whose_package_is_held_for_a_dispute_keeps_its_data(
    p: Platform, setup: ArchiveSetup
) -> None:
    from engine.services.archives.holds import set_legal_hold

    notified = p.clock()
    case = closed_request(p, PERSON, notified=notified)
    package_id = str(_data(p, case)["archivage"]["paquet"])

    def hold(on: bool) -> None:
        with p.uow() as uow:
            set_legal_hold(
                uow,
                setup,
                SIREN_A,
                package_id,
                on=on,
                actor=ARCHIVISTE,
                now=p.clock(),
                reason="Recours contentieux de l'usager",
            )
            uow.commit()

    hold(True)
    later = notified + timedelta(days=64)
    assert purge_personal_data(p.uow, now=later).due == []
    assert PERSON["courriel"] in _state(p, case)
    hold(False)
    assert [r.case_id for _t, r in purge_personal_data(p.uow, now=later).purged] == [case.id]
