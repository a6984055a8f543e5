"""A case's journal as a history people read: French labels, names, Paris time, no codes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from engine.domain.model import JournalEntry
from web.display import datetime_fr, person

__all__ = ["EVENT_LABELS", "HistoryItem", "actor_name", "history"]

EVENT_LABELS: dict[str, str] = {
    "case.started": "Dossier créé",
    "case.cancelled": "Dossier annulé",
    "case.retried": "Dossier relancé",
    "case.error": "Dossier bloqué par une erreur",
    "case.personal_data_purged": "Données personnelles anonymisées (fin de leur durée de conservation)",
    "personal_data.exported": "Données d'une personne exportées (droit d'accès)",
    "case.migrated": "Dossier passé à une nouvelle version de la procédure",
    "case.migration_rolled_back": "Dossier revenu à la version précédente de la procédure",
    "task.completed": "Étape terminée",
    "job.succeeded": "Traitement automatique effectué",
    "job.failed": "Traitement automatique en échec",
    "message.received": "Message reçu",
    "signal.received": "Signal reçu",
    "timer.fired": "Échéance atteinte",
    "document.added": "Document ajouté",
    "document.rendered": "Document produit",
    "document.signed": "Document signé",
    "document.sealed": "Cachet de la collectivité apposé",
    "mail.sent": "Courriel envoyé",
    "actes.transmitted": "Acte transmis à la préfecture",
    "actes.acknowledged": "Accusé de réception de la préfecture",
    "actes.rejected": "Transmission rejetée par la préfecture",
    "actes.refused": "Transmission refusée par le tiers de télétransmission",
    "actes.letter_received": "Courrier de la préfecture reçu",
    "actes.anomaly": "Anomalie de transmission signalée",
    "act.published": "Acte publié au registre",
    "citizen.request.filed": "Demande déposée par l'usager",
    "archive.waiting": "Archivage en attente",
    "archive.sealed": "Dossier archivé (paquet scellé)",
    "archive.copy_repaired": "Copie d'archive endommagée réparée depuis l'autre copie",
    "archive.copies_damaged": "Paquet endommagé dans les deux copies (non réparable)",
    "archive.communicated": "Archives communiquées",
    "archive.exported": "Archives exportées",
    "archive.legal_hold": "Gel juridique des archives",
    "archive.retention_rule": "Règle de conservation appliquée",
    "archive.retention_decided": "Sort final décidé",
    "archive.destroyed": "Archives éliminées",
    "archive.timestamp_renewed": "Horodatage des archives renouvelé",
    "archive.sae_configured": "SAE des Archives départementales configuré",
    "archive.transfer_requested": "Versement au SAE demandé",
    "archive.transfer_sent": "Paquet envoyé au SAE",
    "archive.transferred": "Versement accepté par le SAE",
    "archive.transfer_rejected": "Versement refusé par le SAE",
    "archive.transfer_failed": "Échange avec le SAE impossible",
    "archive.sae_elimination_requested": "Élimination demandée au SAE",
    "archive.sae_elimination_sent": "Demande d'élimination envoyée au SAE",
    "archive.sae_eliminated": "Archives éliminées par le SAE",
    "archive.sae_elimination_rejected": "Élimination refusée par le SAE",
    "delegation.created": "Délégation créée",
    "delegation.revoked": "Délégation révoquée",
    "citizen.request.registered": "Demande enregistrée au guichet pour le compte de l'usager",
    "document.active_content_removed": "Contenu actif retiré d'un document déposé",
    "council.saved": "Conseiller municipal enregistré",
    "settings.second_factor": "Double authentification exigée (paramètres)",
    "tenant.training": "Collectivité passée en espace de formation",
    "tenant.training_ended": "Collectivité sortie du mode formation",
    "training.clock_moved": "Horloge de formation avancée",
    "user.second_factor_demanded": "Double authentification exigée du membre",
    "user.second_factor_disabled": "Double authentification désactivée",
    "user.second_factor_enabled": "Double authentification activée",
    "council.removed": "Conseiller municipal retiré",
    "journal.sealed": "Journal scellé",
    "tenant.created": "Collectivité créée",
    "settings.changed": "Paramètres de la collectivité modifiés",
    "catalogue.changed": "Catalogue des procédures modifié",
    "procedure.version_deployed": "Nouvelle version de procédure déployée",
    "user.created": "Compte créé",
    "user.oidc_linked": "Compte relié à ProConnect",
    "user.role_granted": "Rôle attribué",
    "user.role_revoked": "Rôle retiré",
    "user.deactivated": "Compte désactivé",
    "user.reactivated": "Compte réactivé",
    "user.password_reset": "Mot de passe réinitialisé",
}
"""Every journal kind the platform appends, in French: a case's history and the tenant's
journal (tests/web/test_history.py finds the kinds in the code and checks each has a label)."""

OPERATION_LABELS: dict[str, str] = {
    "engine.next_act_number": "Numéro d'acte attribué",
    "engine.compute_deadline": "Délai légal calculé",
    "engine.notify_cases": "Dossiers concernés informés",
    "engine.session_acts": "Délibérations de la séance rassemblées",
    "engine.session_agenda": "Ordre du jour établi",
    "engine.session_deliberations": "Liste des délibérations établie",
    "engine.similar_purchases": "Achats similaires de l'année recherchés",
    "archiving.seal_case": "Dossier archivé",
}
"""Automatic steps whose success is worth a line (those with an event of their own — a
document produced, signed, a mail sent, an act transmitted — are told by that event)."""

MESSAGE_LABELS: dict[str, str] = {
    "seance_inscription": "inscription à l'ordre du jour de la séance",
    "seance_vote": "vote du conseil municipal",
    "actes_accuse_reception": "accusé de réception de la préfecture",
    "actes_rejet": "rejet de la transmission",
    "actes_courrier": "courrier de la préfecture",
    "accuse_reception_prefecture": "accusé de réception de la préfecture",
    "pieces_complementaires": "pièces complémentaires de l'usager",
    "offre_deposee": "offre déposée par un candidat",
}

SYSTEM_NAMES: dict[str, str] = {
    "usager": "l'usager",
    "seance": "la séance du conseil municipal",
    "archives": "le service d'archives électroniques",
    "cli": "l'exploitant de la plateforme",
    "oidc": "le système",
    "rgpd": "la purge des données personnelles",
}
PREFECTURE_KINDS = frozenset(
    {"actes.acknowledged", "actes.rejected", "actes.letter_received", "actes.anomaly"}
)


@dataclass(frozen=True)
class HistoryItem:
    """One line of a case's history."""

    seq: int
    at: datetime
    when: str
    """`7 décembre 2026 à 18 h 30`, Europe/Paris."""
    what: str
    detail: str
    who: str


