"""Personal data of a procedure (RGPD): what case data is personal, why it is processed, and how
long the platform keeps it outside the archive — the `personal_data:` of procedure.yaml.

A declaration is data, read at deployment (a wrong one is refused with a French message) and
used by the purge job (anonymise what is due), the right of access (find a person's data) and
the processing register. Sealed archive packages are outside its scope: they follow their DUA.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.domain.calendar_fr import add_months
from engine.domain.errors import ProcessDefinitionError

__all__ = [
    "ANONYMISED",
    "CATEGORIES",
    "CLOSURE",
    "PersonalDataDeclaration",
    "PersonalField",
    "Retention",
    "parse_personal_data",
    "read_path",
]

CATEGORIES: Mapping[str, str] = {
    "etat_civil": "État civil, identité",
    "coordonnees": "Coordonnées (adresse, courriel, téléphone)",
    "vie_personnelle": "Vie personnelle (contenu d'une demande, situation)",
    "vie_professionnelle": "Vie professionnelle (entreprise individuelle, fonction)",
    "economique_financiere": "Informations d'ordre économique et financier",
    "pieces_justificatives": "Pièces justificatives (documents déposés)",
    "mandat_electif": "Mandat électif (présence, pouvoir, vote)",
}
"""Categories of personal data the register shows (CNIL's register model, in short)."""

CLOSURE = "cloture"
"""The retention event "the case was closed" (completed or cancelled): always known."""

ANONYMISED = "[anonymisé]"
"""What an anonymised text reads afterwards (numbers and booleans become null)."""

_PATH = re.compile(r"^[a-z][a-z0-9_]{0,80}(\.[a-z][a-z0-9_]{0,80}){0,4}$")
_MAX_AMOUNT = {"days": 3660, "months": 600, "years": 100}
_PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Retention:
    """How long data stays on the platform outside the archive: `after` one event, a delay."""

    after: tuple[str, ...]
    """Case data paths of the event's date, the first present wins; `cloture` is the closure."""
    event: str
    """The event in French (« notification de la décision »)."""
    days: int = 0
    months: int = 0
    years: int = 0
    basis: str = ""
    """Why this delay (« délai de recours contentieux, art. R421-1 CJA »)."""

    def describe(self) -> str:
        parts = []
        if self.years:
            parts.append(f"{self.years} an{'s' if self.years > 1 else ''}")
        if self.months:
            parts.append(f"{self.months} mois")
        if self.days:
            parts.append(f"{self.days} jour{'s' if self.days > 1 else ''}")
        delay = " et ".join(parts) or "aussitôt"
        return f"{delay} après {self.event}" + (f" ({self.basis})" if self.basis else "")

    def due(self, data: Mapping[str, Any], closed_at: datetime) -> datetime:
        """When the data becomes due for anonymisation: the event's Paris day plus the delay,
        at the end of that day (next Paris midnight, UTC)."""
        start = _event_moment(self.after, data, closed_at)
        day = start.astimezone(_PARIS).date()
        day = add_months(day, self.months + 12 * self.years) + timedelta(days=self.days)
        return datetime.combine(day + timedelta(days=1), time(0), _PARIS).astimezone(UTC)


def _event_moment(after: tuple[str, ...], data: Mapping[str, Any], closed_at: datetime) -> datetime:
    for path in after:
        if path == CLOSURE:
            return closed_at
        moment = _as_moment(read_path(data, path))
        if moment is not None:
            return moment
    return closed_at  # the event never happened (a case cancelled early): its closure


def _as_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12), _PARIS)
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if len(value) == 10:  # a bare day
            return datetime.combine(parsed.date(), time(12), _PARIS)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def read_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of case data, or None."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True)
class PersonalField:
    """One personal datum of the case data: a data key or dotted path (`demandeur.courriel`)."""

    path: str
    category: str
    label: str
    retention: Retention
    """Its own retention, or the procedure's."""

    @property
    def category_label(self) -> str:
        return CATEGORIES[self.category]


@dataclass(frozen=True)
class PersonalDataDeclaration:
    """What a procedure says about the personal data it processes, for the register and purge."""

    purpose: str
    legal_basis: str
    subjects: str
    recipients: tuple[str, ...]
    retention: Retention | None
    """The delay of the fields that give none of their own (None when no field is declared)."""
    fields: tuple[PersonalField, ...] = field(default_factory=tuple)
    note: str = ""
    """What stays and why (an act is kept as it was signed: it follows the archive's DUA)."""

    def paths(self) -> Iterator[str]:
        return (f.path for f in self.fields)

    def retentions(self) -> tuple[Retention, ...]:
        """The distinct delays of the fields, in declaration order."""
        return tuple(dict.fromkeys(f.retention for f in self.fields))


