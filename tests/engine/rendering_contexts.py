"""Realistic contexts for each document model, as the procedures' BPMN build them."""

from __future__ import annotations

from typing import Any

ISSUER = "Commune de Montpellier-le-Test"

DEMANDEUR = {
    "nom": "Moreau",
    "prenom": "Lucie",
    "courriel": "lucie.moreau@exemple.fr",
    "telephone": "06 12 34 56 78",
    "adresse": "12 rue des Tilleuls, 34000 Montpellier",
}
SERVICE = {
    "nom": "Service des finances",
    "adresse": "Hôtel de ville, 1 place de la Comédie, 34000 Montpellier",
    "telephone": "04 67 34 70 00",
    "courriel": "finances@mairie-exemple.fr",
}
VOIES_RECOURS = (
    "Recours gracieux auprès du maire ou recours contentieux devant le tribunal administratif "
    "dans les deux mois suivant la naissance de la décision implicite de rejet (art. L411-2 "
    "CRPA, R421-1 et R421-2 CJA) ; vous pouvez demander la communication des motifs dans ce "
    "délai (art. L232-4 CRPA)."
)
CLASSEMENT = [
    {"candidat": "Nettoyage Occitan SARL", "prix_ht": 112400, "note_prix": 18.2,
     "note_technique": 16, "note_finale": 17.3, "rang": 1},
    {"candidat": "Propreté du Littoral SAS", "prix_ht": 124900, "note_prix": 16.4,
     "note_technique": 15, "note_finale": 15.8, "rang": 2},
]  # fmt: skip

AR_ACCEPTATION: dict[str, Any] = {
    "reference": "DEM-2026-000412",
    "recu_le": "2026-12-10T14:32:00+01:00",
    "objet": "Autorisation d'installer une terrasse devant le café du Marché",
    "type": "Demande de décision individuelle",
    "service": {**SERVICE, "nom": "Service de l'accueil et des formalités"},
    "decision_implicite_le": "2027-02-10T23:00:00Z",
    "explication": "Décision implicite d'acceptation à la fin du mercredi 10 février 2027",
    "acceptation_implicite": True,
    "voies_recours": "",
    "base_legale": "Art. L231-1 CRPA",
    "demandeur": DEMANDEUR,
}
AR_REJET: dict[str, Any] = {
    **AR_ACCEPTATION,
    "reference": "DEM-2026-000419",
    "objet": "Demande de subvention pour le festival de musique de quartier",
    "type": "Demande à caractère financier",
    "service": SERVICE,
    "acceptation_implicite": False,
    "voies_recours": VOIES_RECOURS,
    "base_legale": "Art. L231-4, 3° CRPA",
}

