"""A read/write stream over a document that is never copied: updates go to an appended tail.

pyHanko signs "in place" by appending an incremental update to the stream its reader parsed,
then hashing the signed byte ranges by reading that stream back. Over a :class:`io.BytesIO`
holding the document, the first append copies the whole document (copy on write) into fresh
memory. :class:`AppendOverlay` instead reads the document through a :class:`memoryview` of the
caller's buffer and keeps only what is appended (a few KiB to a few hundred KiB) in memory of
its own; :meth:`AppendOverlay.write_to` then streams both parts to the caller's output.

When the document is a mapped file and the output a regular file, :func:`kernel_copy` copies
the document's bytes from file to file inside the kernel (``copy_file_range``, else
``sendfile``): no page faults on the mapping, no Python-level write, and a clone (no copy at
all) on file systems that share extents (XFS, Btrfs).

:meth:`AppendOverlay.digest` hashes byte ranges of the overlay (pyHanko's signed ``/ByteRange``,
see :mod:`signatures.digest`). The document's running hash is computed once per algorithm and
kept: every later digest over a range that starts at offset 0 covering the whole document -- a
PDF signature's ``/ByteRange`` always does -- continues from a copy of it, so a signature and a
document timestamp appended to the same document (B-LTA) hash the document once, not twice.
Signing into a file takes that hash while writing the document
(:meth:`AppendOverlay.write_base_to` with ``hashing``): one pass over it, each chunk hashed and
written from a buffer in the CPU cache, unless :func:`kernel_clone` shares the file's extents.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import mmap
import os
import stat
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

__all__ = ["AppendOverlay", "Document", "kernel_clone", "kernel_copy"]

HASH_CHUNK_BYTES = 256 * 1024
"""The document is hashed in chunks copied into one buffer of this size, which stays in the CPU
cache: hashing the mapped pages where they lie instead cost 13-22 % more CPU on this VM
(``bench/README.md``, "One hash per document")."""

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
        self._base_hashes: dict[str, hashlib._Hash] = {}
        self._base_hashing = threading.Lock()  # held while a thread hashes the document

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

    def _base_chunks(self, start: int, end: int) -> Iterator[memoryview]:
        """The document's bytes ``start:end`` in chunks copied into one reused buffer (each
        chunk is valid until the next one is asked for)."""
        buffer = memoryview(bytearray(min(HASH_CHUNK_BYTES, end - start)))
        for offset in range(start, end, HASH_CHUNK_BYTES):
            chunk = self._base[offset : min(offset + HASH_CHUNK_BYTES, end)]
            buffer[: len(chunk)] = chunk
            yield buffer[: len(chunk)]

    def _hash_base(self, running: hashlib._Hash, start: int, end: int) -> None:
        for chunk in self._base_chunks(start, end):
            running.update(chunk)

    def _whole_base_hash(self, algorithm: str) -> hashlib._Hash:
        with self._base_hashing:  # waits for write_base_to(hashing=...) in another thread
            whole = self._base_hashes.get(algorithm)
            if whole is None:
                whole = hashlib.new(algorithm)
                self._hash_base(whole, 0, self._base_size)
                self._base_hashes[algorithm] = whole
            return whole

    def digest(self, algorithm: str, ranges: Sequence[tuple[int, int]]) -> bytes:
        """Digest (:mod:`hashlib` ``algorithm``) of the bytes of ``ranges`` (``(start, end)``,
        end excluded) one after the other. A first range from 0 covering the whole document
        continues the document's running hash, computed by the first such call and kept."""
        if any(not 0 <= start <= end <= self.size for start, end in ranges):
            raise ValueError(f"byte ranges outside the document: {list(ranges)}")
        running = hashlib.new(algorithm)
        tail = self._tail.getbuffer()
        try:
            for index, (start, end) in enumerate(ranges):
                if index == 0 and start == 0 and end >= self._base_size:
                    running = self._whole_base_hash(algorithm).copy()
                    start = self._base_size
                if start < self._base_size:
                    self._hash_base(running, start, min(end, self._base_size))
                    start = min(end, self._base_size)
                if start < end:
                    running.update(tail[start - self._base_size : end - self._base_size])
        finally:
            tail.release()
        return running.digest()

    def write_to(self, output: BinaryIO) -> int:
        """Write the whole document (original then appended bytes) to ``output``."""
        return self.write_base_to(output) + self.write_appended_to(output)

    def write_base_to(
        self, output: BinaryIO, source: BinaryIO | None = None, *, hashing: str | None = None
    ) -> int:
        """Write the original document to ``output``; safe while another thread reads it.

        ``source`` is the open file the document is mapped from, whole: when given and the
        kernel can copy between the two files (:func:`kernel_copy`), it does; otherwise the
        mapped bytes are written. The result is the same bytes either way.

        With ``hashing`` (a :mod:`hashlib` name), the document's running hash for
        :meth:`digest` is taken in the same pass: each chunk, copied into a buffer that stays in
        the CPU cache, is hashed then written from there (the document is read once, not once
        for the hash and once for the copy); a :meth:`digest` called meanwhile from another
        thread waits for it. Unless the file system shares extents (:func:`kernel_clone`: XFS,
        Btrfs): then nothing is copied and :meth:`digest` hashes the document itself.
        """
        if hashing is not None:
            if source is not None and kernel_clone(source, output, self._base_size):
                return self._base_size
            return self._write_hashing(output, hashing)
        if source is not None:
            copied = kernel_copy(source, output, self._base_size)
            if copied is not None:
                return copied
        return output.write(self._base)

    def _write_hashing(self, output: BinaryIO, algorithm: str) -> int:
        with self._base_hashing:
            if algorithm in self._base_hashes:  # a digest came first and hashed it
                return _write_all(output, self._base)
            running = hashlib.new(algorithm)
            for chunk in self._base_chunks(0, self._base_size):
                running.update(chunk)
                _write_all(output, chunk)
            self._base_hashes[algorithm] = running
            return self._base_size

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


