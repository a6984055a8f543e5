"""Archivist search with 1,000,000 archived records against 10,000, in the same run (PostgreSQL).

Two databases are migrated the same way and bulk-loaded (COPY) with the same generator: 10,000
and 1,000,000 sealed packages (`archive_packages`, each with its closed case) spread over 300
collectivités by a Zipf-like law (a few cities hold most records, most villages a few hundred),
closed over ten years, with French titles and act numbers. The larger database holds the smaller
one's rows plus the rest, so every query has the same answers' shape in both.

The real application serves each database (uvicorn, one process each); one client logged in as
an archivist (session cookie, as a browser) sends the same set of searches to both, alternating
request by request (so that load from the rest of the machine hits both alike): no filter, frequent and rare keywords, a keyword that matches nothing,
procedure, typologie with a year, act number, keywords with a typologie, and the fifth page
(keyset cursor). Each search is run for the largest collectivité and a median one.
Target: p99 over all searches at 1,000,000 within 1.5x of the p99 at 10,000.
"""

from __future__ import annotations

import html
import json
import os
import platform as host
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg

from bench.bench_web import _free_port
from engine.bootstrap import build_platform, prepare_database
from engine.domain.model import Actor
from engine.services import admin
from engine.settings import Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "10000,1000000").split(","))
"""Baseline and measured sizes (BENCH_SIZES=1000,20000 for a quick check of the bench)."""
DATABASES = {size: f"dematflow_bench_arch_{size}" for size in SIZES}
TENANTS = 300
ZIPF = 0.9
"""Share of tenant of rank r ∝ 1/r^0.9: the largest holds ~8%, the median ~0.2%."""
PASSWORD = "mot-de-passe-du-banc"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "60"))
"""Rounds of the whole query set per database and run."""
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TARGET = 1.5
SEED = 20260301

PROCEDURES = {
    "deliberation": ("deliberation", 0.45),
    "arrete": ("arrete", 0.35),
    "commande-publique": ("marche_public", 0.12),
    "demande-usager": ("demande_usager", 0.08),
}
SUBJECTS = (
    "subvention association sportive",
    "budget primitif",
    "décision modificative budgétaire",
    "travaux de voirie",
    "restauration scolaire cantine",
    "tarifs municipaux",
    "convention de mise à disposition",
    "recrutement agent contractuel",
    "éclairage public",
    "assainissement collectif",
    "plan local d'urbanisme",
    "permis de construire",
    "cimetière concession",
    "bibliothèque médiathèque",
    "marché de fournitures",
    "acquisition foncière",
    "régie de recettes",
    "indemnités des élus",
    "circulation et stationnement",
    "occupation du domaine public",
)
PLACES = (
    "rue de la république",
    "place de la mairie",
    "chemin des vignes",
    "avenue jean jaurès",
    "route départementale",
    "école élémentaire",
    "salle des fêtes",
    "stade municipal",
    "zone artisanale",
    "centre bourg",
)
SYLLABLES = ("ba", "ro", "mi", "ta", "lu", "ver", "gon", "del", "mar", "sil", "que", "nac")
RARE_WORD = "marsilgon"
NO_MATCH = "zorglubien"


def _surnames(rng: random.Random) -> list[str]:
    """~1,700 made-up family names: each appears in a few records out of ten thousand."""
    names = {"".join(rng.choice(SYLLABLES) for _ in range(3)) for _ in range(3000)}
    return sorted(names)


