"""Hostile PDFs built by the tests: decompression bombs, deep nesting, active content.

The bombs hold FlateDecode streams that inflate to 1 or 4 GiB of zeros. They are assembled from
one compressed 1 MiB segment repeated (each segment ends with a full flush, so it does not
depend on what precedes it) with the Adler-32 computed arithmetically: building a 4 GiB bomb
takes milliseconds and never holds the inflated data.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

GIB = 1024**3
_SEGMENT = 1 << 20


def _raw(data: bytes, mode: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(mode)


def deflate_bomb(prefix: bytes, total: int) -> bytes:
    """A zlib stream inflating to ``prefix`` followed by zeros, ``total`` bytes in all."""
    zeros = total - len(prefix)
    count, rest = divmod(zeros, _SEGMENT)
    segment = _raw(bytes(_SEGMENT), zlib.Z_FULL_FLUSH)
    body = _raw(prefix, zlib.Z_FULL_FLUSH) + segment * count + _raw(bytes(rest), zlib.Z_FINISH)
    adler = zlib.adler32(prefix)
    low, high = adler & 0xFFFF, adler >> 16
    high = (high + zeros * low) % 65521  # each zero byte adds the unchanged low sum
    return b"\x78\xda" + body + struct.pack(">I", (high << 16) | low)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _flate(dictionary: bytes, data: bytes) -> bytes:
    return _stream(dictionary + b" /Filter /FlateDecode", data)


def build_pdf(objects: dict[int, bytes], *, root: int = 1) -> bytes:
    """A PDF with a classic cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += (
            b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 00000 f \n"
        )
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref)
    return bytes(out)


def _page_objects(
    *, contents: bytes = b"BT /F1 12 Tf 72 720 Td (Bonjour) Tj ET", resources: bytes = b""
) -> dict[int, bytes]:
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> " + resources + b">> >>",
        4: _stream(b"", contents),
        5: font,
    }


def metadata_bomb(total: int) -> bytes:
    objects = _page_objects()
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>"
    xmp = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    objects[6] = _flate(b"/Type /Metadata /Subtype /XML", deflate_bomb(xmp, total))
    return build_pdf(objects)


def content_bomb(total: int) -> bytes:
    objects = _page_objects()
    objects[4] = _flate(b"", deflate_bomb(b"BT /F1 12 Tf 72 720 Td (x) Tj ET\n", total))
    return build_pdf(objects)


def image_bomb(total: int) -> bytes:
    side = int(total**0.5)
    objects = _page_objects(
        contents=b"q 500 0 0 500 50 300 cm /Im0 Do Q", resources=b"/XObject << /Im0 6 0 R >> "
    )
    image = b"/Type /XObject /Subtype /Image /Width %d /Height %d" % (side, side)
    objects[6] = _flate(
        image + b" /ColorSpace /DeviceGray /BitsPerComponent 8", deflate_bomb(b"", side * side)
    )
    return build_pdf(objects)


def font_bomb(total: int) -> bytes:
    objects = _page_objects()
    objects[5] = (
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Bombe /FirstChar 32 /LastChar 32"
        b" /Widths [500] /FontDescriptor 6 0 R >>"
    )
    objects[6] = (
        b"<< /Type /FontDescriptor /FontName /Bombe /Flags 32 /FontBBox [0 0 1000 1000]"
        b" /ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 /FontFile2 7 0 R >>"
    )
    objects[7] = _flate(b"/Length1 %d" % total, deflate_bomb(b"\x00\x01\x00\x00", total))
    return build_pdf(objects)


def _xref_entry(kind: int, field2: int, field3: int) -> bytes:
    return struct.pack(">BIH", kind, field2, field3)


def _with_xref_stream(
    objects: dict[int, bytes],
    compressed: dict[int, tuple[int, int]],
    *,
    xref_bomb: int = 0,
) -> bytes:
    """A PDF 1.5 file whose cross-reference is a stream (object ``max + 1``); ``compressed``
    maps objects stored in object streams to (object stream, index)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref_number = max([*objects, *compressed]) + 1
    offsets[xref_number] = len(out)
    entries = [_xref_entry(0, 0, 65535)]
    for number in range(1, xref_number + 1):
        if number in compressed:
            entries.append(_xref_entry(2, *compressed[number]))
        else:
            entries.append(_xref_entry(1, offsets[number], 0))
    table = b"".join(entries)
    head = b"/Type /XRef /Size %d /W [1 4 2] /Root 1 0 R" % (xref_number + 1)
    xref = _flate(head, deflate_bomb(table, xref_bomb)) if xref_bomb else _stream(head, table)
    out += b"%d 0 obj\n" % xref_number + xref + b"\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def object_stream_bomb(total: int) -> bytes:
    objects = _page_objects()
    pages = objects.pop(2)
    header = b"2 0 "
    inner = header + pages + b"\n"
    objects[6] = _flate(b"/Type /ObjStm /N 1 /First %d" % len(header), deflate_bomb(inner, total))
    return _with_xref_stream(objects, {2: (6, 0)})


def xref_stream_bomb(total: int) -> bytes:
    return _with_xref_stream(_page_objects(), {}, xref_bomb=total)


BOMBS: dict[str, Callable[[int], bytes]] = {
    "metadonnees": metadata_bomb,
    "contenu-de-page": content_bomb,
    "flux-d-objets": object_stream_bomb,
    "flux-xref": xref_stream_bomb,
    "image": image_bomb,
    "police": font_bomb,
}


def deeply_nested(depth: int = 20_000) -> bytes:
    """A catalog holding an array nested ``depth`` times (a recursive parser overflows)."""
    objects = _page_objects()
    nested = b"[" * depth + b"]" * depth
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Nid " + nested + b" >>"
    return build_pdf(objects)


def with_active_content() -> bytes:
    """JavaScript at opening, a document JavaScript name tree, a page /AA and a Launch link."""
    objects = _page_objects()
    objects[1] = (
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R"
        b" /Names << /JavaScript << /Names [(init) 7 0 R] >> >> >>"
    )
    objects[3] = objects[3][:-2] + (
        b" /AA << /O << /S /JavaScript /JS (app.alert\\(1\\)) >> >> /Annots [8 0 R] >>"
    )
    objects[6] = b"<< /Type /Action /S /JavaScript /JS (app.alert\\('ouverture'\\)) >>"
    objects[7] = b"<< /S /JavaScript /JS (this.print\\(\\)) >>"
    objects[8] = (
        b"<< /Type /Annot /Subtype /Link /Rect [72 700 200 720]"
        b" /A << /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) /P (/c calc) >> >> >>"
    )
    return build_pdf(objects)


def without_xref() -> bytes:
    """Starts with %PDF- but has no cross-reference section nor trailer."""
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
