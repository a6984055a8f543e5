"""What the manifest means, beyond its XSD validity: identifiers, rules and descriptions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

from lxml import etree

from archiving.digests import digest_bytes
from archiving.model import ActDescription, Agency, Keyword, PackageSpec, Signatory
from archiving.seda import SEDA_NS, build_archive_transfer, validate_manifest
from tests.archiving.conftest import sample_spec

NS = {"s": SEDA_NS}


def _manifest(spec: PackageSpec) -> etree._Element:
    digests = {item.bag_path: digest_bytes(item.source.read_bytes()) for item in spec.files}
    data = build_archive_transfer(spec, digests)
    assert validate_manifest(data) == ()
    return etree.fromstring(data)


def test_the_message_identifier_differs_between_tenants_with_the_same_case_reference(
    tmp_path: Path,
) -> None:
    first = sample_spec(tmp_path / "a", "deliberation-2026-001")
    second = dataclasses.replace(
        sample_spec(tmp_path / "b", "deliberation-2026-001"),
        tenant=Agency("213400005", "Commune voisine"),
    )
    ids = [_manifest(s).findtext("s:MessageIdentifier", namespaces=NS) for s in (first, second)]
    assert ids[0] != ids[1]
    assert "213800000" in (ids[0] or "") and "213400005" in (ids[1] or "")


def test_a_fully_described_act_validates_and_says_what_it_is(tmp_path: Path) -> None:
    spec = sample_spec(tmp_path, start=date(2026, 1, 15))
    act = ActDescription(
        document_type="Délibération",
        act_date=date(2026, 1, 15),
        number="2026_001",
        nature="1 Délibérations",
        matiere_code="7.1",
        matiere_label="Finances locales › Décisions budgétaires",
        subject="Budget primitif",
        ack_id="034-213800000-20260115-2026_001-DE",
        ack_date=date(2026, 1, 19),
        seance=date(2026, 1, 15),
    )
    signed = dataclasses.replace(
        spec.files[0],
        signatories=(
            Signatory("Marie Dupont", datetime(2026, 1, 16, 9, 30, tzinfo=UTC), "B-LTA"),
            Signatory("Horodatage manquant", None),
        ),
        format_name="Acrobat PDF/A - Portable Document Format 2b",
    )
    spec = dataclasses.replace(
        spec,
        files=(signed, *spec.files[1:]),
        act=act,
        archival_agreement="CV-2026-012",
        comments=("Durée d'utilité administrative comptée à partir de la date de l'acte.",),
        keywords=(
            Keyword("Finances locales", "7"),
            "finances  LOCALES",  # the same words: written once
            Keyword("Décisions budgétaires", "7.1"),
            "Budget",
            "Budget",
        ),
        code_lists=(("FileFormatCodeListVersion", "PRONOM v109 (FIDO 1.6.1)"),),
    )
    root = _manifest(spec)
    assert root.findtext("s:ArchivalAgreement", namespaces=NS) == "CV-2026-012"
    assert root.findtext("s:AppraisalRuleStartDate", namespaces=NS) is None
    assert root.findtext(".//s:AppraisalRule/s:StartDate", namespaces=NS) == "2026-01-15"
    words = [
        k.findtext("s:KeywordContent", namespaces=NS) for k in root.iter(f"{{{SEDA_NS}}}Keyword")
    ]
    assert words == ["Finances locales", "Décisions budgétaires", "Budget"]
    signers = root.findall(".//s:SigningInformation/s:SignatureDescription/s:Signer", NS)
    assert [s.findtext("s:FullName", namespaces=NS) for s in signers] == ["Marie Dupont"]
    assert signers[0].findtext("s:SigningTime", namespaces=NS) == "2026-01-16T09:30:00Z"
    description = root.findtext(".//s:ArchiveUnit/s:Content/s:Description", namespaces=NS) or ""
    assert "n° 2026_001 du 15/01/2026 : Budget primitif" in description
    assert "034-213800000-20260115-2026_001-DE reçu le 19/01/2026" in description
    literal = root.findtext(
        ".//s:BinaryDataObject/s:FormatIdentification/s:FormatLitteral", namespaces=NS
    )
    assert literal == "Acrobat PDF/A - Portable Document Format 2b"
