"""A local OpenID provider shaped like ProConnect, for development and tests (127.0.0.1 only).

It serves discovery, JWKS, authorize (an auto-consent form: choose a test identity and, for
tests, a misbehaviour), token (PKCE S256 checked, client secret by POST or Basic), userinfo as a
signed JWT (``application/jwt``, like ProConnect) and end_session. ID tokens are signed RS256,
userinfo ES256, so both algorithms are exercised. Keys are made at start and kept in memory.

Part of the development tooling (`devstack`), run by `dematflow simulators oidc`; it only uses
Starlette, uvicorn and joserfc.
"""

from __future__ import annotations

import base64
import hmac
import html
import secrets
import socket
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from devstack.simulators.oidc_provider import (
    SCENARIOS,
    Grant,
    Provider,
    SimulatorConfig,
    TestIdentity,
    s256,
)

__all__ = ["create_app", "serve_oidc"]


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


def _provider(request: Request) -> Provider:
    provider: Provider = request.app.state.provider
    return provider


def discovery(request: Request) -> JSONResponse:
    provider = _provider(request)
    return JSONResponse(
        {
            "issuer": provider.config.issuer,
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
    provider = _provider(request)
    return JSONResponse(KeySet([provider.rsa, provider.ec]).as_dict(private=False))


def _authorize_problems(query: Mapping[str, str]) -> list[str]:
    """What an authorization request lacks (ProConnect asks for all of it)."""
    checks = (
        ("response_type=code", query.get("response_type") == "code"),
        ("scope openid", "openid" in query.get("scope", "").split()),
        ("state", bool(query.get("state"))),
        ("nonce", bool(query.get("nonce"))),
        ("code_challenge (S256)", query.get("code_challenge_method") == "S256"),
    )
    return [name for name, ok in checks if not ok]


def _consent_form(query: Mapping[str, str], identities: tuple[TestIdentity, ...]) -> str:
    """The auto-consent form: one radio per test identity and a misbehaviour to ask for."""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(query.get(name, ""))}">'
        for name in ("redirect_uri", "state", "nonce", "code_challenge")
    )
    people = "".join(
        f'<p><input type="radio" name="sub" id="p{i}" value="{html.escape(p.sub)}"'
        f'{" checked" if i == 0 else ""}><label for="p{i}">{html.escape(p.given_name)} '
        f"{html.escape(p.usual_name)} ({html.escape(p.email)}, SIRET {p.siret})</label></p>"
        for i, p in enumerate(identities)
    )
    choices = "".join(
        f'<option value="{key}">{html.escape(label)}</option>' for key, label in SCENARIOS.items()
    )
    return (
        f'<form method="post" action="/authorize">{hidden}<fieldset><legend>Agent</legend>'
        f'{people}</fieldset><p><label for="scenario">Scénario</label> '
        f'<select name="scenario" id="scenario">{choices}</select></p>'
        '<button type="submit">Se connecter</button></form>'
    )


def authorize_form(request: Request) -> Response:
    provider, query = _provider(request), request.query_params
    if query.get("client_id") != provider.config.client_id:
        return _page("Client inconnu", "<p>client_id inconnu.</p>", 400)
    if not provider.redirect_allowed(query.get("redirect_uri", "")):
        return _page("Redirection refusée", "<p>redirect_uri non enregistrée.</p>", 400)
    problems = _authorize_problems(query)
    if problems:
        return _page("Requête invalide", f"<p>Manquant : {', '.join(problems)}.</p>", 400)
    return _page("Simulateur ProConnect", _consent_form(query, provider.config.identities))


