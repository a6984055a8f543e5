"""The @ctes matières: the national second level as the prefectures' classification files say it."""

from __future__ import annotations

from engine.services.actes_nomenclature import MATIERES, matiere_label


def test_second_level_labels_follow_the_classification_files() -> None:
    assert MATIERES["1.6"] == "Actes relatifs à la maîtrise d'œuvre"
    assert MATIERES["3.5"] == "Autres actes de gestion du domaine public"
    assert MATIERES["5.8"] == "Décision d'ester en justice"
    assert MATIERES["6.4"] == "Autres actes réglementaires"
    assert MATIERES["6.5"] == "Actes pris au nom de l'État et soumis au contrôle hiérarchique"
    assert MATIERES["8.5"] == "Politique de la ville-habitat-logement"
    assert MATIERES["7.10"] == "Divers" and "7.11" not in MATIERES
    counts = {f: sum(1 for c in MATIERES if c.startswith(f"{f}.")) for f in "123456789"}
    assert counts == {"1": 7, "2": 3, "3": 6, "4": 5, "5": 8, "6": 5, "7": 10, "8": 9, "9": 4}
    assert matiere_label("7.1") == "7.1 Finances locales › Décisions budgétaires"
