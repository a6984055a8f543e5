"""Archiving benchmarks: sealing a 100-file 200 MB case vs raw SHA-256 + PUT of the same bytes,
fixity audit rate, PUT throughput into a locked vs an unlocked bucket.

The sealing runs ROUNDS interleaved rounds of the KINDS below, all into the one store (no second
copy: bench_two_copies measures `copy_package`), so the ratio compares like with like.

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
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median

from archiving.audit import audit_packages
from archiving.bag import SEAL, BuiltPackage, build_package
from archiving.digests import FileDigests, digest_bytes
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
from archiving.store import lock_end, package_key, prepare_tenant_bucket, store_package
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


ROUNDS = 8
ORDERS = ((0, 1, 3, 2), (1, 2, 0, 3), (2, 3, 1, 0), (3, 0, 2, 1))
"""The order of the KINDS in successive rounds (a Williams square): each comes first, second...
once, and each follows every other once (a raw PUT leaves the store busy for whatever comes
next: a fixed rotation would always hand that to the same kind)."""


def _put_hashing_again(
    store: ObjectStore, bucket: str, key: str, path: Path, digests: FileDigests, until: datetime
) -> str:
    """`ObjectStore.put` as it was: the SDK hashes the body again to sign it."""
    from minio.commonconfig import COMPLIANCE
    from minio.retention import Retention

    with path.open("rb") as stream:
        result = store._client.put_object(
            bucket,
            key,
            stream,
            digests.size,
            content_type="application/octet-stream",
            metadata={
                "x-amz-checksum-sha256": digests.sha256_base64,
                "x-amz-meta-sha512": digests.sha512,
            },
            retention=Retention(COMPLIANCE, until),
            part_size=max(5 * MB, min(digests.size, 512 * MB)),
            num_parallel_uploads=1,
        )
    return str(result.version_id or "")


def _store_sequential(
    store: ObjectStore, bucket: str, built: BuiltPackage, *, hash_again: bool
) -> None:
    """The store step before read-backs overlapped the uploads: per object a HEAD, the PUT,
    then its read-back, one after the other; the seal last. ``hash_again``: the PUT as it was
    too (the SDK hashing each body to sign it)."""
    until = lock_end(built.retain_until)
    store.require_object_lock(bucket)
    names = [*sorted(set(built.files) - {SEAL}), SEAL]
    assert store.stat(bucket, package_key(built.package_id, SEAL)) is None
    for name in names:
        key = package_key(built.package_id, name)
        digests = built.files[name]
        if name != SEAL:
            assert store.stat(bucket, key) is None
        if hash_again:
            version = _put_hashing_again(store, bucket, key, built.path / name, digests, until)
        else:
            with (built.path / name).open("rb") as stream:
                version = store.put(bucket, key, stream, digests, retain_until=until)
        assert store.read_digest(bucket, key, version_id=version or None) == (
            digests.size,
            digests.sha512,
        )


KINDS = ("raw", "before", "sequential", "after")
"""raw: SHA-256 + PUT, the floor. before: build + seal + the store step as it was (sequential
read-backs, the SDK hashing each body again). sequential: the same with today's PUT (signed with
the build's SHA-256). after: build + seal + `store_package` (read-backs beside the next
uploads)."""


def _seal_and_store(
    store: ObjectStore,
    sealer: SignaturesSealer,
    workdir: Path,
    paths: list[Path],
    package_id: str,
    kind: str,
) -> tuple[float, float]:
    """Build and seal a fresh package, then store it; (build seconds, total seconds)."""
    bags = workdir / f"bags-{package_id}"
    start = time.perf_counter()
    built = build_package(_spec(package_id, paths), bags, sealer=sealer)
    build_s = time.perf_counter() - start
    if kind == "after":
        stored = store_package(store, "bench-locked", built)
        assert not stored.already_stored and len(stored.objects) == len(built.files)
    else:
        _store_sequential(store, "bench-locked", built, hash_again=kind == "before")
    total_s = time.perf_counter() - start
    shutil.rmtree(bags)
    return build_s, total_s


def sealing(
    store: ObjectStore, sealer: SignaturesSealer, workdir: Path, paths: list[Path]
) -> dict[str, object]:
    """The KINDS in the same run, interleaved over ROUNDS rounds (in the ORDERS);
    medians, and each ratio taken against the raw PUT of its own round."""
    store.create_bucket("bench-plain", object_lock=False)
    prepare_tenant_bucket(store, "bench-locked")
    size_mb = FILES * FILE_BYTES / MB
    seconds: dict[str, list[float]] = {kind: [] for kind in KINDS}
    builds: dict[str, list[float]] = {kind: [] for kind in KINDS[1:]}
    load_before = os.getloadavg()
    for index in range(ROUNDS):
        for kind in (KINDS[k] for k in ORDERS[index % len(ORDERS)]):
            if kind == "raw":
                seconds[kind].append(_raw_put(store, "bench-plain", paths))
                continue
            build_s, total_s = _seal_and_store(
                store, sealer, workdir, paths, f"bench-{kind}-{index}", kind
            )
            builds[kind].append(build_s)
            seconds[kind].append(total_s)
    load_after = os.getloadavg()

    def summary(kind: str) -> dict[str, object]:
        ratios = [raw / mine for raw, mine in zip(seconds["raw"], seconds[kind], strict=True)]
        stores = [t - b for t, b in zip(seconds[kind], builds[kind], strict=True)]
        return {
            "seal_and_store_mb_s": size_mb / median(seconds[kind]),
            "build_and_seal_s": median(builds[kind]),
            "store_with_readback_s": median(stores),
            "ratio_vs_raw": median(ratios),
            "ratio_vs_raw_per_round": [round(x, 2) for x in ratios],
            "build_and_seal_s_per_round": [round(x, 2) for x in builds[kind]],
            "store_with_readback_s_per_round": [round(x, 2) for x in stores],
        }

    return {
        "case_mb": size_mb,
        "rounds": ROUNDS,
        "load_average_1_5_15_before": [round(x, 2) for x in load_before],
        "load_average_1_5_15_after": [round(x, 2) for x in load_after],
        "raw_sha256_put_mb_s": size_mb / median(seconds["raw"]),
        "raw_s_per_round": [round(x, 2) for x in seconds["raw"]],
        **summary("after"),
        "before": summary("before"),
        "sequential_signed_with_build_sha256": summary("sequential"),
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
            "sealing_at_least_50pct_of_raw": float(seal["ratio_vs_raw"]) >= 0.5,  # type: ignore[arg-type]
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
