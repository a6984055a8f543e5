"""What the archive writes beside its packages, in both stores: journal seals and renewed
copies under the same lock, read back; legal holds on both copies; destruction of both copies
with its record kept in both; all of it audited in both stores and repaired from the intact
copy, journaled. Two real SeaweedFS servers."""

from __future__ import annotations

import io
import secrets
from datetime import timedelta
from typing import Any

import pytest
from minio import Minio

from archiving.destruction import SECONDARY_COPY_TAG, record_keys, verify_destruction_record
from archiving.digests import digest_bytes
from archiving.storage.s3 import ObjectStore
from archiving.store import journal_seal_key, package_copies
from devstack.s3 import SeaweedServer
from engine.domain.archives import DESTROYED
from engine.jobs.timestamp_renewal import renew_due_timestamps, renewal_config
from engine.services.archives.decisions import decide_retention, destruction_record
from engine.services.archives.holds import set_legal_hold
from engine.services.archives.setup import ArchiveSetup, archive_setup
from tests.engine.archives.conftest import ARCHIVISTE, archived_case, package_of
from tests.engine.archives.test_audits import _tamper_behind_s3
from tests.engine.archives.test_retention_access import PAST, VISA
from tests.engine.archives.test_two_copies import (  # noqa: F401 (fixtures)
    _full_audit,
    _journal,
    second_server,
    two_stores,
)
from tests.engine.support import SIREN_A, fixed_clock

pytestmark = pytest.mark.integration

BEYOND_TSA_VALIDITY = timedelta(days=365 * 25)


def _same_in_both(setup: ArchiveSetup, key: str) -> None:
    """`key` holds the same bytes in both stores, under the same COMPLIANCE lock."""
    with setup.store() as one, setup.secondary_store() as two:
        primary, secondary = setup.bucket(SIREN_A), setup.secondary_bucket(SIREN_A)
        assert two.read_digest(secondary, key) == one.read_digest(primary, key), key
        first, second = one.stat(primary, key), two.stat(secondary, key)
        assert first is not None and second is not None
        if first.retain_until is not None:
            assert second.lock_mode == "COMPLIANCE" and second.retain_until == first.retain_until


def _holds(store: ObjectStore, bucket: str, package_id: str) -> set[bool]:
    return {
        info.legal_hold
        for v in package_copies(store, bucket, package_id)
        if not v.is_delete_marker
        and (info := store.stat(bucket, v.key, version_id=v.version_id)) is not None
    }


