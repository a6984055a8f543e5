"""Archiving benchmarks: sealing a 100-file 200 MB case vs raw SHA-256 + PUT of the same bytes,
fixity audit rate, PUT throughput into a locked vs an unlocked bucket.

Everything runs on 127.0.0.1: a SeaweedFS started here and the development PKI. Results go to
bench/results/archiving.json and the "Archiving" section of bench/README.md.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform as host
import secrets
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from archiving.audit import audit_packages
from archiving.bag import build_package
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
from archiving.storage.s3 import ObjectStore
from archiving.store import prepare_tenant_bucket, store_package
from devstack.pki import build_dev_pki, serve_dev_pki
from devstack.process import free_port
from devstack.s3 import start_seaweed
from engine.services.archives.seals import SealIdentities, SignaturesSealer, SignaturesSealVerifier
from signatures.seal import SealIdentity

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE / "README.md"
FILES = 100
FILE_BYTES = 2 * 1024 * 1024
MB = 1024 * 1024


def _make_files(directory: Path) -> list[Path]:
    directory.mkdir(parents=True)
    paths = []
    for index in range(FILES):
        path = directory / f"piece-{index:03d}.pdf"
        path.write_bytes(os.urandom(FILE_BYTES))
        paths.append(path)
    return paths


def _spec(package_id: str, paths: list[Path]) -> PackageSpec:
    today = date.today()
    return PackageSpec(
        package_id=package_id,
        tenant=Agency("213800000", "Commune de Banc"),
        archival_agency=Agency("OPERATEUR", "Archives de l'opérateur"),
        title="Marché public : dossier complet",
        closed_at=datetime.now(UTC),
        files=tuple(
            PackageFile(
                source=p,
                name=p.name,
                role=FileRole.DOCUMENT,
                title=p.name,
                mime_type="application/pdf",
            )
            for p in paths
        ),
        appraisal=AppraisalRule("DUA-MARCHE", 1, today, FinalAction.DESTROY),
        access=AccessRule("AR038", today),
    )


def _raw_put(store: ObjectStore, bucket: str, paths: list[Path]) -> float:
    """The floor: read, SHA-256, PUT (with the checksum header), nothing else."""
    client = store._client
    start = time.perf_counter()
    for path in paths:
        data = path.read_bytes()
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        client.put_object(
            bucket,
            f"raw/{path.name}",
            io.BytesIO(data),
            len(data),
            metadata={"x-amz-checksum-sha256": checksum},
        )
    return time.perf_counter() - start


def sealing(
    store: ObjectStore, sealer: SignaturesSealer, workdir: Path, paths: list[Path]
) -> dict[str, float]:
    plain = "bench-plain"
    store.create_bucket(plain, object_lock=False)
    bucket = "bench-locked"
    prepare_tenant_bucket(store, bucket)
    raw_s = _raw_put(store, plain, paths)
    start = time.perf_counter()
    built = build_package(_spec("bench-case", paths), workdir / "bags", sealer=sealer)
    build_s = time.perf_counter() - start
    store_package(store, bucket, built)
    total_s = time.perf_counter() - start
    size_mb = FILES * FILE_BYTES / MB
    return {
        "case_mb": size_mb,
        "raw_sha256_put_mb_s": size_mb / raw_s,
        "seal_and_store_mb_s": size_mb / total_s,
        "build_and_seal_s": build_s,
        "store_with_readback_s": total_s - build_s,
        "ratio_vs_raw": raw_s / total_s,
    }


def audit_rate(store: ObjectStore, verifier: SignaturesSealVerifier) -> dict[str, float]:
    start = time.perf_counter()
    report = audit_packages(store, "bench-locked", seal_verifier=verifier)
    elapsed = time.perf_counter() - start
    assert report.intact, report.findings
    return {
        "objects": report.objects_checked,
        "objects_per_s": report.objects_checked / elapsed,
        "mb_per_s": report.bytes_read / MB / elapsed,
    }


def put_locked_vs_unlocked(store: ObjectStore) -> dict[str, float]:
    payload = os.urandom(FILE_BYTES)
    digests = digest_bytes(payload)
    until = datetime.now(UTC) + timedelta(days=1)
    best = {"locked": float("inf"), "unlocked": float("inf")}
    for attempt in range(2):
        for kind, bucket, retain in (
            ("unlocked", "bench-plain", None),
            ("locked", "bench-locked", until),
        ):
            start = time.perf_counter()
            for index in range(50):
                store.put(
                    bucket,
                    f"put/{attempt}/{index}",
                    io.BytesIO(payload),
                    digests,
                    retain_until=retain,
                )
            best[kind] = min(best[kind], time.perf_counter() - start)
    size_mb = 50 * FILE_BYTES / MB
    return {
        "unlocked_mb_s": size_mb / best["unlocked"],
        "locked_compliance_mb_s": size_mb / best["locked"],
        "ratio_locked_vs_unlocked": best["unlocked"] / best["locked"],
    }


def append_readme_run(
    result: dict[str, object], *, section: str = "Archiving", intro: str = ""
) -> None:
    """Add ``result`` as a new run at the end of ``section`` of bench/README.md."""
    text = README.read_text("utf-8") if README.exists() else "# Benchmarks\n"
    run = f"\n### Run of {result['when']} ({result['machine']})\n\n```json\n"
    run += json.dumps(result, indent=2, ensure_ascii=False) + "\n```\n"
    heading = f"\n## {section}\n"
    if heading not in text:
        text = text.rstrip("\n") + "\n" + heading + "\n" + (intro or f"Run: see {section}.\n")
    start = text.index(heading) + 1
    following = text.find("\n## ", start)
    end = len(text) if following < 0 else following
    text = text[:end].rstrip("\n") + "\n" + run + text[end:]
    README.write_text(text, "utf-8")


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-archiving-") as tmp:
        workdir = Path(tmp)
        pki = build_dev_pki(
            workdir / "pki",
            signer_names=("Marie Dupont",),
            organisation="Commune de Banc",
            port=free_port(),
        )
        with (
            serve_dev_pki(pki),
            start_seaweed(
                workdir / "s3", access_key="bench", secret_key=secrets.token_urlsafe(16)
            ) as server,
        ):
            store = ObjectStore(server.config)
            try:
                paths = _make_files(workdir / "case")
                sealer = SignaturesSealer(
                    key=pki.seal.key, timestamp_url=pki.tsa_url, trust_roots=pki.trust_roots
                )
                seal = sealing(store, sealer, workdir, paths)
                identity = SealIdentity.of_certificate(pki.seal.cert_path.read_bytes())
                verifier = SignaturesSealVerifier(pki.trust_roots, SealIdentities((identity,)))
                audit = audit_rate(store, verifier)
                put = put_locked_vs_unlocked(store)
            finally:
                store.close()
    result: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
        "sealing": seal,
        "audit": audit,
        "put": put,
        "targets_met": {
            "sealing_at_least_50pct_of_raw": seal["ratio_vs_raw"] >= 0.5,
            "locked_put_at_least_80pct_of_unlocked": put["ratio_locked_vs_unlocked"] >= 0.8,
        },
    }
    result = _rounded(result)  # type: ignore[assignment]
    (RESULTS / "archiving.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), "utf-8"
    )
    append_readme_run(result, intro="Run: `.venv/bin/python -m bench bench_archiving`.\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
