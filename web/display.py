"""Values shown to people: French labels from the procedure's forms, French formats, Paris time.

Every page that shows a date, an amount, a yes/no or a case datum formats it here, so that one
rule holds everywhere: times in Europe/Paris (« 7 décembre 2026 à 18 h 30 »), amounts as
« 12 500,50 € », booleans as « oui »/« non », documents as links, nested data as readable
rows, and nothing a person cannot read (internal keys, digests, raw Python) on the page.
The formats themselves are the platform's one French formatter (`engine.domain.french`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.domain.french import (
    FormatError,
    format_date_fr,
    format_datetime_fr,
    format_euros,
    format_number_fr,
)
from engine.domain.times import assume_utc
from engine.services.actes_nomenclature import matiere_label

__all__ = [
    "COMPUTED_LABELS",
    "FINDING_LABELS",
    "JOB_STATE_LABELS",
    "TYPOLOGY_LABELS",
    "DocumentLink",
    "Row",
    "Shown",
    "amount_fr",
    "case_rows",
    "date_fr",
    "datetime_fr",
    "label",
    "moment_fr",
    "number_fr",
    "show",
    "yes_no",
]

_ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_AMOUNT_NAME = re.compile(r"(^|_)(montant|prix|budget|seuil|valeur)(_|$)")
_NOT_AN_AMOUNT = re.compile(r"^(note|ponderation|taux|pourcentage|nombre|nb|rang)(_|$)")
"""A mark, a weight or a rate about a price (`note_prix`, `ponderation_prix`) is no amount."""
_TECHNICAL_NOTE = re.compile(r"\s*\((identifiant[^)]*|avec fuseau)\)")
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

COMPUTED_LABELS: dict[str, str] = {
    # Data the procedures compute (scripts, service tasks) that a person needs to read. A key
    # that is neither here nor in a form of the procedure is internal and is not shown.
    "statut": "Avancement",
    "numero_projet": "Numéro du projet",
    "numero_acte": "Numéro de l'acte",
    "lieu_seance": "Lieu de la séance",
    "numero_point": "Point de l'ordre du jour",
    "resultat_vote_seance": "Résultat du vote",
    "visas": "Visas donnés",
    "deliberation_pdf": "Délibération (PDF)",
    "acte_signe": "Acte signé",
    "identifiant_ar": "Identifiant @ctes de l'acte",
    "date_ar": "Accusé de réception de la préfecture",
    "executoire_le": "Exécutoire depuis le",
    "quorum_atteint": "Quorum atteint",
    "convocation": "Convocation",
    "liste_pdf": "Liste des délibérations (PDF)",
    "liste_publiee_le": "Liste publiée le",
    "valeur_besoin": "Valeur du besoin retenue (€ HT)",
    "procedure_libelle": "Procédure de passation",
    "offres": "Offres reçues dans les délais",
    "nombre_offres": "Nombre d'offres reçues dans les délais",
    "offres_hors_delai": "Offres reçues hors délai (éliminées, art. R2151-5 CCP)",
    "seuil_bas": "Seuil appliqué (€ HT)",
    "publicite": "Publicité",
    "base_legale": "Base légale",
    "reference": "Référence de la demande",
    "recu_le": "Reçue le",
    "acceptation_implicite": "Le silence vaut acceptation",
    "delai_mois": "Délai d'instruction (mois)",
    "service": "Service instructeur",
    "voies_recours": "Voies et délais de recours",
    "accuse_pdf": "Accusé de réception (PDF)",
    "accuse_scelle": "Accusé de réception scellé",
    "decision_pdf": "Décision (PDF)",
    "signature": "Signature",
    "publication": "Publication sur le registre des actes",
    "ordre_du_jour": "Ordre du jour",
    "votes": "Votes du conseil",
    "publication_liste": "Publication de la liste sur le registre des actes",
}
"""Labels of computed case data, by key."""

NESTED_LABELS: dict[str, str] = {
    # Keys inside computed objects (a visa, a signature, a service's address...).
    "signataire": "Signataire",
    "decision": "Décision",
    "commentaire": "Commentaire",
    "par": "Par",
    "nom": "Nom",
    "adresse": "Adresse",
    "courriel": "Adresse électronique",
    "telephone": "Téléphone",
    "horaires": "Horaires",
    "validation": "Vérification",
    "valide": "Signature valide",
    "niveau": "Niveau de signature",
    "document": "Document",
    "url": "Adresse",
    "qualite": "Qualité",
    "candidat": "Candidat",
    "deposee_le": "Reçue le",
    "pli": "Référence du pli",
    "offre": "Offre (PDF)",
    "publie_le": "Mis en ligne le",
    # A point of a séance's agenda and its vote.
    "numero": "Point",
    "numero_point": "Point",
    "objet": "Objet",
    "rapporteur": "Rapporteur",
    "resultat": "Résultat",
    "presents": "Présents",
    "pouvoirs": "Pouvoirs",
    "pour": "Pour",
    "contre": "Contre",
    "abstentions": "Abstentions",
    "ne_prend_pas_part": "Ne prennent pas part au vote",
    "motif": "Motif",
}

VALUE_LABELS: dict[str, str] = {
    # Codes stored by the procedures, as a person says them.
    "adoptee": "adoptée",
    "rejetee": "rejetée",
    "viser": "visé",
    "signer": "signé",
    "refuser": "refusé",
    "rejeter": "rejeté",
    "approuve": "approuvé",
    "rejete": "rejeté",
}


TYPOLOGY_LABELS: dict[str, str] = {
    "deliberation": "Délibération",
    "arrete": "Arrêté",
    "marche_public": "Marché public",
    "demande_usager": "Demande d'usager",
}
"""Record types of the retention schedule (tableau de gestion)."""

JOB_STATE_LABELS: dict[str, str] = {
    "pending": "en attente d'envoi",
    "sent": "envoyé au traitement",
    "running": "en cours",
    "done": "terminé",
    "failed": "en échec",
    "dead": "abandonné",
}
"""States of the automatic steps (jobs), for the operator's screen."""

