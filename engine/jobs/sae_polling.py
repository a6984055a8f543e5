"""Periodic SAE job: send the exchanges the archivists asked for, then follow the SAE's replies.

Each exchange advances in its own transaction, under its row lock, and only from the state it
was read in, so a second worker (or a repeated run) does nothing twice. Nothing is held open
while the job talks to the store or the SAE. A passing failure (SAE down, timeout, 5xx) sends
the exchange back to « à envoyer » with a later attempt time; a permanent one ends it in
« erreur » with the reason, for the archivist. A package becomes « transféré » only on the
SAE's acceptance, its identifiers journaled.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from archiving.audit import StoredPackageReader
from archiving.bag import SEDA_MANIFEST
from archiving.errors import ArchivingError
from archiving.seda import parse_manifest, read_manifest_digests
from archiving.store import package_key
from connectors.errors import ConnectorError, PermanentError, RetryableError
from connectors.retry import RetryPolicy, next_delay
from connectors.sae import (
    Accepted,
    EliminationRequest,
    Outcome,
    Pending,
    SaeClient,
    SaeConfig,
    SaeKind,
    SaeTls,
    Submitted,
    TransferPackage,
    open_sae_client,
)
from engine.domain.archives import ARCHIVED, TRANSFERRED
from engine.domain.sae_transfers import SaeEndpoint, SaeTransfer, TransferKind, TransferState
from engine.domain.training import goes_outside
from engine.jobs.runner import TransactionRunner
from engine.persistence.uow import UnitOfWork
from engine.services.archives.setup import ArchiveSetup
from engine.services.tenant_clock import tenant_clock

log = logging.getLogger(__name__)

__all__ = ["SAE_PERIOD_S", "SaeReport", "run_sae_exchanges", "sae_config"]

SAE_PERIOD_S = 60.0
ACTOR = "system:sae"
RETRY = RetryPolicy(base_seconds=60.0, max_seconds=6 * 3600.0, max_attempts=10)
MAX_PACKAGE_BYTES = 512 * 1024 * 1024
"""Largest package sent in one request (it is held in memory while sent)."""
_SEDA_Q = "{fr:gouv:culture:archivesdefrance:seda:v2.3}"


@dataclass
class SaeReport:
    """What one run did (for logs, tests and the bench)."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    pending: int = 0
    retried: int = 0
    failed: int = 0


ClientFactory = Callable[[SaeConfig], SaeClient]


def sae_config(endpoint: SaeEndpoint, secrets: Mapping[str, str]) -> SaeConfig:
    """The connector's config of a tenant's endpoint; the password is read from ``secrets``
    (the worker's environment) by its reference."""
    password = ""
    if endpoint.secret_ref:
        password = secrets.get(endpoint.secret_ref, "")
        if not password:
            raise PermanentError(
                f"Le secret {endpoint.secret_ref} du compte SAE n'est pas défini sur le serveur.",
                action="L'opérateur doit définir cette variable d'environnement du worker.",
                code="sae_secret_missing",
            )
    tls = None
    if endpoint.tls_cert:
        tls = SaeTls(Path(endpoint.tls_cert), Path(endpoint.tls_key), Path(endpoint.tls_ca))
    return SaeConfig(
        kind=SaeKind(endpoint.kind),
        base_url=endpoint.url,
        tenant=endpoint.vitam_tenant,
        context_id=endpoint.context_id,
        application_id="dematflow",
        username=endpoint.username,
        password=password,
        tls=tls,
    )


def read_transfer_package(setup: ArchiveSetup, tenant: str, package_id: str) -> TransferPackage:
    """The package's sealed SEDA manifest and the objects it lists, read from the store."""
    with setup.store() as store:
        bucket = setup.bucket(tenant)
        reader = StoredPackageReader(
            store, bucket, package_id, store.versions(bucket, package_key(package_id))
        )
        if SEDA_MANIFEST not in reader.names():
            raise PermanentError(
                f"Le manifeste SEDA du paquet {package_id} est introuvable dans le stockage.",
                action="Lancer un audit du paquet.",
                code="sae_package_missing",
            )
        with reader.open(SEDA_MANIFEST) as stream:
            manifest = stream.read()
        objects: dict[str, bytes] = {}
        total = 0
        for uri in read_manifest_digests(manifest):
            with reader.open(f"data/{uri}") as stream:
                objects[uri] = stream.read(MAX_PACKAGE_BYTES - total + 1)
            total += len(objects[uri])
            if total > MAX_PACKAGE_BYTES:
                raise PermanentError(
                    f"Le paquet {package_id} dépasse {MAX_PACKAGE_BYTES} octets.",
                    action="Verser ce paquet hors ligne avec le service d'archives.",
                    code="sae_package_too_large",
                )
    root = parse_manifest(manifest)
    message_id = (root.findtext(_SEDA_Q + "MessageIdentifier") or "").strip()
    sender = (root.findtext(f"{_SEDA_Q}TransferringAgency/{_SEDA_Q}Identifier") or "").strip()
    return TransferPackage(message_id, sender, manifest, objects)


