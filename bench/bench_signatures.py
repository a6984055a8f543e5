"""Signature benchmark: PAdES costs against floors measured in the same run.

Floors: a raw RSA-2048 signature, SHA-256 over the file, one TSA round trip (local certomancer);
the per-MB costs and SHA-256 are measured interleaved, round by round (`per_mb_costs`).
Targets: extra cost per MB within 1.5x of SHA-256 per MB; B-B at most floor + 100 ms; B-T at most
B-B + 1.2x the TSA round trip. Also: 50 acts batch-signed, the CPU per act of a batch signature
as the engine does it against raw pyHanko (`batch_stages`), validation time vs number of
signatures, peak memory for a 100 MB PDF. Results go to bench/results/signatures.json and the
"Signatures" section of bench/README.md.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import mmap
import os
import platform as host
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import pikepdf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest

from devstack.pki import DevPki, build_dev_pki, serve_dev_pki
from devstack.process import free_port
from signatures import digest
from signatures.keystore import open_signer
from signatures.overlay import AppendOverlay, kernel_copy
from signatures.pades import (
    PadesLevel,
    SignRequest,
    VisibleField,
    sign_file_to,
    sign_pdf,
    sign_pdf_to,
)
from signatures.renewal import (
    RenewalRequest,
    latest_document_timestamp,
    renew_archival_timestamp,
)
from signatures.seal import timestamp_bytes
from signatures.signer_check import forget_good_statuses
from signatures.tsa import fetcher_backend, timestamper_for
from signatures.validation import ValidationOptions, validate_new_signature, validate_pdf

HERE = Path(__file__).parent
RESULTS = HERE / "results"
README = HERE / "README.md"


def make_pdf(*, pages: int = 1, padding_bytes: int = 0) -> bytes:
    """A plain PDF; ``padding_bytes`` of incompressible data make it as big as wanted."""
    pdf = pikepdf.new()
    for number in range(pages):
        content = f"BT /F1 12 Tf 72 720 Td (Acte page {number + 1}) Tj ET".encode()
        pdf.pages.append(
            pikepdf.Page(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=[0, 0, 595, 842],
                    Contents=pdf.make_stream(content),
                )
            )
        )
    if padding_bytes:
        pdf.Root.Padding = pdf.make_stream(os.urandom(padding_bytes))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _median_ms(fn: Callable[[], object], repeat: int, *, warmup: int = 0) -> float:
    """Median wall time; ``warmup`` untimed calls first (steady state of a worker)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _request(pki: DevPki, level: PadesLevel, **changes: object) -> SignRequest:
    marie = pki.signers[0]
    fields: dict[str, object] = {
        "key": marie.key,
        "signer_display_name": marie.display_name,
        "level": level,
        "timestamp_url": pki.tsa_url,
        "trust_roots": pki.trust_roots,
        "convert_to_pdfa": False,
        **changes,
    }
    return SignRequest(**fields)  # type: ignore[arg-type]


def _write_to_new_file(data: bytes) -> None:
    with tempfile.TemporaryFile() as output:
        output.write(data)


def _sign_to_new_file(data: bytes, request: SignRequest) -> None:
    with tempfile.TemporaryFile() as output:
        sign_pdf_to(data, request, output)


def _kernel_copy_to_new_file(path: Path) -> None:
    with path.open("rb") as source, tempfile.TemporaryFile() as output:
        assert kernel_copy(source, output, path.stat().st_size) is not None


def _sign_mapped_to_new_file(path: Path, request: SignRequest) -> None:
    """The CLI before sign_file_to: the file mapped, its bytes written from the mapping."""
    with (
        path.open("rb") as source,
        mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as data,
        tempfile.TemporaryFile() as output,
    ):
        sign_pdf_to(data, request, output)


def _sign_file_to_new_file(path: Path, request: SignRequest) -> None:
    """The CLI now: file to file, the unchanged document copied by the kernel."""
    with path.open("rb") as source, tempfile.TemporaryFile() as output:
        sign_file_to(source, request, output)


_WRITE_BASE_TO = AppendOverlay.write_base_to