def _siren(index: int) -> str:
    prefix = f"2{index:07d}"
    for last in range(10):
        candidate = f"{prefix}{last}"
        total = 0
        for position, char in enumerate(reversed(candidate)):
            digit = int(char) * (2 if position % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return candidate
    raise AssertionError(prefix)


def _shares() -> list[float]:
    weights = [1 / rank**ZIPF for rank in range(1, TENANTS + 1)]
    total = sum(weights)
    return [w / total for w in weights]


def _counts(size: int) -> list[int]:
    counts = [max(1, round(size * share)) for share in _shares()]
    counts[0] += size - sum(counts)  # exact total
    return counts


def _tenant_rows(
    rng: random.Random, siren: str, count: int, names: list[str], spec: str
) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(case row, package row) of one collectivité, in random closing order."""
    start = datetime(2016, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    kinds = list(PROCEDURES)
    weights = [PROCEDURES[k][1] for k in kinds]
    serial: dict[int, int] = {}
    rows = []
    for index in range(count):
        procedure = rng.choices(kinds, weights)[0]
        typologie = PROCEDURES[procedure][0]
        closed = start + timedelta(seconds=rng.random() * span)
        subject = rng.choice(SUBJECTS)
        who = " ".join(rng.sample(names, 2))
        title = f"{typologie.replace('_', ' ')} : {subject}, {rng.choice(PLACES)}"
        serial[closed.year] = serial.get(closed.year, 0) + 1
        act = f"{closed.year}-{serial[closed.year]:05d}" if typologie != "demande_usager" else None
        reference = f"{closed.year}-{index:07d}"
        package_id = f"{procedure}-{reference}"
        text = " ".join(x for x in (title, who, act or "", reference) if x).lower()
        years = 10 if typologie != "demande_usager" else 5
        dua_end = date(closed.year + years + 1, 1, 1)
        state = rng.choices(("archive", "transfere", "en_attente"), (0.97, 0.02, 0.01))[0]
        case_id = uuid.uuid4()
        digest = f"{rng.getrandbits(256):064x}"
        objects = [
            {"key": f"{package_id}/{name}", "sha256": digest, "size": rng.randint(2_000, 900_000)}
            for name in ("manifest-sha256.txt", "data/acte.pdf", "data/seda.xml")
        ]
        frozen = {"closed_at": closed.isoformat(), "journal": [1, 40], "documents": [digest]}
        case = (
            case_id,
            siren,
            procedure,
            spec,
            reference,
            title,
            "completed",
            1,
            "1",
            "{}",
            "{}",
            "[]",
            "banc",
            closed,
            closed,
        )
        package = (
            siren,
            package_id,
            case_id,
            procedure,
            typologie,
            title,
            act,
            None,
            text,
            closed,
            state,
            0,
            json.dumps(frozen),
            f"dematflow-{siren}",
            "0" * 128,
            json.dumps(objects),
            sum(int(str(o["size"])) for o in objects),
            f"DUA-{typologie.upper()}",
            dua_end,
            "Keep" if typologie in ("deliberation", "arrete") else "Destroy",
            datetime.combine(dua_end, datetime.min.time(), tzinfo=UTC),
            False,
            closed if state != "en_attente" else None,
            None,
            closed,
        )
        rows.append((case, package))
    return rows


CASE_COLUMNS = (
    "id, tenant, procedure, spec_hash, reference, title, status, version, serializer_version, "
    "state, summary, current_steps, created_by, created_at, updated_at"
)
PACKAGE_COLUMNS = (
    "tenant, package_id, case_id, procedure, typologie, title, act_number, actes_id, search_text, "
    "closed_at, state, attempts, frozen, bucket, seal_sha512, objects, total_bytes, dua_rule, "
    "dua_end, final_action, retain_until, legal_hold, archived_at, destroyed_at, updated_at"
)


def _pg(sql: str, db: str = "test") -> None:
    with psycopg.connect(PG_ADMIN.replace("dbname=test", f"dbname={db}"), autocommit=True) as c:
        c.execute(sql.encode())


def _url(db: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1/{db}"


def _prepare(db: str, sirens: list[str]) -> str:
    """A migrated database with the tenants and two archivists; returns a spec hash."""
    _pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    _pg(f"CREATE DATABASE {db}")
    p = build_platform(Settings(database_url=_url(db), data_dir=RESULTS / "tmp-archives"))
    prepare_database(p)
    system = Actor.system("bench")
    with p.uow() as uow:
        for index, siren in enumerate(sirens):
            admin.create_tenant(
                uow, siren=siren, name=f"Collectivité {index + 1}", actor=system, now=p.clock()
            )
        for username, siren in (
            ("archiviste.grand", sirens[0]),
            ("archiviste.moyen", sirens[TENANTS // 2]),
        ):
            admin.create_user(
                uow,
                username=username,
                display_name=username,
                password=PASSWORD,
                tenant=siren,
                roles=("archiviste",),
                actor=system,
                now=p.clock(),
            )
        spec = uow.connection.exec_driver_sql("SELECT hash FROM process_specs LIMIT 1").scalar()
        uow.commit()
    p.db.dispose()
    return str(spec)


def _load(sizes: dict[int, str]) -> dict[str, Any]:
    """Generate the largest set once; each database gets, per tenant, the first rows."""
    sirens = [_siren(i) for i in range(1, TENANTS + 1)]
    specs = {size: _prepare(db, sirens) for size, db in sizes.items()}
    rng = random.Random(SEED)
    names = _surnames(rng)
    largest = max(sizes)
    counts = {size: _counts(size) for size in sizes}
    picks: dict[str, Any] = {}
    timings = {}
    connections = {
        size: psycopg.connect(PG_ADMIN.replace("test", db)) for size, db in sizes.items()
    }
    started = time.perf_counter()
    try:
        for index, siren in enumerate(sirens):
            rows = _tenant_rows(rng, siren, counts[largest][index], names, specs[largest])
            if index in (0, TENANTS // 2):
                first = rows[: min(counts[size][index] for size in sizes)]
                picks[siren] = next(p[6] for _, p in first if p[6] is not None)
            for size, conn in connections.items():
                mine = rows[: counts[size][index]]
                with conn.cursor() as cur:
                    with cur.copy(f"COPY cases ({CASE_COLUMNS}) FROM STDIN") as copy:
                        for case, _ in mine:
                            copy.write_row((*case[:3], specs[size], *case[4:]))
                    with cur.copy(f"COPY archive_packages ({PACKAGE_COLUMNS}) FROM STDIN") as copy:
                        for _, package in mine:
                            copy.write_row(package)
                conn.commit()
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        for conn in connections.values():
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE archive_packages")
            conn.execute("VACUUM ANALYZE cases")
        timings["load_total_s"] = round(time.perf_counter() - started, 1)
    finally:
        for conn in connections.values():
            conn.close()
    return {"sirens": sirens, "acts": picks, "timings": timings, "names": names}


def _reused(sizes: dict[int, str]) -> dict[str, Any]:
    """What `_load` returns, read back from databases loaded by an earlier run."""
    sirens = [_siren(i) for i in range(1, TENANTS + 1)]
    picks = {}
    with psycopg.connect(PG_ADMIN.replace("test", sizes[min(sizes)])) as conn:
        for siren in (sirens[0], sirens[TENANTS // 2]):
            row = conn.execute(
                "SELECT act_number FROM archive_packages WHERE tenant = %s "
                "AND act_number IS NOT NULL ORDER BY package_id LIMIT 1",
                (siren,),
            ).fetchone()
            assert row is not None, "nothing to reuse: run once with BENCH_KEEP=1"
            picks[siren] = row[0]
    return {"sirens": sirens, "acts": picks, "timings": "bases d'un passage précédent"}


def make_app() -> Any:
    """The real application on one of the databases (uvicorn factory)."""
    from web.app import create_app

    settings = Settings(database_url=os.environ["BENCH_DB_URL"], data_dir=RESULTS / "tmp-archives")
    return create_app(platform=build_platform(settings))


def _serve(db: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.bench_archive_search:make_app"]
    command += ["--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log"]
    env = {**os.environ, "BENCH_DB_URL": _url(db)}
    process = subprocess.Popen(command, env=env, cwd=HERE.parent)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health/live", timeout=0.5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the application did not start")


def _login(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/connexion").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"identifiant": username, "mot_de_passe": PASSWORD, "csrf_token": token.group(1)}
    response = client.post("/connexion", data=form)
    assert response.status_code == 303, response.text
    return client


def _queries(siren: str, act: str) -> dict[str, dict[str, str]]:
    return {
        "sans filtre": {},
        "mot fréquent": {"q": "voirie"},
        "mot rare": {"q": RARE_WORD},
        "mot absent": {"q": NO_MATCH},
        "procédure": {"procedure": "commande-publique"},
        "typologie et année": {"typologie": "deliberation", "du": "2021-01-01", "au": "2021-12-31"},
        "numéro d'acte": {"numero": act},
        "mots et typologie": {"q": "subvention sportive", "typologie": "deliberation"},
    }


def _fifth_page(client: httpx.Client, path: str) -> str:
    """Follow 'Page suivante' up to four times: the fifth page (keyset cursor), or the last
    one for a collectivité with fewer records."""
    url = path
    for _ in range(4):
        found = re.search(r'href="([^"]+)" rel="next"', client.get(url).text)
        if not found:
            break
        url = html.unescape(found.group(1))
    return url


def _targets(client: httpx.Client, siren: str, act: str) -> dict[str, str]:
    base = f"/c/{siren}/archives"
    urls = {
        name: f"{base}?{urlencode(params)}" if params else base
        for name, params in _queries(siren, act).items()
    }
    urls["5e page"] = _fifth_page(client, base)
    return urls


def _measure(
    sessions: dict[int, dict[str, httpx.Client]],
    targets: dict[int, dict[str, dict[str, str]]],
    rounds: int,
) -> dict[int, dict[str, list[float]]]:
    """Each search is sent to every size in turn, request after request: a burst of load
    from the rest of the machine hits both sides alike."""
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in sessions}
    first = min(sessions)
    for _ in range(rounds):
        for who in sessions[first]:
            for name in targets[first][who]:
                for size, clients in sessions.items():
                    url = targets[size][who][name]
                    began = time.perf_counter()
                    response = clients[who].get(url)
                    elapsed = time.perf_counter() - began
                    assert response.status_code == 200, (url, response.status_code)
                    samples[size].setdefault(f"{who} / {name}", []).append(elapsed)
    return samples


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 2)


def _summary(samples: dict[str, list[float]]) -> dict[str, Any]:
    every = [v for values in samples.values() for v in values]
    return {
        "requests": len(every),
        "p50_ms": round(statistics.median(every) * 1000, 2),
        "p99_ms": _p(every, 0.99),
        "per_query_p99_ms": {name: _p(values, 0.99) for name, values in samples.items()},
    }


def _matches(client: httpx.Client, url: str) -> str:
    caption = re.search(r"<caption>([^<]+)</caption>", client.get(url).text)
    return caption.group(1).strip() if caption else "aucun"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    reuse = os.environ.get("BENCH_REUSE")  # databases kept by BENCH_KEEP=1: measure again
    loaded = _reused(DATABASES) if reuse else _load(DATABASES)
    sirens = loaded["sirens"]
    measured = {"grand": sirens[0], "moyen": sirens[TENANTS // 2]}
    servers = {}
    try:
        for size, db in DATABASES.items():
            servers[size] = _serve(db)
        sessions = {
            size: {who: _login(url, f"archiviste.{who}") for who in measured}
            for size, (_, url) in servers.items()
        }
        targets = {
            size: {
                who: _targets(client, measured[who], loaded["acts"][measured[who]])
                for who, client in clients.items()
            }
            for size, clients in sessions.items()
        }
        answers = {
            size: {
                f"{who} / {name}": _matches(sessions[size][who], url)
                for who, urls in by_who.items()
                for name, url in urls.items()
            }
            for size, by_who in targets.items()
        }
        _measure(sessions, targets, 5)  # warm-up: caches, connection pools, plans
        runs = []
        for _ in range(RUNS):
            measured_run = _measure(sessions, targets, ROUNDS)
            run = {size: _summary(samples) for size, samples in measured_run.items()}
            small, large = run[min(DATABASES)], run[max(DATABASES)]
            runs.append(
                {
                    "p99_baseline_ms": small["p99_ms"],
                    "p99_measured_ms": large["p99_ms"],
                    "ratio_p99": round(large["p99_ms"] / small["p99_ms"], 3),
                    "p50_baseline_ms": small["p50_ms"],
                    "p50_measured_ms": large["p50_ms"],
                    "per_query_p99_ms": {
                        name: [small["per_query_p99_ms"][name], large["per_query_p99_ms"][name]]
                        for name in small["per_query_p99_ms"]
                    },
                    "requests_per_size": small["requests"],
                }
            )
        for clients in sessions.values():
            for client in clients.values():
                client.close()
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
        if not os.environ.get("BENCH_KEEP"):  # BENCH_KEEP=1 keeps them for EXPLAIN
            for db in DATABASES.values():
                _pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    counts = {size: _counts(size) for size in DATABASES}
    result = {
        "bench": "archivist search page, 1,000,000 vs 10,000 archived records (PostgreSQL, "
        "real app under uvicorn, one client with a session cookie, sizes alternating per request)",
        "machine": f"{host.machine()} {os.cpu_count()} CPU, Python {host.python_version()}",
        "sizes": {"baseline": min(SIZES), "measured": max(SIZES)},
        "tenants": TENANTS,
        "records_largest_tenant": {str(size): c[0] for size, c in counts.items()},
        "records_median_tenant": {str(size): c[TENANTS // 2] for size, c in counts.items()},
        "load": loaded["timings"],
        "queries": list(targets[min(DATABASES)]["grand"]),
        "answers": {str(size): a for size, a in answers.items()},
        "runs": runs,
        "ratio_p99_worst": max(r["ratio_p99"] for r in runs),
        "target_ratio": TARGET,
    }
    (RESULTS / "archive_search.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
