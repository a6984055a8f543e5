"""Versement to the tenant's SAE (Archives départementales): its endpoint, the archivist's
requests to transfer a package or to have the SAE eliminate it, and what the SAE answered.

Nothing is sent here: a request records an exchange « à envoyer » that the periodic job
(`engine.jobs.sae_polling`) sends and follows. The package becomes « transféré » only when
the SAE accepts it, with the SAE's identifiers journaled.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from connectors.errors import UnsafeTargetError
from connectors.webhooks.targets import check_target_url
from engine.domain.archives import ARCHIVED, TRANSFERRED
from engine.domain.errors import FieldError, Forbidden, FormValidationError, InvalidInput, NotFound
from engine.domain.model import Actor
from engine.domain.sae_transfers import SaeEndpoint, SaeTransfer, TransferKind, TransferState
from engine.persistence.uow import UnitOfWork
from engine.services.webhooks import target_policy
from engine.settings import WebhookSettings

__all__ = [
    "NOT_CONFIGURED",
    "SECRET_PREFIX",
    "accepted_transfer",
    "parse_endpoint",
    "read_endpoint",
    "recent_transfers",
    "rejected_transfers",
    "request_elimination",
    "request_transfer",
    "save_endpoint",
    "save_endpoint_as_admin",
    "transfers_for",
]

NOT_CONFIGURED = (
    "Aucun système d'archivage électronique (SAE) n'est configuré pour cette collectivité : "
    "l'administrateur de la collectivité ou l'opérateur doit d'abord indiquer le SAE des "
    "Archives départementales (type Vitam ou As@lae, adresse, compte)."
)
SECRET_PREFIX = "DEMATFLOW_SAE_"  # noqa: S105 (a name prefix, not a secret)
"""A secret reference names an environment variable of the worker with this prefix, so that
a tenant's admin cannot have the platform send another secret of the server to a SAE URL."""
_SECRET_REF = re.compile(r"^DEMATFLOW_SAE_[A-Z0-9_]{1,50}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._:@-]{1,100}$")
KINDS = {"vitam": "Vitam", "asalae": "As@lae"}


def _require_archivist(actor: Actor) -> None:
    if "archiviste" not in actor.roles and "system" not in actor.roles:
        raise Forbidden("Seul un archiviste peut verser un paquet aux Archives départementales.")


def read_endpoint(uow: UnitOfWork, tenant: str) -> SaeEndpoint | None:
    return uow.sae.endpoint(tenant)


