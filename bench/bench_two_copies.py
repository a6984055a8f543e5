"""The second copy's cost: storing each package in one store vs in two (primary + the copy to a
second SeaweedFS), and the fixity audit over one store vs over both, in the same run.

Same package shape as bench_archiving (random "PDF" bytes, sealed with the development PKI), on
two SeaweedFS servers on 127.0.0.1. The one-copy baseline is `store_package` alone (write and
read back every object); two copies add `copy_package` (read the verified primary, write the
second store under the same COMPLIANCE lock, read back; a few objects at once), and, as the
reference of the same run, the former one-object-at-a-time copy; then both copies alone to the
second server seen as a remote site (each request waits REMOTE_RTT_S first). Then the objects beside the packages
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

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
from archiving.bag import SEAL, BuiltPackage, build_package
from archiving.digests import digest_bytes
from archiving.storage.s3 import ObjectInfo, ObjectStore
from archiving.store import (
    COPY_WORKERS,
    CopiedPackage,
    _complete,
    _fetch,
    _latest_versions,
    copy_package,
    lock_end,
    package_key,
    prepare_tenant_bucket,
    store_package,
)
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


def copy_package_sequential(
    source: ObjectStore,
    source_bucket: str,
    target: ObjectStore,
    target_bucket: str,
    package_id: str,
    retain_until: datetime,
) -> CopiedPackage:
    """`copy_package` as it was before the copies overlapped (main 536989d): one object after
    the other (read the source, write, read back), the seal last. The reference of the run."""
    target.require_object_lock(target_bucket)
    latest = _latest_versions(source, source_bucket, package_id)
    seal_key = package_key(package_id, SEAL)
    now = datetime.now(UTC)
    objects, written = [], []
    for key in sorted(latest, key=lambda key: (key == seal_key, key)):
        fetched = _fetch(
            source, source_bucket, latest[key], target, target_bucket, key, retain_until, now
        )
        stored, wrote = _complete(target, target_bucket, fetched, retain_until, now)
        objects.append(stored)
        if wrote:
            written.append(key)
    return CopiedPackage(target_bucket, package_id, tuple(objects), tuple(written))


def store_costs(
    one: ObjectStore, two: ObjectStore, packages: list[BuiltPackage]
) -> dict[str, object]:
    """Per package: one copy (`store_package`) vs two (`store_package` + `copy_package`), and
    two with the former one-object-at-a-time copy, interleaved so that all three see the same
    load (the two copies in turn first); best of two rounds each."""
    rows = []
    stored_one = stored_two = 0
    for package in packages:
        best_one = best_two = best_sequential = float("inf")
        for attempt in range(2):
            bucket = f"one-{attempt}"
            start = time.perf_counter()
            alone = store_package(one, bucket, package)
            best_one = min(best_one, time.perf_counter() - start)
            # The copy that comes second reads objects the server wrote just before: each
            # goes first in one of the two rounds.
            for variant in ("seq", "two") if attempt % 2 == 0 else ("two", "seq"):
                bucket = f"{variant}-{attempt}"
                start = time.perf_counter()
                stored = store_package(one, bucket, package)
                if variant == "seq":
                    copy_package_sequential(
                        one, bucket, two, bucket, package.package_id, stored.retain_until
                    )
                    best_sequential = min(best_sequential, time.perf_counter() - start)
                else:
                    copied = copy_package(
                        one, bucket, two, bucket, package.package_id, stored.retain_until
                    )
                    best_two = min(best_two, time.perf_counter() - start)
                    receipt = stored
        # Bytes held, from the receipts (objects read back in each store).
        stored_one += sum(o.size for o in alone.objects)
        stored_two += sum(o.size for o in receipt.objects) + sum(o.size for o in copied.objects)
        rows.append((package, best_one, best_two, best_sequential))
    small = [r for r in rows if _bytes(r[0]) < BIG_FILES * BIG_FILE_BYTES]
    big = [r for r in rows if r not in small]

    def summary(group: list[tuple[BuiltPackage, float, float, float]]) -> dict[str, float]:
        one_s = sum(r[1] for r in group) / len(group)
        two_s = sum(r[2] for r in group) / len(group)
        sequential_s = sum(r[3] for r in group) / len(group)
        size = sum(_bytes(r[0]) for r in group) / len(group)
        return {
            "package_mb": size / MB,
            "objects": sum(len(r[0].files) for r in group) / len(group),
            "one_copy_s": one_s,
            "two_copies_s": two_s,
            "ratio_time_two_vs_one": two_s / one_s,
            "two_copies_sequential_copy_s": sequential_s,
            "ratio_time_two_sequential_vs_one": sequential_s / one_s,
            "copy_s": two_s - one_s,
            "sequential_copy_s": sequential_s - one_s,
        }

    return {
        "copy_workers": COPY_WORKERS,
        "small": summary(small),
        "big": summary(big),
        "stored_bytes_one_copy": stored_one,
        "stored_bytes_two_copies": stored_two,
        "ratio_bytes_two_vs_one": stored_two / stored_one,
    }


REMOTE_RTT_S = 0.010
"""Round trip added to each request to the second store in `remote_copy_costs` (a site a few
hundred kilometres away)."""


class RemoteStore(ObjectStore):
    """The second store seen from another site: each request first waits one network round
    trip (a wait, not CPU: the bench's two servers share one host, where the copy is bound by
    the CPU, not by the distance)."""

    def put(self, *args: Any, **kwargs: Any) -> str:
        time.sleep(REMOTE_RTT_S)
        return super().put(*args, **kwargs)

    @contextmanager
    def open(self, bucket: str, key: str, *, version_id: str | None = None) -> Iterator[BinaryIO]:
        time.sleep(REMOTE_RTT_S)
        with super().open(bucket, key, version_id=version_id) as stream:
            yield stream

    def stat(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo | None:
        time.sleep(REMOTE_RTT_S)
        return super().stat(bucket, key, version_id=version_id)


def remote_copy_costs(
    one: ObjectStore, remote: RemoteStore, packages: list[BuiltPackage]
) -> dict[str, object]:
    """The copy alone (from the packages stored by `store_costs`) to a second store
    REMOTE_RTT_S away: the former one-object-at-a-time copy vs `copy_package`, each package in
    turn first, into fresh buckets."""
    rows = []
    for index, package in enumerate(packages):
        timings = {}
        for variant in ("seq", "two") if index % 2 == 0 else ("two", "seq"):
            copy = copy_package_sequential if variant == "seq" else copy_package
            start = time.perf_counter()
            copy(
                one,
                "two-1",
                remote,
                f"remote-{variant}",
                package.package_id,
                lock_end(package.retain_until),
            )
            timings[variant] = time.perf_counter() - start
        rows.append((package, timings["seq"], timings["two"]))
    out: dict[str, object] = {"rtt_ms": REMOTE_RTT_S * 1000}
    for kind, group in (
        ("small", [r for r in rows if _bytes(r[0]) < BIG_FILES * BIG_FILE_BYTES]),
        ("big", [r for r in rows if _bytes(r[0]) >= BIG_FILES * BIG_FILE_BYTES]),
    ):
        sequential_s = sum(r[1] for r in group) / len(group)
        two_s = sum(r[2] for r in group) / len(group)
        out[kind] = {
            "sequential_copy_s": sequential_s,
            "copy_s": two_s,
            "ratio_copy_vs_sequential": two_s / sequential_s,
        }
    return out


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
                    for bucket in (
                        "one-0",
                        "one-1",
                        "seq-0",
                        "seq-1",
                        "two-0",
                        "two-1",
                        "beside-one",
                        "beside-two",
                    ):
                        prepare_tenant_bucket(site, bucket)
                store = store_costs(one, two, packages)
                identity = SealIdentity.of_certificate(pki.seal.cert_path.read_bytes())
                verifier = SignaturesSealVerifier(pki.trust_roots, SealIdentities((identity,)))
                retain = lock_end(packages[0].retain_until)
                remote = RemoteStore(site2.config)
                try:
                    for bucket in ("remote-seq", "remote-two"):
                        prepare_tenant_bucket(remote, bucket)
                    far = remote_copy_costs(one, remote, packages)
                finally:
                    remote.close()
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
        "copy_to_a_remote_site": far,
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
