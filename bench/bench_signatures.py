"""Signature benchmark: PAdES costs against floors measured in the same run.

Floors: a raw RSA-2048 signature, SHA-256 over the file, one TSA round trip (local certomancer).
Targets: extra cost per MB within 1.5x of SHA-256 per MB; B-B at most floor + 100 ms; B-T at most
B-B + 1.2x the TSA round trip. Also: 50 acts batch-signed, validation time vs number of
signatures, peak memory for a 100 MB PDF. Results go to bench/results/signatures.json and the
"Signatures" section of bench/README.md.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from signatures.devpki import DevPki, build_dev_pki, free_port, serve_dev_pki
from signatures.pades import PadesLevel, SignRequest, VisibleField, sign_pdf
from signatures.seal import timestamp_bytes
from signatures.validation import ValidationOptions, validate_pdf

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


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
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


def floors(pki: DevPki, big: bytes) -> dict[str, float]:
    from cryptography.hazmat.primitives.serialization import pkcs12

    key, _, _ = pkcs12.load_key_and_certificates(
        pki.signers[0].pkcs12_path.read_bytes(), pki.signers[0].passphrase
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = hashlib.sha256(b"x").digest()
    rsa_ms = _median_ms(lambda: key.sign(digest, padding.PKCS1v15(), hashes.SHA256()), 50)
    sha_ms = _median_ms(lambda: hashlib.sha256(big).digest(), 5)
    tsa_ms = _median_ms(lambda: timestamp_bytes(b"x", tsa_url=pki.tsa_url), 10)
    return {
        "raw_rsa_sign_ms": rsa_ms,
        "sha256_ms_per_mb": sha_ms / (len(big) / 1_048_576),
        "tsa_round_trip_ms": tsa_ms,
    }


def signing(pki: DevPki, small: bytes, big: bytes) -> dict[str, float]:
    results = {}
    for level in PadesLevel:
        request = _request(pki, level)
        results[f"{level}_ms"] = _median_ms(functools.partial(sign_pdf, small, request), 7)
    visible = VisibleField(page=1, box=(340, 40, 560, 120))
    results["B-B_visible_ms"] = _median_ms(
        lambda: sign_pdf(small, _request(pki, PadesLevel.B_B, visible=visible)), 5
    )
    big_ms = _median_ms(lambda: sign_pdf(big, _request(pki, PadesLevel.B_B)), 3)
    size_mb = (len(big) - len(small)) / 1_048_576
    results["B-B_extra_ms_per_mb"] = (big_ms - results["B-B_ms"]) / size_mb
    results["pdfa_conversion_plus_B-B_ms"] = _median_ms(
        lambda: sign_pdf(small, _request(pki, PadesLevel.B_B, convert_to_pdfa=True)), 3
    )
    return results


def batch(pki: DevPki, count: int = 50) -> dict[str, object]:
    acts = [make_pdf(pages=2) for _ in range(count)]
    started = time.perf_counter()
    for act in acts:
        sign_pdf(act, _request(pki, PadesLevel.B_LTA))
    total = time.perf_counter() - started
    return {"acts": count, "level": "B-LTA", "total_s": total, "per_act_ms": total * 1000 / count}


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
import resource, sys, time
from pathlib import Path
from signatures.pades import PadesLevel, SignRequest, sign_pdf
from signatures.keys import Pkcs12Key
data = Path(sys.argv[1]).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
out = sign_pdf(data, SignRequest(key=Pkcs12Key(Path(sys.argv[2]), sys.argv[3].encode()),
    signer_display_name="x", level=PadesLevel.B_B, convert_to_pdfa=False)).pdf
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(out), time.perf_counter() - t)
"""


def peak_memory(pki: DevPki, workdir: Path) -> dict[str, float]:
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
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    before_kb, peak_kb, size, seconds = done.stdout.split()
    return {
        "file_mb": int(size) / 1_048_576,
        "rss_before_mb": int(before_kb) / 1024,
        "peak_rss_mb": int(peak_kb) / 1024,
        "B-B_seconds": float(seconds),
    }


def _verdicts(f: dict[str, float], s: dict[str, float]) -> dict[str, bool]:
    return {
        "extra_cost_per_mb_within_1.5x_sha256": s["B-B_extra_ms_per_mb"]
        <= 1.5 * f["sha256_ms_per_mb"],
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
            floor = floors(pki, big)
            sign = signing(pki, small, big)
            result: dict[str, object] = {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
                "floors": floor,
                "signing": sign,
                "targets_met": _verdicts(floor, sign),
                "batch": batch(pki),
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
