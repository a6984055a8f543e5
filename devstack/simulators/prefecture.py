"""A prefecture (@ctes) seen through an S²LOW-style tiers de télétransmission, for tests and demos.

It serves the S²LOW paths with their plain-text ``OK``/``KO`` answers, keeps its state in
SQLite in its data directory, and adds what tests need: an ``Idempotency-Key`` on submission,
and ``/admin`` endpoints to reject a transmission, send later exchanges or arm faults.
Its page (``/``) lets a tester or a trainer make it unavailable or reject every deposit until
they restore normal service (``prefecture_page``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import io
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.actes.acknowledgement import (
    ExchangeKind,
    build_acknowledgement_xml,
    build_exchange_xml,
)
from connectors.actes.reading import inspect_archive
from connectors.actes.status import TransactionStatus
from devstack.simulators.prefecture_page import outage_response, page, set_outage
from devstack.simulators.prefecture_store import SimulatorStore, StoredTransaction

__all__ = ["ERROR_HEADER", "REPLAY_HEADER", "create_app"]

ERROR_HEADER = "X-Tdt-Error"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_UPLOAD = 200 * 1024 * 1024
FAULT_KINDS = frozenset(
    {"timeout", "error500", "malformed", "timeout_after_commit", "error_after_commit", "other_ar"}
)
LATE_FAULTS = {"timeout_after_commit": ":after", "error_after_commit": ":after", "other_ar": ":ar"}
"""Faults that strike after the work is done, kept apart from those that strike first."""
FAULT_SLEEP_SECONDS = 5.0


def _ko(message: str, error: str, status_code: int = 200) -> PlainTextResponse:
    return PlainTextResponse(f"KO\n{message}\n", status_code, headers={ERROR_HEADER: error})


def _ok(*lines: str, headers: dict[str, str] | None = None) -> PlainTextResponse:
    return PlainTextResponse("OK\n" + "".join(f"{line}\n" for line in lines), headers=headers)


def create_app(data_dir: Path, *, ack_delay: float = 0.0) -> Starlette:
    """The simulator's ASGI app; ``ack_delay`` seconds pass before an AR is issued."""
    store = SimulatorStore(data_dir)

    async def fault(endpoint: str) -> Response | None:
        if (down := outage_response(store, deposit=endpoint == "submit")) is not None:
            return down
        kind = store.take_fault(endpoint)
        if kind == "timeout":
            await asyncio.sleep(FAULT_SLEEP_SECONDS)
            return PlainTextResponse("trop tard\n", 504)
        if kind == "error500":
            return PlainTextResponse("Erreur interne simulée\n", 500)
        if kind == "malformed":
            return PlainTextResponse("<html>Service en maintenance</html>", 200)
        return None

    async def submit(request: Request) -> Response:
        if (early := await fault("submit")) is not None:
            return early
        form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_UPLOAD)
        upload = form.get("enveloppe")
        key = request.headers.get("Idempotency-Key") or str(form.get("idempotency_key") or "")
        if upload is None or isinstance(upload, str):
            return _ko("Aucun fichier enveloppe n'a été posté.", "validation")
        data = await upload.read()
        await form.close()
        response = _submit(store, data, key or None)
        late = store.take_fault("submit:after")
        if late == "timeout_after_commit":
            await asyncio.sleep(FAULT_SLEEP_SECONDS)
        if late in {"timeout_after_commit", "error_after_commit"}:
            return PlainTextResponse("Erreur après enregistrement\n", 502)
        return response

    async def status(request: Request) -> Response:
        if (early := await fault("status")) is not None:
            return early
        found = _find(store, request.query_params.get("transaction", ""))
        if found is None:
            return _ko("Numéro de transaction invalide.", "not_found")
        found = _advance(store, found, ack_delay)
        flux = b""
        if found.status == TransactionStatus.ACQUITTEMENT_RECU and found.ar_xml:
            flux = found.ar_xml
            if store.take_fault("status:ar") == "other_ar":
                flux = _other_ar(found)
        elif found.status_message:
            flux = found.status_message.encode("iso-8859-1", "replace")
        return Response(b"OK\n%d\n" % found.status + flux, media_type="text/plain")

    async def cancel(request: Request) -> Response:
        if (early := await fault("cancel")) is not None:
            return early
        form = await request.form(max_files=0, max_fields=5)
        found = _find(store, str(form.get("id") or ""))
        if found is None:
            return _ko("Pas d'identifiant de transaction à annuler spécifié.", "not_found")
        found = _advance(store, found, ack_delay)
        if found.status == TransactionStatus.ANNULE:
            return _ok(str(found.id), headers={REPLAY_HEADER: "true"})
        if found.status != TransactionStatus.ACQUITTEMENT_RECU:
            return _ko(
                "Impossible d'annuler une transaction qui n'est pas en état « Acquittement reçu ».",
                "invalid_state",
            )
        store.set_status(found.id, TransactionStatus.ANNULE, "Annulée à la demande de l'émetteur")
        return _ok(str(found.id))

    async def list_documents(request: Request) -> Response:
        if (early := await fault("documents")) is not None:
            return early
        raw = request.query_params.get("transaction")
        transaction_id = int(raw) if raw and raw.isdigit() else None
        return JSONResponse(store.exchanges(transaction_id))

    async def get_document(request: Request) -> Response:
        if (down := outage_response(store, deposit=False)) is not None:
            return down
        raw = request.query_params.get("id", "")
        xml = store.exchange_xml(int(raw)) if raw.isdigit() else None
        if xml is None:
            return _ko("Document introuvable.", "not_found")
        return Response(xml, media_type="application/xml")

    async def admin(request: Request) -> Response:
        return await _admin(store, request)

    async def outage(request: Request) -> Response:
        return await set_outage(store, request)

    routes = [
        Route("/health", lambda _request: PlainTextResponse("OK\n")),
        Route("/", lambda _request: page(store), methods=["GET"]),
        Route("/pannes", outage, methods=["POST"]),
        Route("/modules/actes/actes_transac_submit.php", submit, methods=["POST"]),
        Route("/modules/actes/actes_transac_get_status.php", status, methods=["GET"]),
        Route("/modules/actes/actes_transac_cancel.php", cancel, methods=["POST"]),
        Route("/modules/actes/api/list_document_prefecture.php", list_documents, methods=["GET"]),
        Route("/modules/actes/actes_transac_get_document.php", get_document, methods=["GET"]),
        Route("/admin/{action:path}", admin, methods=["GET", "POST", "DELETE"]),
    ]
    return Starlette(routes=routes)


