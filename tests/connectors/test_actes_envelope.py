"""@ctes envelope: XML shape, names, validation, reading back."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import tarfile

import pytest
from lxml import etree

from connectors.actes.acknowledgement import (
    Acknowledgement,
    build_acknowledgement_xml,
    parse_acknowledgement,
    reconcile_acknowledgement,
)
from connectors.actes.envelope import build_archive
from connectors.actes.model import ActesFile, Nature, validate_transmission
from connectors.actes.reading import inspect_archive
from connectors.actes.xmlsafe import ACTES_NS, parse_untrusted_xml
from connectors.errors import AcknowledgementConflictError, PermanentError
from tests.connectors.conftest import PDF, make_transmission

NS = {"actes": ACTES_NS, "insee": "http://xml.insee.fr/schema"}


def _members(content: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def test_archive_holds_envelope_message_and_files_with_s2low_names() -> None:
    t = make_transmission(number="2025_DE_042")
    archive = build_archive(t, serial=7, submitted_on=dt.date(2025, 3, 20))
    assert archive.filename == "dmf-TACT--214400000--20250320-7.tar.gz"
    base = "034-214400000-20250314-2025_DE_042-DE-1-1"
    assert archive.member_names == (
        "TACT--214400000--20250320-7.xml",
        f"{base}_0.xml",
        f"99_DE-{base}_1.pdf",
        f"99_AU-{base}_2.pdf",
        f"99_AU-{base}_3.png",
    )
    assert archive.act_unique_id == "034-214400000-20250314-2025_DE_042-DE"
    members = _members(archive.content)
    assert members[f"99_DE-{base}_1.pdf"] == PDF
    envelope = members["TACT--214400000--20250320-7.xml"]
    assert envelope.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    root = etree.fromstring(envelope)
    assert root.tag == f"{{{ACTES_NS}}}EnveloppeCLMISILL"
    idcl = root.find("actes:Emetteur/actes:IDCL", NS)
    assert idcl.get(f"{{{NS['insee']}}}SIREN") == "214400000"
    assert idcl.get(f"{{{ACTES_NS}}}Departement") == "034"
    assert (
        root.findtext("actes:FormulairesEnvoyes/actes:Formulaire/actes:NomFichier", namespaces=NS)
        == f"{base}_0.xml"
    )


def test_message_carries_nature_matiere_number_subject_and_annexes() -> None:
    t = make_transmission(number="A1", matiere="7.1.2", subject="Budget été « primitif » & co")
    message = _members(build_archive(t).content)[f"{t.act_unique_id}-1-1_0.xml"]
    assert b"encoding='ISO-8859-1'" in message
    assert "été".encode("iso-8859-1") in message  # really ISO-8859-1 on the wire
    acte = etree.fromstring(message)
    assert acte.tag == f"{{{ACTES_NS}}}Acte"
    assert acte.get(f"{{{ACTES_NS}}}CodeNatureActe") == "1"
    assert acte.get(f"{{{ACTES_NS}}}NumeroInterne") == "A1"
    assert acte.get(f"{{{ACTES_NS}}}Date") == "2025-03-14"
    codes = [
        acte.find(f"actes:CodeMatiere{i}", NS).get(f"{{{ACTES_NS}}}CodeMatiere") for i in (1, 2, 3)
    ]
    assert codes == ["7", "1", "2"]
    assert acte.findtext("actes:Objet", namespaces=NS) == "Budget été « primitif » & co"
    assert acte.find("actes:Annexes", NS).get(f"{{{ACTES_NS}}}Nombre") == "2"


def test_archive_bytes_are_reproducible() -> None:
    t = make_transmission()
    assert build_archive(t).sha256 == build_archive(t).sha256


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "2025-001"}, "number"),
        ({"number": "a12"}, "number"),
        ({"number": "1234567890123456"}, "number"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 500}, "subject"),
        ({"matiere": "0.1"}, "matiere"),
        ({"matiere": "10"}, "matiere"),
        ({"siren": "12345"}, "siren"),
        ({"department": "34"}, "department"),
        ({"act": ActesFile("acte.docx", b"PK\x03\x04")}, "act"),
        ({"annexes": (ActesFile("vide.pdf", b""),)}, "annexes[0]"),
    ],
)
def test_validation_flags_each_rule(changes: dict[str, object], field: str) -> None:
    report = validate_transmission(make_transmission(**changes))
    assert [f.field for f in report.findings] == [field]
    assert not report.ok


def test_validation_lists_every_finding_and_build_refuses() -> None:
    t = make_transmission(number="bad-number", subject="", matiere="12")
    report = validate_transmission(t, today=dt.date(2025, 1, 1))
    assert {f.field for f in report.findings} == {"number", "subject", "matiere", "decision_date"}
    with pytest.raises(PermanentError) as caught:
        build_archive(t)
    assert "numéro" in caught.value.message and caught.value.action


def test_boundaries_are_accepted() -> None:
    t = make_transmission(number="A" * 15, subject="x" * 499, matiere="9")
    assert validate_transmission(t, known_matieres=frozenset({"9"})).ok
    assert not validate_transmission(t, known_matieres=frozenset({"5.2"})).ok


@pytest.mark.parametrize("nature", list(Nature))
def test_unique_id_uses_nature_abbreviation(nature: Nature) -> None:
    t = make_transmission(nature=nature, number="N1")
    abbreviation = {1: "DE", 2: "AR", 3: "AI", 4: "CC", 5: "BF", 6: "AU"}[int(nature)]
    assert t.act_unique_id == f"034-214400000-20250314-N1-{abbreviation}"
    assert inspect_archive(build_archive(t).content).act_unique_id == t.act_unique_id


def test_inspection_reads_back_what_was_built() -> None:
    t = make_transmission()
    inspection = inspect_archive(build_archive(t).content)
    assert inspection.ok, inspection.findings
    assert (inspection.number, inspection.matiere, inspection.subject) == (
        t.number,
        "5.2",
        t.subject,
    )
    assert len(inspection.document_names) == 3


def _retar(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue())


def test_inspection_finds_missing_files_and_bad_fields() -> None:
    t = make_transmission()
    members = _members(build_archive(t).content)
    del members[f"99_AU-{t.act_unique_id}-1-1_3.png"]
    message_name = f"{t.act_unique_id}-1-1_0.xml"
    members[message_name] = members[message_name].replace(b'NumeroInterne="', b'NumeroInterne="x-')
    fields = {f.field for f in inspect_archive(_retar(members)).findings}
    assert fields == {"annexes", "number"}


@pytest.mark.parametrize(
    "payload",
    [
        b"not a gzip",
        gzip.compress(b"not a tar", mtime=0),  # no timestamp: xdist workers collect one id
    ],
)
def test_inspection_of_garbage_is_a_finding(payload: bytes) -> None:
    assert [f.field for f in inspect_archive(payload).findings] == ["archive"]


def test_inspection_refuses_path_traversal() -> None:
    findings = inspect_archive(_retar({"../evil.xml": b"<x/>"})).findings
    assert "chemin interdit" in findings[0].message


def test_untrusted_xml_refuses_entities() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "xxxxxxxx">]><a>&e;&e;</a>'
    with pytest.raises(PermanentError, match="DTD"):
        parse_untrusted_xml(bomb, what="test")
    external = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>'
    )
    with pytest.raises(PermanentError):
        parse_untrusted_xml(external, what="test")


def test_acknowledgement_round_trip_and_reconciliation() -> None:
    t = make_transmission()
    message = _members(build_archive(t).content)[f"{t.act_unique_id}-1-1_0.xml"]
    xml = build_acknowledgement_xml(
        act_unique_id=t.act_unique_id, received_on=dt.date(2025, 3, 21), message_xml=message
    )
    ack = parse_acknowledgement(xml)
    assert (ack.act_unique_id, ack.received_on) == (t.act_unique_id, dt.date(2025, 3, 21))
    assert reconcile_acknowledgement(ack, expected_act_id=t.act_unique_id, known=ack) is ack
    other = Acknowledgement(t.act_unique_id, dt.date(2025, 3, 22), xml)
    with pytest.raises(AcknowledgementConflictError, match="second accusé"):
        reconcile_acknowledgement(other, expected_act_id=t.act_unique_id, known=ack)
    with pytest.raises(AcknowledgementConflictError):
        reconcile_acknowledgement(ack, expected_act_id="034-214400000-20250314-X-DE")


def test_malformed_acknowledgement_is_refused() -> None:
    with pytest.raises(PermanentError, match="incomplet"):
        parse_acknowledgement(f'<actes:ARActe xmlns:actes="{ACTES_NS}"/>'.encode())
    with pytest.raises(PermanentError, match="mal formé"):
        parse_acknowledgement(b"<actes:ARActe")
