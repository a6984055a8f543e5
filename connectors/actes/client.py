"""Client of an S²LOW-style tiers de télétransmission: submit, poll, cancel, prefecture exchanges.

Exactly once: every submission carries the caller's idempotency key; the tiers stores it
with the transmission and answers a resubmission with the existing transaction. So the
client may retry a submission whose answer was lost (timeout, 5xx) without sending twice.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.actes.acknowledgement import Acknowledgement, ExchangeKind, parse_acknowledgement
from connectors.actes.envelope import ActesArchive
from connectors.actes.status import TransactionStatus
from connectors.errors import (
    ConnectorError,
    DuplicateActError,
    IdempotencyConflictError,
    PermanentError,
    RetryableError,
    is_tls_refusal,
)
from connectors.retry import RetryPolicy, next_delay

__all__ = [
    "ClientTls",
    "PrefectureExchange",
    "Submission",
    "TdtClient",
    "TdtConfig",
    "TransmissionState",
]

SUBMIT_PATH = "/modules/actes/actes_transac_submit.php"
STATUS_PATH = "/modules/actes/actes_transac_get_status.php"
CANCEL_PATH = "/modules/actes/actes_transac_cancel.php"
DOCUMENTS_PATH = "/modules/actes/api/list_document_prefecture.php"
DOCUMENT_PATH = "/modules/actes/actes_transac_get_document.php"
ERROR_HEADER = "X-Tdt-Error"
REPLAY_HEADER = "Idempotent-Replayed"
IN_CALL_RETRY = RetryPolicy(base_seconds=0.5, max_seconds=5.0, max_attempts=3)
CALL_AGAIN = "Rien n'est perdu : l'opération sera relancée automatiquement."


@dataclass(frozen=True)
class ClientTls:
    """Mutual TLS material of the collectivité (or the operator) toward the tiers."""

    certfile: Path
    """Client certificate chain (PEM), e.g. the RGS certificate the tiers knows."""
    keyfile: Path
    """Its private key (PEM)."""
    ca_bundle: Path
    """CA certificates (PEM) trusted for the tiers' server certificate."""


@dataclass(frozen=True)
class TdtConfig:
    """Where and how to reach the tiers de télétransmission."""

    base_url: str
    """Root URL, e.g. ``https://s2low.example.fr``."""
    tls: ClientTls | None = None
    """Client certificate and server trust; None only for a plain-HTTP local simulator."""
    timeout_seconds: float = 30.0
    """Connect and read timeout of one HTTP request."""
    retry: RetryPolicy = field(default_factory=lambda: IN_CALL_RETRY)
    """Retries inside one call; past them a RetryableError goes back to the caller's job."""


@dataclass(frozen=True)
class Submission:
    """The tiers' answer to a submission."""

    transaction_id: str
    """The tiers' transaction id: keep it with the case to poll the status."""
    replayed: bool
    """True when the tiers already had this idempotency key (nothing was sent twice)."""
    archive_sha256: str
    """Fingerprint of the archive submitted, for the journal."""


@dataclass(frozen=True)
class TransmissionState:
    """Where a transmission stands at the tiers."""

    transaction_id: str
    """The tiers' transaction id."""
    status: TransactionStatus
    """The tiers' status code."""
    acknowledgement: Acknowledgement | None
    """The prefecture's AR once received."""
    message: str
    """The tiers' or prefecture's message (reason of a refusal or an error), in French."""

    @property
    def acknowledged(self) -> bool:
        return self.acknowledgement is not None

    @property
    def rejected(self) -> bool:
        return self.status in {TransactionStatus.REFUSE, TransactionStatus.ERREUR}


@dataclass(frozen=True)
class PrefectureExchange:
    """A message the prefecture sent about a transmitted act."""

    id: str
    """The tiers' id of the document (to fetch it)."""
    transaction_id: str
    """The transmission it concerns."""
    kind: ExchangeKind
    """Courrier simple, demande de pièces, lettre d'observations or déféré."""
    sent_on: dt.date
    """Date of the prefecture's letter."""
    document_name: str
    """File name of the message."""


