"""Working documents: checks on upload, content addressing, tenant scoping."""

from __future__ import annotations

import pytest

from engine.bootstrap import Platform
from engine.domain.errors import InvalidInput, NotFound
from engine.services.documents import document_from_reference, store_document
from tests.engine.support import AGENT, SIREN_A, SIREN_B, make_tenants

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def p(platform: Platform) -> Platform:
    make_tenants(platform)
    return platform


def _store(
    p: Platform, content: bytes = PDF, name: str = "délibération n°1.pdf", tenant: str = SIREN_A
):
    with p.uow() as uow:
        doc = store_document(
            uow,
            tenant=tenant,
            name=name,
            content=content,
            actor=AGENT,
            now=p.clock(),
            max_bytes=1000,
        )
        uow.commit()
    return doc


def test_upload_is_content_addressed_and_scoped(p: Platform) -> None:
    first = _store(p)
    second = _store(p, name="../../etc/passwd.pdf")
    assert first.sha256 == second.sha256 and first.id != second.id
    assert second.name == "passwd.pdf"
    with p.uow() as uow:
        assert uow.documents.content(uow.documents.get(SIREN_A, first.id)) == PDF
        with pytest.raises(NotFound):
            uow.documents.get(SIREN_B, first.id)
        assert document_from_reference(uow, SIREN_A, first.reference()).id == first.id
        with pytest.raises(InvalidInput, match="empreinte"):
            document_from_reference(uow, SIREN_A, {**first.reference(), "sha256": "0" * 64})


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "vide"), (b"GIF89a....", "PDF"), (PDF + b"x" * 2000, "volumineux")],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    p: Platform, content: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        _store(p, content=content)


def test_signed_and_sealed_copies_are_named_so_and_keep_one_suffix() -> None:
    from engine.services.documents import clean_name, derived_name

    assert derived_name("2026_DEL0002.pdf", "signed") == "2026_DEL0002-signe.pdf"
    assert derived_name("2026_DEL0002-signe.pdf", "signed") == "2026_DEL0002-signe.pdf"
    assert derived_name("acte.PDF", "sealed") == "acte-scelle.PDF"
    assert derived_name("acte-signe.pdf", "sealed") == "acte-scelle.pdf"
    assert derived_name("projet.pdf", "upload") == "projet.pdf"
    assert derived_name("sans extension", "signed") == "sans extension-signe.pdf"
    long = clean_name(derived_name("x" * 300 + ".pdf", "signed"))
    assert len(long) == 200 and long.endswith("x-signe.pdf")
