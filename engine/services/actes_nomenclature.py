"""The @ctes nomenclature of acts (matières): the nine national families and their national
second level, as the prefectures' classification files carry them. Deeper levels are each
prefecture's own and are typed by the clerk when needed.

Checked (2026-12) against public copies of the classification, no official text being at hand:
the Pastell connectors' tables (1.x to 9.x), a tiers de télétransmission's form, and the
« Matière : » lines of real prefecture acknowledgement stamps (3.6, 6.4, 8.5...); accents are
restored where the copies drop them."""

from __future__ import annotations

from connectors.actes.model import MATIERE_FAMILIES

__all__ = ["MATIERES", "matiere_label"]

_SECOND_LEVEL: dict[str, tuple[str, ...]] = {
    "1": (
        "Marchés publics",
        "Délégation de service public",
        "Conventions de mandat",
        "Autres types de contrats",
        "Transactions (protocole d'accord transactionnel)",
        "Actes relatifs à la maîtrise d'œuvre",
        "Actes spéciaux et divers",
    ),
    "2": (
        "Documents d'urbanisme",
        "Actes relatifs au droit d'occupation ou d'utilisation des sols",
        "Droit de préemption urbain",
    ),
    "3": (
        "Acquisitions",
        "Aliénations",
        "Locations",
        "Limites territoriales",
        "Autres actes de gestion du domaine public",
        "Autres actes de gestion du domaine privé",
    ),
    "4": (
        "Personnels titulaires et stagiaires de la F.P.T.",
        "Personnel contractuel",
        "Fonction publique hospitalière",
        "Autres catégories de personnels",
        "Régime indemnitaire",
    ),
    "5": (
        "Élection exécutif",
        "Fonctionnement des assemblées",
        "Désignation de représentants",
        "Délégation de fonctions",
        "Délégation de signature",
        "Exercice des mandats locaux",
        "Intercommunalité",
        "Décision d'ester en justice",
    ),
    "6": (
        "Police municipale",
        # Every copy found still says « conseil général » (renamed départemental in 2015).
        "Pouvoir du président du conseil général",
        "Pouvoir du président du conseil régional",
        "Autres actes réglementaires",
        "Actes pris au nom de l'État et soumis au contrôle hiérarchique",
    ),
    "7": (
        "Décisions budgétaires",
        "Fiscalité",
        "Emprunts",
        "Interventions économiques",
        "Subventions",
        "Contributions budgétaires",
        "Avances",
        "Fonds de concours",
        "Prise de participation (SEM, etc.)",
        "Divers",
    ),
    "8": (
        "Enseignement",
        "Aide sociale",
        "Voirie",
        "Aménagement du territoire",
        "Politique de la ville-habitat-logement",
        "Emploi-formation professionnelle",
        "Transports",
        "Environnement",
        "Culture",
    ),
    "9": (
        "Autres domaines de compétences des communes",
        "Autres domaines de compétences des départements",
        "Autres domaines de compétences des régions",
        "Vœux et motions",
    ),
}

MATIERES: dict[str, str] = {}
"""Code -> label, families first then their sub-levels (``"7"``, ``"7.1"``, ``"7.2"``…)."""
for _family, _label in MATIERE_FAMILIES.items():
    MATIERES[_family] = _label
    for _index, _sub in enumerate(_SECOND_LEVEL[_family], start=1):
        MATIERES[f"{_family}.{_index}"] = _sub


def matiere_label(code: str) -> str:
    """``"7.1 Finances locales › Décisions budgétaires"`` (the code alone when unknown)."""
    family = code.split(".", 1)[0]
    if code == family:
        return f"{code} {MATIERES.get(code, '')}".strip()
    if code in MATIERES:
        return f"{code} {MATIERE_FAMILIES[family]} › {MATIERES[code]}"
    return code
