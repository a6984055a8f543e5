"""An electronic archiving system (SAE) for tests, demos and benchmarks: Vitam and As@lae at once.

It speaks Vitam's ``ingest-external``/``access-external`` paths and As@lae's
``restservices/sedaMessages`` exchange, checks every ``ArchiveTransfer`` against the official
SEDA 2.3 XSDs and the digests of its objects, and answers with a real ``ArchiveTransferReply``
(accepted: a system id per archive unit; rejected: the reasons). Elimination requests are
answered the same way. ``/admin`` endpoints (JSON) set the decision (accept or reject),
a delay before replies, and counted faults (``error500``, ``timeout``, ``oversized``,
``hostile``) that tests arm. State lives in memory: a restart forgets it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from devstack.simulators import sae_messages as seda

__all__ = ["SaeSimulator", "create_app"]

MAX_UPLOAD = 256 * 1024 * 1024
MAX_MESSAGE = 20 * 1024 * 1024
FAULT_KINDS = frozenset({"error500", "timeout", "oversized", "hostile"})
"""``error500``/``timeout`` strike a request (endpoint ``submit``); ``oversized``/``hostile``
replace the next reply (endpoint ``reply``)."""
FAULT_SLEEP_SECONDS = 5.0
HOSTILE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b'<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.3">&c;'
    b"</ArchiveTransferReply>"
)


@dataclass
class Exchange:
    """One message received and the replies it will get."""

    kind: str
    """``transfer`` or ``elimination``."""
    protocol: str
    message_identifier: str
    sender: str
    received_at: float
    accepted: bool
    reply: bytes
    """ATR, destruction notification or refusal."""
    acknowledgement: bytes = b""
    units: dict[str, str] = field(default_factory=dict)
    """Transfer: manifest unit id -> system id."""
    reasons: tuple[str, ...] = ()


@dataclass
class SaeSimulator:
    """The simulator's state and settings (one per process)."""

    reply_delay: float = 0.0
    decision: str = "accept"
    reject_reason: str = "Versement refusé par le service d'archives (refus simulé)."
    username: str = ""
    password: str = ""
    exchanges: dict[str, Exchange] = field(default_factory=dict)
    """By reference: Vitam operation id, or ``sender/message id`` for As@lae."""
    held_units: set[str] = field(default_factory=set)
    faults: dict[str, list[str]] = field(default_factory=dict)

    def take_fault(self, endpoint: str) -> str | None:
        queue = self.faults.get(endpoint) or []
        return queue.pop(0) if queue else None

    def ready(self, exchange: Exchange) -> bool:
        return time.monotonic() - exchange.received_at >= self.reply_delay


def _new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def _receive_transfer(
    sim: SaeSimulator, manifest: bytes, objects: dict[str, bytes], protocol: str
) -> Exchange:
    checked = seda.check_transfer(manifest, objects)
    reasons = checked.problems
    if not reasons and sim.decision == "reject":
        reasons = (sim.reject_reason,)
    accepted = not reasons
    units = {unit: _new_id("aeaqaaaaa") for unit in checked.unit_ids} if accepted else {}
    code = (
        ("OK" if protocol == "vitam" else "000")
        if accepted
        else ("KO" if protocol == "vitam" else "300")
    )
    reply = seda.transfer_reply(
        checked, reply_id=_new_id("ATR-"), code=code, system_ids=units, reasons=reasons
    )
    sim.held_units.update(units.values())
    ack = seda.acknowledgement(
        checked.message_identifier, checked.sender, checked.archival_agency, _new_id("ACK-")
    )
    return Exchange(
        "transfer", protocol, checked.message_identifier, checked.sender, time.monotonic(),
        accepted, reply, ack, units, reasons,
    )  # fmt: skip


def _receive_elimination(
    sim: SaeSimulator, asked: seda.EliminationAsked, protocol: str
) -> Exchange:
    reasons = asked.problems
    unknown = [u for u in asked.unit_ids if u not in sim.held_units]
    if not reasons and unknown:
        reasons = (f"Unités inconnues du SAE : {', '.join(unknown[:10])}",)
    if not reasons and sim.decision == "reject":
        reasons = (sim.reject_reason,)
    accepted = not reasons
    if accepted:
        sim.held_units.difference_update(asked.unit_ids)
        reply = seda.destruction_notification(asked, _new_id("ELIM-"))
    else:
        reply = seda.elimination_refusal(asked, _new_id("REFUS-"), reasons)
    return Exchange(
        "elimination", protocol, asked.message_identifier, asked.requester, time.monotonic(),
        accepted, reply, units={u: u for u in asked.unit_ids}, reasons=reasons,
    )  # fmt: skip


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reply_bytes(sim: SaeSimulator, exchange: Exchange) -> bytes:
    fault = sim.take_fault("reply")
    if fault == "oversized":
        return exchange.reply + b"<!--" + b"x" * (3 * 1024 * 1024) + b"-->"
    if fault == "hostile":
        return HOSTILE
    return exchange.reply


