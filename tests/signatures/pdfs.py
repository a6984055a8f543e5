"""Small test PDFs built with pikepdf (plain, multi-page, encrypted, certified...)."""

from __future__ import annotations

import io

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from devstack.pki import DevPki
from signatures.pades import PadesLevel, SignRequest, sign_pdf


def make_pdf(*, pages: int = 1, text: str = "Deliberation n 2026-001", padding: int = 0) -> bytes:
    """A plain PDF with one line of text per page; ``padding`` adds an incompressible stream."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(pages):
        content = f"BT /F1 14 Tf 72 720 Td ({text} - page {number + 1}) Tj ET".encode()
        page = pikepdf.Page(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Page,
                MediaBox=[0, 0, 595, 842],
                Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                Contents=pdf.make_stream(content),
            )
        )
        pdf.pages.append(page)
    if padding:
        import os

        pdf.Root.Padding = pdf.make_stream(os.urandom(padding))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_encrypted_pdf() -> bytes:
    """A PDF protected by a user password."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="proprio", user="secret", R=6))
    return out.getvalue()


def certify_no_changes(pdf_bytes: bytes, *, pkcs12_path: str, passphrase: bytes) -> bytes:
    """Certify ``pdf_bytes`` with DocMDP "no changes allowed" (pyHanko directly)."""
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load_pkcs12(pkcs12_path, passphrase=passphrase)
    meta = signers.PdfSignatureMetadata(
        field_name="Certification", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf_bytes)), meta, signer=signer)
    return bytes(out.getvalue())


def make_form_pdf(*, value: str = "1 000 EUR", field_name: str = "Montant") -> bytes:
    """A one-page PDF with a filled text field (with its appearance stream), like an act form."""
    pdf = pikepdf.open(io.BytesIO(make_pdf()))
    page = pdf.pages[0]
    helvetica = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T=pikepdf.String(field_name),
            V=pikepdf.String(value),
            Rect=[72, 600, 300, 624],
            DA=pikepdf.String("/Helv 12 Tf 0 g"),
            F=4,
            P=page.obj,
        )
    )
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([field]))
    pdf.Root.AcroForm = pdf.make_indirect(
        pikepdf.Dictionary(
            Fields=pikepdf.Array([field]),
            DA=pikepdf.String("/Helv 12 Tf 0 g"),
            DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=helvetica)),
            NeedAppearances=True,
        )
    )
    pdf.generate_appearance_streams()
    if "/NeedAppearances" in pdf.Root.AcroForm:
        del pdf.Root.AcroForm.NeedAppearances
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def claim_pdfa(pdf_bytes: bytes, *, part: str = "2", conformance: str = "B") -> bytes:
    """The same document whose XMP metadata merely claims PDF/A (nothing else changes)."""
    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = part
        meta["pdfaid:conformance"] = conformance
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def sign_as_another_tool(
    pdf_bytes: bytes, *, pkcs12_path: str, passphrase: bytes, timestamp_url: str | None = None
) -> bytes:
    """An approval signature made by pyHanko directly, as another tool would: no field lock,
    no check of the signer's certificate (the validation must judge it)."""
    from pyhanko.sign import fields, signers, timestamps

    signer = signers.SimpleSigner.load_pkcs12(pkcs12_path, passphrase=passphrase)
    meta = signers.PdfSignatureMetadata(
        field_name="Visa", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    stamper = timestamps.HTTPTimeStamper(timestamp_url) if timestamp_url else None
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    out = signers.sign_pdf(writer, meta, signer=signer, timestamper=stamper)
    return bytes(out.getvalue())


def signed_pdf(pki: DevPki, level: PadesLevel, *, short_lived: bool = False) -> bytes:
    """``make_pdf()`` signed at ``level`` by Marie Dupont (or the short-lived signer)."""
    signer = pki.short_lived_signer if short_lived else pki.signer("Marie Dupont")
    request = SignRequest(
        key=signer.key,
        signer_display_name=signer.display_name,
        level=level,
        timestamp_url=pki.tsa_url,
        trust_roots=pki.trust_roots,
        convert_to_pdfa=False,
    )
    return sign_pdf(make_pdf(), request).pdf
