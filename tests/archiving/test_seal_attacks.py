"""Attack corpus: forged packages that `dematflow archives verify` must refuse, each with its
French reason (issue 14, hole 1).

Each forgery replaces the signed deliberation by an unsigned PDF, recomputes the BagIt
manifests and the SEDA digests and reseals the bag with a genuine RFC 3161 timestamp from the
platform's TSA. Before seals were bound to the designated seal identity, every forgery resealed
by a certificate of the platform's CA (the mayor's, the revoked test signer's) and the
back-dated one were reported « paquet intègre » with exit code 0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiving.bag import build_package
from devstack.pki import DevPki
from engine.cli.main import cli
from tests.archiving.conftest import sample_spec
from tests.archiving.forgery import forge, self_signed_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory, sealer) -> Path:
    directory = tmp_path_factory.mktemp("genuine")
    return build_package(sample_spec(directory / "in"), directory / "out", sealer=sealer).path


def _fingerprint(pki: DevPki, which: str = "seal") -> str:
    identity = pki.seal if which == "seal" else pki.revoked_signer
    return hashlib.sha256(identity.cert_path.read_bytes()).hexdigest()


def _platform(bag: Path, pki: DevPki, *extra: str) -> tuple[int, dict]:
    """`archives verify --json` with the platform's configuration (its dev PKI)."""
    result = CliRunner().invoke(
        cli,
        ["archives", "verify", str(bag), "--json", *extra],
        env={"DEMATFLOW_PKI__DEV_DIR": str(pki.directory)},
    )
    return result.exit_code, json.loads(result.output)


def _external(bag: Path, pki: DevPki, fingerprint: str, *extra: str) -> tuple[int, str]:
    """`archives verify` by an outside verifier: trust root and published seal fingerprint."""
    result = CliRunner().invoke(
        cli,
        [
            "archives",
            "verify",
            str(bag),
            "--trust-root",
            str(pki.root_cert_path),
            "--seal-fingerprint",
            fingerprint,
            *extra,
        ],
    )
    return result.exit_code, result.output


def _messages(report: dict) -> str:
    return "\n".join(finding["message"] for finding in report["findings"])


def test_the_genuine_package_passes_both_ways(genuine: Path, dev_pki: DevPki) -> None:
    code, report = _platform(genuine, dev_pki)
    assert code == 0, report
    assert report["sealer"]["fingerprint_sha256"] == _fingerprint(dev_pki)
    assert "Cachet serveur" in report["sealer"]["subject"]
    code, output = _external(genuine, dev_pki, _fingerprint(dev_pki))
    assert code == 0, output
    assert "paquet intègre" in output