def create_app(sim: SaeSimulator) -> Starlette:
    """The simulator's ASGI app over ``sim``'s state."""

    async def fault(endpoint: str) -> Response | None:
        kind = sim.take_fault(endpoint)
        if kind == "timeout":
            await asyncio.sleep(FAULT_SLEEP_SECONDS)
            return PlainTextResponse("trop tard\n", 504)
        if kind == "error500":
            return PlainTextResponse("Erreur interne simulée\n", 500)
        return None

    def vitam_headers_missing(request: Request) -> Response | None:
        tenant = request.headers.get("x-tenant-id", "")
        if not tenant.isdigit():
            return JSONResponse({"httpCode": 412, "message": "X-Tenant-Id manquant"}, 412)
        return None

    async def vitam_ingest(request: Request) -> Response:
        if (early := vitam_headers_missing(request) or await fault("submit")) is not None:
            return early
        if not request.headers.get("x-context-id") or request.headers.get("x-action") not in {
            "RESUME",
            "NEXT",
        }:
            return JSONResponse({"httpCode": 412, "message": "X-Context-Id ou X-Action"}, 412)
        body = await _bounded_body(request, MAX_UPLOAD)
        if body is None:
            return JSONResponse({"httpCode": 413, "message": "SIP trop volumineux"}, 413)
        try:
            entries = seda.unzip(body)
        except ValueError as exc:
            return JSONResponse({"httpCode": 400, "message": str(exc)}, 400)
        manifest = entries.pop("manifest.xml", b"")
        exchange = _receive_transfer(sim, manifest, entries, "vitam")
        operation = _new_id("aeeaaaaaa")
        sim.exchanges[operation] = exchange
        return Response(status_code=202, headers={"X-Request-Id": operation})

    def vitam_operation(request: Request) -> Response:
        if (early := vitam_headers_missing(request)) is not None:
            return early
        exchange = sim.exchanges.get(request.path_params["op"])
        if exchange is None:
            return JSONResponse({"httpCode": 404}, 404)
        if not sim.ready(exchange):
            return Response(
                status_code=202,
                headers={
                    "X-Global-Execution-State": "RUNNING",
                    "X-Global-Execution-Status": "UNKNOWN",
                },
            )
        status = "OK" if exchange.accepted else "KO"
        results = [{"outcome": status, "outMessg": r, "units": []} for r in exchange.reasons]
        if exchange.kind == "elimination" and exchange.accepted:
            results = [
                {
                    "outcome": "OK",
                    "outMessg": "Élimination effectuée",
                    "units": list(exchange.units),
                }
            ]
        return JSONResponse(
            {"httpCode": 200, "$results": results},
            headers={"X-Global-Execution-State": "COMPLETED", "X-Global-Execution-Status": status},
        )

    async def vitam_atr(request: Request) -> Response:
        if (early := vitam_headers_missing(request)) is not None:
            return early
        exchange = sim.exchanges.get(request.path_params["op"])
        if exchange is None or exchange.kind != "transfer" or not sim.ready(exchange):
            return JSONResponse({"httpCode": 404}, 404)
        return Response(_reply_bytes(sim, exchange), media_type="application/xml")

    async def vitam_elimination(request: Request) -> Response:
        if (early := vitam_headers_missing(request) or await fault("submit")) is not None:
            return early
        body = await _bounded_body(request, MAX_MESSAGE)
        try:
            query = json.loads(body or b"")
            ids = [str(i) for i in query["dslRequest"]["$query"][0]["$in"]["#id"]]
        except (ValueError, KeyError, IndexError, TypeError):
            return JSONResponse({"httpCode": 400, "message": "requête DSL invalide"}, 400)
        asked = seda.EliminationAsked(
            request.headers.get("x-request-id", ""), "", "", tuple(ids), ()
        )
        operation = _new_id("aeeaaaaaa")
        sim.exchanges[operation] = _receive_elimination(sim, asked, "vitam")
        return Response(status_code=202, headers={"X-Request-Id": operation})

    def authorised(request: Request) -> bool:
        if not sim.username:
            return True
        expected = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
        return secrets.compare_digest(request.headers.get("authorization", ""), f"Basic {expected}")

    async def asalae_post(request: Request) -> Response:
        if not authorised(request):
            return PlainTextResponse("Authentification requise\n", 401)
        if (early := await fault("submit")) is not None:
            return early
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_UPLOAD:
            return PlainTextResponse("Message trop volumineux\n", 413)
        form = await request.form(max_files=2, max_fields=5, max_part_size=MAX_UPLOAD)
        message = form.get("seda_message")
        attachments = form.get("attachments")
        if message is None or isinstance(message, str):
            return PlainTextResponse("seda_message manquant\n", 400)
        xml = await message.read()
        zipped = (
            b"" if attachments is None or isinstance(attachments, str) else await attachments.read()
        )
        await form.close()
        if b"AuthorizationOriginatingAgencyRequest" in xml[:2000]:
            asked = seda.read_elimination_request(xml)
            exchange = _receive_elimination(sim, asked, "asalae")
            sim.exchanges[f"ArchiveDestruction/{asked.requester}/{asked.message_identifier}"] = (
                exchange
            )
            return JSONResponse({"message": "reçu"}, 201)
        try:
            objects = seda.unzip(zipped) if zipped else {}
        except ValueError as exc:
            return PlainTextResponse(f"{exc}\n", 400)
        exchange = _receive_transfer(sim, xml, objects, "asalae")
        sim.exchanges[f"ArchiveTransfer/{exchange.sender}/{exchange.message_identifier}"] = exchange
        return JSONResponse({"message": "reçu"}, 201)

    async def asalae_get(request: Request) -> Response:
        if not authorised(request):
            return PlainTextResponse("Authentification requise\n", 401)
        parts = dict(p.split(":", 1) for p in request.path_params["rest"].split("/") if ":" in p)
        key = "/".join(
            (parts.get("sequence", ""), parts.get("originOrganizationIdentification", ""),
             parts.get("originMessageIdentifier", ""))
        )  # fmt: skip
        exchange = sim.exchanges.get(key)
        message = parts.get("message", "")
        if exchange is None:
            return PlainTextResponse("Message introuvable\n", 404)
        if message == "Acknowledgement" and exchange.acknowledgement:
            return Response(exchange.acknowledgement, media_type="application/xml")
        if not sim.ready(exchange):
            return PlainTextResponse("Réponse pas encore disponible\n", 404)
        wanted = {
            "ArchiveTransferReply": exchange.kind == "transfer",
            "ArchiveDestructionNotification": exchange.kind == "elimination" and exchange.accepted,
            "AuthorizationOriginatingAgencyRequestReply": exchange.kind == "elimination"
            and not exchange.accepted,
        }
        if not wanted.get(message):
            return PlainTextResponse("Message introuvable\n", 404)
        return Response(_reply_bytes(sim, exchange), media_type="application/xml")

    async def admin(request: Request) -> Response:
        return await _admin(sim, request)

    async def sink(request: Request) -> Response:
        """Read a body and answer 204: the floor a benchmark compares transfers with."""
        body = await _bounded_body(request, MAX_UPLOAD)
        return Response(status_code=204 if body is not None else 413)

    routes = [
        Route("/health", lambda _request: PlainTextResponse("OK\n")),
        Route("/ingest-external/v1/ingests", vitam_ingest, methods=["POST"]),
        Route("/ingest-external/v1/operations/{op}", vitam_operation, methods=["GET"]),
        Route("/ingest-external/v1/ingests/{op}/archivetransferreply", vitam_atr, methods=["GET"]),
        Route("/access-external/v1/elimination/action", vitam_elimination, methods=["POST"]),
        Route("/admin-external/v1/operations/{op}", vitam_operation, methods=["GET"]),
        Route("/restservices/sedaMessages", asalae_post, methods=["POST"]),
        Route("/restservices/sedaMessages/{rest:path}", asalae_get, methods=["GET"]),
        Route("/admin/sink", sink, methods=["POST"]),
        Route("/admin/{action:path}", admin, methods=["GET", "POST", "DELETE"]),
    ]
    return Starlette(routes=routes)