def _journal(
    uow: UnitOfWork, transfer: SaeTransfer, kind: str, now: datetime, **payload: Any
) -> None:
    package = uow.archives.get(transfer.tenant, transfer.package_id)
    uow.journal.append(
        tenant=transfer.tenant,
        kind=kind,
        case_id=package.case_id if package is not None else None,
        actor=ACTOR,
        payload={"package": transfer.package_id, "transfer": str(transfer.id), **payload},
        now=now,
    )


def _locked(uow: UnitOfWork, transfer: SaeTransfer) -> SaeTransfer | None:
    """The exchange re-read under its lock, if still in the state it was read in."""
    current = uow.sae.lock(transfer.id)
    return current if current is not None and current.state == transfer.state else None


def _record_sent(
    uow: UnitOfWork, transfer: SaeTransfer, submitted: Submitted, now: datetime
) -> None:
    if _locked(uow, transfer) is None:
        return
    uow.sae.update(
        transfer.id,
        now,
        state=TransferState.SENT,
        reference=submitted.reference,
        message_identifier=submitted.message_identifier,
        attempts=transfer.attempts + 1,
        sent_at=now,
        next_attempt_at=None,
    )
    kind = (
        "archive.transfer_sent"
        if transfer.kind == TransferKind.TRANSFER
        else ("archive.sae_elimination_sent")
    )
    _journal(uow, transfer, kind, now, reference=submitted.reference)


def _record_failure(
    uow: UnitOfWork, transfer: SaeTransfer, error: ConnectorError, now: datetime
) -> bool:
    """A failed attempt: retried later (True) or given up (False)."""
    if _locked(uow, transfer) is None:
        return True
    attempts = transfer.attempts + 1
    jitter = random.random()  # noqa: S311 (spreads retries, not a secret)
    delay = next_delay(RETRY, attempts, random_fraction=jitter) if error.retryable else None
    reason = str(error)[:1000]
    if delay is not None:
        # A reply that could not be read is asked again; a send that failed is sent again.
        uow.sae.update(
            transfer.id,
            now,
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=delay),
            reasons=(reason,),
        )
        return True
    uow.sae.update(
        transfer.id, now, state=TransferState.FAILED, attempts=attempts, reasons=(reason,)
    )
    _journal(uow, transfer, "archive.transfer_failed", now, reason=reason, code=error.code)
    return False


def _record_outcome(
    uow: UnitOfWork, transfer: SaeTransfer, outcome: Outcome, now: datetime
) -> None:
    if isinstance(outcome, Pending) or _locked(uow, transfer) is None:
        return
    elimination = transfer.kind == TransferKind.ELIMINATION
    if isinstance(outcome, Accepted):
        uow.sae.update(
            transfer.id,
            now,
            state=TransferState.ACCEPTED,
            sae_ids=outcome.sae_ids,
            reasons=(outcome.detail,) if outcome.detail else (),
            reply_code=outcome.reply_code,
            answered_at=now,
        )
        ids = list(outcome.sae_ids)[:1000]
        if elimination:
            _journal(uow, transfer, "archive.sae_eliminated", now, sae_ids=ids)
            return
        package = uow.archives.get(transfer.tenant, transfer.package_id)
        if package is not None and package.state == ARCHIVED:
            uow.archives.update(transfer.tenant, transfer.package_id, now, state=TRANSFERRED)
        _journal(
            uow, transfer, "archive.transferred", now,
            sae_ids=ids, reply_code=outcome.reply_code, reply=outcome.reply_identifier,
        )  # fmt: skip
        return
    uow.sae.update(
        transfer.id,
        now,
        state=TransferState.REJECTED,
        reasons=outcome.reasons,
        reply_code=outcome.reply_code,
        answered_at=now,
    )
    kind = "archive.sae_elimination_rejected" if elimination else "archive.transfer_rejected"
    _journal(
        uow, transfer, kind, now, reasons=list(outcome.reasons)[:20], reply_code=outcome.reply_code
    )


