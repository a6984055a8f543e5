"""The intake of untrusted PDFs: bounded in memory and time, French refusals, active content."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import billiard  # type: ignore[import-untyped]
import pikepdf
import pytest

from signatures import sandbox
from signatures.active_content import find_active_content
from signatures.errors import DocumentRefusedError
from signatures.intake import _check_unbounded, check_untrusted_pdf, inspect_pdf, read_pdfa_claim
from signatures.sandbox import UNSAFE, ChildLimits, run_bounded
from tests.signatures.hostile_pdfs import (
    BOMBS,
    GIB,
    deeply_nested,
    metadata_bomb,
    with_active_content,
    without_xref,
)
from tests.signatures.pdfs import make_pdf

MIB = 1024 * 1024
PARENT_RSS_GROWTH = 200 * MIB
"""The calling process may grow by the file, its copy sent to the child and bookkeeping."""
SECONDS_PER_BOMB = 60.0
"""A safety bound for a loaded 2-core machine (the child's own wall limit is 20 s)."""
MUST_REFUSE = {"metadonnees", "flux-d-objets", "flux-xref"}
"""Bombs the intake has to decode (the others' streams are never inflated by the checks)."""


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")  # resets VmHWM, the peak resident set size


def _rss(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(field)


@pytest.fixture(scope="module", autouse=True)
def forkserver() -> Iterator[None]:
    sandbox.warm_up()  # its start (imports without bytecode) is not part of any bound
    yield


@pytest.mark.parametrize("size", [GIB, 4 * GIB], ids=["1GiB", "4GiB"])
@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_decompression_bomb_stays_under_the_memory_and_time_bounds(
    kind: str, size: int, capsys: pytest.CaptureFixture[str]
) -> None:
    bomb = BOMBS[kind](size)
    assert len(bomb) < 5 * MIB
    _reset_peak_rss()
    before = _rss("VmRSS")
    started = time.monotonic()
    try:
        check_untrusted_pdf(bomb, max_bytes=50 * 1_000_000)
        refusal = None
    except DocumentRefusedError as exc:
        refusal = str(exc)
    seconds = time.monotonic() - started
    growth = _rss("VmHWM") - before
    with capsys.disabled():
        print(
            f"\n{kind} {size // GIB} GiB: {seconds:.2f} s, parent peak +{growth / MIB:.0f} MiB,"
            f" {refusal or 'accepté (flux jamais décompressé)'}"
        )
    assert growth < PARENT_RSS_GROWTH
    assert seconds < SECONDS_PER_BOMB
    if kind in MUST_REFUSE:
        assert refusal is not None and refusal.startswith(UNSAFE)


def test_the_metadata_bomb_of_the_issue_is_refused_in_french_and_in_bounds() -> None:
    """The 1 MB file that took a web process to 2.3 GB through pikepdf's `open_metadata()`."""
    bomb = metadata_bomb(GIB)
    _reset_peak_rss()
    before = _rss("VmRSS")
    with pytest.raises(DocumentRefusedError) as refused:
        inspect_pdf(bomb)
    assert str(refused.value) == (
        "Ce PDF ne peut pas être lu sans risque : ses métadonnées XMP dépassent 4 Mio une fois "
        "décompressées."
    )
    with pytest.raises(DocumentRefusedError, match=UNSAFE):
        read_pdfa_claim(bomb)  # what the signing step calls before a PDF/A conversion
    assert _rss("VmHWM") - before < PARENT_RSS_GROWTH


def test_a_deeply_nested_pdf_is_refused_in_french_not_crashed() -> None:
    with pytest.raises(RecursionError):
        _check_unbounded(deeply_nested(), 10**8, False)  # what used to escape as a 500
    with pytest.raises(DocumentRefusedError) as refused:
        check_untrusted_pdf(deeply_nested())
    assert str(refused.value) == f"{UNSAFE} : sa structure est imbriquée trop profondément."


def test_a_pdf_without_cross_reference_is_refused() -> None:
    with pytest.raises(DocumentRefusedError, match="corrompu ou illisible"):
        check_untrusted_pdf(without_xref())


def _allocate(size: int) -> int:
    return len(bytearray(size))


def _spin() -> None:
    while True:
        pass


def test_the_child_limits_stop_memory_and_cpu_hogs() -> None:
    limits = ChildLimits(memory_bytes=256 * MIB, cpu_seconds=2, wall_seconds=10.0)
    assert run_bounded(_allocate, 16 * MIB, limits=limits) == 16 * MIB
    with pytest.raises(DocumentRefusedError, match="trop de mémoire"):
        run_bounded(_allocate, 2 * GIB, limits=limits)
    started = time.monotonic()
    with pytest.raises(DocumentRefusedError, match="trop de temps"):
        run_bounded(_spin, limits=limits)
    assert time.monotonic() - started < 10.0
    with pytest.raises(DocumentRefusedError, match="trop de temps"):
        run_bounded(_spin, limits=ChildLimits(cpu_seconds=60, wall_seconds=1.0))


def test_active_content_is_found_and_removed_in_the_child() -> None:
    hostile = with_active_content()
    found = check_untrusted_pdf(hostile)
    assert found.cleaned is None
    assert set(found.active_content) >= {
        "JavaScript à l'ouverture (/OpenAction)",
        "JavaScript du document (/Names/JavaScript)",
        "actions automatiques (/AA)",
        "lancement d'un programme (/Launch)",
    }
    removed = check_untrusted_pdf(hostile, remove_active_content=True)
    assert removed.active_content == found.active_content
    assert removed.cleaned is not None
    again = check_untrusted_pdf(removed.cleaned)
    assert again.active_content == () and again.facts.page_count == 1
    with pikepdf.open(io.BytesIO(removed.cleaned)) as pdf:
        assert find_active_content(pdf) == ()
        assert "/OpenAction" not in pdf.Root and "/JavaScript" not in pdf.Root.Names
        assert b"cmd.exe" not in removed.cleaned and b"app.alert" not in removed.cleaned
    assert check_untrusted_pdf(make_pdf()).active_content == ()


def test_the_child_process_costs_little_for_a_normal_pdf(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The overhead of the bounded child per upload, reported, with a generous bound."""
    pdf = make_pdf(pages=5)
    rounds = 10

    def timed(function: object) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            function()  # type: ignore[operator]
        return (time.perf_counter() - started) / rounds

    in_process = timed(lambda: _check_unbounded(pdf, 10**8, False))
    bounded = timed(lambda: check_untrusted_pdf(pdf))
    with capsys.disabled():
        print(
            f"\nintake d'un PDF de 5 pages : {in_process * 1000:.1f} ms dans le processus, "
            f"{bounded * 1000:.1f} ms dans l'enfant borné "
            f"(surcoût {(bounded - in_process) * 1000:.1f} ms)"
        )
    assert bounded - in_process < 1.0


def _claim_in_pool_child(queue: Any) -> None:  # pragma: no cover - runs in a billiard child
    try:
        queue.put(("ok", read_pdfa_claim(make_pdf())))
    except BaseException as exc:  # reported to the test, whatever it is
        queue.put(("erreur", repr(exc)))


def test_the_sandbox_works_from_a_celery_prefork_pool_child() -> None:
    """Signing reads the PDF/A claim through the sandbox inside the worker's pool children,
    which are daemonic billiard processes (multiprocessing refuses children there by default)."""
    queue = billiard.Queue()
    child = billiard.Process(target=_claim_in_pool_child, args=(queue,), daemon=True)
    child.start()
    try:
        assert queue.get(timeout=120) == ("ok", None)
    finally:
        child.join(timeout=30)
