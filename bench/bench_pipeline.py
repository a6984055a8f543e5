"""The full deliberation pipeline under load, from the mayor's batch signature to the sealed
archive, with 1, 2 and 4 worker processes per queue; CPU per act and throughput per stage.

Everything runs on 127.0.0.1: PostgreSQL (a database of its own), Redis (a database of its own),
the embedded services of `dematflow serve` (`devstack.embedded`: SeaweedFS with Object Lock, the
development PKI with TSA/OCSP/CRL, the prefecture simulator, a mail drop), `dematflow web`, and
per run W `dematflow worker --concurrency 1` on each of the `signing`, `connectors` and
`sealing` queues (plus one on `engine,audits`). This process plays the scheduler (the @ctes
polling and the timers, as beat does) and the users.

Per run, fresh deliberations are spread over TENANTS communes with Zipf sizes (the few big
towns sign many acts, most villages one or none) and brought, in this process, to the mayor's
signature (draft, two visas, the session's inscription and vote as the session case sends them,
numbering, rendering: set-up, not measured). Then the stages, one after the other:
1. signature: each commune's élu logs in, opens the parapheur and signs all its acts at once
   (one password confirmation for the batch), while clerks browse their task list, case list and
   case pages; the signing workers sign (PAdES B-LTA) and the connectors workers transmit to the
   prefecture (@ctes), as soon as each act is signed;
2. acknowledgement and publication: the @ctes polling collects the prefecture's AR, the cases go
   on to publication (connectors);
3. sealing, on a moved clock: the timers of the legality control and of the minimum publication
   period fire 100 days ahead, the cases are archived (sealing).
CPU is read from /proc for each queue's worker processes (main and forked child), the web process,
this process (the scheduler's part) and PostgreSQL's backends serving this database: on a machine
shared with other work the wall times stretch, the CPU seconds much less. Throughput per stage is
acts over the stage's span in the jobs table (first start to last finish of its operation).

After the runs the slowest stage (CPU per act) is profiled (cProfile) on a few more acts run by
the same `run_job` the worker calls, in this process.

Run: `.venv/bin/python -m bench bench_pipeline` (about 15 minutes on a loaded 2-core machine) or
`.venv/bin/python -m bench.bench_pipeline --acts 600` (acts per run)."""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import io
import json
import os
import platform as host
import pstats
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis

from bench.bench_load import _percentile, _siren
from bench.stack import Fleet, start_web, start_workers
from bench.stack import pg as _pg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORK = RESULTS / "tmp-pipeline"
DB = "dematflow_bench_pipeline"
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1/{DB}"
REDIS_URL = "redis://127.0.0.1:6379/13"
TENANTS = 300
ZIPF_S = 1.0
"""Exponent of the communes' sizes: the k-th commune signs ~1/k of what the first signs."""
ACTS_PER_RUN = 60
WORKER_COUNTS = (1, 2, 4)
QUEUES = ("signing", "connectors", "sealing")
PASSWORD = "mot-de-passe-du-banc-pipeline-2026"
ELU_THREADS = 4
CLERK_THREADS = int(os.environ.get("BENCH_CLERKS", "2"))
CLERK_TENANTS = 6
PROFILE_ACTS = 4
STAGE_MAX_S = 900.0
PARIS = ZoneInfo("Europe/Paris")
CLK_TCK = os.sysconf("SC_CLK_TCK")
UNFINISHED = ("pending", "sent", "running")
STAGE_OPERATIONS = {
    "signature": ("signatures.sign", "connectors.actes_transmit"),
    "ar_publication": ("connectors.publish",),
    "sealing": ("archiving.seal_case",),
}


SIRENS = tuple(_siren(21350000 + i) for i in range(TENANTS))


def zipf_sizes(acts: int, tenants: int, rng: random.Random, s: float = ZIPF_S) -> list[int]:
    """How many of `acts` each commune signs: each act falls on commune k with weight 1/k^s."""
    weights = [1 / (k + 1) ** s for k in range(tenants)]
    sizes = [0] * tenants
    for index in rng.choices(range(tenants), weights=weights, k=acts):
        sizes[index] += 1
    return sizes


# -- CPU from /proc -----------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every process of the group, children reaped included."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields is None or int(fields[2]) != pgid:
            continue
        total += sum(int(v) for v in fields[11:15])
    return total / CLK_TCK


def pids_cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            out[pid] = sum(int(v) for v in fields[11:13]) / CLK_TCK
    return out


def postgres_backends() -> list[int]:
    rows = _pg("SELECT pid FROM pg_stat_activity WHERE datname = %s", "test", (DB,))
    return [int(r[0]) for r in rows]


