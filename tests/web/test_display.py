"""Values formatted for people: French formats, Paris time, labels from the forms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from engine.services.publication import signature_summary
from web.display import (
    amount_fr,
    case_rows,
    clean_label,
    date_fr,
    datetime_fr,
    dua_fr,
    number_fr,
    show,
)

NNBSP = "\u202f"
NBSP = "\u00a0"


def test_times_are_paris_time_in_french_words() -> None:
    # 17:30 UTC in winter is 18:30 in Paris; 6:05 UTC in summer is 8:05.
    assert datetime_fr(datetime(2026, 12, 7, 17, 30, tzinfo=UTC)) == "7 décembre 2026 à 18 h 30"
    assert datetime_fr(datetime(2026, 7, 1, 6, 5, tzinfo=UTC)) == "1er juillet 2026 à 8 h 05"
    # A naive value (SQLite) is UTC, as the journal stores it.
    assert datetime_fr(datetime(2026, 12, 7, 23, 30)) == "8 décembre 2026 à 0 h 30"
    assert date_fr(date(2026, 3, 1)) == "1er mars 2026"
    assert date_fr(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == "2 mars 2026"


def test_amounts_and_numbers_in_french_format() -> None:
    assert amount_fr(85000.0) == f"85{NNBSP}000{NBSP}€"
    assert amount_fr(1234567.5) == f"1{NNBSP}234{NNBSP}567,50{NBSP}€"
    assert amount_fr(Decimal("3.45")) == f"3,45{NBSP}€"
    assert number_fr(27) == "27" and number_fr(3.5) == "3,5" and number_fr(-1000) == f"-1{NNBSP}000"


def test_values_follow_their_schema() -> None:
    assert show(True).text == "oui" and show(False).text == "non"
    assert show(None).text == "—" and show([]).text == "—"
    labels = {"x-labels": {"accorder": "J'accorde la demande"}}
    assert show("accorder", labels).text == "J'accorde la demande"
    assert show(40000, {"title": "Montant du marché (€ HT)"}).text == f"40{NNBSP}000{NBSP}€"
    assert show(40000, key="montant_estime_ht").text == f"40{NNBSP}000{NBSP}€"
    assert show("2026-12-04T18:30:00+01:00").text == "4 décembre 2026 à 18 h 30"
    assert show("2026-12-07T02:12:45.780340+00:00").text == "7 décembre 2026 à 3 h 12"
    assert show("2027-01-15").text == "15 janvier 2027"
    assert show("adoptee").text == "adoptée"
    people = {"maire": "Marie Dupont"}
    assert show("maire", people=people).text == "Marie Dupont (maire)"
    assert show("user:maire", people=people).text == "Marie Dupont (maire)"
    assert show("maire").text == "maire"  # not a member: left as typed


def test_documents_lists_and_nested_objects_are_readable() -> None:
    reference = {"id": "d1", "nom": "projet.pdf", "sha256": "ab" * 32, "taille": 2048}
    shown = show(reference)
    assert shown.kind == "document" and shown.document is not None
    assert shown.document.name == "projet.pdf" and shown.document.id == "d1"
    assert show({"document": reference}).kind == "document"
    annexes = show([reference, reference])
    assert annexes.kind == "list" and [i.kind for i in annexes.items] == ["document"] * 2
    by = {"utilisateur": "user:agent", "nom": "Claire Agent", "le": "2026-11-18T18:30:00+01:00"}
    assert show(by).text == "Claire Agent, le 18 novembre 2026 à 18 h 30"
    schema = {"properties": {"nom": {"title": "Raison sociale"}, "siret": {"title": "SIRET"}}}
    titulaire = show({"nom": "ACME", "siret": "12345678900011", "interne": "x"}, schema)
    assert [(r.label, r.value.text) for r in titulaire.rows] == [
        ("Raison sociale", "ACME"),
        ("SIRET", "12345678900011"),
    ]


FORMS = {
    "rediger": {
        "properties": {
            "objet": {"type": "string", "title": "Objet de la délibération"},
            "visa_finances_requis": {"type": "boolean", "title": "Incidence financière"},
            "chef_service": {"type": "string", "title": "Visa du chef de service (identifiant)"},
            "projet": {"type": "object", "x-document": True, "title": "Projet (PDF)"},
        }
    }
}


def test_case_rows_use_form_labels_and_hide_internal_keys() -> None:
    data = {
        "objet": "Tarifs",
        "visa_finances_requis": False,
        "chef_service": "chef_service",
        "projet": {"id": "d1", "nom": "projet.pdf", "sha256": "ab" * 32},
        "circuit": {"etapes": [{"type": "visa"}]},
        "circuit_rejete_par": None,
        "numero_acte": "2026_DEL0001",
        "echeance": {"schema": 1, "rule": "r", "due": "x"},
    }
    rows = case_rows(
        data, FORMS, people={"chef_service": "Sophie Bernard"}, hide=frozenset({"echeance"})
    )
    assert [(r.label, r.value.text) for r in rows] == [
        ("Objet de la délibération", "Tarifs"),
        ("Incidence financière", "non"),
        ("Visa du chef de service", "Sophie Bernard (chef_service)"),
        ("Projet (PDF)", "projet.pdf"),
        ("Numéro de l'acte", "2026_DEL0001"),
    ]
    assert clean_label("Date limite (avec fuseau)") == "Date limite"


def test_picked_values_read_as_what_was_picked() -> None:
    """A @ctes matière shows its label, a councillor picked for a convocation their name, and
    the act's publication its date and public address (journey 1 saw « 3.1 » and mails)."""
    matiere = {"title": "Matière", "x-dematflow-source": {"kind": "actes_matieres"}}
    assert show("3.1", matiere).text == "3.1 Domaine et patrimoine › Acquisitions"
    council = {
        "type": "array",
        "title": "Conseillers convoqués",
        "items": {"type": "string", "format": "email"},
        "x-dematflow-source": {"kind": "councillors", "value": "email"},
    }
    names = {"marie.dupont@demo.fr": "Marie Dupont"}
    shown = show(["marie.dupont@demo.fr", "inconnu@demo.fr"], council, people=names)
    assert [item.text for item in shown.items] == ["Marie Dupont", "inconnu@demo.fr"]
    url = "http://127.0.0.1:8000/registre/213400997/actes/6c1f4a5b"
    published = {"url": url, "publie_le": "2027-02-25T08:05:00Z", "publication": "6c1f4a5b"}
    (row,) = case_rows({"publication": published}, {})
    assert row.label == "Publication sur le registre des actes"
    assert [(r.label, r.value.text) for r in row.value.rows] == [
        ("Adresse", url),
        ("Mis en ligne le", "25 février 2027 à 9 h 05"),
    ]


