"""State of the OpenID provider simulator: its client, its test identities, the keys it signs
with (made at start, kept in memory), the codes and access tokens it handed out."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

__all__ = [
    "DEFAULT_IDENTITIES",
    "SCENARIOS",
    "Grant",
    "Provider",
    "SimulatorConfig",
    "TestIdentity",
    "load_identities",
    "s256",
]

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


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Grant:
    identity: TestIdentity
    scenario: str
    nonce: str
    redirect_uri: str
    challenge: str
    expires: float


class Provider:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})
        self.ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"})
        # Same kid as the real key: a client must check the signature, not trust the kid.
        self.rogue = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})
        self.codes: dict[str, Grant] = {}
        self.access: dict[str, tuple[Grant, float]] = {}
        self.logouts: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.config.issuer.rstrip("/") + path

    def redirect_allowed(self, uri: str) -> bool:
        if self.config.redirect_uris:
            return uri in self.config.redirect_uris
        return uri.startswith(("http://127.0.0.1:", "http://localhost:"))

    def id_token(self, grant: Grant) -> str:
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
