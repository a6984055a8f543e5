"""pyHanko's byte-range digest over an :class:`AppendOverlay`: the document hashed once per call.

pyHanko signs in place by appending an incremental update to the stream its reader parsed, then
hashes the signed byte ranges (everything but the ``/Contents`` placeholder) in
``PdfByteRangeDigest.fill``, reading the stream back from offset 0 through ``readinto``. Each
signature or document timestamp added in the same call hashes the whole document again: a
B-LTA (signature, DSS, document timestamp) read and hashed it twice.

:func:`install` replaces ``PdfByteRangeDigest.fill`` by :func:`_fill`, which does the same steps
(write the update in place, fill ``/ByteRange``, hash, hand the digest over, embed the CMS) but
takes the hash from :meth:`AppendOverlay.digest`: the document's running hash is computed by the
first digest and kept, later ones continue from a copy of it and hash only the appended bytes.
For any other stream, when pyHanko is asked to write a copy (``in_place=False``) or for an
algorithm :mod:`hashlib` lacks, pyHanko's own method runs unchanged.

Not done, measured instead (``bench/README.md``, "One hash per document"): hashing the mapped
pages where they lie, without pyHanko's copy into its chunk buffer, costs 13-22 % more CPU than
copying each chunk into a buffer that stays in the CPU cache and hashing it there, so
:meth:`AppendOverlay.digest` keeps such a buffer.

The override follows pyHanko 0.38.0's ``fill`` step by step; ``tests/signatures/
test_overlay_digest.py`` fails when the installed pyHanko's method differs from the one it was
written against, so an upgrade cannot silently skip a step it added.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from typing import IO, Any, cast

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import DEFAULT_CHUNK_SIZE
from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest, PreparedByteRangeDigest

from signatures.overlay import AppendOverlay

__all__ = ["PYHANKO_FILL", "install"]

PYHANKO_FILL = PdfByteRangeDigest.fill
"""pyHanko's own method, run for every stream that is not an :class:`AppendOverlay`."""


def _fill(
    self: PdfByteRangeDigest,
    writer: Any,
    md_algorithm: str,
    in_place: bool = False,
    output: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Generator[Any, Any, Any]:
    stream = getattr(getattr(writer, "prev", None), "stream", None)
    ours = in_place and isinstance(writer, IncrementalPdfFileWriter)
    # pyHanko names digest algorithms as hashlib does ("sha256", "sha3_256", ...).
    if not (ours and isinstance(stream, AppendOverlay)) or (
        md_algorithm not in hashlib.algorithms_available
    ):
        return (
            yield from PYHANKO_FILL(
                self, writer, md_algorithm, in_place=in_place, output=output, chunk_size=chunk_size
            )
        )
    writer.digest_aware_write = True
    writer.write_in_place()
    eof = stream.tell()
    sig_start, sig_end = self.contents.offsets
    self.byte_range.fill_offsets(stream, sig_start, sig_end, eof)  # type: ignore[no-untyped-call]
    digest = stream.digest(md_algorithm, ((0, sig_start), (sig_end, eof)))
    prepared = PreparedByteRangeDigest(
        document_digest=digest, reserved_region_start=sig_start, reserved_region_end=sig_end
    )
    cms_data = yield prepared, stream
    yield prepared.fill_with_cms(cast(IO[bytes], stream), cms_data)


def install() -> None:
    """Make pyHanko take the byte-range digest of an :class:`AppendOverlay` in place (idempotent)."""
    PdfByteRangeDigest.fill = _fill  # type: ignore[method-assign]
