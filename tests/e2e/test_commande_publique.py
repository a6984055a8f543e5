"""Public procurement, end to end on the real stack: a formal procedure with its standstill."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest

from engine.domain.model import CaseStatus
from signatures import ValidationOptions, validate_pdf
from tests.e2e.conftest import PARIS, Stack
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

WINNER, WINNER_MAIL = "Nettoyage Occitan SARL", "offres@nettoyage-occitan.fr"
LOSER, LOSER_MAIL = "Propreté du Littoral SAS", "marches@proprete-littoral.fr"
CONSULTATION = "2026-AO-017"


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _signed_attachment(stack: Stack, message: EmailMessage) -> bytes:
    """The one PDF attached, whose B-LTA signature by the mayor validates (live TSA/OCSP)."""
    (part,) = list(message.iter_attachments())
    pdf = part.get_content()
    assert isinstance(pdf, bytes)
    report = validate_pdf(pdf, ValidationOptions(trust_roots=stack.pki.trust_roots))
    assert report.valid, report.summary
    (signature,) = report.signatures
    assert "Marie Dupont" in signature.signer and signature.pades_level == "B-LTA"
    return pdf


def test_formal_procedure_from_need_to_archive(stack: Stack) -> None:
    started = time.monotonic()
    today = datetime.now(PARIS)
    case = stack.start("commande-publique")
    stack.complete(
        case,
        "definir_besoin",
        {
            "objet": "Nettoyage des bâtiments communaux",
            "description_besoin": "Entretien quotidien de 14 bâtiments, 4 ans, cahier des charges joint.",
            "type_marche": "services",
            "montant_estime_ht": 250000,
            "date_lancement": today.date().isoformat(),
            "code_cpv": "90911200-8",
            "duree_mois": 48,
        },
    )
    stack.settle(case)
    chosen = stack.data(case)
    assert chosen["procedure"] == "formalisee" and chosen["transmission_prefecture"] is True

    # 36 days at noon: at least the 35 days R2161-2 asks for, whatever the hour the test runs
    # (35 days at noon was too close once the test ran after noon).
    deadline = (today + timedelta(days=36)).replace(hour=12, minute=0, second=0, microsecond=0)
    stack.complete(
        case,
        "publier_consultation",
        {
            "reference_consultation": CONSULTATION,
            "date_limite_offres": deadline.isoformat(),
            "dce": stack.upload(case, "reglement_consultation.pdf", make_pdf(text="RC")),
            "supports_publicite": ["profil_acheteur", "boamp", "joue"],
        },
    )
    stack.settle(case)
    closing = datetime.fromisoformat(stack.data(case)["echeance_offres"]["echeance"])
    assert closing == deadline

    # bids from the buyer's profile: two in time; one stamped after the deadline, refused
    for bidder, at in (
        (WINNER, deadline - timedelta(days=2)),
        (LOSER, deadline - timedelta(hours=3)),
    ):
        stack.deliver(
            "offre_deposee",
            CONSULTATION,
            {"candidat": bidder, "deposee_le": at.isoformat(), "pli": bidder[:8]},
        )
    late = deadline + timedelta(minutes=5)
    stack.deliver(
        "offre_deposee",
        CONSULTATION,
        {"candidat": "Retard & Fils", "deposee_le": late.isoformat(), "pli": "tard"},
        at=late,
    )
    # the deadline had passed when that bid was recorded: the register closed at once; beat's
    # next run finds nothing left to fire
    assert stack.fire_timers(late + timedelta(minutes=1)) == 0
    stack.settle(case)
    assert stack.ready(case).keys() == {"analyser_offres"}
    bids = stack.data(case)
    assert [b["candidat"] for b in bids["offres"]] == [WINNER, LOSER]
    assert [b["candidat"] for b in bids["offres_hors_delai"]] == ["Retard & Fils"]

    classement = [
        {
            "candidat": WINNER,
            "prix_ht": 238000,
            "note_prix": 18.2,
            "note_technique": 16,
            "note_finale": 17.3,
            "rang": 1,
        },
        {
            "candidat": LOSER,
            "prix_ht": 251500,
            "note_prix": 16.4,
            "note_technique": 15,
            "note_finale": 15.8,
            "rang": 2,
        },
    ]
    stack.complete(
        case,
        "analyser_offres",
        {
            "ponderation_prix": 60,
            "ponderation_technique": 40,
            "classement": classement,
            "attributaire": WINNER,
            "montant_offre_retenue_ht": 238000,
            "candidats": [WINNER_MAIL, LOSER_MAIL],
            "candidats_evinces": [LOSER_MAIL],
            "rapport_analyse": stack.upload(case, "rapport_analyse.pdf", make_pdf(text="RAO")),
        },
    )
    stack.complete(case, "decider_attribution", {"decision": "attribuer"}, login="maire")
    stack.settle(case)

    # the losing bidder is told, with the signed award decision, before the standstill runs
    (rejection,) = stack.mails_to(LOSER_MAIL)
    text = _text(rejection)
    assert f"Attributaire : {WINNER}" in text and "onze jours" in text
    assert "référé précontractuel" in text and "2. Propreté du Littoral SAS" in text
    _signed_attachment(stack, rejection)
    assert stack.mails_to(WINNER_MAIL) == []
    standstill_end = datetime.fromisoformat(stack.data(case)["fin_standstill"]["echeance"])
    assert standstill_end - datetime.now(PARIS) > timedelta(days=10)
    assert not stack.ready(case)  # no contract can be signed during the standstill
    assert stack.fire_timers(standstill_end - timedelta(minutes=1)) == 0
    assert stack.fire_timers(standstill_end + timedelta(minutes=1)) == 1
    stack.settle(case)

    contract = stack.upload(
        case, "acte_engagement.pdf", make_pdf(pages=2, text="Acte d'engagement")
    )
    stack.complete(
        case,
        "preparer_marche",
        {
            "contrat": contract,
            "montant_attribue_ht": 238000,
            "titulaire": {"nom": WINNER, "siret": "51234567800021", "courriel": WINNER_MAIL},
        },
    )
    stack.complete(case, "signer_marche", {"certifie_conforme": True}, login="maire")
    stack.settle(case)  # signed, numbered, transmitted to the prefecture
    numbered = stack.data(case)
    assert numbered["transmission"]

    stack.wait(lambda: stack.poll_prefecture().acknowledged >= 1, "the prefecture's AR", case)
    final = stack.wait_completed(case)
    assert final.status == CaseStatus.COMPLETED
    data = stack.data(case)
    assert data["identifiant_ar"].endswith(f"-{data['numero_acte']}-CC")

    # the winner is notified with the contract the mayor signed
    (notification,) = stack.mails_to(WINNER_MAIL)
    assert (
        notification["Subject"]
        == f"Notification du marché n° {data['numero_acte']} : Nettoyage des bâtiments communaux"
    )
    assert "R2182-4" in _text(notification)
    signed = _signed_attachment(stack, notification)
    assert signed == stack.document_bytes(data["marche_signe"]["document"])

    stack.assert_archive_and_journal_verify(str(data["archivage"]["paquet"]))
    stack.timings["total"] = time.monotonic() - started
    print(f"\nmarché formalisé : {stack.timings}")