class TdtClient:
    """Synchronous client; one per tiers and certificate, closed after use."""

    def __init__(
        self,
        config: TdtConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._sleep = sleep
        verify: ssl.SSLContext | bool = True
        if config.tls is not None:
            verify = ssl.create_default_context(cafile=str(config.tls.ca_bundle))
            verify.load_cert_chain(str(config.tls.certfile), str(config.tls.keyfile))
        self._http = httpx.Client(
            base_url=config.base_url,
            verify=verify,
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,
            transport=transport,
        )

    def __enter__(self) -> TdtClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def submit(self, archive: ActesArchive, *, idempotency_key: str) -> Submission:
        """Send an archive once; a resubmission with the same key returns the same transaction."""
        if not idempotency_key:
            raise ValueError("idempotency_key est obligatoire")

        def call() -> httpx.Response:
            return self._http.post(
                SUBMIT_PATH,
                headers={"Idempotency-Key": idempotency_key},
                data={"api": "1"},
                files={"enveloppe": (archive.filename, archive.content, "application/x-gzip")},
            )

        response = self._with_retries(call, what="l'envoi de l'acte")
        lines = _ok_lines(response, what="l'envoi de l'acte")
        transaction_id = lines[0].strip() if lines else ""
        if not transaction_id.isdigit():
            raise _malformed("l'envoi de l'acte")
        return Submission(
            transaction_id=transaction_id,
            replayed=response.headers.get(REPLAY_HEADER) == "true",
            archive_sha256=archive.sha256,
        )

    def status(self, transaction_id: str) -> TransmissionState:
        """The current status, with the AR parsed once it has arrived."""
        response = self._with_retries(
            lambda: self._http.get(STATUS_PATH, params={"transaction": transaction_id}),
            what="la consultation de l'état",
        )
        body = response.content
        if not body.startswith(b"OK\n"):
            _ok_lines(response, what="la consultation de l'état")  # raises the right error
        head, _, flux = body[3:].partition(b"\n")
        try:
            status = TransactionStatus(int(head.strip()))
        except ValueError as exc:
            raise _malformed("la consultation de l'état") from exc
        if status == TransactionStatus.ACQUITTEMENT_RECU:
            ack = parse_acknowledgement(flux)
            return TransmissionState(transaction_id, status, ack, "")
        message = flux.decode("iso-8859-1").strip()
        return TransmissionState(transaction_id, status, None, message)

    def cancel(self, transaction_id: str) -> None:
        """Ask the prefecture to cancel an acknowledged act (annulation); repeating is harmless."""
        response = self._with_retries(
            lambda: self._http.post(CANCEL_PATH, data={"id": transaction_id, "api": "1"}),
            what="l'annulation",
        )
        _ok_lines(response, what="l'annulation")

    def exchanges(self, transaction_id: str | None = None) -> list[PrefectureExchange]:
        """Messages sent by the prefecture (2A to 5A), for one transmission or all."""
        params = {} if transaction_id is None else {"transaction": transaction_id}
        response = self._with_retries(
            lambda: self._http.get(DOCUMENTS_PATH, params=params),
            what="la liste des courriers de la préfecture",
        )
        try:
            return [_exchange(item) for item in json.loads(response.content)]
        except (ValueError, KeyError, TypeError) as exc:
            raise _malformed("la liste des courriers de la préfecture") from exc

    def fetch_exchange(self, exchange_id: str) -> bytes:
        """The XML message of one prefecture exchange."""
        response = self._with_retries(
            lambda: self._http.get(DOCUMENT_PATH, params={"id": exchange_id}),
            what="la récupération d'un courrier de la préfecture",
        )
        if response.content.startswith(b"KO\n"):
            _ok_lines(response, what="la récupération d'un courrier de la préfecture")
        return response.content

    def _with_retries(self, call: Callable[[], httpx.Response], *, what: str) -> httpx.Response:
        attempt = 1
        while True:
            try:
                return _checked(_translated(call, what=what), what=what)
            except RetryableError:
                delay = next_delay(self._config.retry, attempt)
                if delay is None:
                    raise
                self._sleep(delay)
                attempt += 1


def _translated(call: Callable[[], httpx.Response], *, what: str) -> httpx.Response:
    try:
        return call()
    except httpx.TimeoutException as exc:
        raise RetryableError(
            f"Le tiers de télétransmission n'a pas répondu à temps pendant {what}.",
            action=CALL_AGAIN,
            code="tdt_timeout",
        ) from exc
    except httpx.TransportError as exc:
        if is_tls_refusal(exc):
            raise PermanentError(
                f"La connexion sécurisée au tiers de télétransmission a été refusée pendant "
                f"{what} : {_root_cause(exc)}.",
                action="Vérifier le certificat client de la collectivité (validité, autorité) "
                "et l'adresse du tiers dans la configuration.",
                code="tdt_tls_refused",
            ) from exc
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            # A server that refuses a client certificate under TLS 1.3 may just hang up.
            raise RetryableError(
                f"Le tiers de télétransmission a coupé la connexion pendant {what}.",
                action=CALL_AGAIN + " Si cela se répète, vérifier que le certificat client de "
                "la collectivité est valide et reconnu par le tiers.",
                code="tdt_disconnected",
            ) from exc
        raise RetryableError(
            f"Le tiers de télétransmission est injoignable pendant {what} ({_root_cause(exc)}).",
            action=CALL_AGAIN,
            code="tdt_unreachable",
        ) from exc


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__


def _checked(response: httpx.Response, *, what: str) -> httpx.Response:
    code = response.status_code
    if code >= 500 or code in {408, 425, 429}:
        raise RetryableError(
            f"Le tiers de télétransmission est en difficulté (HTTP {code}) pendant {what}.",
            action=CALL_AGAIN,
            code="tdt_unavailable",
        )
    if code >= 400:
        raise PermanentError(
            f"Le tiers de télétransmission a refusé la requête (HTTP {code}) pendant {what}.",
            action="Vérifier l'adresse du tiers et les droits du certificat dans la configuration.",
            code="tdt_http_refused",
        )
    if not response.content.startswith((b"OK\n", b"KO\n", b"[", b"<?xml")):
        raise _malformed(what)
    return response


def _ok_lines(response: httpx.Response, *, what: str) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    if text.startswith("OK\n"):
        return text[3:].splitlines()
    if not text.startswith("KO\n"):
        raise _malformed(what)
    reason = text[3:].strip() or "sans motif"
    errors: Mapping[str, type[ConnectorError]] = {
        "duplicate_number": DuplicateActError,
        "idempotency_conflict": IdempotencyConflictError,
    }
    kind = response.headers.get(ERROR_HEADER, "rejected")
    actions = {
        "duplicate_number": "Un acte de même numéro a déjà été transmis cette année : vérifier "
        "qu'il ne s'agit pas du même acte, sinon changer le numéro (suffixe).",
        "idempotency_conflict": "Ne pas relancer : signaler l'anomalie à l'administrateur.",
    }
    raise errors.get(kind, PermanentError)(
        f"Le tiers de télétransmission a refusé {what} : {reason}",
        action=actions.get(kind, "Corriger l'acte signalé puis relancer la transmission."),
        code=f"tdt_{kind}",
    )


def _malformed(what: str) -> RetryableError:
    return RetryableError(
        f"Réponse illisible du tiers de télétransmission pendant {what}.",
        action=CALL_AGAIN + " Si cela persiste, contacter le support du tiers.",
        code="tdt_malformed_response",
    )


def _exchange(item: Any) -> PrefectureExchange:
    return PrefectureExchange(
        id=str(item["id"]),
        transaction_id=str(item["transaction_id"]),
        kind=ExchangeKind(item["kind"]),
        sent_on=dt.date.fromisoformat(item["sent_on"]),
        document_name=str(item["document_name"]),
    )
