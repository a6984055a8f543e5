"""A local OpenID provider shaped like ProConnect, for development and tests (127.0.0.1 only).

It serves discovery, JWKS, authorize (an auto-consent form: choose a test identity and, for
tests, a misbehaviour), token (PKCE S256 checked, client secret by POST or Basic), userinfo as a
signed JWT (``application/jwt``, like ProConnect) and end_session. ID tokens are signed RS256,
userinfo ES256, so both algorithms are exercised. Keys are made at start and kept in memory.

It lives beside the CLI (not in `connectors`, which holds clients of outside services, nor in
`web`, which the engine may not import) and only uses Starlette, uvicorn and joserfc.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["SCENARIOS", "SimulatorConfig", "TestIdentity", "create_app", "serve_oidc"]

SCENARIOS = {
    "normal": "Réponse correcte",
    "refus": "L'agent refuse (error=access_denied)",
    "signature_invalide": "ID token signé par une autre clé",
    "jeton_expire": "ID token expiré",
    "audience_erronee": "ID token destiné à un autre client",
    "nonce_errone": "ID token avec un autre nonce",
    "userinfo_json": "Réponse correcte, userinfo en JSON non signé",
}
"""Misbehaviours a tester can ask for in the consent form."""


@dataclass(frozen=True)
class TestIdentity:
    """One agent the simulator can authenticate."""

    sub: str
    email: str
    given_name: str
    usual_name: str
    siret: str
    uid: str = ""
    idp_id: str = "simulateur"


DEFAULT_IDENTITIES = (
    TestIdentity(
        "agent-demo-1", "secretaire@mairie-demo.fr", "Camille", "Martin", "21340000500017"
    ),
    TestIdentity(
        "agent-demo-2", "urbanisme@mairie-demo.fr", "Dominique", "Petit", "21340000500025"
    ),
    TestIdentity("agent-ailleurs", "agent@ailleurs.fr", "Sacha", "Bernard", "11000001200013"),
)
"""Agents of the demo commune (SIREN 213400005) and of an organisation unknown to it."""


@dataclass
class SimulatorConfig:
    """What the simulator knows of its one client."""

    issuer: str = ""
    """Its own root URL, such as ``http://127.0.0.1:8480``; empty: taken from the bound port."""
    client_id: str = "dematflow"
    client_secret: str = "secret-du-simulateur"  # noqa: S105 (a simulator's test value)
    redirect_uris: list[str] = field(default_factory=list)
    """Allowed redirect URIs; empty: any URL on 127.0.0.1 or localhost."""
    identities: tuple[TestIdentity, ...] = DEFAULT_IDENTITIES
    token_ttl: int = 300


def load_identities(path: Path) -> tuple[TestIdentity, ...]:
    """A JSON list of objects with the fields of `TestIdentity`."""
    return tuple(TestIdentity(**item) for item in json.loads(path.read_text(encoding="utf-8")))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class _Grant:
    identity: TestIdentity
    scenario: str
    nonce: str
    redirect_uri: str
    challenge: str
    expires: float


class _Provider:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})
        self.ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"})
        # Same kid as the real key: a client must check the signature, not trust the kid.
        self.rogue = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})
        self.codes: dict[str, _Grant] = {}
        self.access: dict[str, tuple[_Grant, float]] = {}
        self.logouts: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.config.issuer.rstrip("/") + path

    def redirect_allowed(self, uri: str) -> bool:
        if self.config.redirect_uris:
            return uri in self.config.redirect_uris
        return uri.startswith(("http://127.0.0.1:", "http://localhost:"))

    def id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.config.issuer,
            "sub": grant.identity.sub,
            "aud": self.config.client_id,
            "iat": now,
            "exp": now + self.config.token_ttl,
            "nonce": grant.nonce,
            "acr": "eidas1",
            "amr": ["pwd"],
            "idp_id": grant.identity.idp_id,
        }
        key = self.rsa
        if grant.scenario == "signature_invalide":
            key = self.rogue
        elif grant.scenario == "jeton_expire":
            claims |= {"iat": now - 3600, "exp": now - 1800}
        elif grant.scenario == "audience_erronee":
            claims["aud"] = "un-autre-service"
        elif grant.scenario == "nonce_errone":
            claims["nonce"] = secrets.token_urlsafe(16)
        return jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims, key)

    def userinfo_claims(self, identity: TestIdentity) -> dict[str, Any]:
        return {
            "iss": self.config.issuer,
            "aud": self.config.client_id,
            "sub": identity.sub,
            "email": identity.email,
            "given_name": identity.given_name,
            "usual_name": identity.usual_name,
            "uid": identity.uid or identity.sub,
            "siret": identity.siret,
            "idp_id": identity.idp_id,
        }

    def userinfo(self, identity: TestIdentity) -> str:
        claims = self.userinfo_claims(identity)
        return jwt.encode({"alg": "ES256", "kid": "ec-1"}, claims, self.ec)


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>",
        status_code=status,
    )


