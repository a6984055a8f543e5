"""As@lae's SEDA message exchange (``/restservices/sedaMessages``), as Libriciel's SAE offers it.

A message is posted as a multipart form: ``seda_message`` (the XML) and, for a transfer,
``attachments`` (a zip of the objects at their ``Uri``). Replies are fetched by sequence,
message kind, sending organisation and the identifier of the message they answer:
``/restservices/sedaMessages/sequence:ArchiveTransfer/message:ArchiveTransferReply/
originOrganizationIdentification:<tenant>/originMessageIdentifier:<id>`` (``404`` until it
exists). Authentication is HTTP Basic with the tenant's web service account.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from connectors.sae.model import (
    EliminationRequest,
    Outcome,
    Pending,
    SaeConfig,
    Submitted,
    TransferPackage,
)
from connectors.sae.replies import (
    build_elimination_request,
    parse_acknowledgement,
    parse_elimination_reply,
    parse_transfer_reply,
)
from connectors.sae.sip import objects_zip
from connectors.sae.transport import BoundedReply, SaeHttp, refused

__all__ = ["AsalaeClient", "reply_path"]

MESSAGES = "/restservices/sedaMessages"


def reply_path(sequence: str, message: str, sender: str, message_identifier: str) -> str:
    """Where the reply ``message`` to ``message_identifier`` sent by ``sender`` is read."""
    return (
        f"{MESSAGES}/sequence:{quote(sequence, safe='')}/message:{quote(message, safe='')}"
        f"/originOrganizationIdentification:{quote(sender, safe='')}"
        f"/originMessageIdentifier:{quote(message_identifier, safe='')}"
    )


def _plain(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace").strip() or "sans motif"


class AsalaeClient:
    """The ``SaeClient`` of an As@lae SAE."""

    def __init__(self, config: SaeConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = SaeHttp(config, transport=transport)
        self._limit = config.max_reply_bytes

    def close(self) -> None:
        self._http.close()

    def _post(self, files: dict[str, tuple[str, bytes, str]], what: str) -> None:
        reply = self._http.call("POST", MESSAGES, what=what, files=files)
        if reply.status not in {200, 201, 202}:
            raise refused(reply, what, _plain)

    def _get(self, path: str, what: str) -> BoundedReply | None:
        reply = self._http.call("GET", path, what=what, headers={"Accept": "application/xml"})
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise refused(reply, what, _plain)
        return reply

    def submit_transfer(self, package: TransferPackage) -> Submitted:
        files = {
            "seda_message": ("bordereau.xml", package.manifest, "application/xml"),
            "attachments": ("pieces.zip", objects_zip(package.objects), "application/zip"),
        }
        self._post(files, "le versement du paquet")
        return Submitted(
            package.message_identifier, package.message_identifier, package.transferring_agency
        )

    def transfer_outcome(self, submitted: Submitted) -> Outcome:
        what = "la consultation du versement"
        args = (submitted.sender, submitted.message_identifier)
        found = self._get(reply_path("ArchiveTransfer", "ArchiveTransferReply", *args), what)
        if found is not None:
            return parse_transfer_reply(
                found.body, message_identifier=submitted.message_identifier, limit=self._limit
            )
        ack = self._get(reply_path("ArchiveTransfer", "Acknowledgement", *args), what)
        if ack is not None:
            return parse_acknowledgement(
                ack.body, message_identifier=submitted.message_identifier, limit=self._limit
            )
        return Pending("transmis, en attente de l'accusé de réception")

    def request_elimination(self, request: EliminationRequest) -> Submitted:
        message = build_elimination_request(request)
        files = {"seda_message": ("demande-elimination.xml", message, "application/xml")}
        self._post(files, "la demande d'élimination")
        return Submitted(request.message_identifier, request.message_identifier, request.requester)

    def elimination_outcome(self, submitted: Submitted) -> Outcome:
        what = "la consultation de l'élimination"
        args = (submitted.sender, submitted.message_identifier)
        for message in (
            "ArchiveDestructionNotification",
            "AuthorizationOriginatingAgencyRequestReply",
        ):
            found = self._get(reply_path("ArchiveDestruction", message, *args), what)
            if found is not None:
                return parse_elimination_reply(
                    found.body, message_identifier=submitted.message_identifier, limit=self._limit
                )
        return Pending("demande transmise, en attente de la réponse du SAE")
