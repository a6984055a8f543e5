"""Cost of verifying a package's seal (issue 14): who sealed, revocation at the seal's time.

Floor, measured in the same run on the same package: what `archives verify` did before seals
were bound to an identity — the package's files hashed (SHA-512) and one offline CMS check of
the seal (signature, chain to the root, timestamp; revocation soft-fail). Measured: the whole
`verify_package` with the platform's verifier (the same, plus the designated seal's
fingerprint, self-signed/key-usage/expiry checks, the back-dating check against the package's
dates and a hard-fail revocation check with the OCSP/CRL embedded at sealing time). The seal
check alone is measured both ways as well. Small package (a deliberation's 4 files, ~200 KB),
where the seal dominates; median of 30 runs after 3 warm-ups.

Results go to bench/results/seal_verification.json and bench/README.md ("Seal verification").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform as host
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms, x509
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext

from archiving.bag import SEAL, TAG_MANIFEST, build_package
from archiving.readers import open_package
from archiving.verify import verify_package
from bench.bench_archiving import _spec, append_readme_run
from devstack.pki import build_dev_pki, serve_dev_pki
from devstack.process import free_port
from engine.services.archives.seals import SealIdentities, SignaturesSealer, SignaturesSealVerifier
from signatures.seal import SealIdentity, verify_detached_seal

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
RUNS = 30
WARMUP = 3


def _median_ms(action: Callable[[], object]) -> float:
    for _ in range(WARMUP):
        action()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _old_seal_check(data: bytes, seal: bytes, roots: list[x509.Certificate]) -> bool:
    signed_data = cms.ContentInfo.load(seal)["content"]
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
    )
    status = asyncio.run(async_validate_detached_cms(data, signed_data, context))
    return bool(status.intact and status.valid and status.trusted)


def _floor(bag: Path, roots: list[x509.Certificate]) -> bool:
    for path in sorted(bag.rglob("*")):
        if path.is_file():
            hashlib.sha512(path.read_bytes()).hexdigest()
    return _old_seal_check((bag / TAG_MANIFEST).read_bytes(), (bag / SEAL).read_bytes(), roots)


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-seal-") as tmp:
        workdir = Path(tmp)
        pki = build_dev_pki(
            workdir / "pki", signer_names=("Marie Dupont",), organisation="Banc", port=free_port()
        )
        with serve_dev_pki(pki):
            sealer = SignaturesSealer(pki.seal.key, pki.tsa_url, pki.trust_roots)
            (workdir / "in").mkdir()
            files = []
            for index in range(4):
                path = workdir / "in" / f"piece-{index}.pdf"
                path.write_bytes(os.urandom(50 * 1024))
                files.append(path)
            bag = build_package(_spec("banc-sceau", files), workdir / "out", sealer=sealer).path
            identity = SealIdentity.of_certificate(pki.seal.cert_path.read_bytes())
            verifier = SignaturesSealVerifier(pki.trust_roots, SealIdentities((identity,)))
            roots = [x509.Certificate.load(der) for der in pki.trust_roots]
            tag_manifest, seal = (bag / TAG_MANIFEST).read_bytes(), (bag / SEAL).read_bytes()

            def full() -> bool:
                with open_package(bag) as reader:
                    return verify_package(reader, seal_verifier=verifier).intact

            assert full() and _floor(bag, roots)
            floor_ms = _median_ms(lambda: _floor(bag, roots))
            package_ms = _median_ms(full)
            old_seal_ms = _median_ms(lambda: _old_seal_check(tag_manifest, seal, roots))
            new_seal_ms = _median_ms(
                lambda: verify_detached_seal(
                    tag_manifest, seal, trust_roots=pki.trust_roots, expected=(identity,)
                )
            )
    result: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
        "floor_package_ms": round(floor_ms, 1),
        "verify_package_ms": round(package_ms, 1),
        "ratio_package_vs_floor": round(package_ms / floor_ms, 2),
        "old_seal_check_ms": round(old_seal_ms, 1),
        "seal_check_ms": round(new_seal_ms, 1),
        "ratio_seal_vs_old_seal": round(new_seal_ms / old_seal_ms, 2),
    }
    (RESULTS / "seal_verification.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), "utf-8"
    )
    append_readme_run(
        result,
        section="Seal verification",
        intro="Run: `.venv/bin/python -m bench bench_seal_verification` (about a minute).\n",
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