def _elimination_request(uow: UnitOfWork, transfer: SaeTransfer) -> EliminationRequest:
    held = [
        t for t in uow.sae.for_package(transfer.tenant, transfer.package_id)
        if t.kind == TransferKind.TRANSFER and t.state == TransferState.ACCEPTED
    ]  # fmt: skip
    endpoint_agency = ""
    package = uow.archives.get(transfer.tenant, transfer.package_id)
    if package is not None:
        service = package.frozen.get("archive_service") or {}
        endpoint_agency = str(service.get("identifiant") or "")
    tenant = uow.tenants.get(transfer.tenant)
    return EliminationRequest(
        message_identifier=transfer.message_identifier,
        requester=transfer.tenant,
        requester_name=tenant.name if tenant is not None else transfer.tenant,
        archival_agency=endpoint_agency or "SAE",
        unit_ids=held[0].sae_ids if held else (),
        reason=transfer.comment or "Élimination en fin de DUA",
        requested_at=transfer.requested_at,
    )


def _advance(
    runner: TransactionRunner,
    setup: ArchiveSetup,
    transfer: SaeTransfer,
    client: SaeClient,
    report: SaeReport,
    now: datetime,
) -> None:
    try:
        if transfer.state == TransferState.QUEUED:
            if transfer.kind == TransferKind.TRANSFER:
                submitted = client.submit_transfer(
                    read_transfer_package(setup, transfer.tenant, transfer.package_id)
                )
            else:
                request = runner.read(_elimination_request, transfer)
                submitted = client.request_elimination(request)
            runner.write(_record_sent, transfer, submitted, now)
            report.sent += 1
            return
        submitted = Submitted(
            transfer.reference or "", transfer.message_identifier, transfer.tenant
        )
        getter = (
            client.transfer_outcome
            if transfer.kind == TransferKind.TRANSFER
            else client.elimination_outcome
        )
        outcome = getter(submitted)
    except ArchivingError as exc:
        error: ConnectorError = RetryableError(str(exc), code="sae_store_unavailable")
        outcome = None
    except ConnectorError as exc:
        error, outcome = exc, None
    if outcome is None:
        if transfer.state == TransferState.SENT and error.retryable:
            report.retried += 1  # asked again at the next run
            return
        if runner.write(_record_failure, transfer, error, now):
            report.retried += 1
        else:
            report.failed += 1
        return
    runner.write(_record_outcome, transfer, outcome, now)
    if isinstance(outcome, Pending):
        report.pending += 1
    elif isinstance(outcome, Accepted):
        report.accepted += 1
    else:
        report.rejected += 1


def _endpoint(uow: UnitOfWork, tenant: str) -> SaeEndpoint | None:
    return uow.sae.endpoint(tenant)


def _in_training(uow: UnitOfWork, tenant: str) -> bool:
    return tenant_clock(uow, tenant).training


TRAINING_REFUSAL = PermanentError(
    "Espace de formation : ses paquets ne partent que vers le simulateur du SAE, jamais vers "
    "un SAE réel.",
    action="Indiquer le simulateur (adresse de boucle locale) dans les réglages du SAE.",
    code="sae_training",
)
"""A training space's packages are fictitious: like its acts and mails, they never leave the
machine (`engine.domain.training.goes_outside`)."""


def run_sae_exchanges(
    uow_factory: Callable[[], UnitOfWork],
    setup: ArchiveSetup,
    *,
    now: datetime,
    batch: int = 200,
    client_factory: ClientFactory = open_sae_client,
    secrets: Mapping[str, str] | None = None,
) -> SaeReport:
    """Send what is due and read the replies awaited, at most ``batch`` exchanges."""
    report = SaeReport()
    runner = TransactionRunner(uow_factory)
    due = runner.read(lambda uow: uow.sae.due(now, limit=batch))
    clients: dict[str, SaeClient] = {}
    endpoints: dict[str, SaeEndpoint | None] = {}
    try:
        for transfer in due:
            if transfer.tenant not in endpoints:
                endpoints[transfer.tenant] = runner.read(_endpoint, transfer.tenant)
            endpoint = endpoints[transfer.tenant]
            if endpoint is None:
                continue
            if goes_outside(endpoint.url) and runner.read(_in_training, transfer.tenant):
                runner.write(_record_failure, transfer, TRAINING_REFUSAL, now)
                report.failed += 1
                continue
            if transfer.tenant not in clients:
                try:
                    config = sae_config(endpoint, os.environ if secrets is None else secrets)
                except ConnectorError as exc:
                    runner.write(_record_failure, transfer, exc, now)
                    report.failed += 1
                    continue
                clients[transfer.tenant] = client_factory(config)
            _advance(runner, setup, transfer, clients[transfer.tenant], report, now)
    finally:
        for client in clients.values():
            client.close()
    asked = [t.id for t in due if t.state == TransferState.SENT]
    runner.write(lambda uow: uow.sae.mark_polled(asked, now))
    if due:
        log.info("SAE : %s", report)
    return report
