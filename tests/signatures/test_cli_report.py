"""The `dematflow signatures` commands and the JSON/HTML renderings of a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from devstack.pki import DevPki
from engine.cli.signatures import group
from signatures.pades import PadesLevel, SignRequest, sign_pdf
from signatures.report import report_to_html, report_to_json
from signatures.validation import ValidationOptions, validate_pdf
from tests.signatures import attacks
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def test_cli_signs_b_lta_and_verifies(dev_pki: DevPki, tmp_path: Path) -> None:
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-signe.pdf"
    source.write_bytes(make_pdf())
    marie = dev_pki.signer("Marie Dupont")
    runner = CliRunner()
    env = {"DEMATFLOW_PKCS12_PASSPHRASE": marie.passphrase.decode()}
    root = str(dev_pki.root_cert_path)
    result = runner.invoke(
        group,
        [
            "sign",
            str(source),
            str(target),
            "--level",
            "B-LTA",
            "--pkcs12",
            str(marie.pkcs12_path),
            "--name",
            "Marie Dupont",
            "--quality",
            "Le Maire",
            "--reason",
            "Délibération",
            "--page",
            "1",
            "--tsa-url",
            dev_pki.tsa_url,
            "--trust-root",
            root,
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "B-LTA" in result.output
    verified = runner.invoke(group, ["verify", str(target), "--trust-root", root, "--json"])
    assert verified.exit_code == 0, verified.output
    data = json.loads(verified.output)
    assert data["valid"] is True
    assert data["signatures"][0]["pades_level"] == "B-LTA"

    tampered = tmp_path / "altere.pdf"
    tampered.write_bytes(attacks.replace_page_content(target.read_bytes()))
    html = tmp_path / "rapport.html"
    rejected = runner.invoke(
        group, ["verify", str(tampered), "--trust-root", root, "--html", str(html)]
    )
    assert rejected.exit_code == 1
    assert "NON VALIDE" in rejected.output
    assert "Rapport de validation" in html.read_text("utf-8")


def test_cli_refuses_non_pdf_in_french(dev_pki: DevPki, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("pas un pdf")
    result = CliRunner().invoke(
        group, ["verify", str(source), "--trust-root", str(dev_pki.root_cert_path)]
    )
    assert result.exit_code == 1
    assert "n'est pas un document PDF" in result.output


def test_report_renderings(dev_pki: DevPki) -> None:
    marie = dev_pki.signer("Marie Dupont")
    signed = sign_pdf(
        make_pdf(),
        SignRequest(
            key=marie.key,
            signer_display_name="<script>alert(1)</script>",
            level=PadesLevel.B_LT,
            timestamp_url=dev_pki.tsa_url,
            trust_roots=dev_pki.trust_roots,
        ),
    )
    report = validate_pdf(signed.pdf, ValidationOptions(trust_roots=dev_pki.trust_roots))
    data = json.loads(report_to_json(report))
    assert data["valid"] is True
    assert data["signatures"][0]["signer"] == "Marie Dupont"
    assert data["signatures"][0]["revocation_checked_at"]
    html = report_to_html(report)
    assert '<html lang="fr">' in html
    assert "Document valide" in html
    assert "Marie Dupont" in html
    assert "B-LT" in html