def _write_base_without_hashing(
    overlay: AppendOverlay, output: BinaryIO, source: BinaryIO | None = None, **_: object
) -> int:
    return _WRITE_BASE_TO(overlay, output, source)


def _with_pyhanko_digest(fn: Callable[[], object]) -> Callable[[], None]:
    """``fn`` as signing ran before ``signatures/digest.py``: pyHanko's own byte-range digest
    step (the chunked read-back, the document hashed again for each signature or timestamp)
    and the document copied by the kernel (``kernel_copy``) without being hashed on the way."""

    def run() -> None:
        PdfByteRangeDigest.fill = digest.PYHANKO_FILL  # type: ignore[method-assign]
        AppendOverlay.write_base_to = _write_base_without_hashing  # type: ignore[method-assign,assignment]
        try:
            fn()
        finally:
            digest.install()
            AppendOverlay.write_base_to = _WRITE_BASE_TO  # type: ignore[method-assign]

    return run


def _hash_mapped(path: Path, *, in_place: bool) -> None:
    """SHA-256 of a freshly mapped file: straight from the mapped pages, or as the signature's
    digest takes it (chunks copied into a buffer that stays in the CPU cache)."""
    with path.open("rb") as source, mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if in_place:
            with memoryview(data) as view:
                hashlib.sha256(view).digest()
        else:
            with AppendOverlay(data) as overlay:
                overlay.digest("sha256", [(0, overlay.size)])