def test_resealed_by_the_mayors_certificate_is_refused(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    mayor = dev_pki.signer("Marie Dupont")
    bag = forge(genuine, tmp_path / "bag", key=mayor.key, tsa_url=dev_pki.tsa_url)
    code, report = _platform(bag, dev_pki)
    assert code == 1
    assert report["sealer"]["subject"].find("Marie Dupont") >= 0
    assert "qui n'est pas le cachet désigné" in _messages(report)
    code, output = _external(bag, dev_pki, _fingerprint(dev_pki))
    assert code == 1
    assert "Marie Dupont" in output and "sceau REFUSÉ" in output
    assert "paquet NON intègre" in output


def test_resealed_by_the_revoked_certificate_is_refused(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    revoked = dev_pki.revoked_signer
    bag = forge(genuine, tmp_path / "bag", key=revoked.key, tsa_url=dev_pki.tsa_url)
    code, report = _platform(bag, dev_pki)
    assert code == 1
    messages = _messages(report)
    assert "qui n'est pas le cachet désigné" in messages
    assert "aucune donnée de révocation" in messages
    code, output = _external(bag, dev_pki, _fingerprint(dev_pki), "--en-ligne")
    assert code == 1
    assert "Le certificat du sceau était révoqué aujourd'hui" in output


def test_a_revoked_designated_seal_is_refused_even_when_expected(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    """The seal key was compromised and its certificate revoked: seals made after that fail."""
    revoked = dev_pki.revoked_signer
    bag = forge(genuine, tmp_path / "bag", key=revoked.key, tsa_url=dev_pki.tsa_url)
    code, output = _external(bag, dev_pki, _fingerprint(dev_pki, "revoked"))
    assert code == 1
    assert "pas le cachet désigné" not in output
    assert "aucune donnée de révocation" in output
    code, output = _external(bag, dev_pki, _fingerprint(dev_pki, "revoked"), "--online")
    assert code == 1
    assert "révoqué" in output


def test_resealed_by_a_self_signed_certificate_is_refused(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    key = self_signed_key(tmp_path, "Cachet serveur Commune de Saint-Exemple")
    bag = forge(genuine, tmp_path / "bag", key=key, tsa_url=dev_pki.tsa_url)
    code, report = _platform(bag, dev_pki)
    assert code == 1
    messages = _messages(report)
    assert "est auto-signé" in messages
    assert "qui n'est pas le cachet désigné" in messages


def test_back_dated_seal_is_refused(genuine: Path, dev_pki: DevPki, tmp_path: Path) -> None:
    """Sealed (with the real seal key, e.g. by an insider) before the content it describes."""
    later = datetime.now(UTC) + timedelta(days=60)
    bag = forge(
        genuine,
        tmp_path / "bag",
        key=dev_pki.seal.key,
        tsa_url=dev_pki.tsa_url,
        later=later,
        trust_roots=dev_pki.trust_roots,
    )
    code, report = _platform(bag, dev_pki)
    assert code == 1
    assert [f["kind"] for f in report["findings"]] == ["backdated-seal"]
    assert "Sceau antidaté" in _messages(report)
    assert report["sealer"]["valid"] is True


def test_swapped_document_under_the_original_seal_is_refused(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    bag = forge(genuine, tmp_path / "bag", key=dev_pki.seal.key, tsa_url=dev_pki.tsa_url)
    (bag / "tagmanifest-sha512.txt.p7s").write_bytes(
        (genuine / "tagmanifest-sha512.txt.p7s").read_bytes()
    )
    code, report = _platform(bag, dev_pki)
    assert code == 1
    assert "Les données ne correspondent pas à l'empreinte signée" in _messages(report)


def test_a_malformed_published_fingerprint_is_one_french_line(genuine: Path) -> None:
    result = CliRunner().invoke(
        cli, ["archives", "verify", str(genuine), "--seal-fingerprint", "zz"]
    )
    assert result.exit_code == 2
    assert "Empreinte SHA-256 de sceau invalide" in result.output
    assert "Traceback" not in result.output


def test_the_configuration_names_the_seal_not_the_package(
    genuine: Path, dev_pki: DevPki, tmp_path: Path
) -> None:
    """Configured fingerprints win over the seal key's own certificate; a tenant with a seal
    of its own accepts only that one."""
    mayor = hashlib.sha256(dev_pki.signer("Marie Dupont").cert_path.read_bytes()).hexdigest()
    base = {"DEMATFLOW_PKI__DEV_DIR": str(dev_pki.directory)}
    runner = CliRunner()

    def verify(bag: Path, **env: str) -> tuple[int, dict]:
        result = runner.invoke(cli, ["archives", "verify", str(bag), "--json"], env={**base, **env})
        return result.exit_code, json.loads(result.output)

    code, report = verify(genuine, DEMATFLOW_PKI__SEAL_FINGERPRINTS=json.dumps([mayor]))
    assert code == 1
    assert "qui n'est pas le cachet désigné" in _messages(report)
    code, report = verify(
        genuine,
        DEMATFLOW_PKI__SEAL_FINGERPRINTS=json.dumps([mayor, _fingerprint(dev_pki)]),
    )
    assert code == 0, report
    own_seal = json.dumps({"213800000": [mayor]})
    code, report = verify(genuine, DEMATFLOW_PKI__TENANT_SEAL_FINGERPRINTS=own_seal)
    assert code == 1
    forged = forge(
        genuine,
        tmp_path / "bag",
        key=dev_pki.signer("Marie Dupont").key,
        tsa_url=dev_pki.tsa_url,
        trust_roots=dev_pki.trust_roots,
    )
    code, report = verify(forged, DEMATFLOW_PKI__TENANT_SEAL_FINGERPRINTS=own_seal)
    assert code == 0, report
    other_tenant = json.dumps({"200000000": [mayor]})
    code, report = verify(forged, DEMATFLOW_PKI__TENANT_SEAL_FINGERPRINTS=other_tenant)
    assert code == 1


def test_a_training_package_dated_on_its_clock_verifies_and_says_so(
    tmp_path: Path, sealer, seal_verifier
) -> None:
    """A training space's act is dated on its clock, ahead of the real time of the seal: the
    sealed bag-info declares the advance, verification compares on the same clock and tells
    the reader. Without the declaration, the same dates are a back-dated seal."""
    from archiving.model import ActDescription
    from archiving.readers import open_package
    from archiving.verify import verify_package

    ahead = timedelta(days=80)
    act_date = (datetime.now(UTC) + ahead).date()
    base = sample_spec(tmp_path / "in", "formation-2027-001")
    act = ActDescription("Délibération", act_date=act_date, number="2027_DEL0001")
    reports = {}
    for offset in (ahead, timedelta(0)):
        spec = dataclasses.replace(base, act=act, clock_offset=offset)
        built = build_package(spec, tmp_path / f"bag-{offset.days}", sealer=sealer)
        with open_package(built.path) as reader:
            reports[offset] = verify_package(reader, seal_verifier=seal_verifier)
    training, undeclared = reports[ahead], reports[timedelta(0)]
    assert training.intact, training.findings
    assert "espace de formation" in training.notes[0] and "80 jour(s)" in training.notes[0]
    assert [f.kind.value for f in undeclared.findings] == ["backdated-seal"]
    assert undeclared.notes == ()
