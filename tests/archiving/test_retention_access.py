"""Destruction only after the lock expires (with a SEDA record); DIP and tenant export."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime, timedelta

import bagit
import pytest

from archiving.bag import build_package
from archiving.destruction import DestructionDescription, EliminationVisa, destroy_package
from archiving.dip import DIP_MANIFEST, export_dip, export_tenant
from archiving.errors import RetentionActiveError
from archiving.model import Agency
from archiving.readers import open_package
from archiving.seda import validate_manifest
from archiving.store import package_key, set_package_legal_hold, store_package
from archiving.verify import verify_package
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration

OPERATOR = Agency("OPERATEUR-ARCHIVES", "Service d'archives de l'opérateur")
TENANT = Agency("213800000", "Commune de Saint-Exemple")


def _destroy(store, bucket, package_id, sealer):
    return destroy_package(
        store,
        bucket,
        package_id,
        visa=EliminationVisa("VISA-ELIM-2026-01", date.today(), b"%PDF-1.7\n% visa\n"),
        description=DestructionDescription("Titre", "DUA 1 an", "", ("user:a",), "0" * 128),
        sealer=sealer,
        archival_agency=OPERATOR,
        originating_agency=TENANT,
        record_retain_until=datetime.now(UTC) + timedelta(days=1),
    )


def test_destruction_refused_while_locked_or_held_then_recorded(
    tmp_path, object_store, holds_store, locked_bucket, sealer
) -> None:
    locked = build_package(sample_spec(tmp_path / "in", "locked"), tmp_path / "out", sealer=sealer)
    store_package(object_store, locked_bucket, locked)
    with pytest.raises(RetentionActiveError):
        _destroy(object_store, locked_bucket, "locked", sealer)
    assert len(object_store.versions(locked_bucket, package_key("locked"))) == len(locked.files)

    spec = sample_spec(tmp_path / "in", "expired", years=0, start=date.today() - timedelta(days=3))
    expired = build_package(spec, tmp_path / "out", sealer=sealer)
    store_package(object_store, locked_bucket, expired)
    set_package_legal_hold(holds_store, locked_bucket, "expired", on=True)
    with pytest.raises(RetentionActiveError):
        _destroy(object_store, locked_bucket, "expired", sealer)
    set_package_legal_hold(holds_store, locked_bucket, "expired", on=False)
    record = _destroy(object_store, locked_bucket, "expired", sealer)
    assert object_store.versions(locked_bucket, package_key("expired")) == []
    assert validate_manifest(record.notification) == ()
    assert (
        b"ArchiveDestructionNotification" in record.notification
        and b"VISA-ELIM-2026-01" in record.notification
    )
    stored = object_store.stat(locked_bucket, record.record_key)
    assert stored is not None and stored.lock_mode == "COMPLIANCE"


def test_dip_zip_verifies_on_its_own(
    tmp_path, object_store, locked_bucket, sealer, seal_verifier
) -> None:
    built = build_package(sample_spec(tmp_path / "in", "dip-case"), tmp_path / "out", sealer=sealer)
    store_package(object_store, locked_bucket, built)
    target = tmp_path / "dip.zip"
    manifest = export_dip(
        object_store, locked_bucket, "dip-case", target, seal_verifier=seal_verifier
    )
    assert len(manifest["files"]) == len(built.files)
    with zipfile.ZipFile(target) as archive:
        assert DIP_MANIFEST in archive.namelist()
        assert "dip-case/data/validation-reports/deliberation-report.json" in archive.namelist()
    with open_package(target) as reader:
        assert verify_package(reader, seal_verifier=seal_verifier).intact


def test_tenant_export_gives_valid_bags(tmp_path, object_store, sealer) -> None:
    from archiving.store import prepare_tenant_bucket

    bucket = "export-tenant"
    prepare_tenant_bucket(object_store, bucket)
    for package_id in ("one", "two"):
        store_package(
            object_store,
            bucket,
            build_package(
                sample_spec(tmp_path / "in", package_id), tmp_path / "out", sealer=sealer
            ),
        )
    export = export_tenant(object_store, bucket, tmp_path / "export")
    assert export.packages == ("one", "two")
    for package_id in export.packages:
        assert bagit.Bag(str(export.directory / "packages" / package_id)).validate()
    assert (export.directory / "inventory.json").is_file()