# modele → (context, phrases the PDF text must contain)
CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "accuse_reception_crpa": (
        AR_ACCEPTATION,
        [
            "Accusé de réception de votre demande",
            "reçue le jeudi 10 décembre 2026 à 14 h 32",
            "réputée acceptée à la fin de la journée du mercredi 10 février 2027",
            "décision implicite d'acceptation",
            "Service de l'accueil et des formalités",
            "Adresse : Hôtel de ville, 1 place de la Comédie, 34000 Montpellier",
            "Téléphone : 04 67 34 70 00",
            "Courriel : finances@mairie-exemple.fr",
            "attestation",
            "DEM-2026-000412",
        ],
    ),
    "accuse_reception": (
        {"reference": "DEM-2026-000412", "objet": AR_ACCEPTATION["objet"]},
        ["Accusé de réception", "DEM-2026-000412", "café du Marché"],
    ),
    "attestation_acceptation_implicite": (
        {
            "reference": "DEM-2026-000412",
            "objet": AR_ACCEPTATION["objet"],
            "demandeur": DEMANDEUR,
            "date_decision": "2027-02-10T23:00:00Z",
            "explication": "Décision implicite d'acceptation à la fin du mercredi 10 février 2027",
            "voies_recours": "",
            "base_legale": "Art. L231-1 CRPA",
        },
        [
            "Attestation de décision implicite d'acceptation",
            "L232-3",
            "décision implicite d'acceptation, née à l'issue du mercredi 10 février 2027",
            "Lucie Moreau",
        ],
    ),
    "information_rejet_implicite": (
        {
            "reference": "DEM-2026-000419",
            "objet": AR_REJET["objet"],
            "demandeur": DEMANDEUR,
            "date_decision": "2027-02-10T23:00:00Z",
            "explication": "Décision implicite de rejet à la fin du mercredi 10 février 2027",
            "voies_recours": VOIES_RECOURS,
            "base_legale": "Art. L231-4, 3° CRPA",
        },
        [
            "décision implicite de rejet, née à l'issue du mercredi 10 février 2027",
            "Voies et délais de recours",
            "tribunal administratif",
            "L232-4",
        ],
    ),
    "decision_demande": (
        {
            "reference": "DEM-2026-000419",
            "objet": AR_REJET["objet"],
            "demandeur": DEMANDEUR,
            "decision": "refuser",
            "motivation": "Le budget des subventions culturelles de l'exercice 2026 est épuisé.",
            "service": SERVICE,
        },
        [
            "Décision sur la demande DEM-2026-000419",
            "est refusée",
            "Motifs",
            "budget des subventions culturelles",
            "Voies et délais de recours",
        ],
    ),
    "convocation_conseil": (
        {
            "seance": "2027-01-28T18:30:00+01:00",
            "lieu": "Salle du conseil, hôtel de ville",
            "objet": "Tarifs de la restauration scolaire pour l'année 2027",
            "rapporteur": "Mme Claire Dumas, adjointe aux affaires scolaires",
            "numero_point": 4,
        },
        [
            "Convocation du conseil municipal",
            "jeudi 28 janvier 2027 à 18 h 30",
            "Salle du conseil, hôtel de ville",
            "Ordre du jour",
            "Point n° 4",
            "Tarifs de la restauration scolaire pour l'année 2027",
            "cinq jours francs",
        ],
    ),
    "deliberation": (
        {
            "numero": "2027_DEL0004",
            "objet": "Tarifs de la restauration scolaire pour l'année 2027",
            "rapporteur": "Mme Claire Dumas, adjointe aux affaires scolaires",
            "texte": "Le conseil municipal, après en avoir délibéré, fixe le prix du repas à "
            "3,45 euros à compter du 1er mars 2027.",
            "seance": "2027-01-28T18:30:00+01:00",
            "presents": 21,
            "pour": 19,
            "contre": 3,
            "abstentions": 2,
            "ne_prend_pas_part": 0,
        },
        [
            "Délibération n° 2027_DEL0004",
            "jeudi 28 janvier 2027 à 18 h 30",
            "fixe le prix du repas à 3,45 euros",
            "Pour 19",
            "Contre 3",
            "Abstentions 2",
        ],
    ),
    "note": (
        {
            "titre": "Plan de situation de la terrasse",
            "texte": "Terrasse de 12 m² devant le café, 3 place de la Mairie.",
        },
        ["Plan de situation de la terrasse", "Terrasse de 12 m² devant le café"],
    ),
    "projet_deliberation": (
        {
            "objet": "Dénomination de la place du Marché",
            "rapporteur": "M. Jean Martin, adjoint à l'urbanisme",
            "service_porteur": "Service urbanisme",
            "texte": "Le conseil municipal dénomme « place du Marché » la place devant la halle.",
        },
        [
            "Projet de délibération : Dénomination de la place du Marché",
            "M. Jean Martin, adjoint à l'urbanisme",
            "Service urbanisme",
            "Projet soumis au conseil municipal",
            "sera établi après la séance du conseil municipal",
        ],
    ),
    "liste_deliberations": (
        {
            "seance": "2027-01-28T18:30:00+01:00",
            "deliberations": [
                {
                    "numero": "2027_DEL0004",
                    "objet": "Tarifs de la restauration scolaire pour l'année 2027",
                    "resultat": "adoptée",
                },
                {
                    "numero": "2027_DEL0005",
                    "objet": "Cession d'un délaissé de voirie rue des Acacias",
                    "resultat": "rejetée",
                },
            ],
        },
        [
            "Liste des délibérations de la séance du jeudi 28 janvier 2027",
            "2027_DEL0004",
            "adoptée",
            "2027_DEL0005",
            "rejetée",
            "L2121-25",
        ],
    ),
    "decision_attribution": (
        {
            "objet": "Nettoyage des bâtiments communaux 2027-2029",
            "procedure": "Appel d'offres ouvert",
            "attributaire": "Nettoyage Occitan SARL",
            "montant_ht": 112400,
            "classement": CLASSEMENT,
        },
        [
            "Décision d'attribution du marché",
            "Appel d'offres ouvert",
            "attribué à Nettoyage Occitan SARL",
            "112 400,00 € HT",
            "Propreté du Littoral SAS",
            "17,3",
        ],
    ),
    "demande_pieces": (
        {
            "reference": "DEM-2026-000412",
            "pieces_manquantes": ["Plan de situation de la terrasse", "Attestation d'assurance"],
            "delai": "2027-01-15T18:00:00+01:00",
        },
        [
            "Demande de pièces complémentaires",
            "Plan de situation de la terrasse",
            "Attestation d'assurance",
            "vendredi 15 janvier 2027 à 18 h 00",
            "L114-5",
        ],
    ),
    "notification_decision": (
        {"reference": "DEM-2026-000412", "objet": AR_ACCEPTATION["objet"], "decision": "accorder"},
        ["Notification de la décision", "a été accordée", "DEM-2026-000412"],
    ),
    "notification_marche": (
        {
            "objet": "Nettoyage des bâtiments communaux 2027-2029",
            "numero": "2027_MAR0003",
            "montant_ht": 112400,
        },
        ["Notification du marché n° 2027_MAR0003", "112 400,00 € HT", "Nettoyage des bâtiments"],
    ),
    "procedure_sans_suite": (
        {
            "objet": "Fourniture de mobilier scolaire",
            "motif": "Le besoin a été redéfini après le vote du budget supplémentaire.",
        },
        ["Déclaration sans suite", "Fourniture de mobilier scolaire", "besoin a été redéfini"],
    ),
    "rejet_offre": (
        {
            "objet": "Nettoyage des bâtiments communaux 2027-2029",
            "attributaire": "Nettoyage Occitan SARL",
            "classement": CLASSEMENT,
        },
        ["n'a pas été retenue", "attribué à Nettoyage Occitan SARL", "Propreté du Littoral SAS"],
    ),
}
