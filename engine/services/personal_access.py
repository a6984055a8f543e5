"""RGPD for the tenant admin: the processing register generated from the procedures'
declarations, and the right of access (everything the platform holds about one person).

The search terms are personal data too: they are never journaled (only that an export was made,
by whom, and how many records it held) and travel in a POST body, never in a URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.domain.errors import InvalidInput
from engine.domain.model import Actor
from engine.domain.personal_data import (
    CATEGORIES,
    PersonalDataDeclaration,
    Retention,
    read_path,
)
from engine.persistence.uow import UnitOfWork
from engine.runtime.specs import bundle_from_files

__all__ = [
    "ACCESS_KIND",
    "MAX_CASES",
    "PersonQuery",
    "Processing",
    "person_export",
    "person_query",
    "processing_register",
]

ACCESS_KIND = "personal_data.exported"
MAX_CASES = 200
"""Cases one export lists at most (newest first); beyond, the export says it is truncated."""
MAX_JOURNAL = 500

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
_PHONE = re.compile(r"^\+?[0-9 .-]{6,20}$")


@dataclass(frozen=True)
class PersonQuery:
    """Who the tenant admin looks for: a name, an e-mail address and/or a phone number."""

    nom: str = ""
    courriel: str = ""
    telephone: str = ""

    def needles(self) -> list[str]:
        return [v for v in (self.nom, self.courriel, self.telephone) if v]

    def fingerprint(self) -> str:
        """A digest of the search, to tell two exports apart without journaling the terms."""
        text = "\n".join((self.nom.lower(), self.courriel.lower(), self.telephone))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def person_query(nom: object, courriel: object, telephone: object) -> PersonQuery:
    """Check the search form; French errors for bad input."""
    values = [str(v or "").strip() for v in (nom, courriel, telephone)]
    name, email, phone = values
    if not any(values):
        raise InvalidInput("Indiquez un nom, une adresse électronique ou un téléphone.")
    if name and not 2 <= len(name) <= 200:
        raise InvalidInput("Le nom compte de 2 à 200 caractères.")
    if email and not _EMAIL.match(email):
        raise InvalidInput("Adresse électronique invalide.")
    if phone and not _PHONE.match(phone):
        raise InvalidInput("Numéro de téléphone invalide (chiffres, espaces, points, tirets).")
    return PersonQuery(name, email, phone)


# Processing register ------------------------------------------------------------------------


@dataclass(frozen=True)
class Processing:
    """One line of the register (art. 30 RGPD), in French."""

    name: str
    purpose: str
    legal_basis: str
    subjects: str
    data: tuple[tuple[str, str], ...]
    """(category label, what) pairs."""
    retention: tuple[str, ...]
    recipients: tuple[str, ...]
    note: str = ""
    declared: bool = True


def _declaration_processing(title: str, declaration: PersonalDataDeclaration) -> Processing:
    data = tuple((CATEGORIES[f.category], f.label) for f in declaration.fields)
    by_delay: dict[Retention, list[str]] = {}
    for personal in declaration.fields:
        by_delay.setdefault(personal.retention, []).append(personal.label)
    retention = tuple(
        f"{', '.join(labels)} : {delay.describe()}" for delay, labels in by_delay.items()
    ) or ("Aucune donnée effacée du dossier : voir la note.",)
    return Processing(
        name=f"Procédure « {title} »",
        purpose=declaration.purpose,
        legal_basis=declaration.legal_basis,
        subjects=declaration.subjects,
        data=data,
        retention=retention,
        recipients=declaration.recipients,
        note=declaration.note,
    )


PLATFORM_PROCESSINGS = (
    Processing(
        name="Comptes des membres de la collectivité",
        purpose="Authentifier les agents, élus et archivistes, leur attribuer des rôles et tracer leurs actions.",
        legal_basis="Mission d'intérêt public (art. 6.1.e du RGPD) ; sécurité des systèmes d'information.",
        subjects="Agents, élus, archivistes et administrateurs de la collectivité",
        data=(
            (CATEGORIES["etat_civil"], "Identifiant, nom affiché"),
            (CATEGORIES["coordonnees"], "Adresse électronique professionnelle"),
            (CATEGORIES["vie_professionnelle"], "Rôles, délégations de signature, second facteur"),
        ),
        retention=(
            "Tant que la personne est membre ; le compte est désactivé à son départ, son "
            "identifiant reste cité par le journal.",
        ),
        recipients=("Administrateurs de la collectivité", "Exploitant de la plateforme"),
    ),
    Processing(
        name="Journal d'audit (chaîné et scellé)",
        purpose="Prouver qui a fait quoi et quand sur chaque dossier (valeur probante, NF Z42-013).",
        legal_basis="Obligation légale (art. 6.1.c du RGPD ; code du patrimoine, art. L212-1 et suivants).",
        subjects="Membres de la collectivité (par leur identifiant) ; usagers par référence seulement",
        data=(
            (CATEGORIES["vie_professionnelle"], "Identifiant de l'auteur de chaque action"),
            (
                CATEGORIES["pieces_justificatives"],
                "Empreintes (SHA-256) des données et documents, jamais leur contenu",
            ),
        ),
        retention=(
            "Autant que les archives qu'il prouve : il n'est ni modifié ni purgé (chaîne de "
            "hachage scellée) ; la purge y inscrit ce qu'elle efface, sans les valeurs.",
        ),
        recipients=("Administrateurs et archivistes de la collectivité", "Auditeurs"),
    ),
    Processing(
        name="Archives électroniques (paquets scellés)",
        purpose="Conserver les actes et dossiers clos avec leur valeur probante jusqu'à leur sort final.",
        legal_basis="Obligation légale (art. 6.1.c et 89 du RGPD ; code du patrimoine, art. L211-1 et suivants).",
        subjects="Toute personne citée dans un dossier archivé",
        data=((CATEGORIES["pieces_justificatives"], "Le dossier tel qu'il a été scellé"),),
        retention=(
            "La DUA du tableau de gestion de la collectivité, puis élimination visée ou "
            "versement aux archives définitives ; la purge ne touche jamais un paquet scellé.",
        ),
        recipients=("Archivistes de la collectivité", "Service d'archives compétent"),
    ),
)


def processing_register(uow: UnitOfWork, tenant: str) -> list[Processing]:
    """The register: each procedure the tenant may use (its newest version), then the platform's
    own processings (accounts, journal, archive)."""
    found: list[Processing] = []
    for row in uow.specs.catalogue(tenant):
        bundle = bundle_from_files(uow.specs.files(row.hash))
        if bundle.personal_data is None:
            found.append(
                Processing(
                    name=f"Procédure « {bundle.title} »",
                    purpose=bundle.description or bundle.title,
                    legal_basis="Non déclarée par la procédure",
                    subjects="Non déclaré",
                    data=(),
                    retention=("Non déclarée : aucune purge automatique.",),
                    recipients=(),
                    declared=False,
                )
            )
        else:
            found.append(_declaration_processing(bundle.title, bundle.personal_data))
    return [*found, *PLATFORM_PROCESSINGS]


# Right of access ----------------------------------------------------------------------------


def _mentions(value: Any, needles: list[str]) -> bool:
    text = json.dumps(value, ensure_ascii=False, default=str).lower()
    return any(n.lower() in text for n in needles)


def _case_export(
    uow: UnitOfWork,
    tenant: str,
    row: tuple[Any, ...],
    needles: list[str],
    cache: dict[str, PersonalDataDeclaration | None],
) -> dict[str, Any] | None:
    case_id, reference, procedure, spec_hash, title, status, summary = row
    mentioned = {k: v for k, v in summary.items() if _mentions(v, needles)}
    if not mentioned:
        return None  # the text matched a key name or a digest, not a value
    if spec_hash not in cache:
        cache[spec_hash] = bundle_from_files(uow.specs.files(spec_hash)).personal_data
    declaration = cache[spec_hash]
    personal = {}
    if declaration is not None:
        for field in declaration.fields:
            value = read_path(summary, field.path)
            if value is not None:
                personal[field.path] = {
                    "libelle": field.label,
                    "categorie": CATEGORIES[field.category],
                    "valeur": value,
                    "conservation": field.retention.describe(),
                }
    purged = uow.person_search.purged_paths_of(case_id)
    referenced = _document_ids([mentioned, personal])
    return {
        "dossier": reference,
        "procedure": procedure,
        "titre": title,
        "etat": status,
        "donnees_personnelles_declarees": personal,
        "donnees_qui_la_mentionnent": mentioned,
        "documents": uow.person_search.documents_of(tenant, case_id, referenced),
        "deja_anonymise": sorted(p for p in purged if p != "*"),
    }


def _document_ids(value: Any) -> set[uuid.UUID]:
    """Ids of the document references (`{"id", "sha256", ...}`) inside a value."""
    found: set[uuid.UUID] = set()
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and isinstance(value.get("sha256"), str):
            with contextlib.suppress(ValueError):
                found.add(uuid.UUID(value["id"]))
        for inner in value.values():
            found |= _document_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _document_ids(inner)
    return found


def person_export(
    uow: UnitOfWork, tenant: str, query: PersonQuery, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """Everything the platform holds about the person in this tenant (cases, documents, account,
    councillor record, the journal entries of their account); journaled without the terms."""
    needles = query.needles()
    rows = uow.person_search.cases_mentioning(tenant, needles, limit=MAX_CASES + 1)
    truncated = len(rows) > MAX_CASES
    cache: dict[str, PersonalDataDeclaration | None] = {}
    cases = [
        found
        for row in rows[:MAX_CASES]
        if (found := _case_export(uow, tenant, row, needles, cache)) is not None
    ]
    accounts = uow.person_search.members_matching(tenant, needles)
    for account in accounts:
        actor_id = f"user:{account['identifiant']}"
        account["actions_au_journal"] = [
            {"n": e.seq, "type": e.kind, "le": e.recorded_at.isoformat()}
            for e in uow.person_search.journal_by_actor(tenant, actor_id, limit=MAX_JOURNAL)
        ]
    councillors = uow.person_search.councillors_matching(tenant, needles)
    export = {
        "collectivite": tenant,
        "genere_le": now.isoformat(),
        "recherche": {"nom": query.nom, "courriel": query.courriel, "telephone": query.telephone},
        "dossiers": cases,
        "comptes": accounts,
        "conseillers_municipaux": councillors,
        "tronque": truncated,
        "hors_export": (
            "Les paquets d'archive scellés (consultables par l'archiviste, selon leur DUA) "
            "et le journal, qui ne contient que des références et des empreintes."
        ),
    }
    uow.journal.append(
        tenant=tenant,
        kind=ACCESS_KIND,
        case_id=None,
        actor=actor.user_id,
        payload={
            "message": "Export des données d'une personne (droit d'accès, art. 15 du RGPD)",
            "recherche_sha256": query.fingerprint(),
            "dossiers": len(cases),
            "comptes": len(accounts),
            "conseillers": len(councillors),
        },
        now=now,
    )
    return export