@dataclass
class CpuMeter:
    """CPU seconds spent by each part of the platform between `start` and `stop`."""

    groups: dict[str, list[int]]
    before: dict[str, float] = field(default_factory=dict)
    pg_before: dict[int, float] = field(default_factory=dict)
    bench_before: float = 0.0

    def read(self) -> dict[str, float]:
        return {name: sum(group_cpu(p) for p in pgids) for name, pgids in self.groups.items()}

    def start(self) -> None:
        self.before = self.read()
        self.pg_before = pids_cpu(postgres_backends())
        self.bench_before = time.process_time()

    def stop(self) -> dict[str, float]:
        after = self.read()
        spent = {name: round(after[name] - self.before[name], 2) for name in after}
        pg_after = pids_cpu(postgres_backends())
        spent["postgresql"] = round(
            sum(cpu - self.pg_before.get(pid, 0.0) for pid, cpu in pg_after.items()), 2
        )
        spent["bench process (scheduler, batches)"] = round(
            time.process_time() - self.bench_before, 2
        )
        return spent


# -- processes -----------------------------------------------------------------------------------


def _start_workers(fleet: Fleet, count: int) -> dict[str, list[subprocess.Popen[bytes]]]:
    """`count` workers on each of QUEUES, one on `engine,audits`: their processes by queue."""
    names = [(f"{count}w-{queue}-{i}", queue) for queue in QUEUES for i in range(count)]
    names.append((f"{count}w-engine", "engine,audits"))
    started = start_workers(fleet, names, database_url=DB_URL, broker_url=REDIS_URL)
    groups: dict[str, list[subprocess.Popen[bytes]]] = {"engine": [started[-1]]}
    for queue in QUEUES:
        groups[queue] = [p for (_name, q), p in zip(names, started, strict=True) if q == queue]
    return groups


# -- set-up: deliberations brought to the mayor's signature ---------------------------------------


@dataclass
class Seeder:
    """Brings deliberations to the mayor's signature in this process (not measured)."""

    platform: Any
    projet_pdf: bytes
    with_users: set[int] = field(default_factory=set)

    def users(self, index: int) -> None:
        """The commune's élu and clerk (argon2 hashing: only for communes that have acts)."""
        if index in self.with_users:
            return
        self.with_users.add(index)
        from engine.domain.model import Actor
        from engine.services import admin

        system = Actor.system("bench")
        with self.platform.uow() as uow:
            now = self.platform.clock()
            for login, name, role in (
                (f"maire.{index}", "Marie Dupont", "elu"),  # a signer of the development PKI
                (f"agent.{index}", "Claire Agent", "agent"),
            ):
                admin.create_user(
                    uow,
                    username=login,
                    display_name=name,
                    password=PASSWORD,
                    tenant=SIRENS[index],
                    roles=(role,),
                    actor=system,
                    now=now,
                )
            uow.commit()

    def _complete(
        self, tenant: str, case_id: uuid.UUID, task: str, data: dict[str, Any], who: Any
    ) -> None:
        from engine.services import cases as case_services

        with self.platform.uow() as uow:
            (found,) = [
                t
                for t in uow.cases.human_tasks(tenant, case_id=case_id)
                if t.name == task and t.assignee in (None, who.user_id.removeprefix("user:"))
            ]
            case_services.complete_task(
                uow,
                tenant=tenant,
                case_id=case_id,
                task_id=found.id,
                data=data,
                actor=who,
                now=self.platform.clock(),
            )
            uow.commit()

    def deliberation(self, index: int, number: int) -> uuid.UUID:
        """Draft, visas, inscription, vote, numbering, rendering: waits for the mayor."""
        from engine.domain.model import Actor
        from engine.services import cases as case_services
        from engine.services.documents import add_case_document
        from engine.services.messages import MessageOrigin
        from engine.services.steps import load_case

        tenant = SIRENS[index]
        agent = Actor(f"user:agent.{index}", frozenset({"agent"}), "Claire Agent")
        now = self.platform.clock()
        with self.platform.uow() as uow:
            case = case_services.start_case(
                uow, tenant=tenant, procedure="deliberation", data={}, actor=agent, now=now
            )
            stored = add_case_document(
                uow,
                tenant=tenant,
                case_id=case.id,
                name="projet.pdf",
                content=self.projet_pdf,
                actor=agent,
                now=now,
                max_bytes=10_000_000,
            )
            uow.commit()
        draft = {
            "objet": f"Délibération du banc n° {number}",
            "rapporteur": "Mme Claire Dumas, adjointe",
            "service_porteur": "Secrétariat général",
            "texte": "Le conseil municipal, après en avoir délibéré, adopte le projet.",
            "matiere": "7.1",
            "projet": {"id": str(stored.id), "nom": stored.name, "sha256": stored.sha256},
            "annexes": [],
            "visa_finances_requis": False,
            "chef_service": f"chef.{index}",
            "dgs": f"dgs.{index}",
            "signataire": f"maire.{index}",
        }
        self._complete(tenant, case.id, "rediger_projet", draft, agent)
        for login in (f"chef.{index}", f"dgs.{index}"):
            visa = Actor(f"user:{login}", frozenset({"agent"}), login)
            self._complete(tenant, case.id, "viser", {"decision": "viser"}, visa)
        self.run_jobs()
        with self.platform.uow() as uow:
            projet = str(load_case(uow, tenant, case.id).runtime.data["numero_projet"])
        yesterday = (now - timedelta(days=1)).astimezone(PARIS)
        seance = yesterday.replace(hour=18, minute=30, second=0, microsecond=0).isoformat()
        vote = {
            "resultat": "adoptee",
            "membres_en_exercice": 27,
            "presents": 21,
            "pouvoirs": 3,
            "pour": 19,
            "contre": 3,
            "abstentions": 2,
            "ne_prend_pas_part": 0,
            "motif": "",
        }
        for message, payload in (
            ("seance_inscription", {"seance": seance, "lieu": "Mairie", "numero_point": number}),
            ("seance_vote", vote),
        ):
            with self.platform.uow() as uow:
                case_services.deliver_message(
                    uow,
                    tenant=tenant,
                    message=message,
                    correlation=projet,
                    payload=payload,
                    origin=MessageOrigin.connector(Actor.system("bench")),
                    now=self.platform.clock(),
                )
                uow.commit()
        self.run_jobs()
        return case.id

    def run_jobs(self) -> None:
        """What a worker would do: every open job, until none is left."""
        from engine.operations.base import OperationRetry
        from engine.operations.runner import JobNotReady, run_job

        for _ in range(20):
            rows = _pg("SELECT id FROM jobs WHERE state IN ('pending', 'sent')", DB)
            if not rows:
                return
            for (job_id,) in rows:
                with contextlib.suppress(OperationRetry, JobNotReady):
                    run_job(
                        job_id,
                        uow_factory=self.platform.uow,
                        operations=self.platform.operations,
                        clock=self.platform.clock,
                    )
        raise RuntimeError("set-up jobs still open after 20 rounds")


