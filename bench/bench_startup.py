"""Start-up of the processes against the bare interpreter and the bare import of the libraries.

Measured in one run, each as fresh child processes, rounds interleaved so that the load of the
machine falls on every measure alike (median of the rounds; wall time and the child's CPU time,
which a machine shared with other work inflates less than the wall time):
- floors: `python -c pass`, then the bare import of the main libraries: those a web process
  needs (FastAPI, Starlette, uvicorn, SQLAlchemy, Jinja2, pydantic-settings), those a worker
  needs (Celery, kombu, SQLAlchemy, pydantic-settings), and all of them with the ones the jobs
  use (SpiffWorkflow, pyHanko, pikepdf, xmlschema, minio, Alembic, fpdf2);
- `dematflow --help`, and the `--help` of every command (slowest and median);
- a web process ready: `dematflow web` started, until `/health/live` answers (the process is
  up: the server's start then loads the API and page routers in a thread, `web.app.FeatureRoutes`),
  until `/health/ready` answers (it waits for the routers, then runs the readiness checks: with
  SQLite and no object store or TSA configured here it answers 503, which is an answer); and
  until its first page (`/connexion`) answers: what a first visitor waits for, the web's ready;
- a Celery worker ready: `dematflow worker` started, until Celery's `worker_ready` signal; and
  until its first job (the timers' job, sent once it is ready) has run in its pool process, which
  imports the job machinery then: CPU of the worker and its pool process together;
- the embedded platform (`dematflow serve`, what `make run` runs): first start in an empty data
  dir (migrations, PKI, SeaweedFS) until the home page answers, and until the demo (seeded in the
  background once the web answers) has written its accounts; then a second start of the same
  data dir until the home page answers (skipped with `BENCH_STARTUP_SERVE=0`).
Targets (issue 17): `--help` under 0.3 s more than `python -c pass`; web ready under 2 s, worker
under 3 s; first start under 30 s, later starts under 10 s.
"""

from __future__ import annotations

import json
import os
import platform as host
import resource
import secrets
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PYTHON = sys.executable
DEMATFLOW = str(Path(sys.executable).with_name("dematflow"))
ROUNDS = 5
PROCESS_ROUNDS = 3

WEB_LIBS = "fastapi, starlette, uvicorn, sqlalchemy, jinja2, pydantic_settings"
WORKER_LIBS = "celery, celery.worker, kombu, sqlalchemy, pydantic_settings"
ALL_LIBS = (
    f"{WEB_LIBS}, celery, celery.worker, kombu, SpiffWorkflow.bpmn, pyhanko.sign, pikepdf, "
    "xmlschema, minio, alembic, fpdf"
)
COMMANDS = (
    "archives",
    "audit",
    "beat",
    "cases",
    "db",
    "ops",
    "processes",
    "serve",
    "signatures",
    "simulators",
    "tenants",
    "users",
    "web",
    "worker",
)