def _find(store: SimulatorStore, raw: str) -> StoredTransaction | None:
    return store.get(int(raw)) if raw.isdigit() else None


def _submit(store: SimulatorStore, data: bytes, key: str | None) -> Response:
    inspection = inspect_archive(data)
    if not inspection.ok:
        message = " ; ".join(f"{f.field} : {f.message}" for f in inspection.findings)
        return _ko(f"Archive refusée : {message}", "validation")
    act_id = inspection.act_unique_id
    if key is not None and (existing := store.by_key(key)) is not None:
        if existing.act_unique_id != act_id:
            return _ko(
                f"La clé d'idempotence a déjà servi pour l'acte {existing.act_unique_id}.",
                "idempotency_conflict",
            )
        return _ok(str(existing.id), headers={REPLAY_HEADER: "true"})
    assert inspection.decision_date is not None  # an acceptable archive has one
    year = inspection.decision_date.year
    if store.by_number(inspection.siren, inspection.number, year) is not None:
        return _ko(
            "Un acte portant le même numéro interne existe déjà dans la base de données.",
            "duplicate_number",
        )
    message_xml = _message_of(data)
    try:
        transaction_id = store.insert(
            idempotency_key=key,
            siren=inspection.siren,
            number=inspection.number,
            decision_year=year,
            act_unique_id=act_id,
            archive_sha256=hashlib.sha256(data).hexdigest(),
            message_xml=message_xml,
            status=int(TransactionStatus.TRANSMIS),
            submitted_at=dt.datetime.now(dt.UTC).isoformat(),
        )
    except sqlite3.IntegrityError:  # a concurrent twin won the race: answer like it did
        if key is not None and (twin := store.by_key(key)) is not None:
            return _ok(str(twin.id), headers={REPLAY_HEADER: "true"})
        return _ko("Un acte portant le même numéro existe déjà.", "duplicate_number")
    (store.data_dir / "archives").mkdir(exist_ok=True)
    (store.data_dir / "archives" / f"{transaction_id}.tar.gz").write_bytes(data)
    return _ok(str(transaction_id))