def _write_all(output: BinaryIO, data: memoryview) -> int:
    """``output.write`` until all of ``data`` is written (a raw file may take less at once)."""
    done = 0
    while done < len(data):
        step = output.write(data[done:])
        if not step:
            raise OSError(errno.EIO, "the output accepts no more bytes")
        done += step
    return done


_UNSUPPORTED = frozenset(
    (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ETXTBSY)
)
"""Why a kernel copy may be refused before copying anything (other file system, kernel too
old, file system without support): the caller then writes the bytes itself."""


def _copy_file_range(source: int, output: int, offset: int, count: int) -> int:
    return os.copy_file_range(source, output, count, offset)


def _sendfile(source: int, output: int, offset: int, count: int) -> int:
    return os.sendfile(output, source, offset, count)


_KERNEL_COPIES: tuple[Callable[[int, int, int, int], int], ...] = (_copy_file_range, _sendfile)


def _regular_file_fd(stream: BinaryIO) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None


FICLONE = 0x40049409
"""``ioctl`` sharing all of a file's extents with another file (``_IOW(0x94, 9, int)``)."""

_NO_CLONE = _UNSUPPORTED | {errno.ENOTTY, errno.EPERM, errno.EBADF}
"""Why a clone may be refused: file system without shared extents (ext4: EOPNOTSUPP), another
file system (EXDEV), ioctl unknown, immutable or append-only file, output not open for writing."""


def kernel_clone(source: BinaryIO, output: BinaryIO, count: int) -> bool:
    """Make ``output`` start with ``source``'s ``count`` bytes (its whole content) by sharing
    the file system's extents (``FICLONE``): no byte is read or written (XFS with reflink,
    Btrfs).

    Both must be regular files and ``output`` at position 0 (where a clone lands), not in
    append mode; its position is then left at ``count``. False when the file system cannot
    clone; nothing was changed then.
    """
    source_fd = _regular_file_fd(source)
    output_fd = _regular_file_fd(output)
    if source_fd is None or output_fd is None or os.fstat(source_fd).st_size != count:
        return False
    if fcntl.fcntl(output_fd, fcntl.F_GETFL) & os.O_APPEND:
        return False
    output.flush()
    if output.tell() != 0:
        return False
    try:
        fcntl.ioctl(output_fd, FICLONE, source_fd)
    except OSError as exc:
        if exc.errno in _NO_CLONE:
            return False
        raise
    output.seek(count)
    return True


def kernel_copy(source: BinaryIO, output: BinaryIO, count: int) -> int | None:
    """Copy ``source``'s ``count`` bytes (its whole content) to ``output`` at its position.

    Both must be regular files and ``output`` not in append mode; the copy starts at offset 0
    of ``source`` and at ``output``'s current position, which is left just after the copy.
    Returns the number of bytes copied, or None when the kernel cannot do it (nothing was
    written then; the caller writes the bytes itself).
    """
    source_fd = _regular_file_fd(source)
    output_fd = _regular_file_fd(output)
    if source_fd is None or output_fd is None or os.fstat(source_fd).st_size != count:
        return None
    if fcntl.fcntl(output_fd, fcntl.F_GETFL) & os.O_APPEND:
        return None
    output.flush()  # the kernel writes at the descriptor's offset: no buffered bytes before
    start = output.tell()
    for copy in _KERNEL_COPIES:
        done = 0
        try:
            while done < count:
                step = copy(source_fd, output_fd, done, count - done)
                if step == 0:
                    raise OSError(errno.EIO, "the source file shrank while being copied")
                done += step
        except OSError as exc:
            if done == 0 and exc.errno in _UNSUPPORTED:
                continue
            raise
        output.seek(start + done)  # the buffered object's idea of the position
        return done
    return None
