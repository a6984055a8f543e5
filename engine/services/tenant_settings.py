"""A tenant's own settings: which procedures (and versions) its agents may start, the header of
its public register and the service contacts printed on citizens' acknowledgements of receipt."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.domain.archives import RetentionRuleRow
from engine.domain.errors import Conflict, FieldError, FormValidationError, NotFound
from engine.domain.model import Actor
from engine.domain.tenant_records import ProcedureChoice, SpecVersion
from engine.persistence.uow import UnitOfWork
from engine.services.archives.retention import default_schedule, retention_rule, set_retention_rule

__all__ = [
    "ArchiveService",
    "CatalogueEntry",
    "PublicationPage",
    "RetentionLine",
    "ServiceContact",
    "TenantSettings",
    "catalogue",
    "enabled_procedures",
    "parse_settings",
    "read_settings",
    "retention_lines",
    "save_retention",
    "save_settings",
    "set_procedure",
    "spec_to_start",
    "with_service_contacts",
]

# Procedure catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """One deployed procedure as a tenant sees it."""

    procedure: str
    title: str
    """Title of the version new cases start on."""
    enabled: bool
    pinned_hash: str | None
    """The version new cases start on when pinned; None: always the latest deployed."""
    spec_hash: str
    """The version new cases start on (the pinned one or the latest)."""
    versions: tuple[SpecVersion, ...]
    """Every deployed version, newest first."""


def catalogue(uow: UnitOfWork, tenant: str) -> list[CatalogueEntry]:
    """Every deployed procedure with the tenant's choice (two statements in all)."""
    by_procedure: dict[str, list[SpecVersion]] = {}
    for version in uow.tenant_admin.versions(tenant):
        by_procedure.setdefault(version.procedure, []).append(version)
    choices = uow.tenant_admin.choices(tenant)
    entries = []
    for procedure, versions in by_procedure.items():
        choice = choices.get(procedure) or ProcedureChoice(procedure, True, None)
        pinned = next((v for v in versions if v.hash == choice.pinned_hash), None)
        current = pinned or versions[0]
        entries.append(
            CatalogueEntry(
                procedure=procedure,
                title=current.title,
                enabled=choice.enabled,
                pinned_hash=pinned.hash if pinned else None,
                spec_hash=current.hash,
                versions=tuple(versions),
            )
        )
    return entries


def enabled_procedures(uow: UnitOfWork, tenant: str) -> list[Any]:
    """The procedures the tenant's agents may start, each on the version a new case gets
    (rows of `process_specs`, as `SpecRepository.catalogue`); three statements in all."""
    choices = uow.tenant_admin.choices(tenant)
    pinned = {
        row.procedure: row
        for row in uow.tenant_admin.specs(
            {c.pinned_hash for c in choices.values() if c.enabled and c.pinned_hash}
        )
    }
    rows: list[Any] = []
    for row in uow.specs.catalogue(tenant):
        choice = choices.get(row.procedure)
        if choice is not None and not choice.enabled:
            continue
        rows.append(pinned.get(row.procedure, row))
    return rows


def spec_to_start(uow: UnitOfWork, tenant: str, procedure: str) -> Any:
    """The definition a new case of `procedure` starts on in this tenant.

    NotFound for a procedure never deployed; Conflict when the tenant has disabled it. Cases
    already running are not concerned: they keep the version they started on."""
    latest = uow.specs.latest(procedure, tenant)
    if latest is None:
        raise NotFound(f"Procédure inconnue « {procedure} ».")
    choice = uow.tenant_admin.choice(tenant, procedure)
    if choice is None:
        return latest
    if not choice.enabled:
        raise Conflict(
            f"La procédure « {latest.title} » n'est pas activée pour votre collectivité : "
            "demandez à son administrateur de l'activer."
        )
    if choice.pinned_hash:
        pinned = uow.tenant_admin.spec(choice.pinned_hash)
        if pinned is not None:
            return pinned
    return latest


def set_procedure(
    uow: UnitOfWork,
    *,
    tenant: str,
    procedure: str,
    enabled: bool,
    pinned_hash: str | None,
    actor: Actor,
    now: datetime,
) -> CatalogueEntry:
    """Enable or disable a procedure for new cases, on the latest version or a pinned one."""
    if uow.specs.latest(procedure, tenant) is None:
        raise NotFound(f"Procédure inconnue « {procedure} ».")
    if pinned_hash:
        pinned = uow.tenant_admin.spec(pinned_hash)
        visible = {v.hash for v in uow.tenant_admin.versions(tenant)}
        if pinned is None or pinned.procedure != procedure or pinned_hash not in visible:
            raise FormValidationError(
                [FieldError("version", "Cette version n'est pas déployée pour cette procédure.")]
            )
    choice = ProcedureChoice(procedure, enabled, pinned_hash or None)
    uow.tenant_admin.set_choice(tenant, choice, by=actor.user_id, now=now)
    uow.journal.append(
        tenant=tenant,
        kind="catalogue.changed",
        case_id=None,
        actor=actor.user_id,
        payload={"procedure": procedure, "enabled": enabled, "version": choice.pinned_hash},
        now=now,
    )
    return next(e for e in catalogue(uow, tenant) if e.procedure == procedure)


# Settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicationPage:
    """Header of the tenant's public register (`/registre/{tenant}`); empty: defaults."""

    titre: str = ""
    introduction: str = ""
    contact: str = ""
    """E-mail address readers may write to about the published acts."""


@dataclass(frozen=True)
class ServiceContact:
    """The service handling citizens' requests, as art. R112-5 CRPA asks the acknowledgement
    of receipt to name it: designation, postal address, telephone, e-mail."""

    nom: str
    adresse: str
    telephone: str
    courriel: str = ""


@dataclass(frozen=True)
class ArchiveService:
    """The archives service responsible for the tenant's records (usually the Archives
    départementales), named in every package as SEDA ``ArchivalAgency``, and the convention
    de versement agreed with it (SEDA ``ArchivalAgreement``)."""

    nom: str
    identifiant: str
    """Its identifier as the archives service gives it (e.g. its ISIL code ``FR-AD034``)."""
    convention: str = ""
    """Identifier of the convention de versement; empty when none is agreed yet."""


@dataclass(frozen=True)
class TenantSettings:
    publication: PublicationPage
    service_usagers: ServiceContact | None
    """When set, replaces the example contacts of the procedure's decision table."""
    archives: ArchiveService | None = None
    """When unset, packages name the platform's archive service and say so."""

    def as_form(self) -> dict[str, str]:
        values = {f"publication_{k}": v for k, v in asdict(self.publication).items()}
        if self.service_usagers is not None:
            values |= {f"service_{k}": v for k, v in asdict(self.service_usagers).items()}
        if self.archives is not None:
            values |= {f"archives_{k}": v for k, v in asdict(self.archives).items()}
        return values


LIMITS = {
    "publication_titre": 200,
    "publication_introduction": 2000,
    "publication_contact": 254,
    "service_nom": 200,
    "service_adresse": 300,
    "service_telephone": 30,
    "service_courriel": 254,
    "archives_nom": 200,
    "archives_identifiant": 64,
    "archives_convention": 64,
}
"""Longest accepted value of each field, in characters."""

_ARCHIVES_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_ARCHIVES_REQUIRED = {
    "archives_nom": "Indiquez le nom du service d'archives (ex. Archives départementales).",
    "archives_identifiant": "Indiquez l'identifiant du service d'archives (ex. FR-AD034).",
}
_PHONE = re.compile(r"^\+?[0-9][0-9 .()-]{3,28}[0-9]$")
_SERVICE_REQUIRED = {
    "service_nom": "Indiquez la désignation du service.",
    "service_adresse": "Indiquez l'adresse postale du service.",
    "service_telephone": "Indiquez le numéro de téléphone du service.",
}


def _email(value: str, path: str, errors: list[FieldError]) -> str:
    if not value:
        return ""
    from email_validator import EmailNotValidError, validate_email  # not at a worker's start

    try:
        # Syntax only: no DNS look-up from a form submission.
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        errors.append(
            FieldError(path, "Adresse électronique invalide (exemple : accueil@mairie.fr).")
        )
        return value


def parse_settings(form: dict[str, str]) -> TenantSettings:
    """Validate submitted settings; FormValidationError lists every invalid field."""
    values = {name: " ".join(form.get(name, "").split()) for name in LIMITS}
    # The introduction keeps its paragraphs.
    values["publication_introduction"] = form.get("publication_introduction", "").strip()
    errors = [
        FieldError(name, f"{limit} caractères au plus.")
        for name, limit in LIMITS.items()
        if len(values[name]) > limit
    ]
    values["publication_contact"] = _email(
        values["publication_contact"], "publication_contact", errors
    )
    values["service_courriel"] = _email(values["service_courriel"], "service_courriel", errors)
    service_given = any(values[name] for name in LIMITS if name.startswith("service_"))
    if service_given:
        errors += [FieldError(n, m) for n, m in _SERVICE_REQUIRED.items() if not values[n]]
        phone = values["service_telephone"]
        if phone and not _PHONE.match(phone):
            errors.append(
                FieldError("service_telephone", "Numéro invalide (exemple : 04 67 00 00 00).")
            )
    archives_given = any(values[name] for name in LIMITS if name.startswith("archives_"))
    if archives_given:
        errors += [FieldError(n, m) for n, m in _ARCHIVES_REQUIRED.items() if not values[n]]
        for name in ("archives_identifiant", "archives_convention"):
            if values[name] and not _ARCHIVES_ID.match(values[name]):
                errors.append(
                    FieldError(
                        name,
                        "Identifiant sans espace : lettres, chiffres et . _ : / - "
                        "(64 caractères au plus).",
                    )
                )
    if errors:
        raise FormValidationError(errors)
    return TenantSettings(
        publication=PublicationPage(
            titre=values["publication_titre"],
            introduction=values["publication_introduction"],
            contact=values["publication_contact"],
        ),
        service_usagers=ServiceContact(
            nom=values["service_nom"],
            adresse=values["service_adresse"],
            telephone=values["service_telephone"],
            courriel=values["service_courriel"],
        )
        if service_given
        else None,
        archives=ArchiveService(
            nom=values["archives_nom"],
            identifiant=values["archives_identifiant"],
            convention=values["archives_convention"],
        )
        if archives_given
        else None,
    )