def floors(pki: DevPki) -> dict[str, float]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, _, _ = pkcs12.load_key_and_certificates(
        pki.signers[0].pkcs12_path.read_bytes(), pki.signers[0].passphrase
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = hashlib.sha256(b"x").digest()
    rsa_ms = _median_ms(lambda: key.sign(digest, padding.PKCS1v15(), hashes.SHA256()), 50)
    tsa_ms = _median_ms(lambda: timestamp_bytes(b"x", tsa_url=pki.tsa_url), 10)
    return {"raw_rsa_sign_ms": rsa_ms, "tsa_round_trip_ms": tsa_ms}


def _temp_file_system() -> str:
    """Type of the file system holding the temporary files (a kernel copy clones on XFS/Btrfs)."""
    where = os.path.realpath(tempfile.gettempdir())
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, fs_type, *_ = line.split()
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fs_type
    return kind


def _cpu_s() -> float:
    """CPU time of the process, all threads (the document writer included), user + system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _once_ms(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall time and CPU time of one call, in ms."""
    started, cpu = time.perf_counter(), _cpu_s()
    fn()
    return (time.perf_counter() - started) * 1000, (_cpu_s() - cpu) * 1000


_SIGNED_TO = {
    "bytes": "B-B_extra",  # sign_pdf: into bytes
    "file": "B-B_to_file_extra",  # sign_pdf_to: bytes into a new file
    "mapped": "B-B_mapped_file_to_file_extra",  # sign_pdf_to: mapped file into a new file
    "kernel": "B-B_sign_file_to_extra",  # sign_file_to: file to new file, kernel copy
    "kernel_pyhanko": "B-B_sign_file_to_pyhanko_digest_extra",  # the same, pyHanko's digest
    "lta": "B-LTA_sign_file_to_extra",  # sign_file_to at B-LTA (signature + doc timestamp)
    "lta_pyhanko": "B-LTA_sign_file_to_pyhanko_digest_extra",  # the same, pyHanko's digest
}
_FLOORS = {
    "write": "file_write",  # the big file's bytes written to a new file
    "copy": "kernel_copy",  # the big file copied to a new file by the kernel
    "in_place": "sha256_mapped_in_place",  # SHA-256 straight from a fresh mapping
    "buffered": "sha256_mapped_via_buffer",  # SHA-256 as the digest takes it (overlay.digest)
}


def per_mb_costs(
    pki: DevPki, small: bytes, big: bytes, workdir: Path, rounds: int = 9
) -> dict[str, float]:
    """Per-MB costs and their ratios to SHA-256, measured round by round, interleaved.

    Each round times SHA-256 over the big file, a raw write of it to a new file, a kernel copy
    of it to a new file, SHA-256 of the mapped file (in place, and through the digest's
    buffer), and B-B signatures of the small and big files into bytes and into a new file (from
    bytes, from the mapped file with a write, from the file with a kernel copy), plus file to
    file at B-B and B-LTA with pyHanko's own digest step and with ours (``signatures/
    digest.py``), one after the other, so that a ratio compares costs measured under the same load;
    the medians of the per-round values and ratios are reported (the machine is shared:
    absolute per-MB figures moved by 3x between runs while the ratios stayed put). CPU time
    (all threads) is reported beside wall time: on a saturated machine the wall time follows
    it, whatever overlaps. One untimed round warms up; the signatures run in reverse order
    every other round.
    """
    request = _request(pki, PadesLevel.B_B)
    lta = _request(pki, PadesLevel.B_LTA)
    mb = len(big) / 1_048_576
    extra_mb = (len(big) - len(small)) / 1_048_576
    paths = {"small": workdir / "small.pdf", "big": workdir / "big.pdf"}
    paths["small"].write_bytes(small)
    paths["big"].write_bytes(big)
    datas = {"small": small, "big": big}
    tests: dict[str, Callable[[], object]] = {
        "sha": lambda: hashlib.sha256(big).digest(),
        "write": functools.partial(_write_to_new_file, big),
        "copy": functools.partial(_kernel_copy_to_new_file, paths["big"]),
        "in_place": functools.partial(_hash_mapped, paths["big"], in_place=True),
        "buffered": functools.partial(_hash_mapped, paths["big"], in_place=False),
    }
    for size in ("small", "big"):
        tests[f"bytes_{size}"] = functools.partial(sign_pdf, datas[size], request)
        tests[f"file_{size}"] = functools.partial(_sign_to_new_file, datas[size], request)
        tests[f"mapped_{size}"] = functools.partial(_sign_mapped_to_new_file, paths[size], request)
        tests[f"kernel_{size}"] = functools.partial(_sign_file_to_new_file, paths[size], request)
        tests[f"kernel_pyhanko_{size}"] = _with_pyhanko_digest(tests[f"kernel_{size}"])
        tests[f"lta_{size}"] = functools.partial(_sign_file_to_new_file, paths[size], lta)
        tests[f"lta_pyhanko_{size}"] = _with_pyhanko_digest(tests[f"lta_{size}"])
    for fn in tests.values():
        fn()
    rows: dict[str, list[float]] = {}
    baselines, signings = list(tests)[: len(_FLOORS) + 1], list(tests)[len(_FLOORS) + 1 :]
    for round_number in range(rounds):
        # Every other round the signatures run in reverse order: what runs after what (a file
        # deleted, pages to free) is not always the same, for ours and pyHanko's digest.
        order = baselines + (signings[::-1] if round_number % 2 else signings)
        ms = {name: _once_ms(tests[name]) for name in order}
        values: dict[str, float] = {}
        for clock, index in (("", 0), ("cpu_", 1)):
            sha = ms["sha"][index] / mb
            values[f"{clock}sha256_ms_per_mb"] = sha
            for name, label in _FLOORS.items():
                values[f"{clock}{label}_ms_per_mb"] = ms[name][index] / mb
                values[f"{clock}{label}_vs_sha256"] = ms[name][index] / mb / sha
            for name, label in _SIGNED_TO.items():
                extra = (ms[f"{name}_big"][index] - ms[f"{name}_small"][index]) / extra_mb
                values[f"{clock}{label}_ms_per_mb"] = extra
                values[f"{clock}{label}_vs_sha256"] = extra / sha
        for name, value in values.items():
            rows.setdefault(name, []).append(value)
    result = {name: statistics.median(column) for name, column in rows.items()}
    result["rounds"] = rounds
    result["load_average_1min"] = os.getloadavg()[0]
    result["temp_file_system"] = _temp_file_system()  # type: ignore[assignment]
    return result


def signing(pki: DevPki, small: bytes, big: bytes) -> dict[str, float]:
    results = {}
    for level in PadesLevel:
        request = _request(pki, level)
        results[f"{level}_ms"] = _median_ms(functools.partial(sign_pdf, small, request), 7)
    visible = VisibleField(page=1, box=(340, 40, 560, 120))
    results["B-B_visible_ms"] = _median_ms(
        lambda: sign_pdf(small, _request(pki, PadesLevel.B_B, visible=visible)), 5
    )
    results["B-B_to_file_ms"] = _median_ms(
        functools.partial(_sign_to_new_file, small, _request(pki, PadesLevel.B_B)), 7
    )
    results["pdfa_conversion_plus_B-B_ms"] = _median_ms(
        lambda: sign_pdf(small, _request(pki, PadesLevel.B_B, convert_to_pdfa=True)), 3
    )

    # The signer's certificate is checked (OCSP) before every signature; a good verdict is
    # remembered for two minutes, so the figures above are a worker's steady state. Cold: the
    # first signature of a certificate, with its OCSP round trip.
    def cold() -> None:
        forget_good_statuses()
        sign_pdf(small, _request(pki, PadesLevel.B_B))

    results["B-B_cold_certificate_check_ms"] = _median_ms(cold, 7)
    return results


def renewal(pki: DevPki) -> dict[str, float]:
    """Time to renew the document timestamp chain of a B-LTA act (validation data, new TSA
    token, archive validation first); the horizon is longer than the dev TSA certificate."""
    signed = sign_pdf(make_pdf(pages=2), _request(pki, PadesLevel.B_LTA)).pdf
    request = RenewalRequest(
        timestamp_url=pki.tsa_url, trust_roots=pki.trust_roots, horizon=timedelta(days=365 * 25)
    )
    return {
        "renew_ms": _median_ms(functools.partial(renew_archival_timestamp, signed, request), 5),
        "not_due_check_ms": _median_ms(functools.partial(latest_document_timestamp, signed), 5),
    }


def batch(pki: DevPki, count: int = 50) -> dict[str, object]:
    acts = [make_pdf(pages=2) for _ in range(count)]
    started = time.perf_counter()
    for act in acts:
        sign_pdf(act, _request(pki, PadesLevel.B_LTA))
    total = time.perf_counter() - started
    return {"acts": count, "level": "B-LTA", "total_s": total, "per_act_ms": total * 1000 / count}


ACT_BLOCK = VisibleField(page=-1, box=(320, 40, 565, 120))
"""The engine's visible block (engine/operations/signing.py: SIGNATURE_BOX, last page)."""


def _act_request(pki: DevPki, name: str) -> SignRequest:
    """The mayor's batch signature as the engine asks for it (B-LTA, visible French block)."""
    return _request(
        pki,
        PadesLevel.B_LTA,
        signer_display_name=name,
        quality="Le Maire",
        reason="Approbation de la délibération n° 2026-117 « Budget primitif »",
        visible=ACT_BLOCK,
    )


def _raw_pyhanko_sign(pki: DevPki, act: bytes) -> None:
    """Floor: pyHanko alone at B-LTA, invisible, no certificate pre-check, no validation after,
    with the same key (kept parsed) and TSA client as dematflow."""
    import asyncio

    from asn1crypto import x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields
    from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
    from pyhanko_certvalidator import ValidationContext

    async def sign() -> None:
        context = ValidationContext(
            trust_roots=[x509.Certificate.load(der) for der in pki.trust_roots],
            allow_fetching=True,
            revocation_mode="hard-fail",
            fetcher_backend=fetcher_backend(),
        )
        meta = PdfSignatureMetadata(
            field_name="Signature1",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            use_pades_lta=True,
            validation_context=context,
        )
        with open_signer(pki.signers[0].key) as signer:
            writer = IncrementalPdfFileWriter(io.BytesIO(act))
            await PdfSigner(meta, signer, timestamper=timestamper_for(pki.tsa_url)).async_sign_pdf(
                writer, bytes_reserved=32768
            )
        await context.aclose()  # type: ignore[no-untyped-call]

    asyncio.run(sign())


def _tls_contexts_as_before() -> None:
    """What the TSA client and the fetchers made per B-LTA act before sharing one context:
    three TLS contexts loading certifi's bundle."""
    import ssl

    import certifi

    for _ in range(3):
        ssl.create_default_context(cafile=certifi.where())


def batch_stages(pki: DevPki, count: int = 12, rounds: int = 3) -> dict[str, object]:
    """CPU per act of the mayor's batch signature, per stage, against raw pyHanko.

    Each round signs ``count`` fresh two-page acts with each variant, one variant after the
    other (same load): raw pyHanko (floor); the engine's act now (sign_pdf, B-LTA, visible
    block with a French name, then validate_new_signature); and the stages as they were,
    each alone: the full validate_pdf of the signed act, a block whose name has a letter
    outside the shared font subset (own subset per act, as every block had), and the three
    TLS contexts per act. CPU is this process's (TSA/OCSP server apart), user + system,
    medians over rounds; one untimed act per variant warms up.
    """
    options = ValidationOptions(trust_roots=pki.trust_roots)
    french = _act_request(pki, "Zoé Lefèvre-Éluard")
    other = _act_request(pki, "Zoé Łefèvre-Éluard")  # Ł: outside the shared subset
    signed = sign_pdf(make_pdf(pages=2), french)
    variants: dict[str, Callable[[bytes], object]] = {
        "raw_pyhanko_B-LTA": functools.partial(_raw_pyhanko_sign, pki),
        "act_sign_and_check": lambda act: validate_new_signature(sign_pdf(act, french), options),
        "act_sign_only": lambda act: sign_pdf(act, french),
        "act_sign_own_font_subset": lambda act: sign_pdf(act, other),
        "check_new_signature": lambda _: validate_new_signature(signed, options),
        "full_validate_pdf": lambda _: validate_pdf(signed.pdf, options),
        "tls_contexts_as_before": lambda _: _tls_contexts_as_before(),
    }
    for fn in variants.values():
        fn(make_pdf(pages=2))
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    load = []
    for _ in range(rounds):
        for name, fn in variants.items():
            acts = [make_pdf(pages=2) for _ in range(count)]
            cpu = _cpu_s()
            for act in acts:
                fn(act)
            per_round[name].append((_cpu_s() - cpu) * 1000 / count)
        load.append(os.getloadavg()[0])
    cpu_ms = {name: statistics.median(values) for name, values in per_round.items()}
    raw = cpu_ms["raw_pyhanko_B-LTA"]
    before = (
        cpu_ms["act_sign_own_font_subset"]
        + cpu_ms["full_validate_pdf"]
        + cpu_ms["tls_contexts_as_before"]
    )
    return {
        "acts_per_round": count,
        "rounds": rounds,
        "level": "B-LTA, visible block, French name",
        "cpu_ms_per_act": cpu_ms,
        "act_vs_raw_pyhanko": cpu_ms["act_sign_and_check"] / raw,
        "stages_as_before_ms_per_act": before,
        "stages_as_before_vs_raw_pyhanko": before / raw,
        "shared_font_saves_ms_per_act": cpu_ms["act_sign_own_font_subset"]
        - cpu_ms["act_sign_only"],
        "new_signature_check_vs_full_validation": (
            cpu_ms["check_new_signature"] / cpu_ms["full_validate_pdf"]
        ),
        "signed_act_bytes": len(signed.pdf),
        "load_average_1min": load,
    }


def validation_scaling(pki: DevPki) -> list[dict[str, float]]:
    rows = []
    pdf = make_pdf(pages=2)
    options = ValidationOptions(trust_roots=pki.trust_roots)
    for count in range(1, 5):
        pdf = sign_pdf(pdf, _request(pki, PadesLevel.B_LTA, key=pki.signers[count - 1].key)).pdf
        report = validate_pdf(pdf, options)
        assert report.valid, [s.problems for s in report.signatures]
        rows.append(
            {
                "signatures": count,
                "validate_ms": _median_ms(functools.partial(validate_pdf, pdf, options), 3),
            }
        )
    return rows


_MEMORY_PROBE = """
import sys, time
from pathlib import Path
from signatures.pades import PadesLevel, SignRequest, sign_file_to
from signatures.keys import Pkcs12Key
def hwm_kb():  # VmHWM is per process image; ru_maxrss survives exec (it had the parent's)
    text = Path("/proc/self/status").read_text()
    return int(text.split("VmHWM:")[1].split()[0])
before = hwm_kb()
t = time.perf_counter()
with open(sys.argv[1], "rb") as source, open(sys.argv[1] + ".signed", "wb") as target:
    size = sign_file_to(source, SignRequest(key=Pkcs12Key(Path(sys.argv[2]),
        sys.argv[3].encode()), signer_display_name="x", level=PadesLevel.B_B,
        trust_roots=(Path(sys.argv[4]).read_bytes(),), convert_to_pdfa=False), target).size
print(before, hwm_kb(), size, time.perf_counter() - t)
"""


def peak_memory(pki: DevPki, workdir: Path) -> dict[str, object]:
    path = workdir / "big100.pdf"
    path.write_bytes(make_pdf(padding_bytes=100 * 1_048_576))
    signer = pki.signers[0]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_PROBE,
            str(path),
            str(signer.pkcs12_path),
            signer.passphrase.decode(),
            str(pki.root_cert_path),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    before_kb, peak_kb, size, seconds = done.stdout.split()
    return {
        "mode": "sign_file_to: memory-mapped input, kernel copy to the output file",
        "file_mb": int(size) / 1_048_576,
        "rss_before_mb": int(before_kb) / 1024,
        "peak_rss_mb": int(peak_kb) / 1024,
        "B-B_seconds": float(seconds),
    }


def _verdicts(f: dict[str, float], s: dict[str, float], m: dict[str, float]) -> dict[str, bool]:
    return {
        "extra_cost_per_mb_within_1.5x_sha256": m["B-B_extra_vs_sha256"] <= 1.5,
        "to_file_extra_cost_per_mb_within_1.5x_sha256": m["B-B_to_file_extra_vs_sha256"] <= 1.5,
        "file_to_file_extra_cost_per_mb_within_1.5x_sha256": (
            m["B-B_sign_file_to_extra_vs_sha256"] <= 1.5
        ),
        "file_to_file_B-LTA_extra_cost_per_mb_within_1.5x_sha256": (
            m["B-LTA_sign_file_to_extra_vs_sha256"] <= 1.5
        ),
        "B-B_within_floor_plus_100ms": s["B-B_ms"] <= f["raw_rsa_sign_ms"] + 100,
        "B-T_within_B-B_plus_1.2x_tsa": s["B-T_ms"] <= s["B-B_ms"] + 1.2 * f["tsa_round_trip_ms"],
    }


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _append_readme(result: dict[str, object]) -> None:
    """Add this run at the end of the "Signatures" section (before the next "## " heading)."""
    text = README.read_text("utf-8") if README.exists() else "# Benchmarks\n"
    if "## Signatures" not in text:
        text += "\n## Signatures\n\nRun: `.venv/bin/python -m bench bench_signatures`.\n"
    block = f"### Run of {result['when']} ({result['machine']})\n\n```json\n"
    block += json.dumps(result, indent=2, ensure_ascii=False) + "\n```\n\n"
    start = text.index("## Signatures")
    end = text.find("\n## ", start + 1)
    if end == -1:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        text = text[: end + 1] + block + text[end + 1 :]
    README.write_text(text, "utf-8")


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-signatures-") as tmp:
        workdir = Path(tmp)
        pki = build_dev_pki(
            workdir / "pki",
            signer_names=("Marie Dupont", "Jean Martin", "Zoé Lefèvre", "Paul Durand"),
            organisation="Commune de Banc",
            port=free_port(),
        )
        with serve_dev_pki(pki):
            small = make_pdf(pages=2)
            big = make_pdf(pages=2, padding_bytes=20 * 1_048_576)
            floor = floors(pki)
            sign = signing(pki, small, big)
            per_mb = per_mb_costs(pki, small, big, workdir)
            result: dict[str, object] = {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
                "load_average_at_start": load_at_start,
                "floors": floor,
                "signing": sign,
                "per_mb_20mb_pdf": per_mb,
                "targets_met": _verdicts(floor, sign, per_mb),
                "batch": batch(pki),
                "batch_stages": batch_stages(pki),
                "timestamp_renewal": renewal(pki),
                "validation_vs_signatures": validation_scaling(pki),
                "peak_memory_100mb": peak_memory(pki, workdir),
            }
    result = _rounded(result)  # type: ignore[assignment]
    (RESULTS / "signatures.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    )
    _append_readme(result)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