FINDING_LABELS: dict[str, str] = {
    "missing": "fichier manquant",
    "altered": "fichier altéré",
    "unlisted": "fichier non inventorié",
    "extra-version": "version supplémentaire",
    "broken-seal": "sceau invalide",
    "invalid-manifest": "inventaire invalide",
    "seda-mismatch": "bordereau SEDA incohérent",
    "malformed": "paquet mal formé",
}
"""Kinds of archive audit findings."""


def label(labels: Mapping[str, str], code: object) -> str:
    """A code's French label; an unknown code is named as such rather than shown raw."""
    text = str(getattr(code, "value", code))
    return labels.get(text, f"autre ({text})")


@dataclass(frozen=True)
class DocumentLink:
    """A document a case datum refers to."""

    id: str
    name: str
    size: int | None = None


@dataclass(frozen=True)
class Shown:
    """A value as shown: text, a link, a document, a list or labelled rows (one of them)."""

    text: str = ""
    link: str | None = None
    document: DocumentLink | None = None
    items: tuple[Shown, ...] = ()
    rows: tuple[Row, ...] = ()

    @property
    def kind(self) -> str:
        """`document`, `link`, `list`, `rows` or `text`, for the template."""
        if self.document is not None:
            return "document"
        if self.link is not None:
            return "link"
        if self.items:
            return "list"
        if self.rows:
            return "rows"
        return "text"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: Shown


EMPTY = Shown("—")


# -- scalars ---------------------------------------------------------------------------------


def datetime_fr(moment: datetime | None) -> str:
    """`7 décembre 2026 à 18 h 30`, in Europe/Paris; `1er mars 2026 à 9 h 05`."""
    if moment is None:
        return ""
    return format_datetime_fr(assume_utc(moment))


