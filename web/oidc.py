"""OpenID Connect relying party for agents (ProConnect): authorization code flow with PKCE.

The browser goes to the provider with `state`, `nonce` and a PKCE challenge kept in the session;
back here, the code is exchanged at the token endpoint, the ID token's signature is checked
against the provider's JWKS (RS256 or ES256, with joserfc) with its `iss`, `aud`, `exp`, `iat`
and `nonce`, and the userinfo is read (ProConnect signs it: `application/jwt`; plain JSON is
accepted too). Only the configured issuer's origin is ever contacted: every endpoint of its
discovery document must live there, and no URL found in a token is fetched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.services.oidc_accounts import AgentIdentity
from engine.settings import OidcSettings
from web.security import CSP

if TYPE_CHECKING:
    import httpx
    from joserfc import jwt
    from joserfc.jwk import KeySet

__all__ = [
    "CALLBACK_PATH",
    "LOGOUT_RETURN_PATH",
    "FormActionMiddleware",
    "OidcClient",
    "OidcError",
    "ProviderLogin",
    "Transaction",
]

log = logging.getLogger(__name__)

CALLBACK_PATH = "/connexion/proconnect/retour"
LOGOUT_RETURN_PATH = "/connexion/proconnect/deconnexion"
ALGORITHMS = ["RS256", "ES256"]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
"""Hosts where plain http is tolerated: development and the simulator."""
METADATA_TTL = 3600.0
"""Seconds the discovery document and the JWKS are kept before being fetched again."""
JWKS_MIN_REFRESH = 30.0
"""An unknown `kid` refetches the JWKS (key rotation), at most this often."""


class OidcError(Exception):
    """The login did not succeed; `message` is for the user (French), `reason` for the logs."""

    def __init__(self, message: str, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status = status
        """502 when the provider could not be reached or answered nonsense, else 400."""


@dataclass(frozen=True)
class Transaction:
    """One login in progress, kept in the session between the two legs of the flow."""

    state: str
    nonce: str
    code_verifier: str
    next_url: str

    def as_session(self) -> dict[str, str]:
        return {"s": self.state, "n": self.nonce, "v": self.code_verifier, "u": self.next_url}

    @classmethod
    def from_session(cls, data: object) -> Transaction | None:
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "snvu"):
            return None
        return cls(data["s"], data["n"], data["v"], data["u"])


@dataclass(frozen=True)
class ProviderLogin:
    """A successful authentication: who it is, and the ID token for the logout."""

    identity: AgentIdentity
    id_token: str


@dataclass(frozen=True)
class _Metadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str | None
    token_auth_methods: tuple[str, ...]


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), parts.port or default


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """The relying party of one provider; thread-safe, one per web process."""

    def __init__(self, settings: OidcSettings, *, transport: httpx.BaseTransport | None = None):
        """Checks the configuration at start: a mistake stops the app with its reason."""
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self.base_url = settings.redirect_base_url.rstrip("/")
        for name, url in (("issuer", self.issuer), ("redirect_base_url", self.base_url)):
            scheme, host, _ = _origin(url)
            if scheme != "https" and not (scheme == "http" and host in LOOPBACK):
                raise ValueError(
                    f"oidc.{name} « {url} » : une URL https est exigée "
                    "(http seulement sur 127.0.0.1 ou localhost, pour le développement)."
                )
        try:
            self._secret = settings.secret()
        except OSError as exc:
            raise ValueError(f"oidc.client_secret_file illisible : {exc}") from exc
        if not self._secret:
            raise ValueError("oidc.client_secret (ou client_secret_file) est obligatoire.")
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: tuple[float, _Metadata] | None = None
        self._keys: tuple[float, KeySet] | None = None

    @property
    def name(self) -> str:
        return self.settings.provider_name

    @property
    def redirect_uri(self) -> str:
        return self.base_url + CALLBACK_PATH

    @property
    def origin(self) -> str:
        scheme, host, port = _origin(self.issuer)
        return f"{scheme}://{host}" + (f":{port}" if port not in (80, 443) else "")

    # Messages ------------------------------------------------------------------------------

    def _down(self, reason: str) -> OidcError:
        return OidcError(
            f"{self.name} est momentanément indisponible : réessayez dans quelques minutes.",
            reason,
            status=502,
        )

    def _invalid(self, reason: str) -> OidcError:
        return OidcError(
            f"La réponse de {self.name} n'a pas pu être vérifiée : la connexion est refusée. "
            "Recommencez depuis la page de connexion.",
            reason,
        )

    # Provider documents --------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        import httpx

        return httpx.Client(
            timeout=self.settings.timeout_seconds,
            follow_redirects=False,
            transport=self._transport,
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        import httpx

        try:
            with self._http() as http:
                response = http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise self._down(f"GET {url}: {exc}") from exc
        if not isinstance(data, dict):
            raise self._down(f"GET {url}: not a JSON object")
        return data

    def _same_origin(self, url: object, name: str) -> str:
        if not isinstance(url, str) or _origin(url) != _origin(self.issuer):
            raise self._down(f"{name} {url!r} is not on the issuer's origin")
        return url

    def metadata(self) -> _Metadata:
        with self._lock:
            if self._metadata and time.monotonic() - self._metadata[0] < METADATA_TTL:
                return self._metadata[1]
        doc = self._get_json(self.issuer + "/.well-known/openid-configuration")
        if str(doc.get("issuer", "")).rstrip("/") != self.issuer:
            raise self._down(f"discovery issuer {doc.get('issuer')!r} != {self.issuer!r}")
        end_session = doc.get("end_session_endpoint")
        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        found = _Metadata(
            issuer=str(doc["issuer"]),
            authorization_endpoint=self._same_origin(
                doc.get("authorization_endpoint"), "authorization_endpoint"
            ),
            token_endpoint=self._same_origin(doc.get("token_endpoint"), "token_endpoint"),
            jwks_uri=self._same_origin(doc.get("jwks_uri"), "jwks_uri"),
            userinfo_endpoint=self._same_origin(doc.get("userinfo_endpoint"), "userinfo_endpoint"),
            end_session_endpoint=(
                self._same_origin(end_session, "end_session_endpoint") if end_session else None
            ),
            token_auth_methods=tuple(str(m) for m in methods),
        )
        with self._lock:
            self._metadata = (time.monotonic(), found)
        return found

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        with self._lock:
            cached = self._keys
        if cached is not None:
            age = time.monotonic() - cached[0]
            if age < (JWKS_MIN_REFRESH if refresh else METADATA_TTL):
                return cached[1]
        document = self._get_json(self.metadata().jwks_uri)
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise self._down(f"unusable JWKS: {exc}") from exc
        with self._lock:
            self._keys = (time.monotonic(), keys)
        return keys

    def _decode(self, token: str, what: str) -> jwt.Token:
        """Signature checked with the provider's keys; one JWKS refresh on an unknown key."""
        from joserfc import jwt
        from joserfc.errors import InvalidKeyIdError, JoseError

        try:
            try:
                return jwt.decode(token, self._key_set(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                return jwt.decode(token, self._key_set(refresh=True), algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise self._invalid(f"{what}: {type(exc).__name__} {exc}") from exc

    def _check_claims(self, claims: dict[str, Any], what: str, *, nonce: str | None = None) -> None:
        """`iss` and `aud` are ours, `sub` is there; `exp`, `iat` and `nonce` for an ID token."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        iss: jwt.ClaimsOption = {"essential": True, "value": self.metadata().issuer}
        aud: jwt.ClaimsOption = {"essential": True, "value": self.settings.client_id}
        leeway = self.settings.leeway_seconds
        if nonce is None:
            registry = jwt.JWTClaimsRegistry(
                leeway=leeway, iss=iss, aud=aud, sub={"essential": True}
            )
        else:
            registry = jwt.JWTClaimsRegistry(
                leeway=leeway,
                iss=iss,
                aud=aud,
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
                iat={"essential": True},
            )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise self._invalid(f"{what}: {type(exc).__name__} {exc}") from exc

    # The flow ------------------------------------------------------------------------------

    def begin(self, next_url: str) -> tuple[str, Transaction]:
        """The provider's authorization URL, and the transaction to keep in the session."""
        meta = self.metadata()
        transaction = Transaction(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
            next_url=next_url,
        )
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.settings.scopes),
            "state": transaction.state,
            "nonce": transaction.nonce,
            "code_challenge": _s256(transaction.code_verifier),
            "code_challenge_method": "S256",
        }
        if self.settings.acr_values:
            params["acr_values"] = self.settings.acr_values
        return f"{meta.authorization_endpoint}?{urlencode(params)}", transaction

    def finish(self, transaction: Transaction | None, params: Mapping[str, str]) -> ProviderLogin:
        """Check the provider's answer, exchange the code, verify the tokens, read the user."""
        if transaction is None or not hmac.compare_digest(
            transaction.state, params.get("state", "")
        ):
            raise OidcError(
                "La connexion a expiré ou ne vient pas de ce navigateur : recommencez.",
                "state mismatch or no transaction in the session",
            )
        if "error" in params:
            raise OidcError(
                f"La connexion a été refusée par {self.name}.",
                f"provider error {params.get('error')!r}: {params.get('error_description', '')}",
            )
        code = params.get("code", "")
        if not code:
            raise self._invalid("no code in the callback")
        tokens = self._exchange(code, transaction)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise self._invalid("token response without id_token or access_token")
        claims = self._decode(id_token, "id_token").claims
        self._check_claims(claims, "id_token", nonce=transaction.nonce)
        self._check_claims_sub(claims, "id_token")
        userinfo = self._userinfo(access_token)
        if userinfo.get("sub") != claims["sub"]:
            raise self._invalid("userinfo sub differs from the id_token's")
        return ProviderLogin(_identity(self.metadata().issuer, claims, userinfo), id_token)

    def _check_claims_sub(self, claims: dict[str, Any], what: str) -> None:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise self._invalid(f"{what}: bad sub")
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.settings.client_id:
            raise self._invalid(f"{what}: several audiences and azp is not ours")

    def _exchange(self, code: str, transaction: Transaction) -> dict[str, Any]:
        import httpx
        from httpx import USE_CLIENT_DEFAULT as USE_DEFAULT

        meta = self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": transaction.code_verifier,
        }
        auth: httpx.Auth | None = None
        if "client_secret_post" in meta.token_auth_methods:
            form |= {"client_id": self.settings.client_id, "client_secret": self._secret}
        else:
            auth = httpx.BasicAuth(self.settings.client_id, self._secret)
        try:
            with self._http() as http:
                response = http.post(meta.token_endpoint, data=form, auth=auth or USE_DEFAULT)
        except httpx.HTTPError as exc:
            raise self._down(f"token endpoint: {exc}") from exc
        if response.status_code >= 500:
            raise self._down(f"token endpoint answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise self._invalid(f"token endpoint: not JSON ({response.status_code})") from exc
        if response.status_code != 200 or not isinstance(data, dict):
            raise OidcError(
                f"La connexion a été refusée par {self.name}.",
                f"token endpoint answered {response.status_code}: {data!r}",
            )
        return data

    def _userinfo(self, access_token: str) -> dict[str, Any]:
        import httpx

        meta = self.metadata()
        try:
            with self._http() as http:
                response = http.get(
                    meta.userinfo_endpoint, headers={"Authorization": f"Bearer {access_token}"}
                )
        except httpx.HTTPError as exc:
            raise self._down(f"userinfo: {exc}") from exc
        if response.status_code != 200:
            raise self._down(f"userinfo answered {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type == "application/jwt":
            claims = self._decode(response.text.strip(), "userinfo").claims
            # A signed userinfo names its issuer and audience: they must be ours as well.
            self._check_claims(claims, "userinfo")
            return claims
        try:
            data = response.json()
        except ValueError as exc:
            raise self._invalid(f"userinfo: neither JWT nor JSON ({media_type})") from exc
        if not isinstance(data, dict):
            raise self._invalid("userinfo: not a JSON object")
        return data

    def end_session_url(self, id_token: str, state: str) -> str | None:
        """Where to send the browser to log out of the provider too (None if it has no such)."""
        try:
            meta = self.metadata()
        except OidcError as exc:
            log.warning("OIDC logout without the provider: %s", exc.reason)
            return None
        if meta.end_session_endpoint is None:
            return None
        params = {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": self.base_url + LOGOUT_RETURN_PATH,
            "state": state,
        }
        return f"{meta.end_session_endpoint}?{urlencode(params)}"


def _text(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    return value.strip()[:200] if isinstance(value, str) else ""


def _identity(
    issuer: str, id_claims: Mapping[str, Any], userinfo: Mapping[str, Any]
) -> AgentIdentity:
    merged = {**id_claims, **userinfo}
    verified = merged.get("email_verified")
    return AgentIdentity(
        issuer=issuer,
        subject=str(id_claims["sub"]),
        email=_text(merged, "email").lower() or None,
        given_name=_text(merged, "given_name"),
        usual_name=_text(merged, "usual_name") or _text(merged, "family_name"),
        siret=_text(merged, "siret") or None,
        email_verified=verified is not False,
    )


class FormActionMiddleware:
    """Lets forms lead to the provider: the logout form's answer redirects to its
    end_session endpoint, which `form-action 'self'` would make browsers block."""

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.csp = CSP.replace("form-action 'self'", f"form-action 'self' {origin}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"content-security-policy", self.csp.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
