"""The wire forms of a package: a SIP zip (manifest + objects) and an objects-only zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import PurePosixPath

__all__ = ["SIP_MANIFEST", "objects_zip", "sip_zip"]

SIP_MANIFEST = "manifest.xml"
"""Name of the SEDA manifest at the root of a Vitam SIP."""


def _safe(uri: str) -> str:
    path = PurePosixPath(uri)
    if path.is_absolute() or ".." in path.parts or not uri or uri == SIP_MANIFEST:
        raise ValueError(f"chemin d'objet refusé dans le paquet : {uri!r}")
    return str(path)


def _zip(entries: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def sip_zip(manifest: bytes, objects: Mapping[str, bytes]) -> bytes:
    """``manifest.xml`` at the root and each object at its ``Uri`` (Vitam's SIP layout)."""
    return _zip({SIP_MANIFEST: manifest, **{_safe(uri): data for uri, data in objects.items()}})


def objects_zip(objects: Mapping[str, bytes]) -> bytes:
    """The objects alone at their ``Uri`` (As@lae's ``attachments``)."""
    return _zip({_safe(uri): data for uri, data in objects.items()})
