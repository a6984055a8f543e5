"""`python -m bench [name ...]`: run the benchmarks (all by default) and append to bench/results."""

from __future__ import annotations

import importlib
import sys

BENCHES = (
    "bench_engine",
    "bench_signatures",
    "bench_archiving",
    "bench_load",
    "bench_archive_search",
    "bench_seal_verification",
    "bench_journal_seal",
    "bench_startup",
    "bench_two_copies",
    "bench_fair_share",
    "bench_pipeline",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"(pas de banc {name})")
                continue
            raise
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
