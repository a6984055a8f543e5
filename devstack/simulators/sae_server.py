"""Run the SAE simulator (Vitam and As@lae protocols) with uvicorn on the loopback."""

from __future__ import annotations

import uvicorn

from devstack.simulators.sae import SaeSimulator, create_app

__all__ = ["serve_sae"]


def serve_sae(
    *,
    host: str = "127.0.0.1",
    port: int = 8471,
    reply_delay: float = 0.0,
    decision: str = "accept",
    username: str = "",
    password: str = "",
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM)."""
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("le simulateur n'écoute que sur la boucle locale (127.0.0.1)")
    if decision not in {"accept", "reject"}:
        raise ValueError("décision : accept ou reject")
    sim = SaeSimulator(
        reply_delay=reply_delay, decision=decision, username=username, password=password
    )
    # Load the XSDs before the first transfer arrives (about 0.7 s).
    from archiving.seda import seda_schema

    seda_schema()
    config = uvicorn.Config(
        create_app(sim),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run()
