"""Long-term validation offline (issue 14, hole 3) and quiet commands.

B-LT/B-LTA documents are judged, by default and offline, at the time their validation data
proves: the clock is moved ahead by passing the validation time explicitly (no clock faking).
The commands are also run as a user would, in a subprocess, to check what lands on stderr.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509

from devstack.pki import DevPki
from signatures.pades import PadesLevel
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures.pdfs import signed_pdf

pytestmark = pytest.mark.integration

SIX_MONTHS = timedelta(days=183)


@pytest.fixture(scope="module")
def b_lt(dev_pki: DevPki) -> bytes:
    return signed_pdf(dev_pki, PadesLevel.B_LT)


@pytest.fixture(scope="module")
def b_lta(dev_pki: DevPki) -> bytes:
    return signed_pdf(dev_pki, PadesLevel.B_LTA)


def _expiry(pki: DevPki) -> datetime:
    cert = x509.Certificate.load(pki.signer("Marie Dupont").cert_path.read_bytes())
    expiry: datetime = cert.not_valid_after
    return expiry


def _problems(report) -> list[str]:
    return [p for s in report.signatures for p in s.problems] + list(report.problems)


def test_b_lt_validates_offline_months_later(dev_pki: DevPki, b_lt: bytes) -> None:
    later = datetime.now(UTC) + SIX_MONTHS
    options = ValidationOptions(trust_roots=dev_pki.trust_roots, validation_time=later)
    # Judged "now" (six months on), the embedded OCSP response is long stale.
    assert not validate_pdf(b_lt, options).valid
    report = validate_pdf(b_lt, dataclasses.replace(options, long_term=True))
    assert report.valid, _problems(report)
    signature = report.signatures[0]
    assert signature.pades_level == "B-LT"
    assert signature.revocation_status == "bon"


def test_b_lt_is_not_valid_offline_after_its_certificate_expired(
    dev_pki: DevPki, b_lt: bytes
) -> None:
    after = _expiry(dev_pki) + timedelta(days=30)
    options = ValidationOptions(trust_roots=dev_pki.trust_roots, validation_time=after)
    report = validate_pdf(b_lt, dataclasses.replace(options, long_term=True))
    assert not report.valid
    assert any("aucun horodatage d'archivage" in p for p in _problems(report))


def test_b_lta_validates_offline_years_after_its_certificate_expired(
    dev_pki: DevPki, b_lta: bytes
) -> None:
    years_later = _expiry(dev_pki) + timedelta(days=365 * 2)
    options = ValidationOptions(
        trust_roots=dev_pki.trust_roots, validation_time=years_later, long_term=True
    )
    report = validate_pdf(b_lta, options)
    assert report.valid, _problems(report)
    assert report.signatures[0].pades_level == "B-LTA"
    assert not validate_pdf(b_lta, dataclasses.replace(options, long_term=False)).valid


def _dematflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_in_a_subprocess_months_later_prints_no_traceback(
    dev_pki: DevPki, b_lt: bytes, b_lta: bytes, tmp_path: Path
) -> None:
    root = str(dev_pki.root_cert_path)
    later = (datetime.now(UTC) + SIX_MONTHS).strftime("%Y-%m-%dT%H:%M:%S")
    for name, data in (("b-lt.pdf", b_lt), ("b-lta.pdf", b_lta)):
        path = tmp_path / name
        path.write_bytes(data)
        run = _dematflow("signatures", "verify", str(path), "--trust-root", root, "--date", later)
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stderr == ""
        assert "Document valide" in run.stdout
    broken = tmp_path / "note.pdf"
    broken.write_text("pas un pdf")
    run = _dematflow("signatures", "verify", str(broken), "--trust-root", root)
    assert run.returncode == 1
    assert run.stderr.splitlines() == ["erreur : Le fichier n'est pas un document PDF."]


def test_renew_in_a_subprocess_prints_no_traceback(
    dev_pki: DevPki, b_lt: bytes, b_lta: bytes, tmp_path: Path
) -> None:
    def renew(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
        return _dematflow(
            "signatures",
            "renew",
            str(source),
            str(target),
            "--tsa-url",
            dev_pki.tsa_url,
            "--trust-root",
            str(dev_pki.root_cert_path),
            "--horizon-days",
            str(365 * 25),
        )

    source, target = tmp_path / "acte.pdf", tmp_path / "acte-renouvele.pdf"
    source.write_bytes(b_lta)
    run = renew(source, target)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert target.exists()
    not_lta = tmp_path / "b-lt.pdf"
    not_lta.write_bytes(b_lt)
    run = renew(not_lta, tmp_path / "non.pdf")
    assert run.returncode == 1
    [line] = run.stderr.splitlines()
    assert line.startswith("erreur : ") and "pas d'horodatage de document" in line