def date_fr(day: date | datetime | None) -> str:
    """`7 décembre 2026`; a date-time gives its Europe/Paris day."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = assume_utc(day)
    return format_date_fr(day, weekday=False)


def moment_fr(moment: date | datetime | None, *, with_time: bool = True) -> str:
    """The `date_fr` filter of the templates: a date-time, or only its day."""
    if with_time and isinstance(moment, datetime):
        return datetime_fr(moment)
    return date_fr(moment)


def number_fr(value: int | float | Decimal) -> str:
    """`12 500`, `3,45`, `-1 000,5` (narrow no-break space between thousands)."""
    return format_number_fr(value)


def amount_fr(value: int | float | Decimal | str) -> str:
    """`12 500 €`, `85 000,50 €` (cents shown when there are some)."""
    try:
        return format_euros(value, cents=False)
    except FormatError:
        return str(value)


def yes_no(value: bool) -> str:
    return "oui" if value else "non"


def _moment(text: str) -> date | datetime | None:
    if not _ISO_MOMENT.match(text):
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- structured values -----------------------------------------------------------------------


def clean_label(label: str) -> str:
    """A form's title without the notes meant for typing (« (identifiant) », « (avec fuseau) »)."""
    return _TECHNICAL_NOTE.sub("", label).strip() or label


def _document(value: Mapping[str, Any]) -> DocumentLink | None:
    """A document reference (`{"id", "sha256", "nom"...}`), possibly wrapped in `{"document"}`."""
    if "document" in value and isinstance(value["document"], Mapping) and len(value) <= 2:
        return _document(value["document"])
    if "id" in value and "sha256" in value:
        size = value.get("taille")
        return DocumentLink(
            id=str(value["id"]),
            name=str(value.get("nom") or "document.pdf"),
            size=size if isinstance(size, int) else None,
        )
    return None


def _by(value: Mapping[str, Any]) -> str | None:
    """`{"utilisateur", "nom", "le"}` (who did a step, and when) as one phrase."""
    if not {"nom", "le"} <= value.keys():
        return None
    moment = _moment(str(value["le"]))
    when = datetime_fr(moment) if isinstance(moment, datetime) else str(value["le"])
    return f"{value['nom']}, le {when}"


SOURCE = "x-dematflow-source"
"""Where a form field's choices come from (engine.services.form_sources)."""


@dataclass(frozen=True)
class _Context:
    people: Mapping[str, str]
    """Login -> display name of the tenant's members; also a councillor's mail -> their name,
    for the fields picked among the council."""


def person(login: str, people: Mapping[str, str]) -> str:
    """`Marie Dupont (maire)` for a member's login; the login itself when unknown."""
    name = people.get(login)
    return f"{name} ({login})" if name else login


def show(
    value: Any,
    schema: Mapping[str, Any] | None = None,
    *,
    key: str = "",
    people: Mapping[str, str] | None = None,
) -> Shown:
    """One value as a person reads it, using its JSON Schema when there is one."""
    return _show(value, schema or {}, key, _Context(people or {}))


def _show(value: Any, schema: Mapping[str, Any], key: str, ctx: _Context) -> Shown:
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return Shown(yes_no(value))
    if isinstance(value, int | float | Decimal):
        title = str(schema.get("title", ""))
        measure = "%" in title or _NOT_AN_AMOUNT.search(key)
        if "€" in title or (_AMOUNT_NAME.search(key) and not measure):
            return Shown(amount_fr(value))
        return Shown(number_fr(value))
    if isinstance(value, str):
        return _show_text(value, schema, ctx)
    if isinstance(value, list):
        items = schema.get("items")
        item_schema = items if isinstance(items, Mapping) else {}
        if SOURCE in schema and SOURCE not in item_schema:  # a list picked among choices
            item_schema = {**item_schema, SOURCE: schema[SOURCE]}
        return Shown(items=tuple(_show(v, item_schema, key, ctx) for v in value))
    if isinstance(value, Mapping):
        return _show_object(value, schema, ctx)
    return Shown(str(value))


