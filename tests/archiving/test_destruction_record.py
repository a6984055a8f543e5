"""The destruction record on its own (archiving layer): the visa d'élimination is checked before
anything is deleted; the record lists every destroyed version with the SHA-512 read back, and a
seal taken from another record does not make a forged one pass."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from archiving.bag import build_package
from archiving.destruction import (
    DestructionDescription,
    EliminationVisa,
    destroy_package,
    destruction_record_zip,
    verify_destruction_record,
)
from archiving.errors import ArchivingError
from archiving.model import Agency
from archiving.store import package_key, store_package
from devstack.pki import DevPki
from engine.services.archives.seals import SealIdentities, SealIdentity
from tests.archiving.conftest import sample_spec
from tests.web.test_archives_holds import _replace

pytestmark = pytest.mark.integration

OPERATOR = Agency("OPERATEUR-ARCHIVES", "Service d'archives de l'opérateur")
TENANT = Agency("213800000", "Commune de Saint-Exemple")
PDF = b"%PDF-1.7\n% bordereau vise par les AD\n"


def _destroy(store, bucket, package_id, sealer, visa):  # type: ignore[no-untyped-def]
    return destroy_package(
        store,
        bucket,
        package_id,
        visa=visa,
        description=DestructionDescription(
            "Délibération n° 2019-001", "DUA 1 an", "Sans intérêt", ("user:a",), "ab" * 64
        ),
        sealer=sealer,
        archival_agency=OPERATOR,
        originating_agency=TENANT,
        record_retain_until=datetime.now(UTC) + timedelta(days=1),
    )


def test_visa_checked_before_deletion_and_record_lists_read_back_digests(
    tmp_path, object_store, locked_bucket, sealer, seal_verifier, dev_pki: DevPki
) -> None:
    start = date.today() - timedelta(days=3)
    for name in ("first", "second"):
        spec = sample_spec(tmp_path / "in" / name, name, years=0, start=start)
        store_package(
            object_store, locked_bucket, build_package(spec, tmp_path / name, sealer=sealer)
        )
    stored = {
        f"{v.key}@{v.version_id}": object_store.read_digest(
            locked_bucket, v.key, version_id=v.version_id
        )[1]
        for v in object_store.versions(locked_bucket, package_key("first"))
    }
    tomorrow = date.today() + timedelta(days=1)
    for bad, message in (
        (EliminationVisa("AD-1", tomorrow, PDF), "dans le futur"),
        (EliminationVisa(" ", date.today(), PDF), "Référence"),
        (EliminationVisa("AD-1", date.today(), b"GIF89a"), "PDF"),
    ):
        with pytest.raises(ArchivingError, match=message):
            _destroy(object_store, locked_bucket, "first", sealer, bad)
    assert len(object_store.versions(locked_bucket, package_key("first"))) == len(stored)

    visa = EliminationVisa("AD-2026-1", date.today(), PDF)
    first = _destroy(object_store, locked_bucket, "first", sealer, visa)
    second = _destroy(object_store, locked_bucket, "second", sealer, visa)
    assert dict(first.objects) == stored
    record = destruction_record_zip(object_store, locked_bucket, "first")
    check = verify_destruction_record(record, seal_verifier)
    assert check.valid and dict(check.objects) == stored and check.package_id == "first"
    # A genuine seal of another record over a forged notification: refused.
    grafted = _replace(record, "bordereau-elimination.xml.p7s", lambda _: second.seal)
    forged = verify_destruction_record(grafted, seal_verifier)
    assert not forged.valid and any("Sceau invalide" in p for p in forged.problems)
    # Another certificate store (no trusted root): refused.
    no_root = dataclasses.replace(seal_verifier, trust_roots=())
    assert not verify_destruction_record(record, no_root).valid
    # Trusted root, but another expected sealer (a mayor's certificate of the same CA): refused.
    mayor = SealIdentity.of_certificate(dev_pki.signer("Marie Dupont").cert_path.read_bytes())
    other = dataclasses.replace(seal_verifier, identities=SealIdentities(platform=(mayor,)))
    assert not verify_destruction_record(record, other).valid
