"""pytest plugin: measure the walk from the mayor's task completion to the sealed package.

Run (from a checkout whose `tests/engine/archives/test_sealing.py` has the test below):

    PYTHONPATH=scripts WALK_OUT=/tmp/walk .venv/bin/pytest -p walk_trace -p no:cacheprovider \\
      "tests/engine/archives/test_sealing.py::test_a_closed_case_is_sealed_stored_locked_and_verifiable[sqlite]"

The window opens when the test's `archived_case` completes the `signer` task and closes when
the case's package is archived (both jobs run in this process, as a worker would run them).
It writes `$WALK_OUT-<param>.json`: the product modules whose code ran, the cross-module call
edges, the transactions begun and committed with the module that committed, the jobs run
(each a hand-off to the broker in production), and the call chain from the test to the
signature and to the S3 write. `docs/architecture.md` gives the figures before and after #13.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from collections import Counter
from types import FrameType
from typing import Any

PRODUCT = ("engine", "signatures", "archiving", "connectors", "web", "devstack")
TARGETS = {
    "sign": ("signatures.pades", {"sign_pdf", "sign_pdf_to", "sign_file_to"}),
    "store": ("archiving.storage.s3", {"put"}),
}


class Walk:
    def __init__(self) -> None:
        self.on = False
        self.armed = False
        self.modules: set[str] = set()
        self.edges: set[tuple[str, str]] = set()
        self.chains: dict[str, list[str]] = {}
        self.transactions: Counter[str] = Counter()
        self.committers: Counter[str] = Counter()
        self.jobs = 0

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
        self.armed = True

    def profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or not self.on:
            return
        module = _module(frame)
        if not _product(module):
            return
        self.modules.add(module)
        caller = frame.f_back
        while caller is not None and not (_product(_module(caller)) or _is_test(caller)):
            caller = caller.f_back
        source = _module(caller) if caller is not None else ""
        if source != module:
            self.edges.add((source if _product(source) else "tests", module))
        for label, (target, names) in TARGETS.items():
            if label not in self.chains and module == target and frame.f_code.co_name in names:
                self.chains[label] = _chain(frame)

    def report(self) -> dict[str, Any]:
        return {
            "modules": sorted(self.modules),
            "edges": sorted(f"{a} -> {b}" for a, b in self.edges),
            "transactions": dict(self.transactions),
            "committers": dict(self.committers),
            "jobs": self.jobs,
            "chains": self.chains,
        }


WALK = Walk()


def _module(frame: FrameType | None) -> str:
    return str(frame.f_globals.get("__name__", "")) if frame is not None else ""


def _product(name: str) -> bool:
    return name.split(".")[0] in PRODUCT


def _is_test(frame: FrameType) -> bool:
    return _module(frame).startswith("tests.")


def _chain(frame: FrameType | None) -> list[str]:
    chain: list[str] = []
    while frame is not None:
        if _product(_module(frame)) or _is_test(frame):
            entry = f"{_module(frame)}.{frame.f_code.co_name}"
            if not chain or chain[-1] != entry:
                chain.append(entry)
        frame = frame.f_back
    return list(reversed(chain))


def _committer() -> str:
    for item in reversed(traceback.extract_stack()[:-2]):
        name = item.filename
        if "site-packages" in name or "/lib/python" in name:
            continue
        for root in ("/tests/", "/engine/"):
            if root in name and "/engine/persistence/" not in name:
                return root.strip("/") + "/" + name.split(root, 1)[1]
    return "?"


def _listen_to_transactions() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def begin(conn: Any) -> None:
        if WALK.on:
            WALK.transactions["begin"] += 1

    def commit(conn: Any) -> None:
        if WALK.on:
            WALK.transactions["commit"] += 1
            WALK.committers[_committer()] += 1

    event.listen(Engine, "begin", begin)
    event.listen(Engine, "commit", commit)


def pytest_collection_finish(session: Any) -> None:
    import tests.engine.archives.conftest as conftest
    import tests.engine.archives.test_sealing as sealing
    import tests.engine.support as support

    _listen_to_transactions()
    complete, run_job, archived_case = conftest.complete, support.run_job, sealing.archived_case

    def traced_complete(*args: Any, **kwargs: Any) -> Any:
        if WALK.armed:
            WALK.on = True
        return complete(*args, **kwargs)

    def counted_run_job(*args: Any, **kwargs: Any) -> Any:
        if WALK.on:
            WALK.jobs += 1
        return run_job(*args, **kwargs)

    def traced_archived_case(*args: Any, **kwargs: Any) -> Any:
        WALK.reset()
        sys.setprofile(WALK.profile)
        threading.setprofile(WALK.profile)
        try:
            return archived_case(*args, **kwargs)
        finally:
            WALK.on = WALK.armed = False
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
            param = os.environ.get("PYTEST_CURRENT_TEST", "x").split("[")[-1].split("]")[0]
            out = f"{os.environ.get('WALK_OUT', 'walk')}-{param}.json"
            with open(out, "w", encoding="utf-8") as handle:
                json.dump(WALK.report(), handle, indent=1)

    conftest.complete = traced_complete
    support.run_job = counted_run_job
    sealing.archived_case = traced_archived_case