def read_settings(uow: UnitOfWork, tenant: str) -> TenantSettings:
    stored = uow.tenant_admin.settings(tenant)
    service = stored.get("service_usagers")
    archives = stored.get("archives")
    return TenantSettings(
        publication=PublicationPage(**stored.get("publication", {})),
        service_usagers=ServiceContact(**service) if service else None,
        archives=ArchiveService(**archives) if archives else None,
    )


def save_settings(
    uow: UnitOfWork, *, tenant: str, settings: TenantSettings, actor: Actor, now: datetime
) -> None:
    document = asdict(settings)
    uow.tenant_admin.save_settings(tenant, document, by=actor.user_id, now=now)
    uow.journal.append(
        tenant=tenant,
        kind="settings.changed",
        case_id=None,
        actor=actor.user_id,
        payload=document,
        now=now,
    )


def with_service_contacts(uow: UnitOfWork, tenant: str, context: dict[str, Any]) -> dict[str, Any]:
    """A document context whose `service` (the R112-5 mentions) is the tenant's, when set."""
    if not isinstance(context.get("service"), dict):
        return context
    service = read_settings(uow, tenant).service_usagers
    if service is None:
        return context
    return {**context, "service": asdict(service)}


# Retention schedule overrides -------------------------------------------------------------

FINAL_ACTIONS = {"Keep": "Conservation définitive", "Destroy": "Destruction"}
"""Final actions (SEDA `FinalAction`) with their French labels."""
MAX_RETENTION_YEARS = 200


@dataclass(frozen=True)
class RetentionLine:
    """One typologie of the retention schedule: the platform's default and the tenant's rule."""

    typologie: str
    default: RetentionRuleRow
    current: RetentionRuleRow

    @property
    def overridden(self) -> bool:
        return (self.current.years, self.current.final_action) != (
            self.default.years,
            self.default.final_action,
        )


def retention_lines(uow: UnitOfWork, tenant: str) -> list[RetentionLine]:
    """The schedule as it applies to packages sealed from now on (sealed ones keep theirs)."""
    return [
        RetentionLine(typologie, default, retention_rule(uow, tenant, typologie))
        for typologie, default in sorted(default_schedule().items())
    ]


def save_retention(
    uow: UnitOfWork, *, tenant: str, form: dict[str, str], actor: Actor, now: datetime
) -> list[str]:
    """Record the tenant's durations and final actions; returns the typologies changed.

    Fields `annees_<typologie>` (whole years) and `sort_<typologie>` (Keep or Destroy);
    FormValidationError lists every invalid field and nothing is written."""
    lines = retention_lines(uow, tenant)
    errors: list[FieldError] = []
    wanted: list[tuple[RetentionLine, int, str]] = []
    for line in lines:
        years_field, action_field = f"annees_{line.typologie}", f"sort_{line.typologie}"
        raw = form.get(years_field, "").strip()
        years = int(raw) if raw.isdigit() and len(raw) <= 3 else -1
        if not 0 <= years <= MAX_RETENTION_YEARS:
            errors.append(
                FieldError(years_field, f"Nombre entier d'années entre 0 et {MAX_RETENTION_YEARS}.")
            )
        action = form.get(action_field, "")
        if action not in FINAL_ACTIONS:
            errors.append(FieldError(action_field, "Choisissez le sort final."))
        wanted.append((line, years, action))
    if errors:
        raise FormValidationError(errors)
    changed = []
    for line, years, action in wanted:
        if (years, action) == (line.current.years, line.current.final_action):
            continue
        default = line.default
        own = (years, action) != (default.years, default.final_action)
        rule_id = f"{default.rule_id.rsplit('-P', 1)[0]}-P{years}Y" if own else default.rule_id
        rule = RetentionRuleRow(line.typologie, rule_id, years, action, default.access_rule)
        set_retention_rule(uow, tenant, rule, actor=actor, now=now)
        changed.append(line.typologie)
    return changed
