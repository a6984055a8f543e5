"""Citizen request, end to end on the real stack: from the public form to a verified archive."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from engine.domain.model import Case, CaseStatus
from engine.services.citizen_requests import Submitted, Upload, submit_pieces, submit_request
from signatures import ValidationOptions, validate_pdf
from tests.e2e.conftest import PARIS, Stack
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

CITIZEN = "lucie.moreau@exemple.fr"
FORM = {
    "type_demande": "decision_individuelle",
    "objet": "Permission de voirie pour un échafaudage au 8 rue Foch",
    "description": "Ravalement de façade : échafaudage de 12 m sur le trottoir pendant 3 semaines.",
    "demandeur": {
        "nom": "Moreau",
        "prenom": "Lucie",
        "courriel": CITIZEN,
        "adresse": "8 rue Foch, 34000 Saint-Exemple",
    },
}


def _submit(stack: Stack, form: dict[str, Any]) -> Submitted:
    """The public form, as the portal files it (validated, with the citizen's PDF)."""
    with stack.platform.uow() as uow:
        submitted = submit_request(
            uow,
            tenant=stack.tenant,
            data=form,
            uploads=[Upload("plan_situation.pdf", make_pdf(text="Plan de situation"))],
            consent=True,
            secret=stack.settings.secret_key,
            now=stack.platform.clock(),
        )
        uow.commit()
    return submitted


def _attachment(message: EmailMessage) -> tuple[str, bytes]:
    (part,) = list(message.iter_attachments())
    content = part.get_content()
    assert isinstance(content, bytes)
    return str(part.get_filename()), content


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _check_signed(stack: Stack, pdf: bytes, signer: str) -> str:
    """The PDF's signature validates against the dev PKI (TSA/OCSP live); returns its level."""
    report = validate_pdf(pdf, ValidationOptions(trust_roots=stack.pki.trust_roots))
    assert report.valid, report.summary
    (signature,) = report.signatures
    assert signer in signature.signer
    return str(signature.pades_level)


def _archive_and_journal(stack: Stack, case: Case) -> str:
    data = stack.data(case)
    package_id = str(data["archivage"]["paquet"])
    stack.assert_archive_and_journal_verify(package_id)
    return package_id


def test_request_with_missing_pieces_then_signed_decision(stack: Stack) -> None:
    started = time.monotonic()
    submitted = _submit(stack, FORM)
    case = submitted.case
    stack.settle(case)
    assert stack.ready(case).keys() == {"verifier_completude"}

    # the acknowledgement: R112-5 mentions, the sealed PDF attached, its seal valid
    (receipt,) = stack.mails_to(CITIZEN)
    text = _text(receipt)
    data = stack.data(case)
    assert receipt["Subject"] == f"Accusé de réception de votre demande {data['reference']}"
    assert "Bonjour Lucie Moreau," in text
    assert "Service de l'accueil et des formalités" in text  # the service in charge (DMN)
    assert "réputée acceptée le " in text and "L232-3" in text and "R112-5" in text
    name, sealed = _attachment(receipt)
    assert name.endswith(".pdf")
    _check_signed(stack, sealed, stack.pki.seal.display_name)

    # incomplete: the pieces are asked for, the silence deadline is suspended
    due = (datetime.now(PARIS) + timedelta(days=15)).replace(
        hour=18, minute=0, second=0, microsecond=0
    )
    missing = ["Attestation d'assurance de l'entreprise", "Plan d'emprise de l'échafaudage"]
    stack.complete(
        case,
        "verifier_completude",
        {
            "dossier_complet": False,
            "pieces_manquantes": missing,
            "delai_production": due.isoformat(),
        },
    )
    stack.settle(case)
    request_mail = stack.mails_to(CITIZEN)[1]
    text = _text(request_mail)
    assert request_mail["Subject"] == f"Pièces manquantes pour votre demande {data['reference']}"
    assert all(f"  - {piece}" in text for piece in missing)
    assert "à 18 h 00" in text and "L114-5" in text
    assert not stack.ready(case)  # waiting for the pieces

    # the citizen sends them from the status page: the case resumes, the deadline is recomputed
    with stack.platform.uow() as uow:
        submit_pieces(
            uow,
            tenant=stack.tenant,
            token=submitted.token,
            uploads=[Upload("attestation_assurance.pdf", make_pdf(text="Attestation"))],
            now=stack.platform.clock(),
        )
        uow.commit()
    stack.settle(case)
    resumed = stack.data(case)
    assert len(resumed["suspensions"]) == 1 and resumed["suspensions"][0]["recues_le"]
    assert resumed["echeance_implicite"]["echeance"] >= data["echeance_implicite"]["echeance"]

    stack.complete(case, "verifier_completude", {"dossier_complet": True})
    stack.complete(
        case,
        "instruire",
        {
            "proposition": "accorder",
            "rapport_instruction": "Trottoir de 2,50 m : passage maintenu.",
        },
    )
    stack.complete(case, "decider", {"decision": "accorder"}, login="maire")
    final = stack.wait_completed(case)
    assert final.status == CaseStatus.COMPLETED

    # the decision, signed by the mayor (B-LTA), notified with the signed PDF
    decision_mail = stack.mails_to(CITIZEN)[2]
    text = _text(decision_mail)
    assert "Votre demande est accordée." in text and "tribunal administratif" in text
    _name, signed = _attachment(decision_mail)
    assert _check_signed(stack, signed, "Marie Dupont") == "B-LTA"
    assert signed == stack.document_bytes(stack.data(case)["decision_signee"]["document"])

    _archive_and_journal(stack, case)
    stack.timings["total"] = time.monotonic() - started
    print(f"\ndemande avec pièces puis décision signée : {stack.timings}")


def test_request_ends_by_implicit_acceptance_when_the_timer_fires(stack: Stack) -> None:
    started = time.monotonic()
    case = _submit(stack, {**FORM, "objet": "Autorisation d'installer une terrasse"}).case
    stack.settle(case)
    stack.complete(case, "verifier_completude", {"dossier_complet": True})
    stack.settle(case)
    assert stack.ready(case).keys() == {"instruire"}
    due = datetime.fromisoformat(stack.data(case)["echeance_implicite"]["echeance"])
    assert stack.fire_timers(due - timedelta(minutes=1)) == 0  # not yet
    assert stack.fire_timers(due + timedelta(minutes=1)) == 1  # what beat does, two months later
    final = stack.wait_completed(case)
    data = stack.data(case)
    assert final.status == CaseStatus.COMPLETED
    assert data["statut"] == "acceptée implicitement" and "decision_signee" not in data

    _receipt, attestation = stack.mails_to(CITIZEN)
    assert "décision implicite" in attestation["Subject"]
    text = _text(attestation)
    assert "décision implicite d'acceptation, née le " in text and "L232-3" in text
    _name, sealed = _attachment(attestation)
    _check_signed(stack, sealed, stack.pki.seal.display_name)

    _archive_and_journal(stack, case)
    stack.timings["total"] = time.monotonic() - started
    print(f"\ndemande acceptée implicitement : {stack.timings}")
