"""Load test: a peak of arrêtés through the JSON API, then the job backlog drain, 1 vs 2 workers.

Everything is a real process on 127.0.0.1: `dematflow web` (uvicorn, one process, JSON logs),
N `dematflow worker --concurrency 1` on a Redis database of its own, PostgreSQL in a database
created for the bench. Concurrent clients (threads, one keep-alive httpx client each, spread
over several communes) drive the `arrete` procedure: start the case, read it, complete the
draft (agent, bearer token), read it, then the élu's decision with HTTP Basic (the API wants the
password with a signature), which queues the numbering job. Reported per endpoint: requests,
p50/p99; overall: requests per second. Then the backlog: jobs queued, done during the peak, and
the drain time read from the jobs table. Runs: 1 then 2 workers started after the peak (every
job waits in the broker: the drain measures the workers alone), and 1 worker running during the
peak (production: does it keep up?). The web process's JSON access lines are checked too."""

from __future__ import annotations

import itertools
import json
import os
import platform as host
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.stack import Fleet, start_web, start_workers
from bench.stack import pg as _pg
from bench.stack import wait as _wait
from engine.bootstrap import build_platform, prepare_database
from engine.domain.model import Actor
from engine.services import admin
from engine.settings import Settings

__all__ = ["Fleet", "_percentile", "_pg", "_siren", "_wait", "main", "run"]
"""`Fleet`, `_pg` and `_wait` are `bench.stack`'s, kept here for `bench_fair_share`."""

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORK = RESULTS / "tmp-load"
DB = "dematflow_bench_load"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/12"
TENANT_COUNT = 8
"""Cases spread over several communes, as on the platform: each numbers its acts on its own
counter (locked while a job runs), so one commune alone would serialise the workers."""
PASSWORD = "mot-de-passe-du-banc-de-charge"
CASES = 200
CLIENTS = 16
PEAK_MAX_S = 120.0
DRAIN_MAX_S = 240.0
WORKER_COUNTS = (1, 2)
UNFINISHED = ("pending", "sent", "running")
DRAFT = {"objet": "Arrêté de voirie", "nature": "3", "texte": "Texte de l'arrêté du banc."}


def _siren(prefix: int) -> str:
    """A valid SIREN (Luhn key) from an 8-digit prefix."""
    for key in range(10):
        candidate = f"{prefix:08d}{key}"
        doubled = [int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(candidate))]
        if sum(d - 9 if d > 9 else d for d in doubled) % 10 == 0:
            return candidate
    raise AssertionError("a Luhn key always exists")


TENANTS = tuple(_siren(21340000 + i) for i in range(TENANT_COUNT))


def _prepare() -> None:
    """A fresh database with the procedures, one tenant, one agent and one élu; an empty broker."""
    _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DB}")
    p = build_platform(Settings(database_url=DB_URL, data_dir=WORK))
    prepare_database(p)
    system = Actor.system("bench")
    with p.uow() as uow:
        for i, siren in enumerate(TENANTS):
            name = f"Commune du banc {i}"
            admin.create_tenant(uow, siren=siren, name=name, actor=system, now=p.clock())
            for role in ("agent", "elu"):
                admin.create_user(
                    uow,
                    username=f"{role}.banc{i}",
                    display_name=role.capitalize(),
                    password=PASSWORD,
                    tenant=siren,
                    roles=(role,),
                    actor=system,
                    now=p.clock(),
                )
        uow.commit()
    p.db.dispose()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def _start_workers(fleet: Fleet, workers: int) -> None:
    names = [(f"worker-{i}", None) for i in range(workers)]
    start_workers(fleet, names, database_url=DB_URL, broker_url=REDIS_URL)