WEB_BATCH = os.environ.get("BENCH_WEB_BATCH", "1") == "1"
"""Whether the élus' batches go through the parapheur's POST (the default). `BENCH_WEB_BATCH=0`
runs each batch in this process with the page's own steps (see `Pages.elu`): how the 12:50
run was made, when a `signer` task completed by another process than the one that started
the circuit's multi-instance did not go on (fixed in `engine.runtime.specs`)."""


def _sign_here(platform: Any, index: int, task_ids: list[str]) -> None:
    """The parapheur POST's work: one password check (argon2) for the batch, then each act
    completed in its own transaction (`engine.services.batch.sign_batch`)."""
    from engine.domain.model import Actor
    from engine.jobs.runner import TransactionRunner
    from engine.services import batch
    from engine.services.admin import check_password
    from engine.services.queries import accounts

    with platform.uow() as uow:
        row = accounts.user_by_username(uow, f"maire.{index}")
        assert row is not None and check_password(row.password_hash, PASSWORD)
    elu = Actor(f"user:maire.{index}", frozenset({"elu"}), "Marie Dupont")
    outcomes = batch.sign_batch(
        TransactionRunner(platform.uow),
        tenant=SIRENS[index],
        actor=elu,
        task_ids=[uuid.UUID(t) for t in task_ids],
        data={"decision": "signer"},
        now=platform.clock(),
    )
    refused = [o.message for o in outcomes if not o.done]
    if refused:
        raise RuntimeError(f"batch refused: {refused[:3]}")


# -- the users: élus at the parapheur, clerks browsing --------------------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TASKS = re.compile(r'name="taches" value="([^"]+)"')
CASE_LINK = re.compile(r'href="/c/\d{9}/dossiers/([0-9a-f-]{36})"')