def parse_endpoint(
    form: dict[str, str], *, tenant: str, operator: bool, allow_http: bool = False
) -> SaeEndpoint:
    """Validate the SAE settings; FormValidationError lists every invalid field. Only the
    operator sets certificate paths (files of the server); ``allow_http`` admits a plain-HTTP
    URL (a local simulator)."""
    values = {k: " ".join(str(form.get(k, "")).split()) for k in _FIELDS}
    errors: list[FieldError] = []
    if values["kind"] not in KINDS:
        errors.append(FieldError("kind", "Choisissez le type de SAE : Vitam ou As@lae."))
    parts = urlsplit(values["url"])
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes or not parts.hostname or len(values["url"]) > 500:
        errors.append(
            FieldError(
                "url", "Adresse invalide : une URL https:// complète (500 caractères au plus)."
            )
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        errors.append(FieldError("url", "L'adresse ne doit contenir ni compte, ni paramètres."))
    if values["kind"] == "vitam":
        if not values["vitam_tenant"].isdigit() or len(values["vitam_tenant"]) > 10:
            errors.append(FieldError("vitam_tenant", "Le tenant Vitam est un nombre (ex. 1)."))
        if not _TOKEN.match(values["context_id"] or "DEFAULT_WORKFLOW"):
            errors.append(FieldError("context_id", "Contexte sans espace (ex. DEFAULT_WORKFLOW)."))
    if values["kind"] == "asalae":
        if not _TOKEN.match(values["username"]):
            errors.append(FieldError("username", "Indiquez le compte de service As@lae."))
        if not _SECRET_REF.match(values["secret_ref"]):
            errors.append(
                FieldError(
                    "secret_ref",
                    f"Indiquez le nom de la variable d'environnement du serveur qui contient "
                    f"le mot de passe ; il commence par {SECRET_PREFIX} (ex. "
                    f"{SECRET_PREFIX}{tenant}).",
                )
            )
    tls = {k: values[k] for k in ("tls_cert", "tls_key", "tls_ca")}
    if any(tls.values()) and not operator:
        errors.append(FieldError("tls_cert", "Seul l'opérateur règle les certificats."))
    if any(tls.values()) and not all(tls.values()):
        errors.append(FieldError("tls_cert", "Certificat, clé et autorité vont ensemble."))
    if errors:
        raise FormValidationError(errors)
    return SaeEndpoint(
        tenant=tenant,
        kind=values["kind"],
        url=values["url"].rstrip("/"),
        vitam_tenant=values["vitam_tenant"] or "0",
        context_id=values["context_id"] or "DEFAULT_WORKFLOW",
        username=values["username"] if values["kind"] == "asalae" else "",
        secret_ref=values["secret_ref"] if values["kind"] == "asalae" else "",
        tls_cert=tls["tls_cert"],
        tls_key=tls["tls_key"],
        tls_ca=tls["tls_ca"],
    )


_FIELDS = (
    "kind",
    "url",
    "vitam_tenant",
    "context_id",
    "username",
    "secret_ref",
    "tls_cert",
    "tls_key",
    "tls_ca",
)


def save_endpoint(
    uow: UnitOfWork, endpoint: SaeEndpoint, *, actor: Actor, now: datetime, operator: bool = False
) -> None:
    """Record the tenant's SAE (journaled, without any secret: only its reference). A
    tenant's admin (not ``operator``) keeps the certificates the operator set."""
    if uow.tenants.get(endpoint.tenant) is None:
        raise NotFound("Collectivité inconnue.")
    existing = uow.sae.endpoint(endpoint.tenant)
    if existing is not None and not operator:
        endpoint = SaeEndpoint(
            **{
                **endpoint.__dict__,
                "tls_cert": existing.tls_cert,
                "tls_key": existing.tls_key,
                "tls_ca": existing.tls_ca,
            }
        )
    stamped = SaeEndpoint(**{**endpoint.__dict__, "updated_by": actor.user_id, "updated_at": now})
    uow.sae.save_endpoint(stamped)
    uow.journal.append(
        tenant=endpoint.tenant,
        kind="archive.sae_configured",
        case_id=None,
        actor=actor.user_id,
        payload={
            "kind": endpoint.kind,
            "url": endpoint.url,
            "vitam_tenant": endpoint.vitam_tenant,
            "context_id": endpoint.context_id,
            "username": endpoint.username,
            "secret_ref": endpoint.secret_ref,
            "client_certificate": bool(stamped.tls_cert),
        },
        now=now,
    )


def transfers_for(uow: UnitOfWork, tenant: str, package_id: str) -> list[SaeTransfer]:
    """Every exchange with the SAE about the package, the latest first."""
    return uow.sae.for_package(tenant, package_id)


def recent_transfers(uow: UnitOfWork, tenant: str, *, limit: int = 50) -> list[SaeTransfer]:
    """The tenant's latest exchanges with its SAE."""
    return uow.sae.recent(tenant, limit=limit)


def rejected_transfers(uow: UnitOfWork, tenant: str, *, limit: int = 20) -> list[SaeTransfer]:
    """Versements the SAE refused (or that could not be sent) and that nobody has asked
    again since: the archivist's to-do list, with the SAE's reasons."""
    return uow.sae.unresolved(tenant, limit=limit)


def accepted_transfer(uow: UnitOfWork, tenant: str, package_id: str) -> SaeTransfer | None:
    for transfer in uow.sae.for_package(tenant, package_id):
        if transfer.kind == TransferKind.TRANSFER and transfer.state == TransferState.ACCEPTED:
            return transfer
    return None


def _new(
    uow: UnitOfWork,
    tenant: str,
    package_id: str,
    kind: TransferKind,
    *,
    protocol: str,
    message_identifier: str,
    actor: Actor,
    now: datetime,
    comment: str,
) -> SaeTransfer:
    transfer = SaeTransfer(
        id=uuid.uuid4(),
        tenant=tenant,
        package_id=package_id,
        kind=kind,
        state=TransferState.QUEUED,
        protocol=protocol,
        message_identifier=message_identifier,
        requested_by=actor.user_id,
        requested_at=now,
        updated_at=now,
        comment=comment[:2000],
    )
    uow.sae.add(transfer)
    return transfer


def request_transfer(
    uow: UnitOfWork,
    tenant: str,
    package_id: str,
    *,
    actor: Actor,
    now: datetime,
    comment: str = "",
) -> SaeTransfer:
    """The archivist asks for the package to be transferred (versé) to the tenant's SAE."""
    _require_archivist(actor)
    package = uow.archives.get(tenant, package_id)
    if package is None:
        raise NotFound("Paquet d'archives introuvable.")
    if package.state == TRANSFERRED:
        raise InvalidInput("Ce paquet est déjà versé aux Archives départementales.")
    if package.state != ARCHIVED:
        raise InvalidInput("Seul un paquet archivé (scellé et conservé) peut être versé.")
    endpoint = uow.sae.endpoint(tenant)
    if endpoint is None:
        raise InvalidInput(NOT_CONFIGURED)
    transfer = _new(
        uow,
        tenant,
        package_id,
        TransferKind.TRANSFER,
        protocol=endpoint.kind,
        message_identifier=f"SIP-{tenant}-{package_id}",
        actor=actor,
        now=now,
        comment=comment,
    )
    uow.journal.append(
        tenant=tenant,
        kind="archive.transfer_requested",
        case_id=package.case_id,
        actor=actor.user_id,
        payload={"package": package_id, "transfer": str(transfer.id), "sae": endpoint.kind},
        now=now,
    )
    return transfer


def request_elimination(
    uow: UnitOfWork,
    tenant: str,
    package_id: str,
    *,
    actor: Actor,
    now: datetime,
    reason: str,
) -> SaeTransfer:
    """A named archivist asks the SAE holding the package to eliminate it (end of DUA)."""
    if "archiviste" not in actor.roles or actor.user_id.startswith("system:"):
        raise Forbidden(
            "Seul un archiviste nommé de la collectivité peut demander une élimination."
        )
    package = uow.archives.get(tenant, package_id)
    if package is None:
        raise NotFound("Paquet d'archives introuvable.")
    accepted = accepted_transfer(uow, tenant, package_id)
    if package.state != TRANSFERRED or accepted is None:
        raise InvalidInput("Le SAE ne détient pas ce paquet : il n'a pas été versé.")
    if package.legal_hold:
        raise InvalidInput("Élimination refusée : le paquet est gelé pour litige.")
    if not reason.strip():
        raise InvalidInput("Indiquez le motif et le visa de l'élimination.")
    endpoint = uow.sae.endpoint(tenant)
    if endpoint is None:
        raise InvalidInput(NOT_CONFIGURED)
    transfer = _new(
        uow,
        tenant,
        package_id,
        TransferKind.ELIMINATION,
        protocol=endpoint.kind,
        message_identifier=f"ELIM-{tenant}-{uuid.uuid4().hex[:16]}",
        actor=actor,
        now=now,
        comment=reason,
    )
    uow.journal.append(
        tenant=tenant,
        kind="archive.sae_elimination_requested",
        case_id=package.case_id,
        actor=actor.user_id,
        payload={
            "package": package_id,
            "transfer": str(transfer.id),
            "sae_ids": list(accepted.sae_ids),
            "reason": reason[:500],
        },
        now=now,
    )
    return transfer


def save_endpoint_as_admin(
    uow: UnitOfWork,
    form: dict[str, str],
    *,
    tenant: str,
    actor: Actor,
    now: datetime,
    webhooks: WebhookSettings,
) -> SaeEndpoint:
    """The tenant's admin sets its SAE: no certificate paths, and the URL must lead to an
    address outgoing calls may reach (the webhook target policy: public addresses only,
    unless the operator allowed a network), so that the worker cannot be sent elsewhere."""
    allow_http = "http" in webhooks.allowed_schemes
    endpoint = parse_endpoint(form, tenant=tenant, operator=False, allow_http=allow_http)
    try:
        check_target_url(endpoint.url, policy=target_policy(webhooks))
    except UnsafeTargetError as exc:
        raise FormValidationError(
            [
                FieldError(
                    "url", f"Adresse refusée : {exc.message} Indiquez l'adresse publique du SAE."
                )
            ]
        ) from exc
    save_endpoint(uow, endpoint, actor=actor, now=now, operator=False)
    return endpoint
