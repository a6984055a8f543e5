"""Search, DIP and tenant export (also through the CLI), legal holds and end-of-DUA decisions."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiving.destruction import EliminationVisa
from archiving.store import package_key
from devstack.pki import DevPki
from engine.cli.archives import group as archives_cli
from engine.domain.archives import ARCHIVED, DESTROYED
from engine.domain.errors import Forbidden, InvalidInput
from engine.domain.sae_transfers import TransferState
from engine.services.archives.decisions import decide_retention, pending_decisions
from engine.services.archives.exports import export_tenant_archives
from engine.services.archives.holds import set_legal_hold
from engine.services.archives.search import search_packages
from engine.services.archives.setup import ArchiveSetup
from engine.services.archives.transfer import parse_endpoint, save_endpoint, transfers_for
from engine.services.tenant_settings import (
    ArchiveService,
    TenantSettings,
    read_settings,
    save_settings,
)
from tests.engine.archives.conftest import (
    ARCHIVISTE,
    MAIRE,
    PlatformFactory,
    archived_case,
    package_of,
    use_platform_env,
)
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B, fixed_clock

pytestmark = pytest.mark.integration
VISA = EliminationVisa("AD-2026-ELIM-042", date(2026, 1, 5), b"%PDF-1.7\n% visa AD\n")
PAST = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)


def test_search_dip_and_tenant_export(
    make_platform: PlatformFactory, setup: ArchiveSetup, dev_pki: DevPki, tmp_path: Path
) -> None:
    p = make_platform()
    first = package_of(p, archived_case(p, title="budget-primitif.pdf"))
    second = package_of(p, archived_case(p, title="tarifs-cantine.pdf"))
    assert first is not None and second is not None
    with p.uow() as uow:
        assert [x.package_id for x in search_packages(uow, SIREN_A, keywords="cantine")] == [
            second.package_id
        ]
        assert len(search_packages(uow, SIREN_A, procedure="archive_test")) == 2
        assert search_packages(uow, SIREN_A, procedure="deliberation") == []
        today = p.clock().date()
        assert len(search_packages(uow, SIREN_A, closed_from=today, closed_to=today)) == 2
        assert search_packages(uow, SIREN_A, closed_to=date(2000, 1, 1)) == []
        assert search_packages(uow, SIREN_B) == []  # another tenant sees nothing
        counts = export_tenant_archives(
            uow, setup, SIREN_A, tmp_path / "export", actor=ARCHIVISTE, now=p.clock()
        )
        uow.commit()
    assert counts["packages"] == 2 and counts["journal_entries"] > 10
    exported = tmp_path / "export"
    assert (exported / "plateforme" / "journal.jsonl").is_file()
    records = json.loads((exported / "plateforme" / "paquets.json").read_text("utf-8"))
    assert {r["package_id"] for r in records} == {first.package_id, second.package_id}
    root = tmp_path / "root.der"
    root.write_bytes(dev_pki.trust_roots[0])
    bag = exported / "stockage" / "packages" / first.package_id
    seal = hashlib.sha256(dev_pki.seal.cert_path.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        archives_cli,
        ["verify", str(bag), "--trust-root", str(root), "--seal-fingerprint", seal],
    )
    assert result.exit_code == 0, result.output


def test_cli_audit_export_and_retention_through_the_platform(
    make_platform: PlatformFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = make_platform()
    package = package_of(p, archived_case(p))
    assert package is not None
    use_platform_env(p, monkeypatch)
    runner = CliRunner()
    result = runner.invoke(archives_cli, ["audit", "--tenant", SIREN_A, "--platform"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["packages_checked"] == 1
    dip = tmp_path / "dip.zip"
    result = runner.invoke(
        archives_cli,
        [
            "export",
            "--tenant",
            SIREN_A,
            "--package",
            package.package_id,
            "--out",
            str(dip),
            "--platform",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(archives_cli, ["verify", str(dip), "--package-id", package.package_id])
    assert result.exit_code == 0, result.output
    result = runner.invoke(archives_cli, ["retention", "--tenant", SIREN_A])
    assert result.exit_code == 0 and json.loads(result.output) == []  # DUA not over


def test_end_of_dua_destroy_keep_and_legal_hold(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    # Cases closed in 2020 with a one-year DUA: their locks expired long ago.
    p = make_platform(clock=fixed_clock(PAST))
    doomed = package_of(p, archived_case(p, title="a-eliminer.pdf", years=1))
    kept = package_of(p, archived_case(p, title="a-garder.pdf", years=1))
    held = package_of(p, archived_case(p, title="en-litige.pdf", years=1))
    assert doomed and kept and held and doomed.retain_until and doomed.retain_until.year == 2021
    later = make_platform()
    now = later.clock()
    with later.uow() as uow:
        # The tenant's archives service signs off the destruction record, as it keeps the package.
        current = read_settings(uow, SIREN_A)
        service = ArchiveService("Archives départementales de l'Hérault", "FR-AD034", "CV-2026-012")
        settings = TenantSettings(current.publication, current.service_usagers, service)
        save_settings(uow, tenant=SIREN_A, settings=settings, actor=OPERATOR, now=now)
        due = {x.package_id for x in pending_decisions(uow, SIREN_A, today=now.date())}
        assert due == {doomed.package_id, kept.package_id, held.package_id}
        set_legal_hold(
            uow,
            setup,
            SIREN_A,
            held.package_id,
            on=True,
            actor=ARCHIVISTE,
            now=now,
            reason="Recours",
        )
        uow.commit()
    with later.uow() as uow:
        assert held.package_id not in {
            x.package_id for x in pending_decisions(uow, SIREN_A, today=now.date())
        }
        with pytest.raises(Forbidden):
            decide_retention(
                uow, setup, SIREN_A, doomed.package_id, decision="destroy", actor=MAIRE, now=now
            )
        with pytest.raises(InvalidInput, match="litige"):
            decide_retention(
                uow,
                setup,
                SIREN_A,
                held.package_id,
                decision="destroy",
                actor=ARCHIVISTE,
                now=now,
                visa=VISA,
            )
        decision = decide_retention(
            uow,
            setup,
            SIREN_A,
            doomed.package_id,
            decision="destroy",
            actor=ARCHIVISTE,
            now=now,
            comment="Sort final : élimination",
            visa=VISA,
        )
        decide_retention(
            uow,
            setup,
            SIREN_A,
            kept.package_id,
            decision="extend",
            years=5,
            actor=ARCHIVISTE,
            now=now,
        )
        uow.commit()
    assert "bordereau" in decision.outcome
    bucket = setup.bucket(SIREN_A)
    with setup.store() as store:
        assert store.versions(bucket, package_key(doomed.package_id)) == []
        record = store.stat(bucket, f"destruction-records/{doomed.package_id}.xml")
        kept_versions = store.versions(bucket, package_key(kept.package_id))
        kept_info = store.stat(bucket, kept_versions[0].key)
        held_info = store.stat(bucket, store.versions(bucket, package_key(held.package_id))[0].key)
    assert record is not None and record.lock_mode == "COMPLIANCE"
    record_key = f"destruction-records/{doomed.package_id}.xml"
    with setup.store() as store, store.open(bucket, record_key) as stream:
        notification = stream.read()
    assert b"<Identifier>FR-AD034</Identifier>" in notification
    assert (
        kept_info is not None
        and kept_info.retain_until
        and kept_info.retain_until.year == now.year + 5
    )
    assert held_info is not None and held_info.legal_hold
    with later.uow() as uow:
        assert uow.archives.get(SIREN_A, doomed.package_id).state == DESTROYED  # type: ignore[union-attr]
        destroyed = [e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "archive.destroyed"]
        assert destroyed and destroyed[0].payload["approved_by"] == ARCHIVISTE.user_id
        assert destroyed[0].payload["record_key"].endswith(f"{doomed.package_id}.xml")
        # A package still under lock cannot be destroyed, whatever the database says.
        set_legal_hold(
            uow, setup, SIREN_A, held.package_id, on=False, actor=ARCHIVISTE, now=now, reason="Clos"
        )
        # « Verser » asks the tenant's SAE; the package changes state on its acceptance only
        # (tests/engine/archives/test_sae_transfer.py follows the exchange to the end).
        sae = {"kind": "vitam", "url": "https://sae.archives.example.fr", "vitam_tenant": "1"}
        endpoint = parse_endpoint(sae, tenant=SIREN_A, operator=True)
        save_endpoint(uow, endpoint, actor=OPERATOR, now=now, operator=True)
        decide_retention(
            uow, setup, SIREN_A, held.package_id, decision="transfer", actor=ARCHIVISTE, now=now
        )
        uow.commit()
    with later.uow() as uow:
        assert uow.archives.get(SIREN_A, held.package_id).state == ARCHIVED  # type: ignore[union-attr]
        [transfer] = transfers_for(uow, SIREN_A, held.package_id)
        assert transfer.state == TransferState.QUEUED
