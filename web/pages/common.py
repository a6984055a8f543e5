"""Helpers shared by the page routers: flash messages, redirections, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from web.auth import TenantAccess
from web.templating import render

PAGE_SIZES = (20, 50, 100)


def flash(request: Request, message: str) -> None:
    """A message shown once, on the next page (after a redirection)."""
    request.session["flash"] = message


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def tenant_page(
    request: Request,
    access: TenantAccess,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render a page of a tenant's space (navigation by role, flash message consumed)."""
    message = request.session.pop("flash", None)
    values = {"access": access, "tenant": access.tenant, "flash": message, **(context or {})}
    return render(request, template, values, status=status)


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int

    def links(self, request: Request, total: int) -> dict[str, str | None]:
        """URLs of the previous and next pages, keeping the other query parameters."""
        params = dict(request.query_params)

        def url(offset: int) -> str:
            return f"{request.url.path}?{urlencode({**params, 'decalage': offset})}"

        previous = url(max(0, self.offset - self.limit)) if self.offset > 0 else None
        following = url(self.offset + self.limit) if self.offset + self.limit < total else None
        return {"previous": previous, "next": following}


def paging(
    taille: Annotated[int, Query(ge=1, le=200)] = 20,
    decalage: Annotated[int, Query(ge=0)] = 0,
) -> Paging:
    return Paging(limit=taille, offset=decalage)


PagingDep = Annotated[Paging, Depends(paging)]


async def form_data(request: Request) -> FormData:
    """The submitted form (parsed once and cached by Starlette), for sync handlers."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]
