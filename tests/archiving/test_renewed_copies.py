"""Renewed copies of a package's signed PDFs go wherever the package goes: its DIP (checked
there against the sealed original they extend), its legal holds and its destruction."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from archiving.bag import build_package
from archiving.destruction import DestructionDescription, EliminationVisa, destroy_package
from archiving.digests import digest_bytes
from archiving.dip import DIP_MANIFEST, check_dip_renewals, export_dip
from archiving.errors import RetentionActiveError
from archiving.model import Agency
from archiving.storage.s3 import ObjectStore
from archiving.store import (
    package_key,
    renewal_key,
    renewals_prefix,
    set_package_legal_hold,
    store_package,
)
from engine.services.archives.seals import SignaturesSealer, SignaturesSealVerifier
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration

PACKAGE = "deliberation-2026-007"
ACT = b"%PDF-1.7\n% signed deliberation, sealed in the package\n"
UPDATE = b"\n% incremental update: DSS and a new document timestamp\n%%EOF\n"


def _archived_with_a_renewal(
    tmp_path: Path, store: ObjectStore, bucket: str, sealer: SignaturesSealer, *, years: int = 10
) -> tuple[str, bytes]:
    """A stored package and a renewed copy of its act beside it; the copy's key and bytes."""
    start = date.today() - timedelta(days=3)
    spec = sample_spec(tmp_path / "in", PACKAGE, years=years, start=start, payload=ACT)
    store_package(store, bucket, build_package(spec, tmp_path / "bag", sealer=sealer))
    source = next(
        v.key
        for v in store.versions(bucket, package_key(PACKAGE))
        if v.key.endswith("deliberation.pdf")
    )
    copy = ACT + UPDATE
    key = renewal_key(PACKAGE, source, 1)
    store.put(bucket, key, io.BytesIO(copy), digest_bytes(copy), retain_until=None)
    return key, copy


def _rewritten(dip: Path, path: str, data: bytes, *, fix_manifest: bool) -> zipfile.ZipFile:
    """The DIP with `path` replaced by `data` (and its manifest entry recomputed: what a forger
    who understood the format would do)."""
    with zipfile.ZipFile(dip) as source:
        files = {name: source.read(name) for name in source.namelist()}
    files[path] = data
    if fix_manifest:
        manifest = json.loads(files[DIP_MANIFEST])
        for entry in manifest["renewals"]:
            if entry["path"] == path:
                entry["size"], entry["sha512"] = len(data), digest_bytes(data).sha512
        files[DIP_MANIFEST] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, body in files.items():
            target.writestr(name, body)
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def test_the_dip_carries_the_latest_renewed_copy_and_checks_what_it_extends(
    tmp_path: Path,
    object_store: ObjectStore,
    locked_bucket: str,
    sealer: SignaturesSealer,
    seal_verifier: SignaturesSealVerifier,
) -> None:
    _, copy = _archived_with_a_renewal(tmp_path, object_store, locked_bucket, sealer)
    dip = tmp_path / "dip.zip"
    manifest = export_dip(object_store, locked_bucket, PACKAGE, dip, seal_verifier=seal_verifier)
    [entry] = manifest["renewals"]  # type: ignore[misc]
    assert entry["renews"] == f"{PACKAGE}/data/documents/deliberation.pdf"
    path = entry["path"]
    with zipfile.ZipFile(dip) as archive:
        assert archive.read(path) == copy
        assert check_dip_renewals(archive) == ()
        checked: list[bytes] = []
        assert check_dip_renewals(archive, check_pdf=lambda d: checked.append(d) or None) == ()
        assert checked == [copy]
        refused = check_dip_renewals(archive, check_pdf=lambda _: "signature non valide")
        assert [f.message for f in refused] == [f"{path} : signature non valide"]

    # Another document passed off as the renewal (manifest recomputed): it does not extend
    # the sealed act.
    other = b"%PDF-1.7\n% another act, validly signed elsewhere\n" + UPDATE
    with _rewritten(dip, path, other, fix_manifest=True) as forged:
        [finding] = check_dip_renewals(forged)
    assert "ne prolonge pas le document scellé" in finding.message
    # The copy changed without the manifest: caught by its digest.
    with _rewritten(dip, path, copy + b"% more\n", fix_manifest=False) as changed:
        [finding] = check_dip_renewals(changed)
    assert "empreinte du manifeste" in finding.message


def test_holds_and_destruction_cover_the_renewed_copies(
    tmp_path: Path,
    object_store: ObjectStore,
    holds_store: ObjectStore,
    locked_bucket: str,
    sealer: SignaturesSealer,
) -> None:
    key, copy = _archived_with_a_renewal(tmp_path, object_store, locked_bucket, sealer, years=0)
    assert set_package_legal_hold(holds_store, locked_bucket, PACKAGE, on=True) > 1
    info = object_store.stat(locked_bucket, key)
    assert info is not None and info.legal_hold, "the hold reaches the renewed copy"
    visa = EliminationVisa("AD-2026-7", date.today(), b"%PDF-1.7\n% visa\n")
    description = DestructionDescription("Délibération", "DUA 0 an", "Échue", ("user:a",), "ab")

    def destroy():  # type: ignore[no-untyped-def]
        return destroy_package(
            object_store,
            locked_bucket,
            PACKAGE,
            visa=visa,
            description=description,
            sealer=sealer,
            archival_agency=Agency("AD34", "Archives départementales"),
            originating_agency=Agency("213800000", "Commune"),
            record_retain_until=datetime.now(UTC) + timedelta(days=1),
        )

    with pytest.raises(RetentionActiveError, match="litige"):
        destroy()
    set_package_legal_hold(holds_store, locked_bucket, PACKAGE, on=False)
    record = destroy()
    destroyed = dict(record.objects)
    [copy_entry] = [item for item in destroyed if item.startswith(key + "@")]
    assert destroyed[copy_entry] == digest_bytes(copy).sha512
    remaining = object_store.versions(locked_bucket, renewals_prefix(PACKAGE))
    assert [v for v in remaining if not v.is_delete_marker] == []