def test_seals_renewals_holds_and_destruction_go_to_both_copies(
    two_stores: Any,  # noqa: F811
    second_server: SeaweedServer,  # noqa: F811
    s3_server: SeaweedServer,
) -> None:
    factory = two_stores(second_server, f"s{secrets.token_hex(4)}")
    old = factory(clock=fixed_clock(PAST))  # closed in 2020, one-year DUA: destroyable now
    setup = archive_setup(old.settings)
    doomed = package_of(old, archived_case(old, title="a-eliminer.pdf", years=1))
    p = factory()
    package = package_of(p, archived_case(p, title="a-renouveler.pdf"))
    assert doomed is not None and package is not None
    primary, secondary = setup.bucket(SIREN_A), setup.secondary_bucket(SIREN_A)

    # A renewed copy: in both stores, same bytes and lock, the second version journaled.
    run = renew_due_timestamps(
        p.uow, setup, renewal_config(p.settings), horizon=BEYOND_TSA_VALIDITY, now=p.clock()
    )
    [renewal] = [r for r in run.renewed if r.package_id == package.package_id]
    assert not any("copie secondaire" in problem for problem in run.problems), run.problems
    _same_in_both(setup, renewal.object_key)
    renewed = _journal(p, "archive.timestamp_renewed")
    assert renewed and all(r["secondary_version_id"] for r in renewed)
    # Every journal seal: in both stores, same bytes and lock.
    with p.uow() as uow:
        seals = uow.archives.seals(SIREN_A)
    assert len(seals) >= 2
    for seal in seals:
        _same_in_both(setup, journal_seal_key(SIREN_A, seal.number))
    assert all("secondary_version_id" in s for s in _journal(p, "journal.sealed"))

    # A legal hold goes on every version of both copies (renewed copy included), and off.
    with p.uow() as uow:
        count = set_legal_hold(
            uow,
            setup,
            SIREN_A,
            package.package_id,
            on=True,
            actor=ARCHIVISTE,
            now=p.clock(),
            reason="Recours",
        )
        uow.commit()
    with setup.store() as one, setup.secondary_store() as two:
        assert _holds(one, primary, package.package_id) == {True}
        assert _holds(two, secondary, package.package_id) == {True}
    [held] = _journal(p, "archive.legal_hold")
    assert held["versions"] == held["secondary_versions"] == count
    _run, findings = _full_audit(p, setup)
    assert findings == [], findings

    # Damage, the package still held: the secondary's renewed copy overwritten unlocked, its
    # first seal deleted (a delete marker); the primary's last seal altered behind S3's back.
    first_seal = journal_seal_key(SIREN_A, seals[0].number)
    last_seal = journal_seal_key(SIREN_A, seals[-1].number)
    with setup.secondary_store() as two:
        forged = b"%PDF-1.7 falsified"
        two.put(
            secondary,
            renewal.object_key,
            io.BytesIO(forged),
            digest_bytes(forged),
            retain_until=None,
        )
    config = second_server.config
    client = Minio(
        config.endpoint, access_key=config.access_key, secret_key=config.secret_key, secure=False
    )
    client.remove_object(secondary, first_seal)
    _tamper_behind_s3(s3_server, primary, last_seal, b'{"scope": "forged"}')

    later = factory(clock=lambda: p.clock() + timedelta(days=2))
    _run, findings = _full_audit(later, setup)
    found = {(f.path, f.message.split(" : ")[0]) for f in findings}
    assert (renewal.object_key, "Copie secondaire") in found, findings
    assert (first_seal, "Copie secondaire") in found, findings
    assert (last_seal, "Copie primaire") in found, findings
    repaired = {r["object"]: r for r in _journal(later, "archive.copy_repaired") if "object" in r}
    assert repaired[renewal.object_key]["store"] == "secondaire"
    assert repaired[renewal.object_key]["package"] == package.package_id
    assert repaired[first_seal]["store"] == "secondaire"
    assert repaired[last_seal]["store"] == "primaire"
    assert all(r["findings"] and r["rewritten"] for r in repaired.values())
    for key in (renewal.object_key, first_seal, last_seal):
        _same_in_both(setup, key)
    # The package is under legal hold: its repaired copy is held again (legal-hold identity).
    # (every version of that copy: the ten held, the forged one and the repair)
    assert repaired[renewal.object_key]["legal_hold_restored"] == count + 2
    with setup.secondary_store() as two:
        assert _holds(two, secondary, package.package_id) == {True}
    _run, findings = _full_audit(factory(clock=lambda: p.clock() + timedelta(days=4)), setup)
    assert findings == [], findings
    with p.uow() as uow:
        set_legal_hold(
            uow,
            setup,
            SIREN_A,
            package.package_id,
            on=False,
            actor=ARCHIVISTE,
            now=p.clock(),
            reason="Clos",
        )
        uow.commit()
    with setup.store() as one, setup.secondary_store() as two:
        assert _holds(one, primary, package.package_id) == {False}
        assert _holds(two, secondary, package.package_id) == {False}

    # Destruction deletes both copies and keeps its sealed record in both.
    now = p.clock()
    with p.uow() as uow:
        decide_retention(
            uow,
            setup,
            SIREN_A,
            doomed.package_id,
            decision="destroy",
            actor=ARCHIVISTE,
            now=now,
            visa=VISA,
        )
        uow.commit()
    with setup.store() as one, setup.secondary_store() as two:
        assert package_copies(one, primary, doomed.package_id) == []
        assert package_copies(two, secondary, doomed.package_id) == []
    for key in record_keys(doomed.package_id):
        _same_in_both(setup, key)
    [destroyed] = _journal(p, "archive.destroyed")
    deleted = destroyed["objects"]
    assert any(o.startswith(SECONDARY_COPY_TAG) for o in deleted)
    assert len([o for o in deleted if o.startswith(SECONDARY_COPY_TAG)]) * 2 == len(deleted)
    with p.uow() as uow:
        gone = uow.archives.get(SIREN_A, doomed.package_id)
        assert gone is not None and gone.state == DESTROYED
        record = destruction_record(uow, setup, SIREN_A, doomed.package_id)
    assert verify_destruction_record(record, setup.seal_verifier).valid

    # The record is audited in both stores too: its secondary copy deleted, then repaired.
    record_key = record_keys(doomed.package_id)[0]
    client.remove_object(secondary, record_key)
    _run, findings = _full_audit(factory(clock=lambda: p.clock() + timedelta(days=6)), setup)
    assert {(f.path, f.message.split(" : ")[0]) for f in findings} == {
        (record_key, "Copie secondaire")
    }, findings
    _same_in_both(setup, record_key)
    _run, findings = _full_audit(factory(clock=lambda: p.clock() + timedelta(days=8)), setup)
    assert findings == [], findings
