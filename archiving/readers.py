"""Read a package wherever it is: a bag directory, a zip export, or the object store."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol, cast

from archiving.bag import BAGIT_TXT
from archiving.errors import InvalidPackageInputError

__all__ = ["DirectoryReader", "PackageReader", "ZipReader", "open_package"]


class PackageReader(Protocol):
    """The files of one bag, by path relative to the bag root."""

    def names(self) -> list[str]:
        """Every file of the bag (POSIX paths relative to its root)."""
        ...

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        """A binary stream over one file (a context manager)."""
        ...


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name


class DirectoryReader:
    """A bag unpacked on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        found = [p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()]
        return sorted(found)

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        if not _safe(name):
            raise InvalidPackageInputError(f"Chemin refusé dans le paquet : {name!r}.")
        with (self.root / name).open("rb") as stream:
            yield stream


class ZipReader:
    """A bag inside a zip (an export): at the root of the zip or under one folder."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str) -> None:
        self.archive = archive
        self.prefix = prefix

    def names(self) -> list[str]:
        return sorted(
            info.filename[len(self.prefix) :]
            for info in self.archive.infolist()
            if not info.is_dir() and info.filename.startswith(self.prefix)
        )

    @contextmanager
    def open(self, name: str) -> Iterator[BinaryIO]:
        if not _safe(name):
            raise InvalidPackageInputError(f"Chemin refusé dans le paquet : {name!r}.")
        with self.archive.open(self.prefix + name) as stream:
            yield cast(BinaryIO, stream)


def _zip_prefix(archive: zipfile.ZipFile, package_id: str | None) -> str:
    roots = sorted(
        name[: -len(BAGIT_TXT)]
        for name in archive.namelist()
        if name == BAGIT_TXT or (name.endswith("/" + BAGIT_TXT) and name.count("/") == 1)
    )
    if package_id is not None:
        roots = [root for root in roots if root.rstrip("/") == package_id]
    if len(roots) != 1:
        raise InvalidPackageInputError(
            "L'archive zip doit contenir exactement un sac BagIt "
            f"(trouvé : {len(roots)}) ; précisez le paquet voulu."
        )
    return roots[0]


@contextmanager
def open_package(path: Path, *, package_id: str | None = None) -> Iterator[PackageReader]:
    """Open a bag directory or a zip holding one bag (or the bag named ``package_id``)."""
    if path.is_dir():
        yield DirectoryReader(path)
        return
    if not zipfile.is_zipfile(path):
        raise InvalidPackageInputError(f"{path} n'est ni un dossier BagIt ni une archive zip.")
    with zipfile.ZipFile(path) as archive:
        yield ZipReader(archive, _zip_prefix(archive, package_id))
