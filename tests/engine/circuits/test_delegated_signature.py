"""Real signatures through the circuit with the dev PKI: a deputy signs with their own key."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from devstack.pki import DevPki
from engine.bootstrap import Platform, build_platform
from engine.domain.model import CaseStatus, JobState
from engine.jobs.runner import TransactionRunner
from engine.services import delegations
from engine.services.admin import deploy_directory
from engine.services.batch import sign_batch
from engine.services.documents import store_document
from engine.settings import PKISettings, Settings
from signatures import ValidationOptions, validate_pdf
from tests.engine.circuits.support import add_people, person, task_for
from tests.engine.support import AGENT, SIREN_A, get, make_tenants, run_pending_jobs, start
from tests.fixtures.services import TEST_PROCEDURES
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


@pytest.fixture
def p(settings: Settings, dev_pki: DevPki) -> Iterator[Platform]:
    platform = build_platform(
        settings.model_copy(update={"pki": PKISettings(dev_dir=dev_pki.directory)})
    )
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_tenants(platform)
    add_people(platform)
    yield platform
    platform.db.dispose()


def test_a_deputy_signs_with_their_own_key_by_delegation_and_signatures_chain(
    p: Platform, dev_pki: DevPki
) -> None:
    now = p.clock()
    with p.uow() as uow:
        delegations.create_delegation(
            uow,
            tenant=SIREN_A,
            delegator="maire",
            deputy="adjoint",
            starts=now - timedelta(hours=1),
            ends=now + timedelta(days=5),
            reason="Absence du maire",
            actor=person("maire"),
            now=now,
        )
        document = store_document(
            uow,
            tenant=SIREN_A,
            name="arrete.pdf",
            content=make_pdf(pages=1),
            actor=AGENT,
            now=now,
            max_bytes=10_000_000,
        )
        uow.commit()
    etape = {
        "type": "signature",
        "signataires": ["maire", "adjointe"],
        "regle": "tous",
        "qualite": "Le Maire",
        "raison": "Arrêté de voirie",
    }
    circuit = {"etapes": [etape], "document": document.reference(), "niveau": "B-LTA"}
    case = start(p, "circuit_test", {"circuit": circuit})
    outcomes = sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("adjoint"),
        task_ids=[task_for(p, case, "maire").id, task_for(p, case, "adjointe").id],
        data={"decision": "signer"},
        now=now,
    )
    assert [o.done for o in outcomes] == [True, False]  # the deputy stands in for the mayor only
    sign_batch(
        TransactionRunner(p.uow),
        tenant=SIREN_A,
        actor=person("adjointe"),
        task_ids=[task_for(p, case, "adjointe").id],
        data={"decision": "signer"},
        now=now,
    )
    assert [o.state for o in run_pending_jobs(p, case)] == [JobState.DONE]
    assert [o.state for o in run_pending_jobs(p, case)] == [JobState.DONE]
    done = get(p, case)
    assert done.status == CaseStatus.COMPLETED and done.data["circuit_resultat"] == "approuve"
    deputy, own = done.data["circuit_signatures"]
    assert (deputy["signataire"], deputy["pour"]) == ("user:adjoint", "user:maire")
    assert deputy["validation"]["signataire"] == "Jean Martin"  # the deputy's certificate
    assert (own["signataire"], own["pour"]) == ("user:adjointe", None)
    with p.uow() as uow:
        final = uow.documents.get(SIREN_A, uuid.UUID(done.data["circuit_document"]["id"]))
        pdf = uow.documents.content(final)
        signed = [
            e.payload for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "document.signed"
        ]
    report = validate_pdf(pdf, ValidationOptions(trust_roots=dev_pki.trust_roots))
    assert report.valid and len(report.signatures) == 2  # incremental: the first one still holds
    assert [s.signer.split(",")[0] for s in report.signatures] == ["Jean Martin", "Zoé Lefèvre"]
    embedded = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    reasons = [str(s.sig_object["/Reason"]) for s in embedded if s.sig_object["/Type"] == "/Sig"]
    assert reasons[0] == "Pour le Maire, par délégation, Jean Martin : Arrêté de voirie"
    assert reasons[1] == "Arrêté de voirie"
    assert signed[0]["mention"] == "Pour le Maire, par délégation, Jean Martin"
    assert signed[0]["certificate"].startswith("Jean Martin") and "mention" not in signed[1]
