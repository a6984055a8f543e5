"""Transfer of 1,000 small packages to the SAE simulator, against a plain upload of the same bytes.

The simulator runs in its own process (the real CLI, uvicorn, 127.0.0.1). 1,000 distinct small
packages (an act and its AR, ~1 KiB of objects plus a ~5 KiB SEDA manifest) are built before
timing. Then, alternating run by run, on one keep-alive connection each:

- **floor**: POST of each package's SIP zip (the same bytes Vitam receives) to the simulator's
  `/admin/sink`, which only reads the body;
- **Vitam**: `VitamClient.submit_transfer` (the zip, 202 + X-Request-Id) then
  `transfer_outcome` (operation state, then the ArchiveTransferReply read and parsed);
- **As@lae**: `AsalaeClient.submit_transfer` (multipart: manifest + objects zip) then
  `transfer_outcome` (ArchiveTransferReply fetched by sender and message id, parsed).

A transfer includes what the SAE does with it: XSD validation of the manifest, the objects'
SHA-512 against it, the reply built; the client's bounded read and safe parse of the reply.
Not included: reading the package from the object store and the database steps of the job
(`engine.jobs.sae_polling`), measured by the archiving benches.
"""

from __future__ import annotations

import json
import os
import platform as host
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from archiving.digests import digest_bytes
from archiving.model import (
    AccessRule,
    Agency,
    AppraisalRule,
    FileRole,
    FinalAction,
    PackageFile,
    PackageSpec,
)
from archiving.seda import build_archive_transfer, message_identifier
from connectors.sae import Accepted, SaeConfig, SaeKind, TransferPackage, open_sae_client
from connectors.sae.sip import sip_zip
from devstack.process import free_port, start_process

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PACKAGES = int(os.environ.get("BENCH_PACKAGES", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
USER, PASSWORD = "banc", "mot-de-passe-du-banc"


def build_packages(directory: Path, count: int) -> list[TransferPackage]:
    contents = {
        "acte.pdf": (FileRole.DOCUMENT, "application/pdf", "fmt/476"),
        "accuse-reception.xml": (FileRole.ACKNOWLEDGEMENT, "application/xml", "fmt/101"),
    }
    closed = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    packages = []
    for n in range(count):
        package_id = f"deliberation-2026-{n:05d}"
        data = {
            "acte.pdf": b"%PDF-1.7\n% acte " + str(n).encode() + b"\n" + b"x" * 800,
            "accuse-reception.xml": f"<ar numero='{n}'/>".encode(),
        }
        items = []
        for name, (role, mime, pronom) in contents.items():
            source = directory / f"{n}-{name}"
            source.write_bytes(data[name])
            items.append(
                PackageFile(
                    source=source, name=name, role=role, title=name, mime_type=mime,
                    pronom_id=pronom,
                )
            )  # fmt: skip
        spec = PackageSpec(
            package_id=package_id,
            tenant=Agency("213800000", "Commune de Saint-Exemple"),
            archival_agency=Agency("FR-AD034", "Archives départementales de l'Hérault"),
            title=f"Délibération n° 2026-{n:05d}",
            closed_at=closed,
            files=tuple(items),
            appraisal=AppraisalRule("DUA-DELIB", 10, closed.date(), FinalAction.KEEP),
            access=AccessRule("AR038", closed.date()),
        )
        digests = {item.bag_path: digest_bytes(data[item.name]) for item in items}
        manifest = build_archive_transfer(spec, digests)
        objects = {item.bag_path.removeprefix("data/"): data[item.name] for item in items}
        packages.append(TransferPackage(message_identifier(spec), "213800000", manifest, objects))
    return packages


def floor(base_url: str, packages: list[TransferPackage]) -> float:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        started = time.perf_counter()
        for package in packages:
            response = http.post(
                "/admin/sink",
                content=sip_zip(package.manifest, package.objects),
                headers={"Content-Type": "application/octet-stream"},
            )
            assert response.status_code == 204
        return time.perf_counter() - started


def transfer(base_url: str, kind: SaeKind, packages: list[TransferPackage]) -> float:
    config = SaeConfig(
        kind=kind, base_url=base_url, tenant="1", username=USER if kind == SaeKind.ASALAE else "",
        password=PASSWORD if kind == SaeKind.ASALAE else "", timeout_seconds=30,
    )  # fmt: skip
    client = open_sae_client(config)
    try:
        started = time.perf_counter()
        for package in packages:
            outcome = client.transfer_outcome(client.submit_transfer(package))
            assert isinstance(outcome, Accepted), outcome
        return time.perf_counter() - started
    finally:
        client.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-sae-") as work:
        directory = Path(work)
        print(f"construction de {PACKAGES} paquets…", file=sys.stderr)
        packages = build_packages(directory, PACKAGES)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "engine.cli.main", "simulators", "sae"]
        command += ["--port", str(port), "--user", USER, "--password", PASSWORD]
        runs: dict[str, list[float]] = {"floor": [], "vitam": [], "asalae": []}
        with start_process(
            command, what="simulateur de SAE", log=directory / "sae.log", port=port, timeout=60
        ):
            transfer(base_url, SaeKind.VITAM, packages[:20])  # warm up both sides
            for run in range(RUNS):
                print(f"passe {run + 1}/{RUNS}…", file=sys.stderr)
                runs["floor"].append(floor(base_url, packages))
                runs["vitam"].append(transfer(base_url, SaeKind.VITAM, packages))
                runs["asalae"].append(transfer(base_url, SaeKind.ASALAE, packages))
    median = {k: statistics.median(v) for k, v in runs.items()}
    sip_bytes = statistics.mean(len(sip_zip(p.manifest, p.objects)) for p in packages[:50])
    result: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(),
        "host": host.node(),
        "packages": PACKAGES,
        "runs": RUNS,
        "mean_sip_bytes": round(sip_bytes),
        "seconds": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "median_seconds": {k: round(v, 3) for k, v in median.items()},
        "per_package_ms": {k: round(1000 * v / PACKAGES, 2) for k, v in median.items()},
        "ratio_vitam_to_floor": round(median["vitam"] / median["floor"], 2),
        "ratio_asalae_to_floor": round(median["asalae"] / median["floor"], 2),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sae_transfer.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
