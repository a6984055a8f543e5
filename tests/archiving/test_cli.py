"""`dematflow archives build|verify|audit|export` end to end (real PKI, real SeaweedFS)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from click.testing import CliRunner

from archiving.bag import build_package
from archiving.store import prepare_tenant_bucket, store_package, tenant_bucket
from engine.cli.main import cli
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration


@pytest.fixture
def env(dev_pki, s3_server) -> dict[str, str]:
    return {
        "DEMATFLOW_PKI__DEV_DIR": str(dev_pki.directory),
        "DEMATFLOW_STORAGE__ENDPOINT": s3_server.config.endpoint,
        "DEMATFLOW_STORAGE__ACCESS_KEY": s3_server.config.access_key,
        "DEMATFLOW_STORAGE__SECRET_KEY": s3_server.config.secret_key,
        "DEMATFLOW_STORAGE__BUCKET_PREFIX": "clitest",
    }


def _spec_json(tmp_path) -> str:
    spec = sample_spec(tmp_path / "files")
    data = {
        "package_id": spec.package_id,
        "tenant": {"identifier": spec.tenant.identifier, "name": spec.tenant.name},
        "archival_agency": {"identifier": "OP", "name": "Opérateur"},
        "title": spec.title,
        "closed_at": spec.closed_at.isoformat(),
        "files": [
            {
                "source": str(f.source),
                "name": f.name,
                "role": f.role.value,
                "title": f.title,
                "mime_type": f.mime_type,
            }
            for f in spec.files
        ],
        "appraisal": {
            "rule_id": "DUA-DELIB",
            "years": 10,
            "start_date": "2026-03-02",
            "final_action": "Destroy",
        },
        "access": {"rule_id": "AR038", "start_date": "2026-03-02"},
        "actes_identifier": spec.actes_identifier,
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_build_then_verify_then_tamper(tmp_path, env, dev_pki) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["archives", "build", _spec_json(tmp_path), "--out", str(tmp_path / "out")], env=env
    )
    assert result.exit_code == 0, result.output
    bag = tmp_path / "out" / "deliberation-2026-001"
    fingerprint = hashlib.sha256(dev_pki.seal.cert_path.read_bytes()).hexdigest()
    result = runner.invoke(
        cli,
        [
            "archives",
            "verify",
            str(bag),
            "--trust-root",
            str(dev_pki.root_cert_path),
            "--seal-fingerprint",
            fingerprint,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "paquet intègre" in result.output
    assert f"certificat SHA-256 {fingerprint}" in result.output
    assert f"Seal-Certificate-SHA256: {fingerprint}" in (bag / "bag-info.txt").read_text()
    (bag / "data/journal/journal.jsonl").write_bytes(b'{"seq": 2}\n')
    result = runner.invoke(cli, ["archives", "verify", str(bag), "--json"], env=env)
    assert result.exit_code == 1
    assert json.loads(result.output)["intact"] is False


def test_verify_rejects_an_untrusted_seal(tmp_path, sealer, dev_pki, rogue_pki) -> None:
    bag = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer).path
    fingerprint = hashlib.sha256(dev_pki.seal.cert_path.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        cli,
        [
            "archives",
            "verify",
            str(bag),
            "--trust-root",
            str(rogue_pki.root_cert_path),
            "--seal-fingerprint",
            fingerprint,
        ],
    )
    assert result.exit_code == 1
    assert "NON intègre" in result.output


def test_audit_and_export_through_the_cli(tmp_path, env, object_store, sealer, dev_pki) -> None:
    bucket = tenant_bucket("clitest", "213800000")
    prepare_tenant_bucket(object_store, bucket)
    store_package(
        object_store,
        bucket,
        build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer),
    )
    runner = CliRunner()
    result = runner.invoke(cli, ["archives", "audit", "--tenant", "213800000"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["packages_checked"] == ["deliberation-2026-001"]
    dip = tmp_path / "dip.zip"
    result = runner.invoke(
        cli,
        [
            "archives",
            "export",
            "--tenant",
            "213800000",
            "--package",
            "deliberation-2026-001",
            "--out",
            str(dip),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["archives", "verify", str(dip)], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        ["archives", "export", "--tenant", "213800000", "--out", str(tmp_path / "all")],
        env=env,
    )
    assert result.exit_code == 0, result.output
    shutil.rmtree(tmp_path / "all")


def test_a_tampered_package_fails_verify_in_text_mode(tmp_path, env, dev_pki) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["archives", "build", _spec_json(tmp_path), "--out", str(tmp_path / "out")], env=env
    )
    assert result.exit_code == 0, result.output
    bag = tmp_path / "out" / "deliberation-2026-001"
    (bag / "data/journal/journal.jsonl").write_bytes(b'{"seq": 2}\n')
    args = ["archives", "verify", str(bag), "--trust-root", str(dev_pki.root_cert_path)]
    result = runner.invoke(cli, args, env=env)
    assert "paquet NON intègre" in result.output
    assert result.exit_code == 1, result.output