def test_a_seance_shows_its_agenda_and_votes() -> None:
    """The séance's page shows each point of the agenda and the vote recorded for it (journey 1
    recorded a vote that the page did not show)."""
    data = {
        "ordre_du_jour": [{"numero": 1, "numero_projet": "2027_PDEL0001", "objet": "Terrain"}],
        "votes": [
            {
                "numero_point": 1,
                "numero_projet": "2027_PDEL0001",
                "objet": "Terrain",
                "resultat": "adoptee",
                "membres_en_exercice": 7,
                "presents": 6,
                "pouvoirs": 1,
                "pour": 6,
                "contre": 0,
                "abstentions": 1,
                "ne_prend_pas_part": 0,
                "motif": "",
            },
        ],
    }
    agenda, votes = case_rows(data, {})
    assert agenda.label == "Ordre du jour" and votes.label == "Votes du conseil"
    (point,) = agenda.value.items
    assert [(r.label, r.value.text) for r in point.rows] == [("Point", "1"), ("Objet", "Terrain")]
    (vote,) = votes.value.items
    shown = {r.label: r.value.text for r in vote.rows}
    assert shown["Résultat"] == "adoptée" and shown["Pour"] == "6" and shown["Abstentions"] == "1"


def test_a_published_document_without_a_checked_signature_says_so_plainly() -> None:
    """The register said « Validation de la signature non communiquée » beside the séance's list
    of deliberations, which is published unsigned: as if something had been withheld."""
    assert signature_summary({}) == "Pas de signature électronique vérifiée."
    valid = {"valide": True, "niveau": "B-LTA"}
    assert signature_summary(valid) == "Signature électronique valide (PAdES B-LTA)."


def test_a_mark_or_weight_about_a_price_is_no_amount() -> None:
    weight = {"title": "Pondération du critère prix (%)"}
    assert show(60, weight, key="ponderation_prix").text == "60"
    assert show(18, {"title": "Note prix"}, key="note_prix").text == "18"
    assert show(1500, {"title": "Prix HT"}, key="prix_ht").text == amount_fr(1500)


def test_a_retention_rule_reads_with_its_duration() -> None:
    assert dua_fr("DUA-DELIBERATION-P10Y") == "10 ans (règle DUA-DELIBERATION-P10Y)"
    assert dua_fr("DUA-X-P1Y") == "1 an (règle DUA-X-P1Y)"
    assert dua_fr("REGLE-LOCALE") == "règle REGLE-LOCALE"
