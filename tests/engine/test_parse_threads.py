"""Parsing tenant expressions from several threads at once, as the web app and the worker do.

CPython 3.11 keeps the AST constructor's recursion counter in one structure per interpreter:
when a garbage collection inside one thread's `ast.parse` lets another thread parse, one of them
fails with `SystemError: AST constructor recursion depth mismatch`. It broke a whole CI run once
(a session fixture deploying procedures raced a background thread). The harness below makes a
collection pause mid-parse every time, so the clash happens on each run where the bug exists.
"""

from __future__ import annotations

import ast
import gc
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from engine.runtime.evaluator import check_script
from engine.runtime.evaluator_check import parse_python

_SOURCE = "\n".join(f"x{i} = ({i} + y) * z - max(a, b[{i}])" for i in range(100))


@pytest.fixture
def collections_pause() -> Iterator[None]:
    """Collect often, and let another thread run at the start of each collection."""

    def pause(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            time.sleep(0.0001)

    threshold = gc.get_threshold()
    gc.callbacks.append(pause)
    gc.set_threshold(50, 1, 1)
    try:
        yield
    finally:
        gc.callbacks.remove(pause)
        gc.set_threshold(*threshold)


def _in_threads(parse: Callable[[], object], *, threads: int = 2, rounds: int = 10) -> list[str]:
    errors: list[str] = []

    def run() -> None:
        for _ in range(rounds):
            try:
                parse()
            except SystemError as exc:
                errors.append(str(exc))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_the_interpreter_clash_is_reproduced(collections_pause: None) -> None:
    """Without our lock the clash shows; where Python has fixed it there is nothing to guard."""
    errors = _in_threads(lambda: ast.parse(_SOURCE))
    if not errors:
        pytest.skip("this Python builds ASTs from several threads without clashing")
    assert "recursion depth mismatch" in errors[0]


def test_our_parses_never_clash(collections_pause: None) -> None:
    assert _in_threads(lambda: parse_python(_SOURCE)) == []
    assert _in_threads(lambda: check_script(_SOURCE)) == []


def test_a_source_too_deep_for_the_constructor_is_a_syntax_error() -> None:
    with pytest.raises(SyntaxError, match="too deeply nested"):
        parse_python("-" * 5000 + "1", mode="eval")
    assert isinstance(parse_python("1 + 2", mode="eval"), ast.Expression)


def test_a_deep_script_in_a_bpmn_is_left_to_the_checker() -> None:
    """The personal-data check reads names a script assigns: a hostile script must not crash it."""
    from engine.runtime.personal_data_check import _bpmn_keys

    bpmn = (
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p">'
        b'<scriptTask id="s"><script>x = ' + b"-" * 5000 + b"1</script></scriptTask>"
        b'<scriptTask id="t"><script>y = 2</script></scriptTask></process></definitions>'
    )
    assert list(_bpmn_keys(bpmn)) == ["y"]