def _show_text(value: str, schema: Mapping[str, Any], ctx: _Context) -> Shown:
    labels = schema.get("x-labels")
    if isinstance(labels, Mapping) and value in labels:
        return Shown(str(labels[value]))
    source = schema.get(SOURCE)
    kind = source.get("kind") if isinstance(source, Mapping) else None
    if kind == "actes_matieres":
        return Shown(matiere_label(value))
    if kind in ("councillors", "seance_projects") and value in ctx.people:
        return Shown(ctx.people[value])
    if value.startswith(("http://", "https://")):
        return Shown(value, link=value)
    if value.startswith("user:"):
        return Shown(person(value.removeprefix("user:"), ctx.people))
    if _LOGIN.match(value) and value in ctx.people:
        return Shown(person(value, ctx.people))
    moment = _moment(value)
    if isinstance(moment, datetime):
        return Shown(datetime_fr(moment))
    if isinstance(moment, date):
        return Shown(date_fr(moment))
    return Shown(VALUE_LABELS.get(value, value))


def _show_object(value: Mapping[str, Any], schema: Mapping[str, Any], ctx: _Context) -> Shown:
    document = _document(value)
    if document is not None:
        return Shown(document.name, document=document)
    by = _by(value)
    if by is not None:
        return Shown(by)
    properties = schema.get("properties")
    known = properties if isinstance(properties, Mapping) else {}
    rows = []
    for sub, item in value.items():
        sub_schema = known.get(sub)
        if isinstance(sub_schema, Mapping) and sub_schema.get("title"):
            label = clean_label(str(sub_schema["title"]))
        elif sub in NESTED_LABELS:
            label = NESTED_LABELS[sub]
        else:
            continue  # an internal key of a computed object
        shown = _show(item, sub_schema if isinstance(sub_schema, Mapping) else {}, sub, ctx)
        if shown is not EMPTY:  # an empty comment says nothing inside a group
            rows.append(Row(sub, label, shown))
    return Shown(rows=tuple(rows)) if rows else EMPTY


def merged_properties(forms: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Every top-level property of a procedure's forms, by name (the first titled one wins)."""
    merged: dict[str, Mapping[str, Any]] = {}
    for name in sorted(forms):
        properties = forms[name].get("properties")
        if not isinstance(properties, Mapping):
            continue
        for key, prop in properties.items():
            if isinstance(prop, Mapping) and prop.get("title") and key not in merged:
                merged[key] = prop
    return merged


def case_rows(
    data: Mapping[str, Any],
    forms: Mapping[str, Mapping[str, Any]],
    *,
    people: Mapping[str, str] | None = None,
    hide: frozenset[str] = frozenset(),
) -> list[Row]:
    """The case data a person reads, in the data's order, each with its French label.

    A key is shown when a form of the procedure gives it a title or when it is a known
    computed datum (`COMPUTED_LABELS`); every other key is internal and left out."""
    properties = merged_properties(forms)
    ctx = _Context(people or {})
    rows = []
    for key, value in data.items():
        if key in hide or key.startswith("_"):
            continue
        prop = properties.get(key)
        if prop is not None:
            label = clean_label(str(prop["title"]))
        elif key in COMPUTED_LABELS:
            label, prop = COMPUTED_LABELS[key], {}
        else:
            continue
        rows.append(Row(key, label, _show(value, prop, key, ctx)))
    return rows


_DUA_YEARS = re.compile(r"P(\d+)Y$")


def dua_fr(rule_id: str) -> str:
    """A retention rule as an archivist reads it: « 10 ans (règle DUA-DELIBERATION-P10Y) »;
    the rule's code alone when it does not say its duration (ISO 8601 `P<n>Y`)."""
    found = _DUA_YEARS.search(rule_id or "")
    if found is None:
        return f"règle {rule_id}"
    years = int(found.group(1))
    return f"{years} an{'s' if years > 1 else ''} (règle {rule_id})"
