"""A read/write stream over a document that is never copied: updates go to an appended tail.

pyHanko signs "in place" by appending an incremental update to the stream its reader parsed,
then hashing the signed byte ranges by reading that stream back. Over a :class:`io.BytesIO`
holding the document, the first append copies the whole document (copy on write) into fresh
memory. :class:`AppendOverlay` instead reads the document through a :class:`memoryview` of the
caller's buffer and keeps only what is appended (a few KiB to a few hundred KiB) in memory of
its own; :meth:`AppendOverlay.write_to` then streams both parts to the caller's output.
"""

from __future__ import annotations

import io
import mmap
import os
from typing import BinaryIO

__all__ = ["AppendOverlay", "Document"]

Document = bytes | mmap.mmap
"""A whole PDF in memory or mapped from a file, read without copying."""


class AppendOverlay(io.RawIOBase):
    """``base`` followed by an appendable tail; writes inside ``base`` are refused.

    Only appended bytes (and bytes written over them later, such as the signature's
    ``/ByteRange`` and ``/Contents``) can be written, so the caller's document is never changed.
    """

    def __init__(self, base: Document) -> None:
        super().__init__()
        self._base = memoryview(base)
        self._base_size = len(self._base)
        self._tail = io.BytesIO()
        self._tail_size = 0
        self._pos = 0

    @property
    def size(self) -> int:
        """Current length: the document plus everything appended."""
        return self._base_size + self._tail_size

    @property
    def appended(self) -> int:
        """Number of bytes appended after the document."""
        return self._tail_size

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._pos + offset
        elif whence == os.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"invalid whence: {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._pos = position
        return position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        target = memoryview(buffer).cast("B")
        wanted = min(len(target), max(self.size - self._pos, 0))
        done = 0
        if self._pos < self._base_size:
            done = min(wanted, self._base_size - self._pos)
            target[:done] = self._base[self._pos : self._pos + done]
        if done < wanted:
            self._tail.seek(self._pos + done - self._base_size)
            done += self._tail.readinto(target[done:wanted])
        self._pos += done
        return done

    def read(self, size: int | None = -1) -> bytes:
        available = max(self.size - self._pos, 0)
        count = available if size is None or size < 0 else min(size, available)
        start = self._pos
        if start + count <= self._base_size:  # the common case: parsing the document
            self._pos += count
            return self._base[start : start + count].tobytes()
        chunk = bytearray(count)
        done = self.readinto(chunk)
        return bytes(chunk[:done])

    def readall(self) -> bytes:
        return self.read(-1)

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos < self._base_size:
            raise io.UnsupportedOperation("the original document cannot be overwritten")
        self._tail.seek(self._pos - self._base_size)
        written = self._tail.write(data)
        self._pos += written
        self._tail_size = max(self._tail_size, self._pos - self._base_size)
        return written

    def write_to(self, output: BinaryIO) -> int:
        """Write the whole document (original then appended bytes) to ``output``."""
        return self.write_base_to(output) + self.write_appended_to(output)

    def write_base_to(self, output: BinaryIO) -> int:
        """Write the original document to ``output``; safe while another thread reads it."""
        return output.write(self._base)

    def write_appended_to(self, output: BinaryIO) -> int:
        """Write what was appended after the document to ``output``."""
        tail = self._tail.getbuffer()
        try:
            return output.write(tail[: self._tail_size])
        finally:
            tail.release()

    def getvalue(self) -> bytes:
        """The whole document as one new ``bytes`` object (one copy)."""
        tail = self._tail.getbuffer()
        try:
            return b"".join((self._base, tail[: self._tail_size]))
        finally:
            tail.release()

    def close(self) -> None:
        if not self.closed:
            self._base.release()
            self._tail.close()
        super().close()