@dataclass
class Client:
    """One simulated user agent: drives whole cases, one request at a time."""

    url: str
    tenant: int
    token: str
    deadline: float
    tickets: itertools.count[int]
    ids: itertools.count[int]
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    decisions: int = 0

    def call(self, http: httpx.Client, label: str, method: str, path: str, **kw: Any) -> Any:
        headers = {"X-Request-ID": f"load-{next(self.ids)}"}
        started = time.perf_counter()
        response = http.request(method, path, headers=headers, **kw)
        self.latencies.setdefault(label, []).append(time.perf_counter() - started)
        if response.is_error:
            self.errors[label] = self.errors.get(label, 0) + 1
            raise RuntimeError(f"{label}: {response.status_code} {response.text[:200]}")
        return response.json()

    def task(self, http: httpx.Client, base: str, case: str, name: str) -> str:
        detail = self.call(http, "GET case", "GET", f"{base}/cases/{case}")
        return str(next(t["id"] for t in detail["tasks"] if t["name"] == name))

    def one_case(self, http: httpx.Client) -> None:
        base = f"/api/tenants/{TENANTS[self.tenant]}"
        body = {"procedure": "arrete", "data": {}}
        case = self.call(http, "POST cases", "POST", f"{base}/cases", json=body)["id"]
        draft = self.task(http, base, case, "rediger")
        path = f"{base}/cases/{case}/tasks/{draft}"
        self.call(http, "POST task (agent)", "POST", path, json={"data": DRAFT})
        sign = self.task(http, base, case, "signer")
        path = f"{base}/cases/{case}/tasks/{sign}"
        decision = {"data": {"decision": "signer"}}
        # The élu's decision carries the password itself (replaces the bearer header).
        elu = (f"elu.banc{self.tenant}", PASSWORD)
        self.call(http, "POST task (élu, Basic)", "POST", path, json=decision, auth=elu)
        self.decisions += 1

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=60) as http:
            while time.monotonic() < self.deadline and next(self.tickets) < CASES:
                try:
                    self.one_case(http)
                except (RuntimeError, httpx.HTTPError):
                    continue  # counted in errors; the next case starts


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, int(len(sorted_values) * q))
    return round(sorted_values[index] * 1000, 1)


