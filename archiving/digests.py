"""One streaming pass over each byte: the digests the bag, the SEDA manifest and S3 need."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["CHUNK_SIZE", "FileDigests", "copy_and_digest", "digest_bytes", "digest_stream"]

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class FileDigests:
    """Size and digests of one file, computed in a single read."""

    size: int
    """Length in bytes."""
    sha512: str
    """SHA-512, hex: the bag manifests and the SEDA ``MessageDigest``."""
    sha256: str
    """SHA-256, hex: the S3 ``x-amz-checksum-sha256`` the store verifies on upload."""

    @property
    def sha256_base64(self) -> str:
        """The SHA-256 as S3 checksum headers carry it."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")


def digest_bytes(data: bytes) -> FileDigests:
    """Digests of an in-memory value."""
    return FileDigests(
        size=len(data),
        sha512=hashlib.sha512(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def digest_stream(stream: BinaryIO, *, sink: BinaryIO | None = None) -> FileDigests:
    """Read ``stream`` to its end once, hashing each chunk (and writing it to ``sink``)."""
    sha512 = hashlib.sha512()
    sha256 = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        sha512.update(chunk)
        sha256.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink.write(chunk)
    return FileDigests(size=size, sha512=sha512.hexdigest(), sha256=sha256.hexdigest())


def copy_and_digest(source: Path, target: Path) -> FileDigests:
    """Copy ``source`` to ``target`` while hashing it: each byte is read and hashed once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("xb") as writer:
        return digest_stream(reader, sink=writer)
