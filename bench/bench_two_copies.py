"""The second copy's cost: storing each package in one store vs in two (primary + the copy to a
second SeaweedFS), and the fixity audit over one store vs over both, in the same run.

Same package shape as bench_archiving (random "PDF" bytes, sealed with the development PKI), on
two SeaweedFS servers on 127.0.0.1. The one-copy baseline is `store_package` alone (write and
read back every object); two copies add `copy_package` (read the verified primary, write the
second store under the same COMPLIANCE lock, read back). Then the objects beside the packages
(journal seals, renewed copies): one copy vs two, and their audit in one store vs both. Results
go to bench/results/two_copies.json and the "Two copies" section of bench/README.md.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform as host
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from archiving.audit import (
    PRIMARY,
    SECONDARY,
    ExpectedObject,
    StoreCopy,
    audit_object_copies,
    audit_packages,
    audit_two_copies,
    check_object,
)
from archiving.bag import BuiltPackage, build_package
from archiving.digests import digest_bytes
from archiving.storage.s3 import ObjectStore
from archiving.store import copy_package, lock_end, prepare_tenant_bucket, store_package
from bench.bench_archiving import MB, RESULTS, _spec, append_readme_run
from devstack.pki import build_dev_pki, serve_dev_pki
from devstack.process import free_port
from devstack.s3 import start_seaweed
from engine.services.archives.seals import SealIdentities, SignaturesSealer, SignaturesSealVerifier
from signatures.seal import SealIdentity

PACKAGES = 12
FILES = 8
FILE_BYTES = 512 * 1024
BIG_FILES = 25
BIG_FILE_BYTES = 2 * 1024 * 1024


def _files(directory: Path, count: int, size: int) -> list[Path]:
    directory.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = directory / f"piece-{index:03d}.pdf"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def _built(workdir: Path, sealer: SignaturesSealer) -> tuple[list[BuiltPackage], float]:
    shapes = [(FILES, FILE_BYTES)] * PACKAGES + [(BIG_FILES, BIG_FILE_BYTES)]
    built = []
    start = time.perf_counter()
    for index, (count, size) in enumerate(shapes):
        paths = _files(workdir / f"case-{index}", count, size)
        package_id = f"bench-{index:03d}"
        built.append(build_package(_spec(package_id, paths), workdir / "bags", sealer=sealer))
    return built, (time.perf_counter() - start) / len(shapes)


def _bytes(package: BuiltPackage) -> int:
    return sum(d.size for d in package.files.values())


def store_costs(
    one: ObjectStore, two: ObjectStore, packages: list[BuiltPackage]
) -> dict[str, object]:
    """Per package: one copy (`store_package`) vs two (`store_package` + `copy_package`),
    alternating so both see the same load; best of two rounds each."""
    rows = []
    stored_one = stored_two = 0
    for package in packages:
        best_one = best_two = float("inf")
        for attempt in range(2):
            bucket = f"one-{attempt}"
            start = time.perf_counter()
            alone = store_package(one, bucket, package)
            best_one = min(best_one, time.perf_counter() - start)
            primary, secondary = f"two-{attempt}", f"two-{attempt}"
            start = time.perf_counter()
            stored = store_package(one, primary, package)
            copied = copy_package(
                one, primary, two, secondary, package.package_id, stored.retain_until
            )
            best_two = min(best_two, time.perf_counter() - start)
        # Bytes held, from the receipts (objects read back in each store).
        stored_one += sum(o.size for o in alone.objects)
        stored_two += sum(o.size for o in stored.objects) + sum(o.size for o in copied.objects)
        rows.append((package, best_one, best_two))
    small = [r for r in rows if _bytes(r[0]) < BIG_FILES * BIG_FILE_BYTES]
    big = [r for r in rows if r not in small]

    def summary(group: list[tuple[BuiltPackage, float, float]]) -> dict[str, float]:
        one_s = sum(r[1] for r in group) / len(group)
        two_s = sum(r[2] for r in group) / len(group)
        size = sum(_bytes(r[0]) for r in group) / len(group)
        return {
            "package_mb": size / MB,
            "objects": sum(len(r[0].files) for r in group) / len(group),
            "one_copy_s": one_s,
            "two_copies_s": two_s,
            "ratio_time_two_vs_one": two_s / one_s,
        }

    return {
        "small": summary(small),
        "big": summary(big),
        "stored_bytes_one_copy": stored_one,
        "stored_bytes_two_copies": stored_two,
        "ratio_bytes_two_vs_one": stored_two / stored_one,
    }


def audit_costs(
    one: ObjectStore, two: ObjectStore, verifier: SignaturesSealVerifier, retain: datetime
) -> dict[str, object]:
    """The whole audit of the same packages over the primary alone vs over both stores."""
    start = time.perf_counter()
    single = audit_packages(one, "two-1", seal_verifier=verifier, batch_size=1000)
    one_s = time.perf_counter() - start
    assert single.intact, single.findings
    ids = single.packages_checked
    start = time.perf_counter()
    both = audit_two_copies(
        StoreCopy(PRIMARY, one, "two-1"),
        StoreCopy(SECONDARY, two, "two-1"),
        seal_verifier=verifier,
        retain_until=dict.fromkeys(ids, retain),
        batch_size=1000,
    )
    two_s = time.perf_counter() - start
    assert both.report.intact and not both.repairs, both.report.findings
    return {
        "packages": len(ids),
        "one_store": {
            "packages_per_s": len(ids) / one_s,
            "objects_per_s": single.objects_checked / one_s,
            "mb_per_s": single.bytes_read / MB / one_s,
        },
        "two_stores": {
            "packages_per_s": len(ids) / two_s,
            "objects_per_s": both.report.objects_checked / two_s,
            "mb_per_s": both.report.bytes_read / MB / two_s,
        },
        "ratio_time_two_vs_one": two_s / one_s,
    }


SEALS = 60
SEAL_BYTES = 4 * 1024
RENEWALS = 12
RENEWAL_BYTES = 1024 * 1024


def _put_read_back(store: ObjectStore, bucket: str, key: str, data: bytes, until: datetime) -> None:
    digests = digest_bytes(data)
    version = store.put(bucket, key, io.BytesIO(data), digests, retain_until=until)
    assert store.read_digest(bucket, key, version_id=version) == (digests.size, digests.sha512)


def beside_costs(one: ObjectStore, two: ObjectStore, until: datetime) -> dict[str, object]:
    """The objects written beside the packages (journal seals ~4 KB, renewed PDFs ~1 MB): one
    copy (write, read back) vs two (the same in the second store), then their audit in one
    store vs in both (`audit_object_copies`: listing, HEAD, read and hash, each store)."""
    objects = [(f"journal-seals/bench/{n:010d}.json", os.urandom(SEAL_BYTES)) for n in range(SEALS)]
    objects += [
        (f"timestamp-renewals/bench-{n:03d}/0001-acte.pdf", os.urandom(RENEWAL_BYTES))
        for n in range(RENEWALS)
    ]
    timings: dict[str, dict[str, float]] = {}
    for kind, prefix in (("seal", "journal-seals/"), ("renewal", "timestamp-renewals/")):
        group = [item for item in objects if item[0].startswith(prefix)]
        start = time.perf_counter()
        for key, data in group:
            _put_read_back(one, "beside-one", key, data, until)
        one_s = (time.perf_counter() - start) / len(group)
        start = time.perf_counter()
        for key, data in group:
            _put_read_back(one, "beside-two", key, data, until)
            _put_read_back(two, "beside-two", key, data, until)
        two_s = (time.perf_counter() - start) / len(group)
        timings[kind] = {
            "kb": len(group[0][1]) / 1024,
            "one_copy_ms": one_s * 1000,
            "two_copies_ms": two_s * 1000,
            "ratio_time_two_vs_one": two_s / one_s,
        }
    expected = [
        ExpectedObject(key, sha512=hashlib.sha512(data).hexdigest(), retain_until=until)
        for key, data in objects
    ]
    size = sum(len(data) for _key, data in objects)
    primary = StoreCopy(PRIMARY, one, "beside-two")
    start = time.perf_counter()
    now = datetime.now(UTC)
    for item in expected:
        found, _version, _read = check_object(primary, item, now)
        assert not found, found
    one_s = time.perf_counter() - start
    start = time.perf_counter()
    both = audit_object_copies(primary, StoreCopy(SECONDARY, two, "beside-two"), expected)
    two_s = time.perf_counter() - start
    assert not both.findings and not both.repairs, both.findings
    return {
        "store": timings,
        "audit": {
            "objects": len(expected),
            "mb": size / MB,
            "one_store": {"objects_per_s": len(expected) / one_s, "mb_per_s": size / MB / one_s},
            "two_stores": {
                "objects_per_s": both.objects_checked / two_s,
                "mb_per_s": both.bytes_read / MB / two_s,
            },
            "ratio_time_two_vs_one": two_s / one_s,
        },
    }


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-two-copies-") as tmp:
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
                workdir / "s3a", access_key="a", secret_key=secrets.token_urlsafe(16)
            ) as site1,
            start_seaweed(
                workdir / "s3b", access_key="b", secret_key=secrets.token_urlsafe(16)
            ) as site2,
        ):
            one, two = ObjectStore(site1.config), ObjectStore(site2.config)
            try:
                sealer = SignaturesSealer(
                    key=pki.seal.key, timestamp_url=pki.tsa_url, trust_roots=pki.trust_roots
                )
                packages, build_s = _built(workdir, sealer)
                for site in (one, two):
                    for bucket in ("one-0", "one-1", "two-0", "two-1", "beside-one", "beside-two"):
                        prepare_tenant_bucket(site, bucket)
                store = store_costs(one, two, packages)
                identity = SealIdentity.of_certificate(pki.seal.cert_path.read_bytes())
                verifier = SignaturesSealVerifier(pki.trust_roots, SealIdentities((identity,)))
                retain = lock_end(packages[0].retain_until)
                audit = audit_costs(one, two, verifier, retain)
                beside = beside_costs(one, two, retain)
            finally:
                one.close()
                two.close()
    small = store["small"]
    assert isinstance(small, dict)
    result: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
        "build_and_seal_s_per_package": build_s,
        "store": store,
        "sealing_step_ratio_two_vs_one_small": (build_s + small["two_copies_s"])
        / (build_s + small["one_copy_s"]),
        "audit": audit,
        "beside_packages": beside,
    }
    result = _rounded(result)  # type: ignore[assignment]
    (RESULTS / "two_copies.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), "utf-8"
    )
    append_readme_run(
        result,
        section="Two copies",
        intro="Run: `.venv/bin/python -m bench bench_two_copies`.\n",
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
