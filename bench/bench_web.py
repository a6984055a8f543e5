"""Web list endpoint against a bare route running the same SQL, in the same run, on PostgreSQL.

Both are served by uvicorn (one process each, same settings) and driven by the same client:
- bare: a plain Starlette route that opens a unit of work, runs `cases.search` (the page and the
  count) and returns the rows as JSON; no authentication, no middleware, no validation;
- dematflow: `GET /api/tenants/{siren}/cases` with a bearer token: token check, user, role and
  tenant reads, the same search, pydantic serialization, security headers and session middleware.
Target: dematflow serves at least 50% of the bare route's requests per second.
"""

from __future__ import annotations

import json
import os
import platform as host
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from engine.bootstrap import Platform, build_platform, prepare_database
from engine.domain.model import Actor
from engine.services import admin
from engine.services import cases as case_services
from engine.settings import Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
DB = "dematflow_bench_web"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1/{DB}"
TENANT = "213400005"
PASSWORD = "mot-de-passe-du-banc"
CASES = 2_000
PAGE = 50
DURATION = 8.0


def make_app() -> Any:
    """The real application (uvicorn factory)."""
    from web.app import create_app

    settings = Settings(database_url=os.environ["BENCH_DB_URL"], data_dir=RESULTS / "tmp-web")
    return create_app(platform=build_platform(settings))


def make_bare_app() -> Any:
    """The floor: the same repository call behind a bare Starlette route (uvicorn factory)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    settings = Settings(database_url=os.environ["BENCH_DB_URL"], data_dir=RESULTS / "tmp-web")
    p = build_platform(settings)

    def cases(request: Request) -> JSONResponse:
        with p.uow() as unit:
            rows, total = unit.cases.search(request.path_params["tenant"], limit=PAGE, offset=0)
        items = [
            {"id": str(c.id), "reference": c.reference, "title": c.title, "status": c.status.value}
            for c in rows
        ]
        return JSONResponse({"items": items, "total": total})

    return Starlette(routes=[Route("/bare/{tenant}/cases", cases)])


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _prepare() -> Platform:
    _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DB}")
    p = build_platform(Settings(database_url=DB_URL, data_dir=RESULTS / "tmp-web"))
    prepare_database(p)
    system = Actor.system("bench")
    agent = Actor("user:agent.banc", frozenset({"agent"}), "Agent")
    with p.uow() as uow:
        admin.create_tenant(uow, siren=TENANT, name="Commune du banc", actor=system, now=p.clock())
        admin.create_user(
            uow,
            username="agent.banc",
            display_name="Agent",
            password=PASSWORD,
            tenant=TENANT,
            roles=("agent",),
            actor=system,
            now=p.clock(),
        )
        for _ in range(CASES):
            case_services.start_case(
                uow, tenant=TENANT, procedure="arrete", data={}, actor=agent, now=p.clock()
            )
        uow.commit()
    return p


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(factory: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "BENCH_DB_URL": DB_URL}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=HERE.parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/", timeout=0.5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _drive(url: str, headers: dict[str, str]) -> dict[str, float]:
    latencies: list[float] = []
    with httpx.Client(headers=headers, timeout=10) as client:
        for _ in range(50):  # warm-up
            client.get(url).raise_for_status()
        end = time.perf_counter() + DURATION
        while (now := time.perf_counter()) < end:
            response = client.get(url)
            latencies.append(time.perf_counter() - now)
            response.raise_for_status()
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / sum(latencies), 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    p = _prepare()
    p.db.dispose()
    bare, bare_url = _serve("bench.bench_web:make_bare_app")
    real, real_url = _serve("bench.bench_web:make_app")
    try:
        token = httpx.post(f"{real_url}/api/auth/token", auth=("agent.banc", PASSWORD)).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        floor = _drive(f"{bare_url}/bare/{TENANT}/cases", {})
        ours = _drive(f"{real_url}/api/tenants/{TENANT}/cases?limit={PAGE}", bearer)
    finally:
        for process in (bare, real):
            process.terminate()
            process.wait(timeout=10)
        _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    result = {
        "bench": "web list endpoint vs bare route, same SQL (PostgreSQL, one client, keep-alive)",
        "machine": f"{host.machine()} {os.cpu_count()} CPU, Python {host.python_version()}",
        "cases": CASES,
        "page_size": PAGE,
        "bare": floor,
        "dematflow": ours,
        "ratio_rps": round(ours["rps"] / floor["rps"], 3),
        "target_ratio": 0.5,
        "archive_search_p99": "non mesuré : la table des enregistrements archivés n'existe pas encore",
    }
    (RESULTS / "web.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
