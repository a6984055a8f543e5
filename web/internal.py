"""Operational routes (metrics, readiness details, the API description) are for the platform
operator and the internal networks only; orchestrators get a detail-free readiness."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from engine.bootstrap import Platform
from web.auth import client_address, operator_of

__all__ = ["internal_only", "is_internal"]


def is_internal(request: Request) -> bool:
    """The client is on a configured internal network, or the operator is logged in."""
    platform: Platform = request.app.state.platform
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        address = None
    networks = platform.settings.internal_networks
    if address is not None and any(
        address in ipaddress.ip_network(network, strict=False) for network in networks
    ):
        return True
    return operator_of(request, platform)


def internal_only(internal: Annotated[bool, Depends(is_internal)]) -> None:
    """404 for anyone else: the route does not exist for them."""
    if not internal:
        raise HTTPException(404, "Not Found")
