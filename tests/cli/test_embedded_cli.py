"""The CLI beside a running `dematflow serve` (embedded default, relative `var/`): the archive
commands reach serve's own SeaweedFS through its runtime descriptor, and `signatures verify` /
`archives verify` trust the data dir's development PKI without `--trust-root`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiving.bag import build_package
from archiving.storage.s3 import ObjectStore
from archiving.store import prepare_tenant_bucket, store_package, tenant_bucket
from devstack.pki import DevPki, load_dev_pki
from devstack.process import free_port
from engine.cli.main import cli
from engine.serve_descriptor import DESCRIPTOR_NAME, with_running_platform
from engine.services.archives.seals import SignaturesSealer
from engine.services.archives.setup import writer_s3_config
from engine.settings import Settings
from signatures.pades import PadesLevel, SignRequest, sign_pdf
from tests.archiving.conftest import sample_spec
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SIREN = "213400005"


@pytest.fixture
def no_dematflow_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DEMATFLOW_"):
            monkeypatch.delenv(name)


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _signed_pdf(pki: DevPki, target: Path) -> Path:
    marie = pki.signer("Marie Dupont")
    signed = sign_pdf(
        make_pdf(),
        SignRequest(
            key=marie.key,
            signer_display_name="Marie Dupont",
            level=PadesLevel.B_LTA,
            timestamp_url=pki.tsa_url,
            trust_roots=pki.trust_roots,
            convert_to_pdfa=False,
        ),
    )
    target.write_bytes(signed.pdf)
    return target


def test_verify_commands_trust_the_data_dirs_pki(
    tmp_path: Path,
    dev_pki: DevPki,
    rogue_pki: DevPki,
    monkeypatch: pytest.MonkeyPatch,
    no_dematflow_env: None,
) -> None:
    pdf = _signed_pdf(dev_pki, tmp_path / "acte-signe.pdf")
    bag = build_package(
        sample_spec(tmp_path / "in"),
        tmp_path / "out",
        sealer=SignaturesSealer(
            key=dev_pki.seal.key, timestamp_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots
        ),
    ).path
    monkeypatch.chdir(tmp_path)

    # No PKI in the data dir and no --trust-root: a French one-line error, no traceback.
    refused = _invoke("signatures", "verify", str(pdf))
    assert refused.exit_code == 2
    assert refused.output.startswith("erreur : aucune racine de confiance")
    assert len(refused.output.strip().splitlines()) == 1
    assert _invoke("archives", "verify", str(bag)).exit_code == 2

    # The default relative data dir holds the platform's development PKI: trusted by default.
    shutil.copytree(dev_pki.directory, tmp_path / "var" / "pki")
    verified = _invoke("signatures", "verify", str(pdf), "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["valid"] is True
    checked = _invoke("archives", "verify", str(bag))
    assert checked.exit_code == 0, checked.output
    assert "paquet intègre" in checked.output

    # An explicit --trust-root still wins.
    rogue = str(rogue_pki.root_cert_path)
    assert _invoke("signatures", "verify", str(pdf), "--trust-root", rogue).exit_code == 1
    assert _invoke("archives", "verify", str(bag), "--trust-root", rogue).exit_code == 1


def _wait(predicate, timeout: float, process: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            pytest.fail(f"serve s'est arrêté : {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"serve n'a pas démarré : {log.read_text(errors='replace')[-3000:]}")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def running_serve(tmp_path: Path, no_dematflow_env: None) -> Iterator[tuple[Path, int]]:
    """`dematflow serve --no-demo` as a new user runs it: default relative `var/`, only the port
    set; the test's cwd is the serve's cwd."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMATFLOW_")}
    env["DEMATFLOW_WEB_PORT"] = str(port)
    env["PYTHONPATH"] = str(ROOT)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "serve", "--no-demo"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: _listening(port), 240, process, log)
        yield process, port  # type: ignore[misc]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_archive_commands_reach_the_store_of_a_running_serve(
    tmp_path: Path,
    running_serve: tuple[subprocess.Popen[bytes], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, _port = running_serve
    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "var"
    descriptor_file = data_dir / DESCRIPTOR_NAME
    descriptor = json.loads(descriptor_file.read_text("utf-8"))
    assert stat.S_IMODE(descriptor_file.stat().st_mode) == 0o600
    assert descriptor["pid"] == process.pid
    assert descriptor["pki_root"] == str(data_dir / "pki" / "certs" / "root.cer")
    assert descriptor["tsa_url"].startswith("http://127.0.0.1:")
    secret_file = Path(descriptor["storage_secret_file"])
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text().strip() not in descriptor_file.read_text("utf-8")

    # A sealed package put in serve's store (its endpoint and secret exist only there)...
    pki = load_dev_pki(data_dir / "pki")
    # (reached as the platform's processes reach it: the writer, with the bucket administrator)
    storage = with_running_platform(Settings(data_dir=data_dir)).storage
    store = ObjectStore(writer_s3_config(storage, descriptor["storage_endpoint"]))
    try:
        bucket = tenant_bucket("dematflow", SIREN)
        prepare_tenant_bucket(store, bucket)
        sealer = SignaturesSealer(
            key=pki.seal.key, timestamp_url=pki.tsa_url, trust_roots=pki.trust_roots
        )
        store_package(
            store,
            bucket,
            build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer),
        )
    finally:
        store.close()

    # A second serve on the same data dir is refused before it starts anything.
    second = _invoke("serve", "--no-demo")
    assert second.exit_code == 1
    assert second.output.startswith("erreur : une plateforme tourne déjà")

    # The CLI finds that package with no storage setting at all.
    assert _invoke("tenants", "create", "--siren", SIREN, "--name", "Commune").exit_code == 0
    retention = _invoke("archives", "retention", "--tenant", SIREN)
    assert retention.exit_code == 0, retention.output
    assert json.loads(retention.output) == []
    audited = _invoke("archives", "audit", "--tenant", SIREN)
    assert audited.exit_code == 0, audited.output
    assert json.loads(audited.output)["packages_checked"] == ["deliberation-2026-001"]
    dip = tmp_path / "dip.zip"
    exported = _invoke(
        "archives",
        "export",
        "--tenant",
        SIREN,
        "--package",
        "deliberation-2026-001",
        "--out",
        str(dip),
    )
    assert exported.exit_code == 0, exported.output
    verified = _invoke("archives", "verify", str(dip))
    assert verified.exit_code == 0, verified.output

    # A clean stop removes the descriptor; one left behind (a crash) is reported, not used.
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert not descriptor_file.exists()
    descriptor_file.write_text(json.dumps(descriptor), encoding="utf-8")
    stale = _invoke("archives", "retention", "--tenant", SIREN)
    assert stale.exit_code == 2
    assert stale.output.startswith("erreur : la plateforme décrite par ")
    assert "ne tourne plus" in stale.output and "make run" in stale.output
    assert len(stale.output.strip().splitlines()) == 1
    descriptor_file.unlink()
    missing = _invoke("archives", "export", "--tenant", SIREN, "--out", str(tmp_path / "all"))
    assert missing.exit_code == 2
    assert missing.output.startswith("erreur : stockage d'archives non configuré")