async def _admin(sim: SaeSimulator, request: Request) -> Response:
    action = request.path_params["action"].strip("/")
    body: dict[str, Any] = await request.json() if request.method == "POST" else {}
    if action == "exchanges":
        return JSONResponse(
            [
                {"reference": ref, "kind": e.kind, "protocol": e.protocol,
                 "message_identifier": e.message_identifier, "accepted": e.accepted,
                 "reasons": list(e.reasons), "units": e.units}
                for ref, e in sim.exchanges.items()
            ]
        )  # fmt: skip
    if action == "settings":
        if body.get("decision") in {"accept", "reject"}:
            sim.decision = body["decision"]
        if isinstance(body.get("reason"), str) and body["reason"].strip():
            sim.reject_reason = body["reason"].strip()[:500]
        if isinstance(body.get("reply_delay"), int | float):
            sim.reply_delay = float(body["reply_delay"])
        return JSONResponse(
            {"decision": sim.decision, "reason": sim.reject_reason, "reply_delay": sim.reply_delay}
        )
    if action == "faults":
        if request.method == "DELETE":
            sim.faults.clear()
            return JSONResponse({"cleared": True})
        if body.get("kind") not in FAULT_KINDS:
            return JSONResponse({"error": f"kind must be one of {sorted(FAULT_KINDS)}"}, 400)
        endpoint = str(body.get("endpoint", "submit"))
        sim.faults.setdefault(endpoint, []).extend([body["kind"]] * int(body.get("count", 1)))
        return JSONResponse({"armed": body})
    return JSONResponse({"error": "action inconnue"}, 404)