def parse_personal_data(declared: Any) -> PersonalDataDeclaration | None:
    """Read `personal_data:` of procedure.yaml; raise ProcessDefinitionError (French) when wrong."""
    if declared is None:
        return None
    where = "procedure.yaml, personal_data"
    if not isinstance(declared, dict):
        raise ProcessDefinitionError(f"{where} : doit être un dictionnaire (purpose, fields, …)")
    unknown = sorted(
        set(declared)
        - {"purpose", "legal_basis", "subjects", "recipients", "retention", "fields", "note"}
    )
    if unknown:
        raise ProcessDefinitionError(f"{where} : clé inconnue {', '.join(map(str, unknown))}")
    texts = {k: _text(declared.get(k), f"{where}.{k}") for k in ("purpose", "legal_basis")}
    subjects = _text(declared.get("subjects"), f"{where}.subjects")
    recipients = declared.get("recipients")
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all(isinstance(r, str) and r.strip() for r in recipients)
    ):
        raise ProcessDefinitionError(f"{where}.recipients : liste des destinataires (en français)")
    fields_declared = declared.get("fields") or {}
    retention: Retention | None = None
    if declared.get("retention") is not None or fields_declared:
        retention = _retention(declared.get("retention"), f"{where}.retention")
    if not isinstance(fields_declared, dict):
        raise ProcessDefinitionError(f"{where}.fields : associer chaque donnée à sa description")
    note = declared.get("note", "")
    if not isinstance(note, str):
        raise ProcessDefinitionError(f"{where}.note : un texte")
    if not fields_declared and not note.strip():
        raise ProcessDefinitionError(
            f"{where} : sans donnée personnelle déclarée (`fields`), `note` dit pourquoi"
        )
    fields = tuple(
        _field(str(path), spec, retention, f"{where}.fields.{path}")
        for path, spec in fields_declared.items()
        if retention is not None
    )
    return PersonalDataDeclaration(
        purpose=texts["purpose"],
        legal_basis=texts["legal_basis"],
        subjects=subjects,
        recipients=tuple(r.strip() for r in recipients),
        retention=retention,
        fields=fields,
        note=note.strip(),
    )


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 2000:
        raise ProcessDefinitionError(f"{where} : un texte en français (2 000 caractères au plus)")
    return value.strip()


def _field(path: str, spec: Any, default: Retention, where: str) -> PersonalField:
    if not _PATH.match(path):
        raise ProcessDefinitionError(
            f"{where} : « {path} » n'est pas une clé de données (snake_case, chemin pointé)"
        )
    if not isinstance(spec, dict) or set(spec) - {"category", "label", "retention"}:
        raise ProcessDefinitionError(f"{where} : attendu {{category, label, retention?}}")
    category = spec.get("category")
    if category not in CATEGORIES:
        raise ProcessDefinitionError(
            f"{where} : catégorie « {category} » inconnue (au choix : {', '.join(CATEGORIES)})"
        )
    retention = default
    if spec.get("retention") is not None:
        retention = _retention(spec["retention"], f"{where}.retention")
    return PersonalField(path, str(category), _text(spec.get("label"), f"{where}.label"), retention)


def _retention(spec: Any, where: str) -> Retention:
    allowed = {"after", "event", "days", "months", "years", "basis"}
    if not isinstance(spec, dict) or set(spec) - allowed:
        raise ProcessDefinitionError(
            f"{where} : attendu {{after, event, days|months|years, basis}} "
            "(par exemple after: [notification.envoye_le], months: 2)"
        )
    after = spec.get("after")
    if isinstance(after, str):
        after = [after]
    if (
        not isinstance(after, list)
        or not after
        or not all(isinstance(a, str) and (a == CLOSURE or _PATH.match(a)) for a in after)
    ):
        raise ProcessDefinitionError(
            f"{where}.after : une clé de date des données du dossier, ou `{CLOSURE}`"
        )
    amounts: dict[str, int] = {}
    for unit, maximum in _MAX_AMOUNT.items():
        value = spec.get(unit, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
            raise ProcessDefinitionError(f"{where}.{unit} : un entier entre 0 et {maximum}")
        amounts[unit] = value
    basis = spec.get("basis", "")
    if not isinstance(basis, str):
        raise ProcessDefinitionError(f"{where}.basis : un texte")
    return Retention(
        after=tuple(after),
        event=_text(spec.get("event"), f"{where}.event"),
        basis=basis.strip(),
        **amounts,
    )
