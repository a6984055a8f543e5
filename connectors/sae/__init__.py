"""Transfers to an electronic archiving system (SAE): Vitam or As@lae, behind one interface."""

from __future__ import annotations

import httpx

from connectors.sae.asalae import AsalaeClient
from connectors.sae.model import (
    Accepted,
    EliminationRequest,
    Outcome,
    Pending,
    Rejected,
    SaeClient,
    SaeConfig,
    SaeKind,
    SaeTls,
    Submitted,
    TransferPackage,
)
from connectors.sae.replies import build_elimination_request, parse_transfer_reply
from connectors.sae.vitam import VitamClient

__all__ = [
    "Accepted",
    "AsalaeClient",
    "EliminationRequest",
    "Outcome",
    "Pending",
    "Rejected",
    "SaeClient",
    "SaeConfig",
    "SaeKind",
    "SaeTls",
    "Submitted",
    "TransferPackage",
    "VitamClient",
    "build_elimination_request",
    "open_sae_client",
    "parse_transfer_reply",
]


def open_sae_client(
    config: SaeConfig, *, transport: httpx.BaseTransport | None = None
) -> SaeClient:
    """The client speaking ``config.kind``'s protocol; close it after use."""
    if config.kind == SaeKind.VITAM:
        return VitamClient(config, transport=transport)
    return AsalaeClient(config, transport=transport)