def actor_name(actor: str, people: Mapping[str, str], *, kind: str = "") -> str:
    """`Marie Dupont (maire)`, `le système`, `la préfecture`, `l'usager`..."""
    scheme, _, name = actor.partition(":")
    if scheme == "user":
        return person(name, people)
    if scheme == "system":
        if name == "actes" and (kind in PREFECTURE_KINDS or kind == "message.received"):
            return "la préfecture"
        return SYSTEM_NAMES.get(name, "le système")
    return "le système" if not name else actor


def _detail(entry: JournalEntry, documents: Mapping[str, str]) -> str:
    payload = entry.payload
    if entry.kind.startswith("document.") and str(payload.get("document")) in documents:
        return documents[str(payload["document"])]
    if entry.kind == "message.received":
        message = str(payload.get("message", ""))
        return MESSAGE_LABELS.get(message, "")
    if entry.kind == "mail.sent":
        return str(payload.get("objet") or "")
    if entry.kind in ("actes.transmitted", "actes.acknowledged"):
        return f"acte {payload['acte']}" if payload.get("acte") else ""
    if entry.kind == "timer.fired":
        return str(payload.get("timer") or "")
    for key in ("title", "message", "reason", "motif"):
        if payload.get(key):
            return str(payload[key])
    return ""


def _shown(entry: JournalEntry) -> bool:
    if entry.kind == "job.succeeded":
        return str(entry.payload.get("operation")) in OPERATION_LABELS
    return True


def history(
    entries: Iterable[JournalEntry],
    people: Mapping[str, str],
    documents: Mapping[str, str] | None = None,
) -> list[HistoryItem]:
    """The journal entries of a case, in order, as French lines (routine jobs left out);
    `documents` (id -> file name) names the documents the entries refer to."""
    items = []
    for entry in entries:
        if not _shown(entry):
            continue
        what = EVENT_LABELS.get(entry.kind, "Événement enregistré")
        if entry.kind == "job.succeeded":
            what = OPERATION_LABELS[str(entry.payload.get("operation"))]
        items.append(
            HistoryItem(
                seq=entry.seq,
                at=entry.recorded_at,
                when=datetime_fr(entry.recorded_at),
                what=what,
                detail=_detail(entry, documents or {}),
                who=actor_name(entry.actor, people, kind=entry.kind),
            )
        )
    return items