@dataclass
class Pages:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self, http: httpx.Client, label: str, method: str, path: str, **kw: Any
    ) -> httpx.Response:
        started = time.perf_counter()
        response = http.request(method, path, **kw)
        spent = time.perf_counter() - started
        with self.lock:
            self.latencies.setdefault(label, []).append(spent)
            if response.status_code >= 400:
                self.errors[label] = self.errors.get(label, 0) + 1
        if response.status_code >= 400:
            raise RuntimeError(f"{label}: {response.status_code} {response.text[:300]}")
        return response

    def login(self, http: httpx.Client, login: str, who: str) -> None:
        form = self.call(http, "GET /connexion", "GET", "/connexion")
        token = CSRF.search(form.text)
        assert token, "no CSRF token on the login page"
        body = {"identifiant": login, "mot_de_passe": PASSWORD, "csrf_token": token.group(1)}
        self.call(http, f"POST /connexion ({who})", "POST", "/connexion", data=body)

    def elu(self, url: str, index: int, platform: Any, through_web: bool) -> int:
        """The élu of commune `index` signs everything in the parapheur, 100 at a time.

        `through_web`: the batch is the page's POST. Otherwise (the default, see WEB_BATCH) the
        page is read through the web and the batch runs here, as the page runs it: the password
        checked once (argon2), then `engine.services.batch.sign_batch`, one transaction per act."""
        signed = 0
        with httpx.Client(base_url=url, timeout=300, follow_redirects=False) as http:
            self.login(http, f"maire.{index}", "élu")
            path = f"/c/{SIRENS[index]}/parapheur"
            while True:
                page = self.call(http, "GET parapheur (élu)", "GET", path, params={"taille": 100})
                tasks = TASKS.findall(page.text)
                if not tasks:
                    return signed
                if through_web:
                    token = CSRF.search(page.text)
                    assert token
                    body = {"taches": tasks, "confirmation": PASSWORD, "csrf_token": token.group(1)}
                    label = "POST parapheur/signer (élu, batch)"
                    self.call(http, label, "POST", f"{path}/signer", data=body)
                else:
                    started = time.perf_counter()
                    _sign_here(platform, index, [t.partition(":")[2] for t in tasks])
                    with self.lock:
                        label = "batch signature, in the bench process (élu)"
                        self.latencies.setdefault(label, []).append(time.perf_counter() - started)
                signed += len(tasks)

    def clerk(self, url: str, index: int, until: threading.Event) -> None:
        base = f"/c/{SIRENS[index]}"
        with httpx.Client(base_url=url, timeout=300, follow_redirects=False) as http:
            self.login(http, f"agent.{index}", "agent")
            while not until.is_set():
                self.call(http, "GET taches (agent)", "GET", f"{base}/taches")
                listing = self.call(http, "GET dossiers (agent)", "GET", f"{base}/dossiers")
                for case_id in CASE_LINK.findall(listing.text)[:3]:
                    self.call(http, "GET dossier (agent)", "GET", f"{base}/dossiers/{case_id}")

    def summary(self) -> dict[str, Any]:
        out = {}
        for label, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[label] = {
                "requests": len(ordered),
                "errors": self.errors.get(label, 0),
                "p50_ms": _percentile(ordered, 0.50),
                "p99_ms": _percentile(ordered, 0.99),
            }
        return out


# -- one run -------------------------------------------------------------------------------------


def _open_jobs() -> int:
    states = ", ".join(f"'{s}'" for s in UNFINISHED)
    return int(_pg(f"SELECT count(*) FROM jobs WHERE state IN ({states})", DB)[0][0])


