"""Transaction status codes of a tiers de télétransmission (S²LOW's actes_status table)."""

from __future__ import annotations

import enum

__all__ = ["TransactionStatus"]


class TransactionStatus(enum.IntEnum):
    """Where a transmission stands; the numbers are S²LOW's."""

    ERREUR = -1
    ANNULE = 0
    POSTE = 1
    EN_ATTENTE_DE_TRANSMISSION = 2
    TRANSMIS = 3
    ACQUITTEMENT_RECU = 4
    VALIDE = 5
    REFUSE = 6
    DOCUMENT_RECU = 7

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def final(self) -> bool:
        """No later change expected (apart from prefecture exchanges)."""
        return self in {
            TransactionStatus.ERREUR,
            TransactionStatus.ANNULE,
            TransactionStatus.ACQUITTEMENT_RECU,
            TransactionStatus.REFUSE,
        }


_LABELS = {
    TransactionStatus.ERREUR: "Erreur",
    TransactionStatus.ANNULE: "Annulé",
    TransactionStatus.POSTE: "Posté",
    TransactionStatus.EN_ATTENTE_DE_TRANSMISSION: "En attente de transmission",
    TransactionStatus.TRANSMIS: "Transmis",
    TransactionStatus.ACQUITTEMENT_RECU: "Acquittement reçu",
    TransactionStatus.VALIDE: "Validé",
    TransactionStatus.REFUSE: "Refusé",
    TransactionStatus.DOCUMENT_RECU: "Document reçu",
}
