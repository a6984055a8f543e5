"""The @ctes nomenclature of acts (matières): the nine national families and their national
second level, as the prefectures' classification files carry them. Deeper levels are each
prefecture's own and are typed by the clerk when needed."""

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
        "Maîtrise d'œuvre",
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
        "Actes de gestion du domaine public",
        "Autres actes de gestion du domaine privé",
    ),
    "4": (
        "Personnels titulaires et stagiaires de la fonction publique territoriale",
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
        "Pouvoirs du président du conseil départemental",
        "Pouvoirs du président du conseil régional",
        "Libertés publiques : autres actes réglementaires",
        "Actes pris au nom de l'État",
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
        "Politique de la ville, habitat, logement",
        "Emploi, formation professionnelle",
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
