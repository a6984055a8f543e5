"""Versement to the SAE: the archivist asks, the job sends the sealed package to the real
simulator process (Vitam and As@lae), the package is « transféré » only when the SAE accepts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from devstack.process import free_port
from engine.bootstrap import Platform
from engine.cli.archives import group as archives_cli
from engine.domain.archives import ARCHIVED, TRANSFERRED
from engine.domain.errors import Conflict, InvalidInput
from engine.domain.sae_transfers import SaeTransfer, TransferKind, TransferState
from engine.jobs.sae_polling import run_sae_exchanges
from engine.services import admin
from engine.services.archives.setup import ArchiveSetup, archive_setup
from engine.services.archives.transfer import (
    NOT_CONFIGURED,
    parse_endpoint,
    request_elimination,
    request_transfer,
    save_endpoint,
    transfers_for,
)
from engine.services.tenant_clock import make_training
from tests.engine.archives.conftest import (
    ARCHIVISTE,
    archived_case,
    package_of,
    use_platform_env,
)
from tests.engine.support import OPERATOR, SIREN_A
from tests.fixtures.sae import SAE_PASSWORD, SAE_USER, SaeSimulatorProcess

pytestmark = pytest.mark.integration
SECRETS = {"DEMATFLOW_SAE_TEST": SAE_PASSWORD}


@pytest.fixture(autouse=True)
def _reset(sae_simulator: SaeSimulatorProcess) -> None:
    sae_simulator.reset()


def configure(p: Platform, kind: str, url: str) -> None:
    form = {"kind": kind, "url": url, "vitam_tenant": "1"}
    if kind == "asalae":
        form |= {"username": SAE_USER, "secret_ref": "DEMATFLOW_SAE_TEST"}
    with p.uow() as uow:
        endpoint = parse_endpoint(form, tenant=SIREN_A, operator=True, allow_http=True)
        save_endpoint(uow, endpoint, actor=OPERATOR, now=p.clock(), operator=True)
        uow.commit()


def archived_package_id(p: Platform) -> str:
    package = package_of(p, archived_case(p))
    assert package is not None and package.state == ARCHIVED
    return str(package.package_id)


def ask(p: Platform, package_id: str) -> None:
    with p.uow() as uow:
        request_transfer(uow, SIREN_A, package_id, actor=ARCHIVISTE, now=p.clock())
        uow.commit()


def run(p: Platform, setup: ArchiveSetup, *, later: timedelta = timedelta(0)):  # type: ignore[no-untyped-def]
    return run_sae_exchanges(p.uow, setup, now=p.clock() + later, secrets=SECRETS)


def journal_kinds(p: Platform) -> list[str]:
    with p.uow() as uow:
        return [e.kind for e in uow.journal.iter_entries(SIREN_A) if e.kind.startswith("archive.")]


@pytest.mark.parametrize("kind", ["vitam", "asalae"])
def test_accepted_transfer_marks_the_package_transferred_with_the_sae_ids(
    p: Platform, setup: ArchiveSetup, sae_simulator: SaeSimulatorProcess, kind: str
) -> None:
    configure(p, kind, sae_simulator.base_url)
    package_id = archived_package_id(p)
    ask(p, package_id)
    with p.uow() as uow:  # asked, not yet sent: the package does not change
        assert uow.archives.get(SIREN_A, package_id).state == ARCHIVED  # type: ignore[union-attr]
    report = run(p, setup)
    assert report.sent == 1
    report = run(p, setup)
    assert report.accepted == 1
    with p.uow() as uow:
        assert uow.archives.get(SIREN_A, package_id).state == TRANSFERRED  # type: ignore[union-attr]
        [transfer] = transfers_for(uow, SIREN_A, package_id)
        transferred = [
            e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "archive.transferred"
        ]
    assert transfer.state == TransferState.ACCEPTED and transfer.sae_ids
    assert transferred[0].payload["sae_ids"] == list(transfer.sae_ids)
    assert {"archive.transfer_requested", "archive.transfer_sent"} <= set(journal_kinds(p))
    # The simulator checked the sealed manifest against the XSDs and the objects' digests.
    with sae_simulator.admin() as http:
        exchanges = [e for e in http.get("/admin/exchanges").json() if e["protocol"] == kind]
    assert any(e["accepted"] and e["message_identifier"].endswith(package_id) for e in exchanges)


@pytest.mark.parametrize("kind", ["vitam", "asalae"])
def test_rejected_transfer_keeps_the_package_and_gives_the_archivist_the_reasons(
    p: Platform, setup: ArchiveSetup, sae_simulator: SaeSimulatorProcess, kind: str
) -> None:
    configure(p, kind, sae_simulator.base_url)
    sae_simulator.settings(decision="reject", reason="Profil d'archivage inconnu : PR-DELIB")
    package_id = archived_package_id(p)
    ask(p, package_id)
    run(p, setup)
    run(p, setup)
    with p.uow() as uow:
        assert uow.archives.get(SIREN_A, package_id).state == ARCHIVED  # type: ignore[union-attr]
        [transfer] = transfers_for(uow, SIREN_A, package_id)
    assert transfer.state == TransferState.REJECTED
    assert any("Profil d'archivage inconnu" in r for r in transfer.reasons)
    assert "archive.transfer_rejected" in journal_kinds(p)
    # Rejected: the archivist may ask again once the convention is fixed.
    sae_simulator.settings(decision="accept")
    ask(p, package_id)
    run(p, setup)
    run(p, setup)
    with p.uow() as uow:
        assert uow.archives.get(SIREN_A, package_id).state == TRANSFERRED  # type: ignore[union-attr]


def test_sae_down_the_transfer_is_retried_later(
    p: Platform, setup: ArchiveSetup, sae_simulator: SaeSimulatorProcess
) -> None:
    configure(p, "vitam", f"http://127.0.0.1:{free_port()}")  # nobody listens there
    package_id = archived_package_id(p)
    ask(p, package_id)
    report = run(p, setup)
    assert report.retried == 1 and report.sent == 0
    with p.uow() as uow:
        [transfer] = transfers_for(uow, SIREN_A, package_id)
    assert transfer.state == TransferState.QUEUED and transfer.attempts == 1
    assert transfer.next_attempt_at is not None and "injoignable" in transfer.reasons[0]
    assert run(p, setup).sent == 0  # not due yet
    configure(p, "vitam", sae_simulator.base_url)  # the SAE is back
    sae_simulator.arm("error500")  # ... but stumbles once more
    assert run(p, setup, later=timedelta(hours=1)).retried == 1
    assert run(p, setup, later=timedelta(hours=2)).sent == 1
    assert run(p, setup, later=timedelta(hours=2)).accepted == 1


def test_unconfigured_tenant_gets_a_clear_message(p: Platform) -> None:
    package_id = archived_package_id(p)
    with p.uow() as uow, pytest.raises(InvalidInput) as raised:
        request_transfer(uow, SIREN_A, package_id, actor=ARCHIVISTE, now=p.clock())
    assert str(raised.value) == NOT_CONFIGURED


def test_a_training_space_never_sends_a_package_to_a_real_sae(p: Platform) -> None:
    package_id = archived_package_id(p)
    configure(p, "vitam", "https://sae.archives-departementales.example.fr")
    with p.uow() as uow:
        make_training(uow, tenant=SIREN_A, actor=OPERATOR, now=p.clock())
        uow.commit()
    ask(p, package_id)
    report = run(p, archive_setup(p.settings))
    assert report.failed == 1 and report.sent == 0
    with p.uow() as uow:
        (transfer,) = transfers_for(uow, SIREN_A, package_id)
        package = uow.archives.get(SIREN_A, package_id)
    assert transfer.state == TransferState.FAILED
    assert "Espace de formation" in transfer.reasons[0]
    assert package is not None and package.state == ARCHIVED
    assert "archive.transfer_failed" in journal_kinds(p)


def test_one_open_transfer_per_package(p: Platform, sae_simulator: SaeSimulatorProcess) -> None:
    configure(p, "vitam", sae_simulator.base_url)
    package_id = archived_package_id(p)
    ask(p, package_id)
    with pytest.raises(Conflict):
        ask(p, package_id)


@pytest.mark.parametrize("kind", ["vitam", "asalae"])
def test_elimination_request_goes_to_the_sae_holding_the_package(
    p: Platform, setup: ArchiveSetup, sae_simulator: SaeSimulatorProcess, kind: str
) -> None:
    configure(p, kind, sae_simulator.base_url)
    package_id = archived_package_id(p)
    ask(p, package_id)
    run(p, setup)
    run(p, setup)
    with p.uow() as uow:
        request_elimination(
            uow, SIREN_A, package_id, actor=ARCHIVISTE, now=p.clock(),
            reason="DUA échue ; visa AD34-2026-007",
        )  # fmt: skip
        uow.commit()
    assert run(p, setup).sent == 1
    assert run(p, setup).accepted == 1
    with p.uow() as uow:
        elimination, transfer = transfers_for(uow, SIREN_A, package_id)
    assert elimination.state == TransferState.ACCEPTED
    assert set(elimination.sae_ids) == set(transfer.sae_ids)
    assert "archive.sae_eliminated" in journal_kinds(p)


def test_operator_cli_configures_requests_runs_and_reports(
    p: Platform, sae_simulator: SaeSimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_platform_env(p, monkeypatch)
    monkeypatch.setenv("DEMATFLOW_SAE_TEST", SAE_PASSWORD)
    package_id = archived_package_id(p)
    with p.uow() as uow:
        admin.create_user(
            uow, username="archiviste", display_name="Anne Archiviste", password=None,
            tenant=SIREN_A, roles=("archiviste",), actor=OPERATOR, now=p.clock(),
        )  # fmt: skip
        uow.commit()
    cli = CliRunner()
    base = ["transfer"]
    unconfigured = cli.invoke(archives_cli, [*base, "status", "--tenant", SIREN_A])
    assert unconfigured.exit_code == 1 and "aucun SAE" in unconfigured.output
    configure_args = [*base, "configure", "--tenant", SIREN_A, "--kind", "asalae"]
    configure_args += ["--url", sae_simulator.base_url, "--username", SAE_USER]
    configure_args += ["--secret-ref", "DEMATFLOW_SAE_TEST"]
    refused = cli.invoke(archives_cli, configure_args)
    assert refused.exit_code == 1 and "https://" in refused.output  # http needs --allow-http
    assert cli.invoke(archives_cli, [*configure_args, "--allow-http"]).exit_code == 0
    asked = cli.invoke(
        archives_cli,
        [*base, "request", "--tenant", SIREN_A, "--package", package_id, "--user", "archiviste"],
    )
    assert asked.exit_code == 0, asked.output
    for _ in range(2):
        ran = cli.invoke(archives_cli, [*base, "run"])
        assert ran.exit_code == 0, ran.output
    shown = cli.invoke(archives_cli, [*base, "status", "--tenant", SIREN_A])
    [row] = json.loads(shown.output)
    assert row["state"] == "accepte" and row["sae_ids"]


def test_the_sae_tables_are_migrated_as_declared(p: Platform) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from engine.persistence.tables import metadata

    with p.db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = [repr(d) for d in compare_metadata(context, metadata) if "sae_" in repr(d)]
    assert differences == []


def test_the_beat_sends_and_follows_exchanges_every_minute(p: Platform) -> None:
    from engine.jobs import sae_polling
    from engine.worker import app as worker_app

    entry = worker_app.make_celery(p.settings).conf.beat_schedule["sae-exchanges"]
    assert entry["task"] == "dematflow.sae_exchanges"
    assert entry["schedule"] == worker_app.SAE_PERIOD_S == sae_polling.SAE_PERIOD_S


def test_the_run_goes_round_past_its_batch(p: Platform) -> None:
    """More replies awaited than one run asks about: a new package is still sent, and every
    awaited reply is asked for in turn. Before, the oldest awaited exchanges filled every run."""
    now = p.clock()

    def transfer(index: int, state: TransferState, at: datetime) -> SaeTransfer:
        return SaeTransfer(
            id=uuid.uuid4(),
            tenant=SIREN_A,
            package_id=f"paquet-{index}",
            kind=TransferKind.TRANSFER,
            state=state,
            protocol="vitam",
            message_identifier=f"message-{index}",
            requested_by="archiviste",
            requested_at=at,
            updated_at=at,
        )

    awaited = [transfer(i, TransferState.SENT, now - timedelta(hours=10 - i)) for i in range(6)]
    new = transfer(99, TransferState.QUEUED, now)
    with p.uow() as uow:
        for each in [*awaited, new]:
            uow.sae.add(each)
        uow.commit()
    seen: set[uuid.UUID] = set()
    for _ in range(len(awaited)):
        with p.uow() as uow:
            batch = uow.sae.due(now, limit=4)
            uow.sae.mark_polled([t.id for t in batch if t.state == TransferState.SENT], now)
            uow.commit()
        assert new.id in {t.id for t in batch}
        seen |= {t.id for t in batch}
        now += timedelta(minutes=1)
    assert {t.id for t in awaited} <= seen