def _message_of(data: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
        for info in tar:
            if info.name.endswith("-1-1_0.xml") and (handle := tar.extractfile(info)):
                return handle.read()
    return b""


def _advance(
    store: SimulatorStore, found: StoredTransaction, ack_delay: float
) -> StoredTransaction:
    """Issue the AR once the delay is over (a real prefecture answers asynchronously)."""
    if found.status != TransactionStatus.TRANSMIS:
        return found
    if dt.datetime.now(dt.UTC) - found.submitted_at < dt.timedelta(seconds=ack_delay):
        return found
    ar_xml = build_acknowledgement_xml(
        act_unique_id=found.act_unique_id,
        received_on=dt.datetime.now(dt.UTC).date(),
        message_xml=found.message_xml,
    )
    store.set_status(found.id, TransactionStatus.ACQUITTEMENT_RECU, "", ar_xml)
    updated = store.get(found.id)
    assert updated is not None
    return updated


def _other_ar(found: StoredTransaction) -> bytes:
    return build_acknowledgement_xml(
        act_unique_id=found.act_unique_id,
        received_on=dt.date(2000, 1, 1),
        message_xml=found.message_xml,
    )


async def _admin(store: SimulatorStore, request: Request) -> Response:
    action = request.path_params["action"]
    body: dict[str, Any] = await request.json() if request.method == "POST" else {}
    parts = action.strip("/").split("/")
    if parts == ["transactions"]:
        return JSONResponse(
            [
                {
                    "id": t.id,
                    "act_unique_id": t.act_unique_id,
                    "status": t.status,
                    "idempotency_key": t.idempotency_key,
                    "archive_sha256": t.archive_sha256,
                }
                for t in store.all()
            ]
        )
    if parts == ["faults"]:
        if request.method == "DELETE":
            store.clear_faults()
            return JSONResponse({"cleared": True})
        if body.get("kind") not in FAULT_KINDS:
            return JSONResponse({"error": f"kind must be one of {sorted(FAULT_KINDS)}"}, 400)
        endpoint = str(body.get("endpoint", "submit")) + LATE_FAULTS.get(body["kind"], "")
        store.add_fault(endpoint, body["kind"], int(body.get("count", 1)))
        return JSONResponse({"armed": body})
    if len(parts) == 3 and parts[0] == "transactions" and parts[1].isdigit():
        found = store.get(int(parts[1]))
        if found is None:
            return JSONResponse({"error": "transaction inconnue"}, 404)
        if parts[2] == "reject":
            reason = str(body.get("reason") or "Acte refusé par la préfecture")
            store.set_status(found.id, TransactionStatus.REFUSE, reason)
            return JSONResponse({"id": found.id, "status": int(TransactionStatus.REFUSE)})
        if parts[2] == "exchanges":
            return _admin_exchange(store, found, body)
    return JSONResponse({"error": "action inconnue"}, 404)


def _admin_exchange(
    store: SimulatorStore, found: StoredTransaction, body: dict[str, Any]
) -> Response:
    try:
        kind = ExchangeKind(str(body.get("kind")))
    except ValueError:
        return JSONResponse({"error": "kind must be 2A, 3A, 4A or 5A"}, 400)
    sent_on = dt.datetime.now(dt.UTC).date()
    number = len(store.exchanges(found.id)) + 1
    name = f"{found.act_unique_id}-{kind.value[0]}-1_{number}.xml"
    xml = build_exchange_xml(
        kind,
        act_unique_id=found.act_unique_id,
        sent_on=sent_on,
        text=str(body.get("text") or kind.label),
        document_name=name,
    )
    exchange_id = store.add_exchange(found.id, kind.value, sent_on, name, xml)
    return JSONResponse({"id": exchange_id, "kind": kind.value, "document_name": name})
