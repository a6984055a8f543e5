"""`signatures.sign` through the engine: the real dev PKI (served TSA/OCSP), the élu who acted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.pki import DevPki
from engine.bootstrap import Platform, build_platform
from engine.domain.model import Actor, CaseStatus, JobState
from engine.services import admin
from engine.services.admin import deploy_directory
from engine.services.documents import store_document
from engine.settings import PKISettings, Settings
from signatures import ValidationOptions, validate_pdf
from tests.engine.support import (
    AGENT,
    OPERATOR,
    SIREN_A,
    complete,
    get,
    make_tenants,
    run_pending_jobs,
    start,
)
from tests.fixtures.services import TEST_PROCEDURES
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration
MAIRE = Actor("user:maire", frozenset({"elu"}), "Marie Dupont")
ADJOINT = Actor("user:adjoint", frozenset({"elu"}), "Jean Martin")


@pytest.fixture
def p(settings: Settings, dev_pki: DevPki) -> Iterator[Platform]:
    platform = build_platform(
        settings.model_copy(update={"pki": PKISettings(dev_dir=dev_pki.directory)})
    )
    with platform.uow() as uow:
        deploy_directory(uow, TEST_PROCEDURES, operations=platform.operations, now=platform.clock())
        uow.commit()
    make_tenants(platform)
    with platform.uow() as uow:
        for login, name in (("maire", "Marie Dupont"), ("adjoint", "Jean Martin")):
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=None,
                tenant=SIREN_A,
                roles=("elu",),
                actor=OPERATOR,
                now=platform.clock(),
            )
        uow.commit()
    yield platform
    platform.db.dispose()


def _case_with_document(p: Platform, **data: object):  # type: ignore[no-untyped-def]
    with p.uow() as uow:
        document = store_document(
            uow,
            tenant=SIREN_A,
            name="arrete.pdf",
            content=make_pdf(pages=2),
            actor=AGENT,
            now=p.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    return start(
        p,
        "signature_test",
        {"document": document.reference(), "qui": None, "niveau": "B-LTA", **data},
    )


def test_the_elu_who_signed_the_task_signs_the_pdf_in_b_lta(p: Platform, dev_pki: DevPki) -> None:
    case = _case_with_document(p)
    complete(p, case, "signer", {"confirme": True}, actor=MAIRE)
    assert [o.state for o in run_pending_jobs(p, case)] == [JobState.DONE]
    done = get(p, case)
    assert done.status == CaseStatus.COMPLETED
    signed_ref = done.data["signature"]["document"]
    assert done.data["signature"]["validation"] == {
        "valide": True,
        "niveau": "B-LTA",
        "signataire": "Marie Dupont",
    }
    with p.uow() as uow:
        signed = uow.documents.get(SIREN_A, __import__("uuid").UUID(signed_ref["id"]))
        pdf = uow.documents.content(signed)
        kinds = [e.kind for e in uow.journal.for_case(SIREN_A, case.id)]
    assert signed.kind == "signed" and signed.derived_from is not None
    assert signed.name == signed_ref["nom"] == "arrete-signe.pdf"  # the original: arrete.pdf
    report = validate_pdf(pdf, ValidationOptions(trust_roots=dev_pki.trust_roots))
    assert report.valid and report.signatures[0].signer.startswith("Marie Dupont")
    assert "document.signed" in kinds


def test_nobody_can_sign_in_the_name_of_an_elu_who_did_not_act(p: Platform) -> None:
    case = _case_with_document(p, qui="user:maire")  # the model names the mayor...
    complete(p, case, "signer", {"confirme": True}, actor=ADJOINT)  # ...but the deputy acted
    assert [o.state for o in run_pending_jobs(p, case)] == [JobState.FAILED]
    refused = get(p, case)
    assert refused.status == CaseStatus.COMPLETED and refused.data["statut"] == "signature refusée"
    with p.uow() as uow:
        failures = [
            e.payload for e in uow.journal.for_case(SIREN_A, case.id) if e.kind == "job.failed"
        ]
        assert all(d.kind != "signed" for d in uow.documents.for_case(SIREN_A, case.id))
    assert "n'a pas validé de tâche de ce dossier" in failures[0]["message"]