def _redirect(uri: str, **params: str) -> RedirectResponse:
    separator = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(params)}", status_code=303)


def create_app(config: SimulatorConfig) -> Starlette:
    provider = _Provider(config)

    def discovery(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": config.issuer,
                "authorization_endpoint": provider.url("/authorize"),
                "token_endpoint": provider.url("/token"),
                "userinfo_endpoint": provider.url("/userinfo"),
                "jwks_uri": provider.url("/jwks"),
                "end_session_endpoint": provider.url("/session/end"),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "userinfo_signing_alg_values_supported": ["RS256", "ES256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": [
                    "openid",
                    "given_name",
                    "usual_name",
                    "email",
                    "uid",
                    "siret",
                    "idp_id",
                ],
                "acr_values_supported": ["eidas1"],
            }
        )

    def jwks(request: Request) -> JSONResponse:
        return JSONResponse(KeySet([provider.rsa, provider.ec]).as_dict(private=False))

    def authorize_form(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != config.client_id:
            return _page("Client inconnu", "<p>client_id inconnu.</p>", 400)
        redirect_uri = q.get("redirect_uri", "")
        if not provider.redirect_allowed(redirect_uri):
            return _page("Redirection refusée", "<p>redirect_uri non enregistrée.</p>", 400)
        problems = [
            name
            for name, ok in (
                ("response_type=code", q.get("response_type") == "code"),
                ("scope openid", "openid" in q.get("scope", "").split()),
                ("state", bool(q.get("state"))),
                ("nonce", bool(q.get("nonce"))),
                ("code_challenge (S256)", q.get("code_challenge_method") == "S256"),
            )
            if not ok
        ]
        if problems:
            return _page("Requête invalide", f"<p>Manquant : {', '.join(problems)}.</p>", 400)
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(q.get(name, ""))}">'
            for name in ("redirect_uri", "state", "nonce", "code_challenge")
        )
        people = "".join(
            f'<p><input type="radio" name="sub" id="p{i}" value="{html.escape(p.sub)}"'
            f'{" checked" if i == 0 else ""}><label for="p{i}">{html.escape(p.given_name)} '
            f"{html.escape(p.usual_name)} ({html.escape(p.email)}, SIRET {p.siret})</label></p>"
            for i, p in enumerate(config.identities)
        )
        choices = "".join(
            f'<option value="{key}">{html.escape(label)}</option>'
            for key, label in SCENARIOS.items()
        )
        body = (
            f'<form method="post" action="/authorize">{hidden}<fieldset><legend>Agent</legend>'
            f'{people}</fieldset><p><label for="scenario">Scénario</label> '
            f'<select name="scenario" id="scenario">{choices}</select></p>'
            '<button type="submit">Se connecter</button></form>'
        )
        return _page("Simulateur ProConnect", body)

    async def authorize(request: Request) -> Response:
        form = await request.form()
        values = {k: str(form.get(k, "")) for k in ("redirect_uri", "state", "nonce", "sub")}
        values |= {k: str(form.get(k, "")) for k in ("code_challenge", "scenario")}
        if not provider.redirect_allowed(values["redirect_uri"]):
            return _page("Redirection refusée", "<p>redirect_uri non enregistrée.</p>", 400)
        identity = next((p for p in config.identities if p.sub == values["sub"]), None)
        scenario = values["scenario"] or "normal"
        if identity is None or scenario not in SCENARIOS:
            return _page("Requête invalide", "<p>Agent ou scénario inconnu.</p>", 400)
        if scenario == "refus":
            return _redirect(values["redirect_uri"], error="access_denied", state=values["state"])
        code = secrets.token_urlsafe(24)
        with provider.lock:
            provider.codes[code] = _Grant(
                identity,
                scenario,
                values["nonce"],
                values["redirect_uri"],
                values["code_challenge"],
                time.monotonic() + 60,
            )
        return _redirect(values["redirect_uri"], code=code, state=values["state"])

    async def token(request: Request) -> Response:
        form = await request.form()
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (ValueError, UnicodeError):
                return _error(401, "invalid_client", "bad Basic header")
        if client_id != config.client_id or not hmac.compare_digest(secret, config.client_secret):
            return _error(401, "invalid_client", "unknown client or wrong secret")
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "authorization_code only")
        with provider.lock:
            grant = provider.codes.pop(str(form.get("code", "")), None)  # single use
        if grant is None or grant.expires < time.monotonic():
            return _error(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", "redirect_uri differs")
        if _s256(str(form.get("code_verifier", ""))) != grant.challenge:
            return _error(400, "invalid_grant", "PKCE verification failed")
        access = secrets.token_urlsafe(24)
        with provider.lock:
            provider.access[access] = (grant, time.monotonic() + config.token_ttl)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": config.token_ttl,
                "id_token": provider.id_token(grant),
                "scope": "openid given_name usual_name email uid siret idp_id",
            },
            headers={"Cache-Control": "no-store"},
        )

    def userinfo(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        with provider.lock:
            found = provider.access.get(header[7:]) if header.startswith("Bearer ") else None
        if found is None or found[1] < time.monotonic():
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        grant = found[0]
        if grant.scenario == "userinfo_json":
            return JSONResponse(provider.userinfo_claims(grant.identity))
        return Response(provider.userinfo(grant.identity), media_type="application/jwt")

    def end_session(request: Request) -> Response:
        q = request.query_params
        try:
            claims = jwt.decode(q.get("id_token_hint", ""), provider.rsa).claims
        except (JoseError, ValueError):
            return _page("Déconnexion refusée", "<p>id_token_hint invalide.</p>", 400)
        target = q.get("post_logout_redirect_uri", "")
        with provider.lock:
            provider.logouts.append({"sub": str(claims.get("sub")), "redirect": target})
        if not target:
            return _page("Déconnecté", "<p>Vous êtes déconnecté du simulateur.</p>")
        if not provider.redirect_allowed(target):
            return _page("Redirection refusée", "<p>post_logout_redirect_uri inconnue.</p>", 400)
        return _redirect(target, state=q.get("state", ""))

    def logouts(request: Request) -> JSONResponse:
        """For tests: the logouts received (subject and where the browser was sent back)."""
        with provider.lock:
            return JSONResponse(list(provider.logouts))

    def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize_form, methods=["GET"]),
            Route("/authorize", authorize, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
            Route("/session/end", end_session),
            Route("/admin/logouts", logouts),
            Route("/health", health),
        ]
    )


def serve_oidc(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until interrupted (SIGINT/SIGTERM). Port 0 takes a free port; the issuer URL is
    printed on the first line of standard output (an empty `config.issuer` is set from it)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("le simulateur n'écoute que sur la boucle locale (127.0.0.1)")
    sock = socket.socket(socket.AF_INET6 if host == "::1" else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    if not config.issuer:
        config.issuer = f"http://{'[::1]' if host == '::1' else host}:{bound}"
    print(config.issuer, flush=True)
    server = uvicorn.Config(
        create_app(config), log_level="warning", access_log=False, lifespan="off"
    )
    uvicorn.Server(server).run(sockets=[sock])
