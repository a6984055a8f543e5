"""Renewed archival timestamps on the platform: a weakening algorithm triggers renewal, and the
DIP carries the renewed copy, which `dematflow archives verify` checks offline.

Real dev PKI (live TSA and CRLs) and real SeaweedFS, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiving.digests import digest_bytes
from archiving.dip import DIP_MANIFEST
from engine.bootstrap import Platform
from engine.cli.archives import group as archives_cli
from engine.jobs.timestamp_renewal import RenewalRun, renew_due_timestamps, renewal_config
from engine.services.archives.exports import export_package_dip
from engine.services.archives.setup import ArchiveSetup, archive_setup
from tests.engine.archives.conftest import (
    ARCHIVISTE,
    PlatformFactory,
    archived_case,
    package_of,
    use_platform_env,
)
from tests.engine.support import SIREN_A
from tests.signatures.attacks import replace_page_content

pytestmark = pytest.mark.integration

BEYOND_TSA_VALIDITY = timedelta(days=365 * 25)
FAR_FROM_EXPIRY = timedelta(days=30)


def _renew(p: Platform, setup: ArchiveSetup, horizon: timedelta, **sunsets: object) -> RenewalRun:
    config = renewal_config(p.settings)
    if sunsets:
        config = dataclasses.replace(config, sunsets=sunsets)
    return renew_due_timestamps(p.uow, setup, config, horizon=horizon, now=p.clock())


def test_a_weakening_algorithm_triggers_renewal_and_a_still_weak_tsa_is_reported(
    p: Platform, setup: ArchiveSetup
) -> None:
    """The dev TSA signs with RSA 2048: a sunset on it within the horizon makes the chain due
    far from the TSA certificate's expiry. The same TSA can only add another RSA 2048
    timestamp: the copy (with the validation data of the first) is kept and the operator told;
    the next pass adds nothing and says why."""
    archived_case(p)
    soon = (p.clock() + timedelta(days=10)).date()
    assert _renew(p, setup, FAR_FROM_EXPIRY, **{"rsa-2048": soon + timedelta(days=60)}) == (
        RenewalRun(packages=1, timestamped_documents=1, renewed=(), problems=())
    )
    first = _renew(p, setup, FAR_FROM_EXPIRY, **{"rsa-2048": soon})
    assert len(first.renewed) == 1
    [problem] = first.problems
    assert "copie renouvelée, mais le nouvel horodatage repose encore sur rsa-2048" in problem
    second = _renew(p, setup, FAR_FROM_EXPIRY, **{"rsa-2048": soon})
    assert second.renewed == ()
    [problem] = second.problems
    assert "sans effet" in problem and "rsa-2048" in problem


def _dip(p: Platform, setup: ArchiveSetup, package_id: str, target: Path) -> dict[str, object]:
    with p.uow() as uow:
        manifest = export_package_dip(
            uow, setup, SIREN_A, package_id, target, actor=ARCHIVISTE, now=p.clock()
        )
        uow.commit()
    return manifest


def _with_copy(dip: Path, path: str, data: bytes, target: Path) -> Path:
    """`dip` with the renewed copy at `path` replaced and its manifest entry recomputed."""
    with zipfile.ZipFile(dip) as source:
        files = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(files[DIP_MANIFEST])
    for entry in manifest["renewals"]:
        if entry["path"] == path:
            entry["size"], entry["sha512"] = len(data), digest_bytes(data).sha512
    files[path], files[DIP_MANIFEST] = data, json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return target


def test_the_dip_carries_the_renewed_copy_and_verify_checks_it(
    make_platform: PlatformFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p = make_platform()
    setup = archive_setup(p.settings)
    package = package_of(p, archived_case(p))
    run = _renew(p, setup, BEYOND_TSA_VALIDITY, **{"rsa-2048": p.clock().date().max})
    assert run.problems == ()
    [renewal] = run.renewed
    manifest = _dip(p, setup, package.package_id, tmp_path / "dip.zip")
    [entry] = manifest["renewals"]  # type: ignore[misc]
    assert entry["key"] == renewal.object_key
    assert entry["renews"].startswith(f"{package.package_id}/data/")
    use_platform_env(p, monkeypatch)
    runner = CliRunner()
    verified = runner.invoke(archives_cli, ["verify", str(tmp_path / "dip.zip")])
    assert verified.exit_code == 0, verified.output

    # The renewed copy with the act's page rewritten in one more incremental update, its
    # manifest digest recomputed: it still begins with the sealed act, but its signature no
    # longer covers what it shows.
    with zipfile.ZipFile(tmp_path / "dip.zip") as archive:
        copy = archive.read(entry["path"])
    forged = _with_copy(
        tmp_path / "dip.zip", entry["path"], replace_page_content(copy), tmp_path / "forged.zip"
    )
    refused = runner.invoke(archives_cli, ["verify", str(forged)])
    assert refused.exit_code == 1, refused.output
    assert entry["path"] in refused.output
    assert io.BytesIO(copy).read(4) == b"%PDF"
