"""Ways to tamper with a signed PDF, each producing a file that validation must reject."""

from __future__ import annotations

import io
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def _writer(pdf: bytes) -> tuple[IncrementalPdfFileWriter, io.BytesIO]:
    buffer = io.BytesIO(pdf)
    return IncrementalPdfFileWriter(buffer, strict=False), buffer


def _first_page(writer: IncrementalPdfFileWriter) -> generic.DictionaryObject:
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page: generic.DictionaryObject = page_ref.get_object()
    return page


def _finish(writer: IncrementalPdfFileWriter, buffer: io.BytesIO) -> bytes:
    writer.write_in_place()
    return buffer.getvalue()


def replace_page_content(pdf: bytes) -> bytes:
    """Incremental update replacing page 1's content stream with other text."""
    writer, buffer = _writer(pdf)
    page = _first_page(writer)
    stream = generic.StreamObject(
        stream_data=b"BT /F1 14 Tf 72 720 Td (Montant: 1 000 000 EUR) Tj ET"
    )
    page[pdf_name("/Contents")] = writer.add_object(stream)
    writer.update_container(page)
    return _finish(writer, buffer)


def add_overlay(pdf: bytes) -> bytes:
    """Incremental update drawing a white box plus new text over page 1."""
    writer, buffer = _writer(pdf)
    overlay = generic.StreamObject(stream_data=b"q 1 1 1 rg 60 700 400 40 re f Q")
    writer.add_stream_to_page(0, writer.add_object(overlay))
    return _finish(writer, buffer)


def add_annotation(pdf: bytes) -> bytes:
    """Incremental update adding a FreeText annotation on page 1."""
    writer, buffer = _writer(pdf)
    page = _first_page(writer)
    annotation = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/FreeText"),
            pdf_name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (72, 600, 400, 640)]
            ),
            pdf_name("/Contents"): pdf_string("Annulé"),
            pdf_name("/DA"): pdf_string("/Helv 12 Tf 0 g"),
        }
    )
    ref = writer.add_object(annotation)
    annots = page.get("/Annots")
    if annots is None:
        page[pdf_name("/Annots")] = generic.ArrayObject([ref])
    else:
        array = annots.get_object()
        array.append(ref)
        if isinstance(annots, generic.IndirectObject):
            writer.update_container(array)
    writer.update_container(page)
    return _finish(writer, buffer)


def add_text_field(pdf: bytes) -> bytes:
    """Incremental update adding a new filled text form field on page 1."""
    writer, buffer = _writer(pdf)
    page = _first_page(writer)
    field = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Annot"),
            pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/FT"): pdf_name("/Tx"),
            pdf_name("/T"): pdf_string("Montant"),
            pdf_name("/V"): pdf_string("1 000 000"),
            pdf_name("/Rect"): generic.ArrayObject(
                [generic.NumberObject(n) for n in (72, 500, 300, 520)]
            ),
            pdf_name("/P"): writer.root["/Pages"]["/Kids"][0],
        }
    )
    ref = writer.add_object(field)
    acroform = writer.root["/AcroForm"]
    acroform["/Fields"].append(ref)
    writer.update_container(acroform)
    annots = page.get("/Annots")
    if annots is None:
        page[pdf_name("/Annots")] = generic.ArrayObject([ref])
    else:
        annots.get_object().append(ref)
    writer.update_container(page)
    return _finish(writer, buffer)


def append_unsigned_bytes(pdf: bytes) -> bytes:
    """Bytes after the signed range that are not a proper revision."""
    return pdf + b"\n1 0 obj\n(Texte ajout\\351 hors signature)\nendobj\n"


_CONTENTS = re.compile(rb"/Contents\s*<([0-9a-fA-F]+)>")


def _signature_hex(pdf: bytes) -> re.Match[bytes]:
    matches = list(_CONTENTS.finditer(pdf))
    # The signature's /Contents is the long hex string (page /Contents are references).
    return max(matches, key=lambda m: len(m.group(1)))


def transplant_signature(donor: bytes, target: bytes) -> bytes:
    """Put the CMS signature of ``donor`` into the signature placeholder of ``target``."""
    source = _signature_hex(donor).group(1).rstrip(b"0")
    slot = _signature_hex(target)
    size = len(slot.group(1))
    if len(source) % 2:
        source += b"0"
    assert len(source) <= size, "donor signature larger than target placeholder"
    replacement = source + b"0" * (size - len(source))
    return target[: slot.start(1)] + replacement + target[slot.end(1) :]


def change_field_value(
    pdf: bytes, field_name: str = "Montant", value: str = "1 000 000 EUR"
) -> bytes:
    """Incremental update changing a text field's value and its appearance (form filling)."""
    writer, buffer = _writer(pdf)
    for ref in writer.root["/AcroForm"]["/Fields"]:
        field = ref.get_object()
        if field.get("/T") != field_name:
            continue
        field[pdf_name("/V")] = pdf_string(value)
        appearance = generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Form"),
                pdf_name("/BBox"): generic.ArrayObject(
                    [generic.NumberObject(n) for n in (0, 0, 228, 24)]
                ),
            },
            stream_data=f"/Tx BMC BT /Helv 12 Tf 2 6 Td ({value}) Tj ET EMC".encode(),
        )
        field[pdf_name("/AP")] = generic.DictionaryObject(
            {pdf_name("/N"): writer.add_object(appearance)}
        )
        writer.update_container(field)
        return _finish(writer, buffer)
    raise ValueError(f"no field named {field_name}")


def change_signed_byte(pdf: bytes) -> bytes:
    """Change one byte inside the first signed range: the page height 842 becomes 843."""
    box = pdf.index(b"/MediaBox")
    at = pdf.index(b"842", box, box + 40)
    return pdf[:at] + b"843" + pdf[at + 3 :]
