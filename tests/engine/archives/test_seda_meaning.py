"""A sealed package read as an archivist reads it: the SEDA manifest taken back from the object
store says who keeps it, who transferred it, what the act is (date, number, @ctes matière, AR,
séance, signatories), how long it is kept and from when, and what format each file is in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lxml import etree

from archiving.bag import SEDA_MANIFEST
from archiving.model import add_years
from archiving.seda import SEDA_NS, validate_manifest
from connectors import ActesFile, ActesTransmission, Nature
from connectors.actes.acknowledgement import build_acknowledgement_xml
from connectors.actes.envelope import build_message_xml
from engine.bootstrap import Platform
from engine.domain.model import Case
from engine.services.archives.setup import ArchiveSetup
from engine.services.documents import store_document
from engine.services.tenant_settings import (
    ArchiveService,
    TenantSettings,
    read_settings,
    save_settings,
)
from tests.engine.archives.conftest import (
    MAIRE,
    TYPOLOGIE,
    PlatformFactory,
    package_of,
    set_rule,
)
from tests.engine.support import AGENT, OPERATOR, SIREN_A, complete, run_pending_jobs, start
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration

NS = {"s": SEDA_NS}
ACT_DATE = dt.date(2026, 1, 15)
AR_DATE = dt.date(2026, 1, 19)
ACT = {
    "numero_acte": "2026_001",
    "matiere": "7.1",
    "seance": ACT_DATE.isoformat(),
    "objet": "Budget primitif 2026",
}


def _archive(p: Platform, *, with_ack: bool) -> Case:
    """A signed case of tenant A carrying an act; acknowledged by the prefecture when asked;
    then sealed."""
    set_rule(p, 10, "Keep")
    with p.uow() as uow:
        document = store_document(
            uow,
            tenant=SIREN_A,
            name="deliberation_budget.pdf",
            content=make_pdf(pages=1),
            actor=AGENT,
            now=p.clock(),
            max_bytes=10_000_000,
        )
        uow.commit()
    data = {"document": document.reference(), "typologie": TYPOLOGIE, **ACT}
    case = start(p, "archive_test", data)
    complete(p, case, "signer", {"confirme": True}, actor=MAIRE)
    assert [o.state.value for o in run_pending_jobs(p, case)] == ["done"]
    if with_ack:
        _acknowledge(p, case)
    assert [o.state.value for o in run_pending_jobs(p, case)] == ["done"]
    return case


def _acknowledge(p: Platform, case: Case) -> str:
    """The prefecture's AR for the act, recorded as the polling job records it."""
    transmission = ActesTransmission(
        nature=Nature.DELIBERATION,
        matiere="7.1",
        number="2026_001",
        decision_date=ACT_DATE,
        subject="Budget primitif 2026",
        act=ActesFile("deliberation.pdf", make_pdf(pages=1)),
        annexes=(),
        siren=SIREN_A,
        department="034",
    )
    ack_id = transmission.act_unique_id
    xml = build_acknowledgement_xml(
        act_unique_id=ack_id, received_on=AR_DATE, message_xml=build_message_xml(transmission)
    )
    with p.uow() as uow:
        row = uow.actes.add(
            tenant=SIREN_A,
            case_id=case.id,
            act_number="2026_001",
            act_unique_id=ack_id,
            idempotency_key=f"test-{case.id}",
            archive_sha256="0" * 64,
            now=p.clock(),
        )
        uow.actes.update(
            SIREN_A,
            row,
            p.clock(),
            state="acknowledged",
            ack_id=ack_id,
            ack_received_on=AR_DATE,
            ack_xml=xml.decode("iso-8859-1"),
        )
        uow.commit()
    return ack_id


def _manifest(p: Platform, setup: ArchiveSetup, case: Case) -> tuple[Any, bytes]:
    package = package_of(p, case)
    assert package is not None and package.state == "archive", package
    key = next(o["key"] for o in package.objects if o["key"].endswith(SEDA_MANIFEST))
    with setup.store() as store, store.open(setup.bucket(SIREN_A), key) as stream:
        data = stream.read()
    return package, data


def _text(root: Any, path: str) -> str | None:
    found: str | None = root.findtext(path, namespaces=NS)
    return found