def _failed_jobs(since: datetime, case_ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    return _pg(
        "SELECT operation, state, left(coalesce(error, ''), 200) FROM jobs"
        " WHERE state IN ('failed', 'dead') AND created_at >= %s AND case_id = ANY(%s)",
        DB,
        (since, case_ids),
    )


def _completed(case_ids: list[uuid.UUID]) -> int:
    rows = _pg(
        "SELECT count(*) FROM cases WHERE id = ANY(%s) AND status = 'completed'", DB, (case_ids,)
    )
    return int(rows[0][0])


def _errors(case_ids: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    return _pg(
        "SELECT reference, left(coalesce(error, ''), 300) FROM cases"
        " WHERE id = ANY(%s) AND status = 'error'",
        DB,
        (case_ids,),
    )


def _settle(
    fleet: Fleet, done: Callable[[], bool], what: str, case_ids: list[uuid.UUID], platform: Any
) -> None:
    """Wait until `done` and no job is open, relaying the outbox as beat does meanwhile."""
    from engine.worker.app import RELAY_PERIOD_S, relay_outbox

    deadline = time.monotonic() + STAGE_MAX_S
    relayed = time.monotonic()
    while time.monotonic() < deadline:
        fleet.check_alive()
        if errors := _errors(case_ids):
            raise RuntimeError(f"cases in error while waiting for {what}: {errors[:3]}")
        if done() and _open_jobs() == 0:
            return
        if time.monotonic() - relayed >= RELAY_PERIOD_S:
            # beat's `relay-outbox`: the jobs the queues have room for, and again those handed
            # over `worker_stale_after` ago and not finished (a job whose worker failed on a
            # PostgreSQL deadlock stays "sent" until then: seen from 150 acts per run).
            relay_outbox(platform)
            relayed = time.monotonic()
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def _handed_over_again(case_ids: list[uuid.UUID]) -> int:
    rows = _pg(
        "SELECT count(*) FROM jobs WHERE deliveries > 1 AND case_id = ANY(%s)", DB, (case_ids,)
    )
    return int(rows[0][0])


def _deadlocks(logs: Path, workers: int) -> int:
    """PostgreSQL deadlocks reported in this run's worker logs (one JSON line each, whose
    traceback names the error several times)."""
    return sum(
        sum(
            1
            for line in path.read_text(errors="replace").splitlines()
            if "DeadlockDetected" in line
        )
        for path in logs.glob(f"{workers}w-*.log")
    )


def _operations(since: datetime, case_ids: list[uuid.UUID]) -> dict[str, Any]:
    """Per operation of this run: jobs, median job time, span from first start to last end.

    The run's jobs are those of its cases created after its set-up: `created_at` alone would
    count the earlier runs' sealing jobs too, created on the clock moved 100 days ahead."""
    rows = _pg(
        "SELECT operation, count(*), min(started_at), max(finished_at),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))"
        " FROM jobs WHERE state = 'done' AND created_at >= %s AND case_id = ANY(%s)"
        " GROUP BY operation",
        DB,
        (since, case_ids),
    )
    out = {}
    for operation, count, first, last, median in rows:
        span = (last - first).total_seconds() if first and last else 0.0
        out[operation] = {
            "jobs": int(count),
            "median_job_s": round(float(median or 0), 3),
            "span_s": round(span, 2),
            "per_s": round(count / span, 2) if span else None,
        }
    return out


def _stage(meter: CpuMeter, wall: float, acts: int) -> dict[str, Any]:
    spent = meter.stop()
    return {
        "wall_s": round(wall, 2),
        "cpu_s": spent,
        "cpu_ms_per_act": {name: round(cpu * 1000 / acts, 1) for name, cpu in spent.items()},
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def run(
    workers: int,
    acts: int,
    fleet: Fleet,
    url: str,
    web_pgid: int,
    seeder: Seeder,
    rng: random.Random,
) -> dict[str, Any]:
    from engine.jobs.actes_polling import poll_transmissions
    from engine.jobs.timers import fire_due_timers
    from engine.operations.actes import tdt_config
    from engine.runtime.clock import frozen_now

    sizes = zipf_sizes(acts, TENANTS, rng)
    started_seed = time.monotonic()
    case_ids = []
    for index, size in enumerate(sizes):
        if size:
            seeder.users(index)
        for n in range(size):
            case_ids.append(seeder.deliberation(index, n + 1))
    seed_s = time.monotonic() - started_seed
    since = datetime.now(UTC)
    redis.Redis.from_url(REDIS_URL).flushdb()  # set-up jobs ran here; nothing waits
    groups = _start_workers(fleet, workers)
    meter = CpuMeter(
        {
            **{f"workers {q}": [p.pid for p in groups[q]] for q in QUEUES},
            "worker engine": [p.pid for p in groups["engine"]],
            "web": [web_pgid],
        }
    )
    stages: dict[str, Any] = {}
    try:
        # 1. the élus sign their batches while clerks browse; the workers sign and transmit.
        pages = Pages()
        browsing = threading.Event()
        active = [i for i, size in enumerate(sizes) if size]
        clerks = [
            threading.Thread(target=pages.clerk, args=(url, i, browsing))
            for i in active[:CLERK_THREADS]
        ]
        meter.start()
        began = time.monotonic()
        for thread in clerks:
            thread.start()
        signed: list[int] = []
        queue = list(active)
        lock = threading.Lock()

        def elu_loop() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    index = queue.pop(0)
                signed.append(pages.elu(url, index, seeder.platform, WEB_BATCH))

        elus = [threading.Thread(target=elu_loop) for _ in range(ELU_THREADS)]
        for thread in elus:
            thread.start()
        for thread in elus:
            thread.join()
        peak_s = time.monotonic() - began
        browsing.set()
        for thread in clerks:
            thread.join()

        def transmitted() -> bool:
            rows = _pg(
                "SELECT count(*) FROM jobs WHERE operation = 'connectors.actes_transmit'"
                " AND state = 'done' AND created_at >= %s",
                DB,
                (since,),
            )
            return int(rows[0][0]) >= len(case_ids)

        _settle(fleet, transmitted, "signature and @ctes", case_ids, seeder.platform)
        stages["signature"] = _stage(meter, time.monotonic() - began, len(case_ids))
        stages["signature"]["peak_s"] = round(peak_s, 2)
        stages["signature"]["acts_signed_by_elus"] = sum(signed)
        stages["signature"]["pages"] = pages.summary()

        # 2. the prefecture's acknowledgements (the scheduler's polling), then publication.
        p = seeder.platform
        meter.start()
        began = time.monotonic()
        acknowledged = 0
        deadline = time.monotonic() + STAGE_MAX_S
        while acknowledged < len(case_ids) and time.monotonic() < deadline:
            report = poll_transmissions(p.uow, tdt_config(p.settings.actes), now=p.clock())
            acknowledged += report.delivered
            if acknowledged < len(case_ids):
                time.sleep(0.5)

        def published() -> bool:
            rows = _pg(
                "SELECT count(*) FROM jobs WHERE operation = 'connectors.publish'"
                " AND state = 'done' AND created_at >= %s",
                DB,
                (since,),
            )
            return int(rows[0][0]) >= len(case_ids)

        _settle(fleet, published, "acknowledgement and publication", case_ids, p)
        stages["ar_publication"] = _stage(meter, time.monotonic() - began, len(case_ids))
        stages["ar_publication"]["acknowledged"] = acknowledged

        # 3. on a moved clock: the legality control and the minimum publication period are over.
        meter.start()
        began = time.monotonic()
        later = p.clock() + timedelta(days=100)
        with frozen_now(later):
            fired = fire_due_timers(p.uow, now=later)
        _settle(fleet, lambda: _completed(case_ids) == len(case_ids), "sealing", case_ids, p)
        stages["sealing"] = _stage(meter, time.monotonic() - began, len(case_ids))
        stages["sealing"]["timers_fired"] = fired
    finally:
        fleet.stop([p for group in groups.values() for p in group])
    failed = _failed_jobs(since, case_ids)
    return {
        "workers_per_queue": workers,
        "acts": len(case_ids),
        "communes_with_acts": sum(1 for s in sizes if s),
        "largest_commune_acts": max(sizes),
        "set_up_s": round(seed_s, 1),
        "stages": stages,
        "operations": _operations(since, case_ids),
        "failed_jobs": failed[:5],
        "jobs_handed_over_again": _handed_over_again(case_ids),
        "deadlocks_in_worker_logs": _deadlocks(fleet.logs, workers),
    }


# -- profile of the slowest stage, in this process -------------------------------------------------


def profile_stages(seeder: Seeder, operations: tuple[str, ...], acts: int) -> dict[str, Any]:
    """`acts` more deliberations through the whole pipeline in this process (the worker's
    `run_job`), the jobs of each of `operations` under cProfile after a first one unprofiled
    (what a long-lived worker loads once: schemas, keys, imports); the top functions by
    cumulative time, and each whole profile in `bench/results/pipeline_profile_<op>.txt`."""
    from engine.domain.model import Actor
    from engine.jobs.actes_polling import poll_transmissions
    from engine.jobs.runner import TransactionRunner
    from engine.jobs.timers import fire_due_timers
    from engine.operations.actes import tdt_config
    from engine.operations.runner import run_job
    from engine.runtime.clock import frozen_now
    from engine.services import batch

    p = seeder.platform
    index = 0
    seeder.users(index)
    case_ids = [seeder.deliberation(index, 900 + n) for n in range(acts)]
    elu = Actor(f"user:maire.{index}", frozenset({"elu"}), "Marie Dupont")
    with p.uow() as uow:
        tasks = [t.id for c in case_ids for t in uow.cases.human_tasks(SIRENS[index], case_id=c)]
    batch.sign_batch(
        TransactionRunner(p.uow),
        tenant=SIRENS[index],
        actor=elu,
        task_ids=tasks,
        data={"decision": "signer"},
        now=p.clock(),
    )
    profilers = {op: cProfile.Profile() for op in operations}
    cpu: dict[str, list[float]] = {op: [] for op in operations}
    warmed: set[str] = set()

    def drain() -> None:
        for _ in range(20):
            rows = _pg(
                "SELECT id, operation FROM jobs WHERE state IN ('pending', 'sent')"
                " AND case_id = ANY(%s)",
                DB,
                (case_ids,),
            )
            if not rows:
                return
            for job_id, op in rows:
                run = functools.partial(
                    run_job, job_id, uow_factory=p.uow, operations=p.operations, clock=p.clock
                )
                if op in profilers and op in warmed:
                    before = time.process_time()
                    profilers[op].runcall(run)
                    cpu[op].append(time.process_time() - before)
                else:
                    run()
                    warmed.add(op)

    drain()
    poll_transmissions(p.uow, tdt_config(p.settings.actes), now=p.clock())
    drain()
    later = p.clock() + timedelta(days=100)
    with frozen_now(later):
        fire_due_timers(p.uow, now=later)
    drain()
    out: dict[str, Any] = {}
    for op, profiler in profilers.items():
        if not cpu[op]:
            continue
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("cumulative").print_stats(50)
        (RESULTS / f"pipeline_profile_{op}.txt").write_text(text.getvalue())
        top = []
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][3], reverse=True)  # type: ignore[attr-defined]
        for func, (_cc, calls, tt, ct, _callers) in rows[:30]:
            top.append(
                {
                    "function": f"{Path(func[0]).name}:{func[1]}({func[2]})",
                    "calls": calls,
                    "cumulative_s": round(ct, 3),
                    "own_s": round(tt, 3),
                }
            )
        out[op] = {
            "jobs_profiled": len(cpu[op]),
            "cpu_ms_per_job_under_profiler": round(statistics.median(cpu[op]) * 1000, 1),
            "top_cumulative": top,
        }
    return out


def _embed_revocation_before(content_info: Any, ocsps: list[Any], crls: list[Any]) -> bytes:
    """`signatures.seal._embed_revocation` as it was: the whole seal encoded again."""
    from asn1crypto import cms

    from signatures import seal

    signed_data = content_info["content"]
    choices = [cms.RevocationInfoChoice(name="crl", value=crl) for crl in crls]
    choices += [
        cms.RevocationInfoChoice(
            name="other",
            value=cms.OtherRevocationInfoFormat(
                {"other_rev_info_format": seal._OCSP_FORMAT, "other_rev_info": response}
            ),
        )
        for response in ocsps
    ]
    if choices:
        signed_data["crls"] = cms.RevocationInfoChoices(choices)
    der: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump(
        force=True
    )
    return der


def measure_changes(settings: Any, rounds: int) -> dict[str, Any]:
    """Each change to a stage, before and after, interleaved round by round in this run.

    - the package seal (`signatures.seal.seal_detached` with the PKI's TSA, OCSP and CRLs, as
      the sealing stage calls it): the revocation data embedded by encoding the whole seal
      again (before) or only what changed (after); CPU time of this process per seal;
    - the password confirmation: one argon2 verification (the parapheur checks it once per
      batch; the API's HTTP Basic decision once per act)."""
    from engine.services.admin import check_password, hash_password
    from engine.services.signing_setup import signing_setup
    from signatures import seal

    config = signing_setup(settings)
    data = secrets.token_bytes(4096)
    after_fn = seal._embed_revocation
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    sizes: dict[str, int] = {}
    seal.seal_detached(
        data,
        key=config.seal_key,
        timestamp_url=config.timestamp_url,
        trust_roots=config.trust_roots,
    )  # warm-up: keys, TSA client, imports
    try:
        for _ in range(rounds):
            for label, fn in (("before", _embed_revocation_before), ("after", after_fn)):
                seal._embed_revocation = fn
                started = time.process_time()
                der = seal.seal_detached(
                    data,
                    key=config.seal_key,
                    timestamp_url=config.timestamp_url,
                    trust_roots=config.trust_roots,
                )
                cpu[label].append(time.process_time() - started)
                sizes[label] = len(der)
    finally:
        seal._embed_revocation = after_fn
    before = statistics.median(cpu["before"])
    after = statistics.median(cpu["after"])
    hashed = hash_password(PASSWORD)
    argon: list[float] = []
    for _ in range(5):
        started = time.process_time()
        check_password(hashed, PASSWORD)
        argon.append(time.process_time() - started)
    return {
        "seal_cpu_ms": {
            "before": round(before * 1000, 1),
            "after": round(after * 1000, 1),
            "ratio_after_before": round(after / before, 3),
            "rounds": rounds,
            "seal_bytes": sizes,
        },
        "argon2_check_cpu_ms": round(statistics.median(argon) * 1000, 1),
    }


# -- main ----------------------------------------------------------------------------------------


def _prepare(settings: Any) -> Any:
    from engine.bootstrap import build_platform, prepare_database
    from engine.domain.model import Actor
    from engine.services import admin

    _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DB}")
    p = build_platform(settings)
    prepare_database(p)
    system = Actor.system("bench")
    with p.uow() as uow:
        for i, siren in enumerate(SIRENS):
            admin.create_tenant(
                uow, siren=siren, name=f"Commune du banc {i}", actor=system, now=p.clock()
            )
        uow.commit()
    return p


