"""The public register of acts: its queries (`connectors.publish` is engine.operations.publishing).

Publication électronique (CGCT L2131-1, reform of 1 July 2022): the whole act, not modifiable,
with the date it went online, kept online at least two months. Rows and files are immutable:
a correction is published as a new act. The web layer calls the query functions below for the
public pages (no login) and the open-data exports.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.domain.connector_records import Publication
from engine.domain.errors import NotFound
from engine.persistence.uow import UnitOfWork
from engine.settings import PublicationSettings

PUBLISH_OPERATION = "connectors.publish"
LIST_KIND = "liste_deliberations"
MIN_RETENTION_DAYS = 62
"""Two months at the longest (July + August): a shorter setting would break the law."""
NATURE_LABELS = {
    "1": "Délibération",
    "2": "Acte réglementaire",
    "3": "Acte individuel",
    "4": "Contrat, convention ou avenant",
    "5": "Document budgétaire et financier",
    "6": "Autre",
    LIST_KIND: "Liste des délibérations",
}
OPEN_DATA_FIELDS = (
    "identifiant",
    "date_mise_en_ligne",
    "nature",
    "libelle_nature",
    "numero",
    "objet",
    "seance",
    "identifiant_ar",
    "signature_valide",
    "signature_niveau",
    "fichier",
    "empreinte_sha256",
    "taille",
    "url",
    "en_ligne_jusqu_au",
)


@dataclass(frozen=True)
class RegisterEntry:
    """An entry of the public register, ready to show."""

    publication: Publication
    nature_label: str
    url: str
    """Public page of the entry."""
    download_url: str
    """The published PDF."""
    signature_summary: str
    """One French line about the signature's validation."""


def register_url(settings: PublicationSettings, tenant: str) -> str:
    return f"{settings.base_url.rstrip('/')}/registre/{tenant}"


def entry_of(settings: PublicationSettings, publication: Publication) -> RegisterEntry:
    base = f"{register_url(settings, publication.tenant)}/actes/{publication.id}"
    return RegisterEntry(
        publication=publication,
        nature_label=NATURE_LABELS.get(publication.nature, publication.nature),
        url=base,
        download_url=f"{base}/fichier",
        signature_summary=signature_summary(publication.signature),
    )


def signature_summary(validation: dict[str, Any]) -> str:
    if not validation or "valide" not in validation:
        return "Pas de signature électronique vérifiée."  # e.g. a list of deliberations
    level = f" (PAdES {validation['niveau']})" if validation.get("niveau") else ""
    if validation["valide"]:
        return f"Signature électronique valide{level}."
    return f"Signature électronique non valide{level}."


def online_until(settings: PublicationSettings, published_at: datetime) -> datetime | None:
    if settings.retention_days is None:
        return None
    return published_at + timedelta(days=max(settings.retention_days, MIN_RETENTION_DAYS))


def list_register(
    uow: UnitOfWork,
    settings: PublicationSettings,
    tenant: str,
    *,
    now: datetime,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[RegisterEntry]:
    """Entries online at `now`, newest first; `kind` is ``acte`` or ``liste_deliberations``."""
    rows = uow.publications.online(tenant, now, kind=kind, limit=min(limit, 1000), offset=offset)
    return [entry_of(settings, row) for row in rows]


def register_entry(
    uow: UnitOfWork,
    settings: PublicationSettings,
    tenant: str,
    publication_id: uuid.UUID,
    *,
    now: datetime,
) -> RegisterEntry:
    """One online entry; NotFound once it is offline or for another tenant's id."""
    rows = uow.publications.online(tenant, now, publication_id=publication_id, limit=1)
    if not rows:
        raise NotFound("Acte introuvable dans le registre.")
    return entry_of(settings, rows[0])


def register_file(
    uow: UnitOfWork,
    settings: PublicationSettings,
    tenant: str,
    publication_id: uuid.UUID,
    *,
    now: datetime,
) -> tuple[RegisterEntry, bytes]:
    """The published PDF's bytes (content-addressed: they cannot have changed)."""
    entry = register_entry(uow, settings, tenant, publication_id, now=now)
    document = uow.documents.get(tenant, entry.publication.document_id)
    return entry, uow.documents.content(document)


def open_data_rows(
    uow: UnitOfWork, settings: PublicationSettings, tenant: str, *, now: datetime
) -> list[dict[str, Any]]:
    """Every online entry as a flat record (the same fields in JSON and CSV)."""
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        batch = list_register(uow, settings, tenant, now=now, limit=1000, offset=offset)
        rows.extend(_open_data_row(entry) for entry in batch)
        if len(batch) < 1000:
            return rows
        offset += 1000


def _open_data_row(entry: RegisterEntry) -> dict[str, Any]:
    p = entry.publication
    return {
        "identifiant": str(p.id),
        "date_mise_en_ligne": p.published_at.isoformat(),
        "nature": p.nature,
        "libelle_nature": entry.nature_label,
        "numero": p.number,
        "objet": p.subject,
        "seance": p.session or "",
        "identifiant_ar": p.ack_id,
        "signature_valide": p.signature.get("valide"),
        "signature_niveau": p.signature.get("niveau", ""),
        "fichier": p.file_name,
        "empreinte_sha256": p.sha256,
        "taille": p.size,
        "url": entry.download_url,
        "en_ligne_jusqu_au": p.online_until.isoformat() if p.online_until else "",
    }


def open_data_json(
    uow: UnitOfWork, settings: PublicationSettings, tenant: str, *, now: datetime
) -> bytes:
    rows = open_data_rows(uow, settings, tenant, now=now)
    return json.dumps(rows, ensure_ascii=False, indent=1).encode()


def open_data_csv(
    uow: UnitOfWork, settings: PublicationSettings, tenant: str, *, now: datetime
) -> str:
    """CSV (comma, UTF-8, header row), values that could start a formula neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=OPEN_DATA_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in open_data_rows(uow, settings, tenant, now=now):
        writer.writerow({k: _csv_safe(v) for k, v in row.items()})
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if value is None:
        return ""
    return value