def _peak(url: str) -> tuple[dict[str, Any], datetime]:
    """Drive CLIENTS concurrent clients through CASES arrêtés (at most PEAK_MAX_S seconds)."""
    tokens = []
    for i in range(TENANT_COUNT):
        token = httpx.post(f"{url}/api/auth/token", auth=(f"agent.banc{i}", PASSWORD), timeout=30)
        tokens.append(token.raise_for_status().json()["access_token"])
    tickets, ids = itertools.count(), itertools.count()
    started = time.monotonic()
    clients = [
        Client(url, n % TENANT_COUNT, tokens[n % TENANT_COUNT], started + PEAK_MAX_S, tickets, ids)
        for n in range(CLIENTS)
    ]
    threads = [threading.Thread(target=c.run) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    ended = datetime.now(UTC)
    per_endpoint: dict[str, Any] = {}
    labels = sorted({label for c in clients for label in c.latencies})
    for label in labels:
        values = sorted(v for c in clients for v in c.latencies.get(label, []))
        per_endpoint[label] = {
            "requests": len(values),
            "errors": sum(c.errors.get(label, 0) for c in clients),
            "p50_ms": _percentile(values, 0.50),
            "p99_ms": _percentile(values, 0.99),
        }
    requests = sum(e["requests"] for e in per_endpoint.values())
    peak = {
        "clients": CLIENTS,
        "cases_signed": sum(c.decisions for c in clients),
        "seconds": round(seconds, 2),
        "requests": requests,
        "requests_per_s": round(requests / seconds, 1),
        "cases_per_s": round(sum(c.decisions for c in clients) / seconds, 2),
        "endpoints": per_endpoint,
    }
    return peak, ended


def _jobs() -> tuple[int, int, datetime | None, datetime | None]:
    """(unfinished, done, first started, last finished) from the jobs table."""
    states = ", ".join(f"'{s}'" for s in UNFINISHED)
    ((unfinished, done, first, last),) = _pg(
        f"SELECT count(*) FILTER (WHERE state IN ({states})),"
        " count(*) FILTER (WHERE state = 'done'), min(started_at), max(finished_at) FROM jobs",
        DB,
    )
    return int(unfinished), int(done), first, last


def _drain(fleet: Fleet, peak_end: datetime) -> dict[str, Any]:
    """Wait until every queued job is finished; times come from the jobs table.

    `drain_s` runs from the end of the peak, or from the first job started when the workers
    came only after the peak (their start-up is not the backlog's drain)."""
    (done_in_peak,) = _pg(
        f"SELECT count(*) FROM jobs WHERE state = 'done' AND finished_at <= '{peak_end.isoformat()}'",
        DB,
    )[0]
    deadline = time.monotonic() + DRAIN_MAX_S
    while (state := _jobs())[0] and time.monotonic() < deadline:
        fleet.check_alive()
        time.sleep(0.2)
    unfinished, done, first, last = state
    if first is None or last is None:
        raise RuntimeError("no job was run: did the élu decisions fail?")
    since = max(peak_end, first)
    drain = max(0.0, (last - since).total_seconds())
    backlog = done - int(done_in_peak) + unfinished
    return {
        "jobs_done": done,
        "jobs_unfinished_at_timeout": unfinished,
        "done_during_peak": int(done_in_peak),
        "backlog_at_peak_end": backlog,
        "drain_s": round(drain, 2),
        "drain_jobs_per_s": round(backlog / drain, 2) if drain else None,
    }


def _check_access_log(path: Path, requests: int) -> dict[str, Any]:
    """Every bench request has one JSON access line: request id, route template, no query."""
    lines = [json.loads(raw) for raw in path.read_text().splitlines() if raw.startswith("{")]
    access = [line for line in lines if line.get("logger") == "web.access"]
    ours = [line for line in access if str(line.get("request_id", "")).startswith("load-")]
    leaked = [line for line in access if ".banc" in str(line) or PASSWORD in str(line)]
    return {
        "json_lines": len(lines),
        "access_lines_for_bench_requests": len(ours),
        "bench_requests": requests,
        "lines_with_a_user_name": len(leaked),
        "sample": ours[-1] if ours else None,
    }


def run(workers: int, *, during_peak: bool) -> dict[str, Any]:
    """One run: fresh database and broker, the web process, a peak, the drain.

    With `during_peak` the workers run during the peak (production); without, they start when
    the peak is over and find every job waiting in the broker: the drain then measures what
    the workers can do, apart from the API's pace."""
    logs = WORK / f"{workers}-worker{'-during-peak' if during_peak else ''}"
    logs.mkdir(parents=True, exist_ok=True)
    _prepare()
    env = {
        **os.environ,
        "DEMATFLOW_DATABASE_URL": DB_URL,
        "DEMATFLOW_BROKER__URL": REDIS_URL,
        "DEMATFLOW_DATA_DIR": str(WORK),
        "DEMATFLOW_SECRET_KEY": secrets.token_hex(32),
        "PYTHONPATH": str(ROOT),
    }
    fleet = Fleet(env, logs)
    try:
        url, _web = start_web(fleet)
        if during_peak:
            _start_workers(fleet, workers)
        load_before = os.getloadavg()[0]
        peak, peak_end = _peak(url)
        if not during_peak:
            _start_workers(fleet, workers)
        backlog = _drain(fleet, peak_end)
    finally:
        fleet.stop()
    return {
        "workers": workers,
        "workers_during_peak": during_peak,
        "load_average_1min_before_peak": round(load_before, 2),
        "peak": peak,
        "backlog": backlog,
        "access_log": _check_access_log(logs / "web.log", peak["requests"]),
    }


def main() -> None:
    # A SIGTERM unwinds like Ctrl-C, so that every process of the run is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    RESULTS.mkdir(exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        runs = [run(n, during_peak=False) for n in WORKER_COUNTS]
        runs.append(run(1, during_peak=True))
    finally:
        _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    one, two = runs[0]["backlog"], runs[1]["backlog"]
    result = {
        "bench": "arrêté peak through the JSON API, then job backlog drain; 1 vs 2 workers",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {os.cpu_count()} CPU, Python {host.python_version()}",
        "cases": CASES,
        "clients": CLIENTS,
        "tenants": TENANT_COUNT,
        "runs": runs,
        "drain_time_ratio_2_vs_1_workers": round(two["drain_s"] / one["drain_s"], 3),
    }
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
