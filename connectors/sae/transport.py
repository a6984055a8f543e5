"""HTTP to an SAE: one client per SAE, bounded reads, library errors translated at the edge."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from connectors.errors import PermanentError, RetryableError, is_tls_refusal
from connectors.sae.model import SaeConfig

__all__ = ["BoundedReply", "SaeHttp"]

CALL_AGAIN = "Rien n'est perdu : l'opération sera relancée automatiquement."


class BoundedReply:
    """Status, headers and at most ``limit`` bytes of body of one answer."""

    def __init__(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class SaeHttp:
    """The httpx client of one SAE (TLS client certificate when configured)."""

    def __init__(self, config: SaeConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        verify: ssl.SSLContext | bool = True
        if config.tls is not None:
            verify = ssl.create_default_context(cafile=str(config.tls.ca_bundle))
            verify.load_cert_chain(str(config.tls.certfile), str(config.tls.keyfile))
        auth = (config.username, config.password) if config.username else None
        self._http = httpx.Client(
            base_url=config.base_url,
            verify=verify,
            auth=auth,
            timeout=httpx.Timeout(config.timeout_seconds),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, what: str, **kwargs: object) -> BoundedReply:
        """One request; 5xx, 408/429, timeouts and refused connections are retryable, other
        4xx are not (404 is returned: « not yet » for the polling calls)."""
        with _translated(what), self._http.stream(method, path, **kwargs) as response:  # type: ignore[arg-type]
            body = _read_bounded(response, self.config.max_reply_bytes, what)
        return _checked(BoundedReply(response.status_code, response.headers, body), what)


def _read_bounded(response: httpx.Response, limit: int, what: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(what, int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise _too_large(what, size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str, size: int, limit: int) -> PermanentError:
    return PermanentError(
        f"La réponse du SAE pendant {what} est trop volumineuse (plus de {limit} octets, "
        f"{size} reçus).",
        action="Signaler l'anomalie au service d'archives ; rien n'a été enregistré.",
        code="sae_reply_too_large",
    )


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RetryableError(
            f"Le SAE n'a pas répondu à temps pendant {what}.",
            action=CALL_AGAIN,
            code="sae_timeout",
        ) from exc
    except httpx.TransportError as exc:
        if is_tls_refusal(exc):
            raise PermanentError(
                f"La connexion sécurisée au SAE a été refusée pendant {what}.",
                action="Vérifier le certificat client et l'adresse du SAE dans les réglages.",
                code="sae_tls_refused",
            ) from exc
        raise RetryableError(
            f"Le SAE est injoignable pendant {what}.",
            action=CALL_AGAIN,
            code="sae_unreachable",
        ) from exc


def _checked(reply: BoundedReply, what: str) -> BoundedReply:
    code = reply.status
    if code >= 500 or code in {408, 425, 429}:
        raise RetryableError(
            f"Le SAE est en difficulté (HTTP {code}) pendant {what}.",
            action=CALL_AGAIN,
            code="sae_unavailable",
        )
    if code in {401, 403}:
        raise PermanentError(
            f"Le SAE a refusé l'accès (HTTP {code}) pendant {what}.",
            action="Vérifier le compte, le contexte ou le certificat dans les réglages du SAE.",
            code="sae_forbidden",
        )
    return reply


def refused(reply: BoundedReply, what: str, detail: Callable[[bytes], str]) -> PermanentError:
    """A 4xx the SAE gave for the message itself (invalid SIP, unknown contract)."""
    return PermanentError(
        f"Le SAE a refusé {what} (HTTP {reply.status}) : {detail(reply.body)}",
        action="Corriger le paquet ou la convention de versement, puis relancer.",
        code="sae_refused",
    )
