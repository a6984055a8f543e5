"""Mail notifications against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib

import pytest

from connectors.errors import PermanentError, RetryableError
from connectors.mail.mailer import Attachment, Notification, SmtpConfig, send_notification
from connectors.mail.rendering import NotificationKind, render_notification
from engine.domain.french import PARIS
from engine.rendering.formatting import MAIL_FILTERS
from tests.connectors.conftest import PDF
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.integration

CONTEXTS: dict[NotificationKind, dict[str, object]] = {
    NotificationKind.TASK_ASSIGNED: {
        "recipient_name": "Jeanne Martin",
        "task_name": "Viser le projet de délibération",
        "case_title": "Budget primitif 2025",
        "case_reference": "DEL-2025-014",
        "due_date": dt.date(2025, 3, 1),
        "task_url": "https://dematflow.example.fr/taches/42",
    },
    NotificationKind.COUNCIL_CONVOCATION: {
        "recipient_name": "Madame Dupont",
        "council_name": "municipal de Saint-Test",
        "session_date": dt.datetime(2025, 3, 14, 18, 30, tzinfo=PARIS),
        "session_place": "salle du conseil, mairie",
        "agenda": ["Budget primitif 2025", "Tarifs de la cantine <scolaire>"],
        "attachments": ["note-de-synthese.pdf"],
        "president_name": "Paul Durand",
    },
    NotificationKind.CITIZEN_RECEIPT: {
        "citizen_name": "Louis Bernard",
        "request_title": "Autorisation d'occupation du domaine public",
        "reference": "DEM-2025-0007",
        "received_on": dt.date(2025, 2, 3),
        "implicit_decision_date": dt.date(2025, 4, 3),
        "implicit_acceptance": False,
        "appeal_routes": "recours gracieux auprès du maire ou recours contentieux devant le "
        "tribunal administratif dans un délai de deux mois.",
        "service_name": "Service urbanisme",
        "service_contact": "urbanisme@mairie.example.fr, 04 00 00 00 00",
        "missing_documents": [],
    },
    NotificationKind.DECISION_NOTIFIED: {
        "citizen_name": "Louis Bernard",
        "request_title": "Autorisation d'occupation du domaine public",
        "reference": "DEM-2025-0007",
        "decision_date": dt.date(2025, 3, 1),
        "decision": "Autorisation accordée du 1er avril au 30 septembre 2025.",
        "appeal_routes": "deux mois devant le tribunal administratif.",
    },
    NotificationKind.MISSING_DOCUMENTS: {
        "citizen_name": {"prenom": "Louis", "nom": "Bernard"},
        "objet": "Permission de voirie pour un échafaudage",
        "reference": "DEM-2025-0007",
        "pieces_manquantes": ["Attestation d'assurance", "Plan d'emprise <A3>"],
        "delai": "2025-03-14T18:00:00+01:00",
        "implicit_acceptance": False,
        "service_name": {"nom": "Service voirie", "telephone": "04 00 00 00 00"},
    },
    NotificationKind.IMPLICIT_ACCEPTANCE: {
        "request_title": "Autorisation d'occupation du domaine public",
        "reference": "DEM-2025-0007",
        "date_decision": "2025-04-03T22:00:00Z",
        "attachments": ["attestation.pdf"],
    },
    NotificationKind.IMPLICIT_REJECTION: {
        "request_title": "Subvention au festival",
        "reference": "DEM-2025-0008",
        "date_decision": "2025-04-03T22:00:00Z",
        "appeal_routes": "deux mois devant le tribunal administratif.",
    },
    NotificationKind.BID_REJECTED: {
        "council_name": "Commune de Saint-Test",
        "objet": "Nettoyage des écoles",
        "attributaire": "Propre & Net SARL",
        "montant_ht": 112400,
        "formalisee": True,
        "classement": [
            {"rang": 1, "candidat": "Propre & Net SARL", "note_finale": 17.3, "prix_ht": 112400},
            {"rang": 2, "candidat": "Littoral SAS", "note_finale": 15.8, "prix_ht": 124900.5},
        ],
    },
    NotificationKind.CONTRACT_NOTIFIED: {
        "council_name": "Commune de Saint-Test",
        "objet": "Nettoyage des écoles",
        "numero": "2025_MAR0003",
        "montant_ht": 6050000,
        "titulaire": {"nom": "Propre & Net SARL", "courriel": "contact@propre.fr"},
        "attachments": ["marche_signe.pdf"],
    },
    NotificationKind.ACCOUNT_RESET: {
        "recipient_name": "Jean Dupont",
        "username": "jdupont",
        "reset_at": "2025-03-14T17:30:00+00:00",
        "admin_name": "Alice Admin",
        "tenant_name": "Commune de Saint-Test",
    },
    NotificationKind.PROCUREMENT_ABANDONED: {
        "council_name": "Commune de Saint-Test",
        "objet": "Nettoyage des écoles",
        "motif": "Les offres dépassent de 40 % l'estimation.",
    },
}


def _config(server: SmtpServer) -> SmtpConfig:
    return SmtpConfig(
        host=server.host, port=server.port, sender="ne-pas-repondre@mairie.example.fr"
    )


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_template_renders_in_french_with_text_and_html(kind: NotificationKind) -> None:
    rendered = render_notification(
        kind, {"sender_name": "Mairie", **CONTEXTS[kind]}, filters=MAIL_FILTERS
    )
    assert "\n" not in rendered.subject and rendered.subject
    assert rendered.text.strip() and rendered.html.startswith("<!DOCTYPE html>")
    assert "{{" not in rendered.text and "{{" not in rendered.html


def test_html_part_escapes_values_text_part_does_not() -> None:
    rendered = render_notification(
        NotificationKind.COUNCIL_CONVOCATION,
        CONTEXTS[NotificationKind.COUNCIL_CONVOCATION],
        filters=MAIL_FILTERS,
    )
    assert "Tarifs de la cantine &lt;scolaire&gt;" in rendered.html
    assert "Tarifs de la cantine <scolaire>" in rendered.text
    assert "14 mars 2025 à 18 h 30" in rendered.text


def test_receipt_states_the_implicit_decision_and_appeals() -> None:
    text = render_notification(
        NotificationKind.CITIZEN_RECEIPT,
        CONTEXTS[NotificationKind.CITIZEN_RECEIPT],
        filters=MAIL_FILTERS,
    ).text
    assert "reçue le 3 février 2025" in text and "3 avril 2025" in text
    assert "réputée rejetée" in text and "tribunal administratif" in text
    assert "Service urbanisme" in text


def test_bid_rejection_gives_winner_reasons_standstill_and_referral() -> None:
    context = CONTEXTS[NotificationKind.BID_REJECTED]
    mail = render_notification(NotificationKind.BID_REJECTED, context, filters=MAIL_FILTERS)
    assert "Attributaire : Propre & Net SARL" in mail.text
    assert "112\u202f400,00\u00a0€ HT" in mail.text and "124\u202f900,50\u00a0€" in mail.text
    assert "2. Littoral SAS : note finale 15,8/20" in mail.text  # the reasons: the ranking
    assert "onze jours" in mail.text and "R2182-1" in mail.text
    assert "référé précontractuel" in mail.text and "L551-1" in mail.text
    assert "Propre &amp; Net SARL" in mail.html and "<table>" in mail.html
    mapa = render_notification(
        NotificationKind.BID_REJECTED, {**context, "formalisee": False}, filters=MAIL_FILTERS
    )
    assert "onze jours" not in mapa.text and "référé précontractuel" in mapa.text


def test_missing_documents_lists_pieces_deadline_and_suspension() -> None:
    mail = render_notification(
        NotificationKind.MISSING_DOCUMENTS,
        CONTEXTS[NotificationKind.MISSING_DOCUMENTS],
        filters=MAIL_FILTERS,
    )
    assert mail.text.startswith("Bonjour Louis Bernard,")
    assert "  - Attestation d'assurance\n  - Plan d'emprise <A3>\n" in mail.text
    assert "<li>Plan d&#39;emprise &lt;A3&gt;</li>" in mail.html
    assert "14 mars 2025 à 18 h 00" in mail.text
    assert "réputée rejetée est suspendu" in mail.text and "L114-5" in mail.text
    assert "Service voirie (04 00 00 00 00)" in mail.text
    accepted = render_notification(
        NotificationKind.MISSING_DOCUMENTS,
        {**CONTEXTS[NotificationKind.MISSING_DOCUMENTS], "implicit_acceptance": True},
        filters=MAIL_FILTERS,
    )
    assert "réputée acceptée ne court qu'à compter de la réception" in accepted.text


def test_implicit_decisions_give_their_date_attestation_and_appeals() -> None:
    accepted = render_notification(
        NotificationKind.IMPLICIT_ACCEPTANCE,
        CONTEXTS[NotificationKind.IMPLICIT_ACCEPTANCE],
        filters=MAIL_FILTERS,
    ).text
    # 22:00 UTC is midnight in Paris: the decision is born at the end of 3 April
    assert "née le 3 avril 2025 à 24 h" in accepted and "L232-3" in accepted
    assert "attestation.pdf" in accepted
    rejected = render_notification(
        NotificationKind.IMPLICIT_REJECTION,
        CONTEXTS[NotificationKind.IMPLICIT_REJECTION],
        filters=MAIL_FILTERS,
    ).text
    assert "décision implicite de rejet" in rejected and "L232-4" in rejected
    assert "deux mois devant le tribunal administratif" in rejected


def test_contract_notification_and_abandoned_procedure() -> None:
    notified = render_notification(
        NotificationKind.CONTRACT_NOTIFIED,
        CONTEXTS[NotificationKind.CONTRACT_NOTIFIED],
        filters=MAIL_FILTERS,
    )
    assert notified.subject == "Notification du marché n° 2025_MAR0003 : Nettoyage des écoles"
    assert notified.text.startswith("Propre & Net SARL,") and "R2182-4" in notified.text
    assert "6\u202f050\u202f000,00\u00a0€ HT" in notified.text
    abandoned = render_notification(
        NotificationKind.PROCUREMENT_ABANDONED,
        CONTEXTS[NotificationKind.PROCUREMENT_ABANDONED],
        filters=MAIL_FILTERS,
    ).text
    assert "sans suite" in abandoned and "R2185-1" in abandoned
    assert "Motif de cette décision : Les offres dépassent de 40 % l'estimation." in abandoned


def test_unreadable_date_is_an_error() -> None:
    context = {**CONTEXTS[NotificationKind.MISSING_DOCUMENTS], "delai": "demain"}
    with pytest.raises(ValueError, match="date illisible"):
        render_notification(NotificationKind.MISSING_DOCUMENTS, context, filters=MAIL_FILTERS)


def test_naive_date_time_is_an_error() -> None:
    """The legal hour cannot be guessed: a date-time without its zone is not written."""
    context = {**CONTEXTS[NotificationKind.COUNCIL_CONVOCATION]}
    context["session_date"] = dt.datetime(2025, 3, 14, 18, 30)
    with pytest.raises(ValueError, match="sans fuseau horaire"):
        render_notification(NotificationKind.COUNCIL_CONVOCATION, context, filters=MAIL_FILTERS)


def test_the_caller_must_hand_in_every_french_format() -> None:
    filters = {k: v for k, v in MAIL_FILTERS.items() if k != "echeance_fr"}
    with pytest.raises(ValueError, match="filtres de mise en forme absents : echeance_fr"):
        render_notification(
            NotificationKind.TASK_ASSIGNED,
            CONTEXTS[NotificationKind.TASK_ASSIGNED],
            filters=filters,
        )


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(ValueError, match="variable manquante"):
        render_notification(
            NotificationKind.TASK_ASSIGNED, {"recipient_name": "X"}, filters=MAIL_FILTERS
        )


def test_convocation_with_documents_is_delivered(smtp_inbox: SmtpServer) -> None:
    notification = Notification(
        kind=NotificationKind.COUNCIL_CONVOCATION,
        to=("elu1@example.fr", "elu2@example.fr"),
        context=CONTEXTS[NotificationKind.COUNCIL_CONVOCATION],
        attachments=(Attachment("note-de-synthese.pdf", PDF),),
        headers={"X-Dematflow-Case": "DEL-2025-014"},
    )
    sent = send_notification(notification, config=_config(smtp_inbox), filters=MAIL_FILTERS)
    [received] = smtp_inbox.received
    assert received.recipients == ("elu1@example.fr", "elu2@example.fr")
    assert sent.recipients == received.recipients and not sent.refused
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["Message-ID"] == sent.message_id
    assert (
        parsed["Subject"]
        == sent.subject
        == "Convocation au conseil municipal de Saint-Test du 14 mars 2025"
    )
    assert parsed["X-Dematflow-Case"] == "DEL-2025-014"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "Ordre du jour" in body.get_content()
    assert parsed.get_body(preferencelist=("html",)) is not None
    [attached] = list(parsed.iter_attachments())
    assert attached.get_filename() == "note-de-synthese.pdf" and attached.get_content() == PDF
    assert sent.size > len(PDF)
    # the fingerprint is of the very bytes the relay received
    assert sent.sha256 == hashlib.sha256(received.data).hexdigest()
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998


def test_server_down_is_retryable_and_retry_keeps_the_message_id(
    smtp_inbox: SmtpServer, smtp_down_port: int
) -> None:
    notification = Notification(
        kind=NotificationKind.TASK_ASSIGNED,
        to=("agent@example.fr",),
        context=CONTEXTS[NotificationKind.TASK_ASSIGNED],
        message_id="<task-42-assign@mairie.example.fr>",
    )
    down = SmtpConfig(host="127.0.0.1", port=smtp_down_port, timeout_seconds=2)
    with pytest.raises(RetryableError) as caught:
        send_notification(notification, config=down, filters=MAIL_FILTERS)
    assert caught.value.code == "smtp_unreachable" and "relancé" in caught.value.action
    assert smtp_inbox.received == []
    # the caller retries
    sent = send_notification(notification, config=_config(smtp_inbox), filters=MAIL_FILTERS)
    assert sent.message_id == "<task-42-assign@mairie.example.fr>"
    assert len(smtp_inbox.received) == 1


def test_refused_and_deferred_recipients(smtp_inbox: SmtpServer) -> None:
    context = CONTEXTS[NotificationKind.DECISION_NOTIFIED]
    mixed = Notification(
        NotificationKind.DECISION_NOTIFIED,
        to=("ok@example.fr", "refuse@example.fr", "tempfail@example.fr"),
        context=context,
    )
    sent = send_notification(mixed, config=_config(smtp_inbox), filters=MAIL_FILTERS)
    assert sent.recipients == ("ok@example.fr",)
    assert list(sent.refused) == ["refuse@example.fr"] and sent.refused[
        "refuse@example.fr"
    ].startswith("550")
    assert list(sent.deferred) == ["tempfail@example.fr"]
    with pytest.raises(PermanentError, match="refusé tous les destinataires"):
        send_notification(
            Notification(NotificationKind.DECISION_NOTIFIED, ("refuse@example.fr",), context),
            config=_config(smtp_inbox),
            filters=MAIL_FILTERS,
        )
    with pytest.raises(RetryableError):
        send_notification(
            Notification(NotificationKind.DECISION_NOTIFIED, ("tempfail@example.fr",), context),
            config=_config(smtp_inbox),
            filters=MAIL_FILTERS,
        )
    assert len(smtp_inbox.received) == 1