_WORKER_READY = (
    "import os, sys\n"
    "from celery.signals import task_postrun, worker_ready\n"
    "def ready(**_):\n"
    "    os.write(1, b'BENCH-READY\\n')\n"
    "    from engine.worker.app import celery_app\n"
    "    celery_app().send_task('dematflow.fire_timers', queue='engine')\n"
    "worker_ready.connect(ready, weak=False)\n"
    "task_postrun.connect(lambda **_: os.write(1, b'BENCH-JOB\\n'), weak=False)\n"
    "from engine.cli.main import main\n"
    "sys.argv = ['dematflow', *sys.argv[1:]]\n"
    "main()\n"
)
"""The real `dematflow worker`, with listeners on Celery's own readiness signal, which then sends
the timers' job, and on the end of a job in the pool process (written to the standard output's
descriptor: Celery redirects `sys.stdout` to its logger)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEMATFLOW_")}
    env.update(
        DEMATFLOW_DATA_DIR=str(data_dir),
        DEMATFLOW_SECRET_KEY=secrets.token_urlsafe(48),
        DEMATFLOW_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def _child_cpu() -> float:
    """CPU seconds (user + system) of the children waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(argv: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of a process run to its end."""
    cpu = _child_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=300)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv}: {done.stderr.decode(errors='replace')[-2000:]}")
    return wall, _child_cpu() - cpu


def _answers(url: str, *, any_status: bool = False) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return any_status
    except OSError:
        return False


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far, with its children waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_with_children(pid: int) -> float:
    """`_cpu_of` the process plus that of its living children (a worker's pool processes)."""
    total = _cpu_of(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += _cpu_of(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


def _until_ready(
    argv: Sequence[str],
    env: dict[str, str],
    ready: Callable[[subprocess.Popen[bytes]], bool],
    timeout: float,
) -> tuple[float, float]:
    """Wall seconds from spawning ``argv`` to ``ready``, and the CPU seconds the process used
    until then; the process is stopped afterwards."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        while not ready(process):
            if process.poll() is not None:
                raise RuntimeError(f"{argv} stopped ({process.returncode}) before it was ready")
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{argv} not ready after {timeout} s")
            time.sleep(0.02)
        return time.perf_counter() - started, _cpu_of(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _line_seen(marker: bytes) -> Callable[[subprocess.Popen[bytes]], bool]:
    def seen(process: subprocess.Popen[bytes]) -> bool:
        assert process.stdout is not None
        if not select.select([process.stdout], [], [], 0.2)[0]:
            return False
        return marker in process.stdout.readline()

    return seen


def _web_ready(data_dir: Path, path: str = "/health/live") -> tuple[float, float]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}{path}"
    argv = [DEMATFLOW, "web", "--host", "127.0.0.1", "--port", str(port)]

    def answered(_process: subprocess.Popen[bytes]) -> bool:
        return _answers(url, any_status=True)

    return _until_ready(argv, _env(data_dir), answered, timeout=120)


def _worker_ready(data_dir: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """(wall, CPU) until ready, and (wall, CPU with the pool process) until its first job ran."""
    argv = [PYTHON, "-c", _WORKER_READY, "worker", "--concurrency", "1", "--quiet"]
    started = time.perf_counter()
    ready: list[tuple[float, float]] = []

    def first_job(process: subprocess.Popen[bytes]) -> bool:
        assert process.stdout is not None
        if not select.select([process.stdout], [], [], 0.2)[0]:
            return False
        line = process.stdout.readline()
        if b"BENCH-READY" in line:
            ready.append((time.perf_counter() - started, _cpu_of(process.pid)))
        if b"BENCH-JOB" in line:
            job.append(_cpu_with_children(process.pid))
            return True
        return False

    job: list[float] = []
    wall, _cpu = _until_ready(argv, _env(data_dir), first_job, timeout=120)
    return ready[0], (wall, job[0])


def _serve_ready(data_dir: Path) -> tuple[float, float]:
    """Seconds until the home page answers, and until the demo accounts are written (the demo
    is seeded in the background once the web answers, on the first start)."""
    port = _free_port()
    env = _env(data_dir, DEMATFLOW_WEB_PORT=str(port))
    del env["DEMATFLOW_SECRET_KEY"]  # serve makes its own per-installation key
    started = time.perf_counter()
    home: list[float] = []

    def demo_ready(_process: subprocess.Popen[bytes]) -> bool:
        if not home and _answers(f"http://127.0.0.1:{port}/"):
            home.append(time.perf_counter() - started)
        return bool(home) and (data_dir / "identifiants-demo.txt").exists()

    wall, _cpu = _until_ready([DEMATFLOW, "serve"], env, demo_ready, timeout=600)
    return home[0], wall


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def main() -> None:
    with_serve = os.environ.get("BENCH_STARTUP_SERVE", "1") != "0"
    load_at_start = [round(x, 1) for x in os.getloadavg()]
    work = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    data_dir = work / "data"
    data_dir.mkdir()
    env = _env(data_dir)
    quick: dict[str, tuple[list[str], dict[str, str] | None]] = {
        "python -c pass": ([PYTHON, "-c", "pass"], None),
        "import web libraries": ([PYTHON, "-c", f"import {WEB_LIBS}"], None),
        "import worker libraries": ([PYTHON, "-c", f"import {WORKER_LIBS}"], None),
        "import all main libraries": ([PYTHON, "-c", f"import {ALL_LIBS}"], None),
        "dematflow --help": ([DEMATFLOW, "--help"], env),
        **{f"dematflow {c} --help": ([DEMATFLOW, c, "--help"], env) for c in COMMANDS},
    }
    walls: dict[str, list[float]] = {name: [] for name in quick}
    cpus: dict[str, list[float]] = {name: [] for name in quick}
    web: list[tuple[float, float]] = []
    web_checks: list[tuple[float, float]] = []
    web_page: list[tuple[float, float]] = []
    worker: list[tuple[float, float]] = []
    worker_job: list[tuple[float, float]] = []
    try:
        _run([DEMATFLOW, "db", "upgrade"], env)  # the worker's first job reads the database
        for round_ in range(ROUNDS):
            for name, (command, child_env) in quick.items():
                took, used = _run(command, child_env)
                walls[name].append(took)
                cpus[name].append(used)
            if round_ < PROCESS_ROUNDS:
                web.append(_web_ready(data_dir))
                web_checks.append(_web_ready(data_dir, "/health/ready"))
                web_page.append(_web_ready(data_dir, "/connexion"))
                ready, first_job = _worker_ready(data_dir)
                worker.append(ready)
                worker_job.append(first_job)
        serve: dict[str, float] = {}
        if with_serve:
            serve_dir = work / "serve"
            home, demo = _serve_ready(serve_dir)
            serve["first start: home page"] = round(home, 2)
            serve["first start: demo accounts written"] = round(demo, 2)
            serve["second start: home page"] = round(_serve_ready(serve_dir)[0], 2)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    wall = {name: _median(values) for name, values in walls.items()}
    cpu = {name: _median(values) for name, values in cpus.items()}
    floor = wall["python -c pass"]
    helps = [wall[f"dematflow {c} --help"] for c in COMMANDS]
    slowest = max(COMMANDS, key=lambda c: wall[f"dematflow {c} --help"])
    web_ready, worker_ready = _median([w for w, _ in web]), _median([w for w, _ in worker])
    web_cpu, worker_cpu = _median([c for _, c in web]), _median([c for _, c in worker])
    checks_ready, checks_cpu = (
        _median([w for w, _ in web_checks]),
        _median([c for _, c in web_checks]),
    )
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "load_average_at_start": load_at_start,
        "wall_s": wall,
        "cpu_s": cpu,
        "help": {
            "dematflow --help minus python -c pass (s)": round(wall["dematflow --help"] - floor, 3),
            "dematflow --help minus python -c pass, CPU (s)": round(
                cpu["dematflow --help"] - cpu["python -c pass"], 3
            ),
            "slowest command --help minus python -c pass, CPU (s)": round(
                max(cpu[f"dematflow {c} --help"] for c in COMMANDS) - cpu["python -c pass"], 3
            ),
            "slowest command --help": slowest,
            "slowest command --help minus python -c pass (s)": round(max(helps) - floor, 3),
            "median command --help minus python -c pass (s)": round(
                statistics.median(helps) - floor, 3
            ),
            "target (s)": 0.3,
        },
        "web": {
            "ready (s)": web_ready,
            "ready / import web libraries": round(web_ready / wall["import web libraries"], 2),
            "CPU until ready (s)": web_cpu,
            "CPU until ready / CPU of import web libraries": round(
                web_cpu / cpu["import web libraries"], 2
            ),
            "/health/ready answered (s)": checks_ready,
            "/health/ready answered / python -c pass": round(checks_ready / floor, 1),
            "CPU until /health/ready answered (s)": checks_cpu,
            "first page (/connexion) answered (s)": _median([w for w, _ in web_page]),
            "CPU until first page answered (s)": _median([c for _, c in web_page]),
            "ready / python -c pass": round(web_ready / floor, 1),
            "target (s)": 2.0,
        },
        "worker": {
            "ready (s)": worker_ready,
            "ready / import worker libraries": round(
                worker_ready / wall["import worker libraries"], 2
            ),
            "CPU until ready (s)": worker_cpu,
            "CPU until ready / CPU of import worker libraries": round(
                worker_cpu / cpu["import worker libraries"], 2
            ),
            "ready / python -c pass": round(worker_ready / floor, 1),
            "first job run (s)": _median([w for w, _ in worker_job]),
            "CPU until first job run, with the pool process (s)": _median(
                [c for _, c in worker_job]
            ),
            "target (s)": 3.0,
        },
        "serve": serve or "skipped (BENCH_STARTUP_SERVE=0)",
        "serve targets (s)": {"first start": 30.0, "second start": 10.0},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
