"""`documents.render`: French PDF documents from templates, checked through their text."""

from __future__ import annotations

import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pikepdf
import pytest

from engine.bootstrap import Platform
from engine.operations.base import OperationFailed
from engine.rendering import (
    ContextLimits,
    FontFiles,
    FontMissing,
    MissingFields,
    PageLimits,
    RenderedPdf,
    RenderLimitExceeded,
    RenderRequest,
    UnknownTemplate,
    render_pdf,
    template_names,
)
from engine.rendering.formatting import (
    french_amount,
    french_date,
    french_datetime,
    french_deadline,
    french_number,
    plain_text,
)
from signatures.pdfa import convert_to_pdfa
from tests.engine.rendering_contexts import AR_ACCEPTATION, AR_REJET, CASES, ISSUER
from tests.engine.support import SIREN_A, call_operation, make_tenants, start

NOW = datetime(2026, 12, 10, 13, 40, tzinfo=UTC)


def render(modele: str, context: dict[str, Any], **kw: Any) -> RenderedPdf:
    return render_pdf(
        RenderRequest(template=modele, context=context, issuer=ISSUER, issued_at=NOW, **kw)
    )


def text_of(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as poppler extracts it, whitespace collapsed (lines wrap anywhere)."""
    source = tmp_path / f"{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"], capture_output=True, check=True
    )
    return re.sub(r"\s+", " ", done.stdout.decode("utf-8").replace("\u00a0", " "))


def test_every_procedure_template_exists() -> None:
    assert sorted(CASES) == template_names()


@pytest.mark.parametrize("modele", sorted(CASES))
def test_each_template_renders_its_mentions(modele: str, tmp_path: Path) -> None:
    context, phrases = CASES[modele]
    rendered = render(modele, context)
    with pikepdf.open(io.BytesIO(rendered.pdf)) as pdf:
        assert len(pdf.pages) == rendered.pages >= 1
        assert str(pdf.docinfo["/Author"]) == ISSUER
        assert str(pdf.docinfo["/Title"]) == rendered.title
        assert str(pdf.Root.Lang) == "fr-FR"
    text = text_of(rendered.pdf, tmp_path)
    missing = [p for p in phrases if p not in text]
    assert not missing, f"{missing} not in: {text}"
    assert ISSUER in text and "document établi le jeudi 10 décembre 2026" in text
    assert rendered.file_name.endswith(".pdf") and "/" not in rendered.file_name


def test_crpa_acknowledgement_of_a_request_rejected_by_silence_states_appeal_routes(
    tmp_path: Path,
) -> None:
    text = text_of(render("accuse_reception_crpa", AR_REJET).pdf, tmp_path)
    assert "réputée rejetée à la fin de la journée du mercredi 10 février 2027" in text
    assert "Art. L231-4, 3° CRPA" in text
    assert "Voies et délais de recours" in text and "R421-1 et R421-2 CJA" in text
    assert "réputée acceptée" not in text and "attestation" not in text
    accepted = text_of(render("accuse_reception_crpa", AR_ACCEPTATION).pdf, tmp_path)
    assert "Voies et délais de recours" not in accepted


def test_an_acknowledgement_without_the_service_contacts_is_refused() -> None:
    # A context with only the service name (as the model passed it before the DMN gave contacts), from the DMN.
    context = {**AR_ACCEPTATION, "service": "Service de l'accueil et des formalités"}
    with pytest.raises(MissingFields) as caught:
        render("accuse_reception_crpa", context)
    paths = [f.path for f in caught.value.fields]
    assert paths == ["service.nom", "service.adresse", "service.telephone"]
    assert "adresse postale du service chargé du dossier (art. R112-5 CRPA)" in str(caught.value)


def test_every_missing_field_is_listed_at_once() -> None:
    context = {**AR_REJET, "voies_recours": "  ", "recu_le": None}
    del context["demandeur"]
    with pytest.raises(MissingFields) as caught:
        render("accuse_reception_crpa", context)
    assert {f.path for f in caught.value.fields} == {
        "recu_le",
        "demandeur.prenom",
        "demandeur.nom",
        "demandeur.adresse",
        "voies_recours",
    }
    assert str(caught.value).startswith("Impossible de produire le document")


def test_bad_values_are_named_with_the_problem() -> None:
    context = {**CASES["decision_demande"][0], "decision": "peut-être"}
    with pytest.raises(MissingFields, match=r"valeur inattendue « peut-être »"):
        render("decision_demande", context)
    bad_date = {**CASES["convocation_conseil"][0], "seance": "28/01/2027"}
    with pytest.raises(MissingFields, match=r"« seance » .* date illisible"):
        render("convocation_conseil", bad_date)
    bad_row = {**CASES["liste_deliberations"][0]}
    bad_row["deliberations"] = [{"numero": "2027_DEL0004", "objet": "Tarifs"}]
    with pytest.raises(MissingFields, match=r"deliberations\[1\]\.resultat"):
        render("liste_deliberations", bad_row)


def test_a_refusal_needs_its_motivation() -> None:
    context = {**CASES["decision_demande"][0], "motivation": ""}
    with pytest.raises(MissingFields, match="motivation"):
        render("decision_demande", context)
    granted = {**context, "decision": "accorder"}
    assert render("decision_demande", granted).pages == 1


def test_context_text_is_never_markup(tmp_path: Path) -> None:
    hostile = "**gras** <b>html</b> {nb} {reference} \\(x\\) \x00\u202e page {nb}\ue000\ue001"
    context = {**CASES["procedure_sans_suite"][0], "motif": hostile}
    text = text_of(render("procedure_sans_suite", context).pdf, tmp_path)
    assert "**gras** <b>html</b> {nb} {reference} \\(x\\) page {nb}" in text
    assert "page 1/1" in text  # the real page count is still written in the footer


def test_french_characters_render_and_unknown_glyphs_are_replaced(tmp_path: Path) -> None:
    french = "Œuvre à l'été : ça, où, âme, île, Noël, cœur, « guillemets », 45 € — ÉÇÀÙ ’"
    context = {**CASES["procedure_sans_suite"][0], "motif": french + " 🙂漢"}
    text = text_of(render("procedure_sans_suite", context).pdf, tmp_path)
    assert french in text
    assert "??" in text


def test_limits_on_context_rows_and_pages() -> None:
    context = {**CASES["procedure_sans_suite"][0], "motif": "x" * 2000}
    with pytest.raises(RenderLimitExceeded, match="Contexte trop volumineux"):
        render(
            "procedure_sans_suite", context, context_limits=ContextLimits(max_context_bytes=1000)
        )
    rows = {**CASES["liste_deliberations"][0]}
    rows["deliberations"] = rows["deliberations"] * 600
    with pytest.raises(RenderLimitExceeded, match="trop longue"):
        render("liste_deliberations", rows)
    huge_row = {**CASES["liste_deliberations"][0]}
    huge_row["deliberations"] = [{"numero": "1", "objet": "mot " * 20000, "resultat": "adoptée"}]
    with pytest.raises(RenderLimitExceeded, match="trop longue pour tenir sur une page"):
        render("liste_deliberations", huge_row)
    long_text = {**CASES["deliberation"][0], "texte": "Considérant la demande. " * 3000}
    with pytest.raises(RenderLimitExceeded, match="plus de 3 pages"):
        render("deliberation", long_text, page_limits=PageLimits(max_pages=3))


def test_a_long_list_breaks_across_pages(tmp_path: Path) -> None:
    rows = {**CASES["liste_deliberations"][0]}
    rows["deliberations"] = [
        {"numero": f"2027_DEL{n:04d}", "objet": f"Point {n} de la séance", "resultat": "adoptée"}
        for n in range(1, 121)
    ]
    rendered = render("liste_deliberations", rows)
    text = text_of(rendered.pdf, tmp_path)
    assert rendered.pages > 2 and "2027_DEL0120" in text and f"page 2/{rendered.pages}" in text


def test_unknown_template_and_missing_fonts_are_clear(tmp_path: Path) -> None:
    with pytest.raises(UnknownTemplate, match="modèles disponibles : accuse_reception"):
        render("arrete_municipal", {})
    with pytest.raises(UnknownTemplate, match="invalide"):
        render("../documents", {})
    fonts = FontFiles(regular=tmp_path / "absent.ttf")
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        render("procedure_sans_suite", CASES["procedure_sans_suite"][0], fonts=fonts)


def test_rendering_is_deterministic() -> None:
    context = CASES["decision_attribution"][0]
    assert (
        render("decision_attribution", context).pdf == render("decision_attribution", context).pdf
    )


def test_french_formats() -> None:
    assert french_date("2026-03-16") == "lundi 16 mars 2026"
    assert french_date("2026-03-01T10:00:00Z") == "dimanche 1er mars 2026"
    assert french_datetime("2026-03-16T17:30:00Z") == "lundi 16 mars 2026 à 18 h 30"
    assert french_datetime("2026-07-16T17:30:00Z") == "jeudi 16 juillet 2026 à 19 h 30"
    # Deadlines are exclusive ends (next midnight in Paris): the document states the last day.
    assert french_deadline("2027-02-10T23:00:00Z") == "mercredi 10 février 2027"
    assert french_deadline("2026-03-29T22:00:00Z") == "dimanche 29 mars 2026"
    # CLDR's French spaces: narrow no-break between thousands, no-break before the sign.
    assert french_amount(45000) == "45\u202f000,00\u00a0€\u00a0HT"
    assert french_amount("1234567.005") == "1\u202f234\u202f567,01\u00a0€\u00a0HT"
    assert french_number(17.30) == "17,3" and french_number(1250) == "1\u202f250"
    assert plain_text(2027) == "2027" and plain_text(3.5) == "3,5" and plain_text(False) == "non"


@pytest.mark.parametrize("modele", sorted(CASES))
def test_ghostscript_converts_rendered_documents_to_pdfa(modele: str, tmp_path: Path) -> None:
    """Rendered documents are signed or sealed later, after a PDF/A-2b conversion."""
    context, phrases = CASES[modele]
    converted = convert_to_pdfa(render(modele, context).pdf)
    assert phrases[0] in text_of(converted.pdf, tmp_path)


# --- the operation, through the platform ---------------------------------------------------


@pytest.fixture
def p(platform: Platform) -> Iterator[Platform]:
    make_tenants(platform)
    yield platform


def _render(p: Platform, case_id: uuid.UUID, params: dict[str, Any], key: str = "rendu-1") -> Any:
    return call_operation(p, "documents.render", params, case_id=case_id, key=key, now=NOW)


@pytest.mark.integration
def test_the_operation_stores_one_rendered_document_per_key(p: Platform, tmp_path: Path) -> None:
    case_id = start(p, "arrete").id
    params = {"modele": "accuse_reception_crpa", "contexte": AR_ACCEPTATION}
    first = _render(p, case_id, params)
    again = _render(p, case_id, params)
    assert again == first
    reference = first["document"]
    assert set(reference) == {"id", "nom", "sha256", "taille", "type"}
    assert reference["nom"] == "accuse_reception_DEM-2026-000412.pdf"
    with p.uow() as uow:
        documents = uow.documents.for_case(SIREN_A, case_id)
        content = uow.documents.content(documents[0])
        journal = [e for e in uow.journal.for_case(SIREN_A, case_id)]
    assert [(d.kind, str(d.id)) for d in documents] == [("rendered", reference["id"])]
    assert len(content) == reference["taille"]
    assert "réputée acceptée" in text_of(content, tmp_path)
    rendered = [e for e in journal if e.kind == "document.rendered"]
    assert len(rendered) == 1 and rendered[0].payload["modele"] == "accuse_reception_crpa"
    other = _render(p, start(p, "arrete").id, params, key="rendu-2")
    assert other["document"]["id"] != reference["id"]


@pytest.mark.integration
def test_the_operation_fails_with_modele_incomplet(p: Platform) -> None:
    case_id = start(p, "arrete").id
    context = {**AR_ACCEPTATION, "service": "Service de l'accueil et des formalités"}
    with pytest.raises(OperationFailed) as caught:
        _render(p, case_id, {"modele": "accuse_reception_crpa", "contexte": context})
    assert caught.value.code == "modele_incomplet"
    assert (
        "« service.adresse » (adresse postale du service chargé du dossier" in caught.value.message
    )
    with pytest.raises(OperationFailed) as unknown:
        _render(p, case_id, {"modele": "inconnu", "contexte": {}})
    assert unknown.value.code == "modele_inconnu"
    with pytest.raises(OperationFailed) as no_context:
        _render(p, case_id, {"modele": "accuse_reception", "contexte": None})
    assert no_context.value.code == "modele_incomplet"
    with p.uow() as uow:
        assert uow.documents.for_case(SIREN_A, case_id) == []
