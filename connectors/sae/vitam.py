"""Vitam's external APIs: ``ingest-external`` for transfers, ``access-external`` for eliminations.

A transfer is one ``POST /ingest-external/v1/ingests`` of the SIP zip (``X-Context-Id`` names
the ingest workflow, ``X-Action: RESUME`` runs it through); Vitam answers ``202`` with the
operation id in ``X-Request-Id``. The operation's state is read from
``/ingest-external/v1/operations/{id}`` (``202`` while it runs), then its
``ArchiveTransferReply`` from ``/ingest-external/v1/ingests/{id}/archivetransferreply``.
An elimination is ``POST /access-external/v1/elimination/action`` with a DSL query on the
units' ids; its operation is followed on ``/admin-external/v1/operations/{id}``.
"""

from __future__ import annotations

import json

import httpx

from connectors.errors import PermanentError, RetryableError
from connectors.sae.model import (
    Accepted,
    EliminationRequest,
    Outcome,
    Pending,
    Rejected,
    SaeConfig,
    Submitted,
    TransferPackage,
)
from connectors.sae.replies import parse_transfer_reply
from connectors.sae.sip import sip_zip
from connectors.sae.transport import SaeHttp, refused

__all__ = ["VitamClient"]

INGESTS = "/ingest-external/v1/ingests"
INGEST_OPERATIONS = "/ingest-external/v1/operations"
ELIMINATION = "/access-external/v1/elimination/action"
ADMIN_OPERATIONS = "/admin-external/v1/operations"
RUNNING_STATES = {"RUNNING", "PAUSE", "PAUSED", ""}


def _plain(body: bytes) -> str:
    return body[:500].decode("utf-8", "replace").strip() or "sans motif"


class VitamClient:
    """The ``SaeClient`` of a Vitam ingest/access platform."""

    def __init__(self, config: SaeConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self._http = SaeHttp(config, transport=transport)
        self._config = config

    def close(self) -> None:
        self._http.close()

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = {"X-Tenant-Id": self._config.tenant, **extra}
        if self._config.application_id:
            headers["X-Application-Id"] = self._config.application_id
        return headers

    def _operation_id(self, reply_headers: httpx.Headers, what: str) -> str:
        request_id = str(reply_headers.get("X-Request-Id", "")).strip()
        if not request_id or len(request_id) > 200:
            raise RetryableError(
                f"Le SAE n'a pas donné d'identifiant d'opération pendant {what}.",
                action="L'envoi sera relancé.",
                code="sae_no_operation_id",
            )
        return request_id

    def submit_transfer(self, package: TransferPackage) -> Submitted:
        what = "le versement du paquet"
        reply = self._http.call(
            "POST",
            INGESTS,
            what=what,
            content=sip_zip(package.manifest, package.objects),
            headers=self._headers(
                **{
                    "X-Context-Id": self._config.context_id,
                    "X-Action": "RESUME",
                    "Content-Type": "application/octet-stream",
                    "Accept": "application/json",
                }
            ),
        )
        if reply.status != 202:
            raise refused(reply, what, _plain)
        return Submitted(
            self._operation_id(reply.headers, what),
            package.message_identifier,
            package.transferring_agency,
        )

    def _operation_state(self, path: str, what: str) -> tuple[str, str, bytes] | None:
        reply = self._http.call(
            "GET", path, what=what, headers=self._headers(Accept="application/json")
        )
        if reply.status == 404:
            raise PermanentError(
                f"Le SAE ne connaît pas l'opération ({what}).",
                action="Vérifier l'adresse et le tenant du SAE ; relancer le versement.",
                code="sae_unknown_operation",
            )
        state = reply.headers.get("X-Global-Execution-State", "").upper()
        status = reply.headers.get("X-Global-Execution-Status", "").upper()
        if reply.status == 202 or state in RUNNING_STATES:
            return None
        return state, status, reply.body

    def transfer_outcome(self, submitted: Submitted) -> Outcome:
        what = "la consultation du versement"
        done = self._operation_state(f"{INGEST_OPERATIONS}/{submitted.reference}", what)
        if done is None:
            return Pending("en cours de traitement par le SAE")
        reply = self._http.call(
            "GET",
            f"{INGESTS}/{submitted.reference}/archivetransferreply",
            what="la lecture de la réponse au versement",
            headers=self._headers(Accept="application/xml"),
        )
        if reply.status == 404:
            return Pending("traitement terminé, réponse en préparation")
        if reply.status != 200:
            raise refused(reply, "la lecture de la réponse au versement", _plain)
        return parse_transfer_reply(
            reply.body,
            message_identifier=submitted.message_identifier,
            limit=self._config.max_reply_bytes,
        )

    def request_elimination(self, request: EliminationRequest) -> Submitted:
        what = "la demande d'élimination"
        query = {
            "dslRequest": {"$query": [{"$in": {"#id": list(request.unit_ids)}}]},
            "date": request.requested_at.date().isoformat(),
        }
        reply = self._http.call(
            "POST",
            ELIMINATION,
            what=what,
            content=json.dumps(query).encode(),
            headers=self._headers(
                **{"Content-Type": "application/json", "X-Request-Id": request.message_identifier}
            ),
        )
        if reply.status != 202:
            raise refused(reply, what, _plain)
        return Submitted(
            self._operation_id(reply.headers, what), request.message_identifier, request.requester
        )

    def elimination_outcome(self, submitted: Submitted) -> Outcome:
        what = "la consultation de l'élimination"
        done = self._operation_state(f"{ADMIN_OPERATIONS}/{submitted.reference}", what)
        if done is None:
            return Pending("élimination en cours au SAE")
        _state, status, body = done
        details = _results(body)
        if status in {"OK", "WARNING"}:
            units = tuple(str(u) for r in details for u in _listed(r.get("units")) if u)
            return Accepted(units, status, submitted.reference)
        reasons = tuple(str(r.get("outMessg") or "")[:1000] for r in details if r.get("outMessg"))
        return Rejected(
            reasons or ("Refus sans motif détaillé.",), status or "KO", submitted.reference
        )


def _listed(value: object) -> list[object]:
    return list(value)[:10_000] if isinstance(value, list) else []


def _results(body: bytes) -> list[dict[str, object]]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return []
    results = parsed.get("$results", []) if isinstance(parsed, dict) else []
    return [r for r in results if isinstance(r, dict)][:100]