def test_the_manifest_answers_an_archivists_questions(
    make_platform: PlatformFactory, setup: ArchiveSetup
) -> None:
    p = make_platform()
    # Before the tenant names its archives service: the platform's, and the package says so.
    default_case = _archive(p, with_ack=False)
    _package, data = _manifest(p, setup, default_case)
    root = etree.fromstring(data)
    assert validate_manifest(data) == ()
    assert _text(root, "s:ArchivalAgency/s:Identifier") == setup.archival_agency.identifier
    assert root.find("s:ArchivalAgreement", NS) is None  # no invented convention
    comments = " ".join(c.text for c in root.findall("s:Comment", NS))
    assert "non renseigné par la collectivité" in comments
    assert "Aucune convention de versement" in comments

    # The tenant admin names the Archives départementales and the convention.
    with p.uow() as uow:
        current = read_settings(uow, SIREN_A)
        service = ArchiveService("Archives départementales de l'Hérault", "FR-AD034", "CV-2026-012")
        settings = TenantSettings(current.publication, current.service_usagers, service)
        save_settings(uow, tenant=SIREN_A, settings=settings, actor=OPERATOR, now=p.clock())
        uow.commit()
    case = _archive(p, with_ack=True)
    package, data = _manifest(p, setup, case)
    assert validate_manifest(data) == ()
    root = etree.fromstring(data)

    # Who keeps it, who transferred it, under which agreement, with which code lists.
    assert _text(root, "s:ArchivalAgency/s:Identifier") == "FR-AD034"
    assert _text(root, "s:ArchivalAgreement") == "CV-2026-012"
    assert _text(root, "s:TransferringAgency/s:Identifier") == SIREN_A
    assert _text(root, ".//s:ManagementMetadata/s:OriginatingAgencyIdentifier") == SIREN_A
    assert _text(root, ".//s:OriginatingAgency/s:Identifier") == SIREN_A
    pronom = _text(root, "s:CodeListVersions/s:FileFormatCodeListVersion")
    assert pronom is not None and pronom.startswith("PRONOM v")
    assert SIREN_A in (_text(root, "s:MessageIdentifier") or "")

    # The DUA and communicability run from the act's own date, not from the packaging date.
    closed = package.closed_at.date()
    assert closed != ACT_DATE
    assert _text(root, ".//s:AppraisalRule/s:StartDate") == ACT_DATE.isoformat()
    assert _text(root, ".//s:AppraisalRule/s:FinalAction") == "Keep"
    assert _text(root, ".//s:AccessRule/s:StartDate") == ACT_DATE.isoformat()
    assert package.dua_end == add_years(ACT_DATE, 10)

    # The act itself.
    unit = root.find(".//s:DescriptiveMetadata/s:ArchiveUnit/s:Content", NS)
    assert unit is not None
    title = _text(unit, "s:Title") or ""
    assert "n° 2026_001" in title and "15/01/2026" in title and "Budget primitif 2026" in title
    assert _text(unit, "s:FilePlanPosition") == "7.1"
    assert _text(unit, "s:TransactedDate") == ACT_DATE.isoformat()
    assert _text(unit, "s:ReceivedDate") == AR_DATE.isoformat()
    ack_event = next(
        e for e in unit.findall("s:Event", NS) if _text(e, "s:EventTypeCode") == "actes-ar"
    )
    assert _text(ack_event, "s:EventIdentifier") == package.actes_id
    assert package.actes_id and package.actes_id.startswith(f"034-{SIREN_A}-20260115-2026_001")
    seance = next(e for e in unit.findall("s:Event", NS) if _text(e, "s:EventTypeCode") == "seance")
    assert _text(seance, "s:EventDateTime") == ACT_DATE.isoformat()
    description = _text(unit, "s:Description") or ""
    assert "Nature @ctes : 1 Délibérations" in description
    assert "Matière @ctes : 7.1 Finances locales › Décisions budgétaires" in description

    # Keywords from the @ctes classification, each once.
    keywords = [
        (_text(k, "s:KeywordContent"), _text(k, "s:KeywordReference"))
        for k in unit.findall("s:Keyword", NS)
    ]
    assert ("Finances locales", "7") in keywords and ("Décisions budgétaires", "7.1") in keywords
    contents = [(c or "").casefold() for c, _r in keywords]
    assert len(contents) == len(set(contents)), keywords
    # The type and the @ctes nature are one term, not « Délibération » and « Délibérations ».
    assert ("Délibération", "1") in keywords and "délibérations" not in contents

    # Every object: human title, format identified by FIDO from its bytes, size and digest.
    objects = {b.get("id"): b for b in root.iter(f"{{{SEDA_NS}}}BinaryDataObject")}
    items = unit.getparent().findall("s:ArchiveUnit", NS)
    file_names = {_text(b, "s:FileInfo/s:Filename") for b in objects.values()}
    for item in items:
        assert _text(item, "s:Content/s:Title") not in file_names
    for bdo in objects.values():
        assert len(_text(bdo, "s:MessageDigest") or "") == 128
        assert int(_text(bdo, "s:Size") or 0) > 0
        assert _text(bdo, "s:FormatIdentification/s:MimeType")
    by_uri = {_text(b, "s:Uri"): b for b in objects.values()}
    act_object = next(b for u, b in by_uri.items() if u and u.startswith("documents/"))
    act_format = _text(act_object, "s:FormatIdentification/s:FormatId") or ""
    assert act_format.startswith("fmt/")
    assert _text(act_object, "s:FormatIdentification/s:MimeType") == "application/pdf"
    ar_object = next(b for u, b in by_uri.items() if u and u.startswith("acknowledgements/"))
    assert _text(ar_object, "s:FormatIdentification/s:FormatId") == "fmt/101"

    # The signed act: who signed, and when.
    signed = next(i for i in items if i.find("s:Content/s:SigningInformation", NS) is not None)
    signer = signed.find("s:Content/s:SigningInformation/s:SignatureDescription/s:Signer", NS)
    assert signer is not None
    assert _text(signer, "s:FullName") and _text(signer, "s:SigningTime")
    reference = _text(signed, "s:Content/s:SigningInformation/s:SignedDocumentReferenceId")
    assert reference == _text(signed, "s:DataObjectReference/s:DataObjectReferenceId")
