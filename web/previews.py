"""PDF previews: a PNG of a document's first page, rendered out of process and cached by digest.

The PDF is untrusted (any clerk or citizen upload), so it is rendered by poppler's `pdftoppm` in
a child process, never in the web process: a crafted file that loops, eats memory or crashes the
renderer only costs a bounded child (CPU, address space, output size and wall-clock limits) and
the page shows "Aperçu indisponible". pypdfium2 was the alternative; it renders in-process, where
no timeout or memory cap can be enforced. poppler-utils is already a platform dependency.

Documents are content-addressed: a preview is cached once per SHA-256 (and page), success or
failure, under `<data_dir>/apercus/`, written atomically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from engine.domain.model import Document
from engine.domain.task_access import CASE_READERS
from engine.services.queries import documents as document_queries
from engine.services.unit_of_work import UnitOfWork
from signatures.sandbox import ChildLimits, apply_limits
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pdf_responses import pdf_response

__all__ = ["PreviewCache", "router"]

PDFTOPPM = "pdftoppm"
LIMITS = ChildLimits(
    memory_bytes=768 * 1024 * 1024,  # poppler maps fonts and page buffers
    cpu_seconds=10,
    wall_seconds=15.0,
    output_bytes=8 * 1024 * 1024,  # a thumbnail is a few dozen KiB: more is a sign of abuse
)
"""The renderer's limits, the same kind as the PDF intake's (`signatures.sandbox`)."""
WIDTH = 480
"""Pixels on the longer side: sharp enough on a tablet, small enough to list many."""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _limit_child() -> None:  # pragma: no cover - runs in the child between fork and exec
    apply_limits(LIMITS)


def render_first_page(pdf: bytes, *, work_dir: Path) -> bytes | None:
    """PNG of the first page, or None when poppler fails, times out or exceeds its limits."""
    binary = shutil.which(PDFTOPPM)
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        source = Path(scratch) / "document.pdf"
        source.write_bytes(pdf)
        target = Path(scratch) / "apercu"
        command = [binary, "-png", "-f", "1", "-l", "1", "-singlefile", "-q"]
        command += ["-scale-to", str(WIDTH), str(source), str(target)]
        try:
            subprocess.run(
                command,
                check=True,
                timeout=LIMITS.wall_seconds,
                capture_output=True,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                preexec_fn=_limit_child,  # the child only sets rlimits
                cwd=scratch,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        output = target.with_suffix(".png")
        if not output.is_file():
            return None
        image = output.read_bytes()
        return image if image.startswith(PNG_MAGIC) else None


class PreviewCache:
    """Preview files by document digest; each document is rendered at most once."""

    def __init__(
        self,
        directory: Path,
        renderer: Callable[..., bytes | None] = render_first_page,
    ) -> None:
        self.directory = directory
        self.renderer = renderer

    def _paths(self, sha256: str) -> tuple[Path, Path]:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("digest SHA-256 attendu")
        return self.directory / f"{sha256}-p1.png", self.directory / f"{sha256}-p1.echec"

    def cached(self, sha256: str) -> Path | None:
        image, _failed = self._paths(sha256)
        return image if image.is_file() else None

    def ensure(self, sha256: str, content: Callable[[], bytes]) -> Path | None:
        """The preview image, rendered now if it never was; None when it cannot be rendered."""
        image, failed = self._paths(sha256)
        if image.is_file():
            return image
        if failed.is_file():
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        rendered = self.renderer(content(), work_dir=self.directory)
        _write_atomically(image if rendered else failed, rendered or b"")
        return image if rendered else None

    def available(self, documents: Iterable[Document], unit: UnitOfWork) -> dict[uuid.UUID, bool]:
        """Document id -> whether a preview can be shown (renders the missing ones)."""
        return {
            d.id: self.ensure(d.sha256, partial(document_queries.document_content, unit, d))
            is not None
            for d in documents
        }


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def preview_cache(p: PlatformDep) -> PreviewCache:
    return PreviewCache(p.settings.data_dir / "apercus")


PreviewsDep = Annotated[PreviewCache, Depends(preview_cache)]

router = APIRouter(include_in_schema=False)
Reader = Annotated[TenantAccess, Depends(page_access(*CASE_READERS))]


@router.get("/c/{tenant}/documents/{document_id}/apercu.png")
def preview(
    document_id: uuid.UUID, access: Reader, unit: UowDep, previews: PreviewsDep
) -> Response:
    """The first page as PNG; 404 when the preview cannot be rendered (the page says so)."""
    document = document_queries.find_document(unit, access.tenant.siren, document_id)
    image = previews.ensure(
        document.sha256, lambda: document_queries.document_content(unit, document)
    )
    if image is None:
        return Response("Aperçu indisponible.", status_code=404, media_type="text/plain")
    return FileResponse(
        image, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"}
    )


@router.get("/c/{tenant}/documents/{document_id}/pdf")
def view_pdf(document_id: uuid.UUID, access: Reader, unit: UowDep) -> Response:
    """The PDF shown by the browser's viewer, sandboxed: no script, no form, no same origin."""
    document = document_queries.find_document(unit, access.tenant.siren, document_id)
    return pdf_response(
        document_queries.document_content(unit, document),
        document.name,
        inline=True,
        headers={"Cache-Control": "private, no-store"},
    )
