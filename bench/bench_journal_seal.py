"""Journal sealing benchmark: the cost of sealing 10,000 journal entries (read them, Merkle root,
RFC 3161 token, locked PUT in S3, seal row) against the floor of writing those 10,000 entries
(one hash-chained link per transaction, as each case step writes it), and the cost of the full
`audit verify` (chain + locked seals + records) against the chain alone, in the same run.

PostgreSQL on 127.0.0.1, a SeaweedFS and the development PKI started here. Results go to
bench/results/journal_seal.json.
"""

from __future__ import annotations

import json
import os
import platform as host
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from archiving.journal_seal import JournalEntryRef
from archiving.merkle import merkle_root
from devstack.pki import build_dev_pki, serve_dev_pki
from devstack.process import free_port
from devstack.s3 import start_seaweed
from engine.bootstrap import build_platform, prepare_database
from engine.domain.model import Actor
from engine.jobs.journal_seals import seal_tenant_journal
from engine.services import admin
from engine.services.archives.journal_checks import verify_journal, verify_journal_completeness
from engine.services.archives.setup import archive_setup
from engine.settings import PKISettings, Settings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
DATABASE = "dematflow_bench_journal"
TENANT = "213400005"
ENTRIES = 10_000
OPERATOR = Actor("user:banc", frozenset({"operateur"}), "Banc")


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    _pg(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _pg(f"CREATE DATABASE {DATABASE}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
            result = _run(Path(tmp))
    finally:
        _pg(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    (RESULTS / "journal_seal.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), "utf-8"
    )
    print(json.dumps(result, indent=2, ensure_ascii=False))


def _run(workdir: Path) -> dict[str, object]:
    pki = build_dev_pki(
        workdir / "pki", signer_names=("Banc",), organisation="Commune de Banc", port=free_port()
    )
    with (
        serve_dev_pki(pki),
        start_seaweed(
            workdir / "s3", access_key="bench", secret_key=secrets.token_urlsafe(16)
        ) as server,
    ):
        settings = Settings(
            data_dir=workdir / "data",
            database_url=f"postgresql+psycopg://postgres@127.0.0.1/{DATABASE}",
            pki=PKISettings(dev_dir=pki.directory),
            storage=server.storage_settings("banc"),
        )
        p = build_platform(settings)
        try:
            prepare_database(p)
            setup = archive_setup(settings)
            with p.uow() as uow:
                admin.create_tenant(
                    uow, siren=TENANT, name="Commune de Banc", actor=OPERATOR, now=p.clock()
                )
                uow.commit()  # sealed at creation (seal n° 1)
            # Floor: the 10,000 entries themselves, one link per transaction.
            started = time.perf_counter()
            for index in range(ENTRIES):
                with p.uow() as uow:
                    uow.journal.append(
                        tenant=TENANT,
                        kind="bench.step",
                        case_id=None,
                        actor=OPERATOR.user_id,
                        payload={"n": index, "texte": "étape du banc"},
                        now=p.clock(),
                    )
                    uow.commit()
            append_s = time.perf_counter() - started
            # In memory only: the Merkle root over the same 10,000 leaves.
            with p.uow() as uow:
                refs = [JournalEntryRef(e.seq, e.hash) for e in uow.journal.iter_entries(TENANT)]
            merkle = []
            for _ in range(5):
                t0 = time.perf_counter()
                merkle_root([r.leaf for r in refs[-ENTRIES:]])
                merkle.append(time.perf_counter() - t0)
            # The seal: read the entries, root, TSA token, locked PUT read back, row, its entry.
            t0 = time.perf_counter()
            seal = seal_tenant_journal(p.uow, setup, TENANT, now=datetime.now(UTC))
            seal_s = time.perf_counter() - t0
            assert seal is not None and seal.last_seq - seal.first_seq + 1 >= ENTRIES
            # Verification: the chain alone, then everything `audit verify` checks.
            chain, full = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                with p.uow() as uow:
                    assert verify_journal(uow, TENANT).intact
                chain.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                report = verify_journal_completeness(p.uow, setup, TENANT)
                full.append(time.perf_counter() - t0)
                assert report.intact, report.findings
        finally:
            p.db.dispose()
    chain_s, full_s = statistics.median(chain), statistics.median(full)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{host.machine()} {host.python_version()} {os.cpu_count()} CPU",
        "entries": ENTRIES,
        "floor_append_10k_s": round(append_s, 3),
        "seal_10k_s": round(seal_s, 3),
        "merkle_root_10k_ms": round(statistics.median(merkle) * 1000, 2),
        "ratio_seal_vs_append": round(seal_s / append_s, 4),
        "verify_chain_only_s": round(chain_s, 3),
        "verify_full_s": round(full_s, 3),
        "ratio_full_vs_chain_only": round(full_s / chain_s, 2),
    }


if __name__ == "__main__":
    main()
