"""Small test PDFs built with pikepdf (plain, multi-page, encrypted, certified...)."""

from __future__ import annotations

import io

import pikepdf

from signatures.devpki import DevPki
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
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load_pkcs12(pkcs12_path, passphrase=passphrase)
    meta = signers.PdfSignatureMetadata(
        field_name="Certification", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
    )
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf_bytes)), meta, signer=signer)
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