async def authorize(request: Request) -> Response:
    provider, form = _provider(request), await request.form()
    fields = ("redirect_uri", "state", "nonce", "sub", "code_challenge", "scenario")
    values = {k: str(form.get(k, "")) for k in fields}
    if not provider.redirect_allowed(values["redirect_uri"]):
        return _page("Redirection refusée", "<p>redirect_uri non enregistrée.</p>", 400)
    identity = next((p for p in provider.config.identities if p.sub == values["sub"]), None)
    scenario = values["scenario"] or "normal"
    if identity is None or scenario not in SCENARIOS:
        return _page("Requête invalide", "<p>Agent ou scénario inconnu.</p>", 400)
    if scenario == "refus":
        return _redirect(values["redirect_uri"], error="access_denied", state=values["state"])
    code = secrets.token_urlsafe(24)
    grant = Grant(
        identity,
        scenario,
        values["nonce"],
        values["redirect_uri"],
        values["code_challenge"],
        time.monotonic() + 60,
    )
    with provider.lock:
        provider.codes[code] = grant
    return _redirect(values["redirect_uri"], code=code, state=values["state"])


def _client_credentials(form: Mapping[str, Any], authorization: str) -> tuple[str, str] | None:
    """(client_id, secret) from a Basic header, else from the form; None: a bad header."""
    if authorization.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeError):
            return None
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


def _redeem(provider: Provider, form: Mapping[str, Any]) -> Grant | JSONResponse:
    """The grant of the code (single use, unexpired, same redirect URI, PKCE checked)."""
    if form.get("grant_type") != "authorization_code":
        return _error(400, "unsupported_grant_type", "authorization_code only")
    with provider.lock:
        grant = provider.codes.pop(str(form.get("code", "")), None)  # single use
    if grant is None or grant.expires < time.monotonic():
        return _error(400, "invalid_grant", "unknown, used or expired code")
    if form.get("redirect_uri") != grant.redirect_uri:
        return _error(400, "invalid_grant", "redirect_uri differs")
    if s256(str(form.get("code_verifier", ""))) != grant.challenge:
        return _error(400, "invalid_grant", "PKCE verification failed")
    return grant


async def token(request: Request) -> Response:
    provider, form = _provider(request), await request.form()
    config = provider.config
    credentials = _client_credentials(form, request.headers.get("authorization", ""))
    if credentials is None:
        return _error(401, "invalid_client", "bad Basic header")
    client_id, secret = credentials
    if client_id != config.client_id or not hmac.compare_digest(secret, config.client_secret):
        return _error(401, "invalid_client", "unknown client or wrong secret")
    grant = _redeem(provider, form)
    if isinstance(grant, JSONResponse):
        return grant
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
    provider, header = _provider(request), request.headers.get("authorization", "")
    with provider.lock:
        found = provider.access.get(header[7:]) if header.startswith("Bearer ") else None
    if found is None or found[1] < time.monotonic():
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    grant = found[0]
    if grant.scenario == "userinfo_json":
        return JSONResponse(provider.userinfo_claims(grant.identity))
    return Response(provider.userinfo(grant.identity), media_type="application/jwt")


def end_session(request: Request) -> Response:
    provider, query = _provider(request), request.query_params
    try:
        claims = jwt.decode(query.get("id_token_hint", ""), provider.rsa).claims
    except (JoseError, ValueError):
        return _page("Déconnexion refusée", "<p>id_token_hint invalide.</p>", 400)
    target = query.get("post_logout_redirect_uri", "")
    with provider.lock:
        provider.logouts.append({"sub": str(claims.get("sub")), "redirect": target})
    if not target:
        return _page("Déconnecté", "<p>Vous êtes déconnecté du simulateur.</p>")
    if not provider.redirect_allowed(target):
        return _page("Redirection refusée", "<p>post_logout_redirect_uri inconnue.</p>", 400)
    return _redirect(target, state=query.get("state", ""))


def logouts(request: Request) -> JSONResponse:
    """For tests: the logouts received (subject and where the browser was sent back)."""
    provider = _provider(request)
    with provider.lock:
        return JSONResponse(list(provider.logouts))


def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(config: SimulatorConfig) -> Starlette:
    """The simulator's ASGI app; its keys and grants live in `app.state.provider`."""
    app = Starlette(
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
    app.state.provider = Provider(config)
    return app


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
