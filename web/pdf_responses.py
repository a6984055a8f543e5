"""Every PDF the platform sends: sandboxed, never sniffed, downloaded unless shown in the viewer.

A stored PDF may come from anyone (a citizen, another administration): if a browser renders it
as a page of our origin, its scripts and forms would run with the user's session. Hence on
every PDF response `Content-Security-Policy: sandbox` (no script, no form, no same origin),
`X-Content-Type-Options: nosniff`, and `Content-Disposition: attachment` except for the
viewer route that shows it inline on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi.responses import Response

__all__ = ["PDF_SECURITY_HEADERS", "pdf_response"]

PDF_SECURITY_HEADERS = {
    "Content-Security-Policy": "sandbox",
    "X-Content-Type-Options": "nosniff",
}


def pdf_response(
    content: bytes, name: str, *, inline: bool = False, headers: Mapping[str, str] | None = None
) -> Response:
    """A PDF response with the security headers; an attachment unless ``inline``."""
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            **(headers or {}),
            **PDF_SECURITY_HEADERS,
        },
    )