def _projet_pdf() -> bytes:
    from engine.rendering import RenderRequest, render_pdf

    return render_pdf(
        RenderRequest(
            template="projet_deliberation",
            context={
                "objet": "Projet du banc",
                "rapporteur": "Mme Claire Dumas, adjointe",
                "service_porteur": "Secrétariat général",
                "texte": "Le conseil municipal adopte.",
            },
            issuer="Commune du banc",
            issued_at=datetime.now(UTC),
        )
    ).pdf


@contextlib.contextmanager
def _stack(settings: Any) -> Iterator[Any]:
    from devstack.embedded import start_embedded_services

    services = start_embedded_services(settings)
    try:
        yield services
    finally:
        services.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--acts", type=int, default=ACTS_PER_RUN, help="deliberations per run")
    parser.add_argument("--workers", default=",".join(map(str, WORKER_COUNTS)))
    parser.add_argument("--profile-acts", type=int, default=PROFILE_ACTS)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=7, help="rounds of each before/after")
    args = parser.parse_args(
        argv if argv is not None else sys.argv[1:] if __name__ == "__main__" else []
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from engine.settings import BrokerSettings, Settings

    # A fresh store, PKI and prefecture each run: the packages' names restart with the database
    # and an object under Object Lock cannot be replaced.
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    logs = WORK / "logs"
    logs.mkdir(exist_ok=True)
    rng = random.Random(args.seed)
    base = Settings(
        data_dir=WORK / "data",
        database_url=DB_URL,
        secret_key=secrets.token_urlsafe(32),
        broker=BrokerSettings(url=REDIS_URL),
    )
    load_start = os.getloadavg()
    started = time.monotonic()
    with _stack(base) as services:
        from engine.worker.app import connect_platform

        settings = Settings(
            data_dir=base.data_dir,
            database_url=DB_URL,
            secret_key=base.secret_key,
            broker=BrokerSettings(url=REDIS_URL),
        )
        env = {
            **os.environ,
            **services.env,
            "DEMATFLOW_DATABASE_URL": DB_URL,
            "DEMATFLOW_BROKER__URL": REDIS_URL,
            "DEMATFLOW_DATA_DIR": str(settings.data_dir),
            "DEMATFLOW_SECRET_KEY": settings.secret_key,
            "PYTHONPATH": str(ROOT),
        }
        _prepare(settings).db.dispose()
        _app, platform = connect_platform(settings)
        seeder = Seeder(platform, _projet_pdf())
        fleet = Fleet(env, logs)
        runs = []
        try:
            url, web = start_web(fleet, timeout=120)
            for count in (int(c) for c in args.workers.split(",")):
                runs.append(run(count, args.acts, fleet, url, web.pid, seeder, rng))
                print(json.dumps(runs[-1], indent=1, ensure_ascii=False), flush=True)
                partial = {"partial": True, "acts_per_run": args.acts, "runs": runs}
                (RESULTS / "pipeline.partial.json").write_text(
                    json.dumps(partial, indent=2, ensure_ascii=False, default=str) + "\n"
                )
            changes = measure_changes(settings, args.rounds)
            slowest = max(
                (
                    (
                        sum(
                            v for k, v in stage["cpu_ms_per_act"].items() if k.startswith("workers")
                        ),
                        name,
                    )
                    for name, stage in runs[0]["stages"].items()
                ),
            )[1]
            profile = profile_stages(
                seeder, ("signatures.sign", "archiving.seal_case"), args.profile_acts
            )
        finally:
            fleet.stop()
            platform.db.dispose()
            _pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    result = {
        "bench": "deliberation pipeline: batch signature, @ctes, AR, publication, sealing",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {os.cpu_count()} CPU, Python {host.python_version()}",
        "load_average_at_start": [round(v, 2) for v in load_start],
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        "tenants": TENANTS,
        "zipf_exponent": ZIPF_S,
        "acts_per_run": args.acts,
        "total_s": round(time.monotonic() - started, 1),
        "runs": runs,
        "slowest_stage": slowest,
        "profile": profile,
        "changes_before_after": changes,
    }
    out = RESULTS / "pipeline.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    (RESULTS / "pipeline.partial.json").unlink(missing_ok=True)
    print(f"résultats : {out}")


if __name__ == "__main__":
    main()
