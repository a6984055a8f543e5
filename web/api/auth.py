"""API authentication: exchange a password for a short-lived bearer token; who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from engine.services.queries import accounts as account_queries
from web.auth import TOKEN_TTL, Principal, api_principal, issue_token
from web.deps import UowDep

router = APIRouter(prefix="/api", tags=["authentification"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int = TOKEN_TTL


class MeOut(BaseModel):
    username: str
    display_name: str
    is_operator: bool
    tenants: list[str]


@router.post("/auth/token", response_model=TokenOut)
def token(request: Request, principal: Annotated[Principal, Depends(api_principal)]) -> TokenOut:
    """With HTTP Basic: a bearer token for the next hour (cheaper than a password per request)."""
    return TokenOut(access_token=issue_token(request, principal))


@router.get("/me", response_model=MeOut)
def me(unit: UowDep, principal: Annotated[Principal, Depends(api_principal)]) -> MeOut:
    return MeOut(
        username=principal.username,
        display_name=principal.display_name,
        is_operator=principal.is_operator,
        tenants=account_queries.tenants_of(unit, principal.user_id),
    )
