"""The restricted evaluator: known escapes refused before anything runs, limits, legitimate use."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from engine.runtime.evaluator import (
    EvaluationError,
    ForbiddenSyntax,
    LimitExceeded,
    Limits,
    check_expression,
    check_script,
    evaluate,
    execute,
)

NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)


def _clock() -> datetime:
    return NOW


# -- escapes: refused by the syntax check, so nothing at all runs ------------------------------

STATIC_ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "__import__('os').system('true')",
    "__builtins__['eval']('1')",
    "__builtins__.eval('1')",
    "len.__self__.eval('1')",
    "today.__globals__['__builtins__']['eval']('1')",
    "x.append.__self__",
    "'{0.__class__}'.format(x)",
    "'{0.__class__.__init__.__globals__}'.format(x)",
    "'{x.__class__}'.format_map({'x': x})",
    "str.format_map",
    "f'{x.__class__}'",
    "f'{x.__class__.__mro__}'",
    "f'{x:{spec}}'",
    "f'{x:>999999999}'",
    "f'{x:.99999}'",
    "eval('1 + 1')",
    "exec('y = 1')",
    "getattr(x, '__class__')",
    "open('/etc/passwd').read()",
    "globals()",
    "vars(x)",
    "compile('1', 'f', 'eval')",
    "lambda: 0",
    "(y := 1)",
    "{**x}",
    "len(*x)",
    "dict(**x)",
    "x.nonexistent_method()",
    "1 @ 2",
    "b'bytes'",
    "-" * 200 + "1",
    "[" * 60 + "1" + "]" * 60,
]

STATIC_SCRIPT_ESCAPES = [
    "import os",
    "from os import system",
    "def f():\n    return 1",
    "class A:\n    pass",
    "while True:\n    pass",
    "with open('x') as f:\n    pass",
    "try:\n    y = 1\nexcept Exception:\n    pass",
    "global y",
    "raise ValueError('x')",
    "x.__class__ = 1",
    "x.append = 1",
    "y = 1\nfor i in range(3):\n    pass\nelse:\n    pass",
    "y = yield 1",
    "assert False",
]


@pytest.mark.parametrize("escape", STATIC_ESCAPES)
def test_expression_escape_is_refused_before_anything_runs(escape: str) -> None:
    sentinel: list[int] = []
    # The sentinel is appended by the first element: it changes if evaluation starts at all.
    with pytest.raises(ForbiddenSyntax) as refused:
        evaluate(f"[sentinel.append(1), {escape}]", {"sentinel": sentinel, "x": [1]})
    assert sentinel == []
    assert "[sentinel.append(1)" in str(refused.value)
    with pytest.raises(ForbiddenSyntax):
        check_expression(escape)


@pytest.mark.parametrize("escape", STATIC_ESCAPES + STATIC_SCRIPT_ESCAPES)
def test_script_escape_is_refused_before_any_statement_runs(escape: str) -> None:
    data: dict[str, Any] = {"x": [1], "touched": False}
    script = f"touched = True\n{escape}"
    with pytest.raises(ForbiddenSyntax) as refused:
        execute(script, data)
    assert data == {"x": [1], "touched": False}
    assert refused.value.line is not None and refused.value.line >= 1
    with pytest.raises(ForbiddenSyntax):
        check_script(script)


def test_error_message_names_the_construct_and_the_source() -> None:
    with pytest.raises(ForbiddenSyntax) as refused:
        check_script("statut = 'ok'\nimport os")
    message = str(refused.value)
    assert "import is not allowed" in message
    assert "line 2" in message
    assert "import os" in message
    assert refused.value.line == 2


def test_dunder_never_reached_through_data_values() -> None:
    # Even a value that would expose internals is refused when merely read.
    with pytest.raises(EvaluationError, match="unsupported type"):
        evaluate("f", {"f": os.system})

    class Sneaky(str):
        pass

    with pytest.raises(EvaluationError, match="unsupported type"):
        evaluate("s.upper()", {"s": Sneaky("x")})


@pytest.mark.parametrize(
    "source",
    [
        "y = len",
        "y = [len]",
        "y = {'f': today}",
    ],
)
def test_functions_are_not_values(source: str) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(EvaluationError, match="must be called"):
        execute(source, data)
    assert "y" not in data


def test_methods_are_not_values() -> None:
    with pytest.raises(EvaluationError, match="must be called"):
        evaluate("s.upper", {"s": "a"})


# -- size, time and step bounds ----------------------------------------------------------------

LIMIT_ESCAPES = [
    "9**9**9",
    "2**100000",
    "10**4000 * 10**4000",
    "1 << 10**9",
    "'a' * 10**9",
    "[0] * 10**9",
    "(0,) * 10**9",
    "range(10**9)",
    "list(range(10**6))",
    "'x' * 60000 + 'y' * 60000",
    "int(Decimal('1e999999'))",
    "round(Decimal('1e999999'))",
    "'ab'.replace('', 'x' * 90000)",
    "'-'.join(['x' * 90000, 'y' * 90000])",
    "'x'.center(10**9)",
    "'x'.zfill(10**9)",
    "Decimal(2) ** 100000",
    "[i for i in range(100000) for j in range(10)]",
]


@pytest.mark.parametrize("source", LIMIT_ESCAPES)
def test_oversized_results_are_refused_before_they_are_built(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded):
        evaluate(source, {})
    assert time.monotonic() - started < 2.0


def test_string_percent_formatting_is_refused() -> None:
    with pytest.raises(EvaluationError, match="f-string"):
        evaluate("'%999999999d' % 1", {})
    assert evaluate("7 % 3", {}) == 1


def test_step_limit_stops_long_loops() -> None:
    script = "n = 0\nfor i in range(100000):\n    for j in range(100000):\n        n += 1"
    data: dict[str, Any] = {}
    with pytest.raises(LimitExceeded, match="operations"):
        execute(script, data, limits=Limits(max_steps=50_000))


def test_time_budget_stops_long_loops() -> None:
    script = "n = 0\nfor i in range(100000):\n    for j in range(100000):\n        n += 1"
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="time budget"):
        execute(script, {}, limits=Limits(max_steps=10**12, time_budget_s=0.2))
    assert time.monotonic() - started < 1.0


def test_growth_by_doubling_is_bounded() -> None:
    with pytest.raises(LimitExceeded):
        execute("s = 'x'\nfor i in range(40):\n    s = s + s", {})
    with pytest.raises(LimitExceeded):
        execute("n = 3\nfor i in range(40):\n    n = n * n", {})
    with pytest.raises(LimitExceeded):
        execute("l = [0]\nfor i in range(40):\n    l.extend(l)", {})


def test_shared_references_cannot_blow_up_printing_comparing_or_storing() -> None:
    # 60 doublings of aliases: 2**60 nodes to walk in C if printed, compared or serialized.
    build = "x = [1]\nfor i in range(60):\n    x = [x, x]\n"
    for use in ("y = str(x)", "y = x == [x[0], x[1]]", "y = f'{x}'", "y = sorted([x, x])", ""):
        data: dict[str, Any] = {}
        started = time.monotonic()
        with pytest.raises(LimitExceeded, match="nested value"):
            execute(build + use, data)
        assert time.monotonic() - started < 2.0


def test_source_size_and_nesting_are_bounded() -> None:
    with pytest.raises(ForbiddenSyntax, match="longer than"):
        check_expression("1 + " * 10_000 + "1")
    with pytest.raises(ForbiddenSyntax, match="nesting"):
        check_expression("[" * 45 + "]" * 45)


def test_python_int_digit_limit_is_reported() -> None:
    with pytest.raises(EvaluationError):
        evaluate("int('9' * 5000)", {})


# -- legitimate expressions of process authors -------------------------------------------------

DATA: dict[str, Any] = {
    "montant": 52_000,
    "montant_texte": "1234.50",
    "decision": "accepte",
    "nom": "  dupont ",
    "tags": ["urgent", "voirie"],
    "dossier": {"pieces": [{"nom": "plan.pdf", "pages": 3}, {"nom": "devis.pdf", "pages": 1}]},
    "lignes": [{"montant": 10}, {"montant": 32}],
    "date_depot": "2026-03-01",
    "echeance": "2026-04-01T08:00:00+02:00",
    "numero": 42,
    "quorum": True,
    "pour": 12,
    "contre": 7,
    "d": date(2026, 3, 1),
    "vide": None,
}

LEGITIMATE = [
    ("montant >= 40000", True),
    ("decision == 'accepte'", True),
    ("decision != 'refuse' and montant < 90000", True),
    ("not quorum", False),
    ("40000 <= montant < 90000", True),
    ("vide is None", True),
    ("'urgent' in tags", True),
    ("'absent' not in tags", True),
    ("dossier['pieces'][0]['nom']", "plan.pdf"),
    ("dossier['pieces'][-1]['pages']", 1),
    ("len(dossier['pieces'])", 2),
    ("nom.strip().upper()", "DUPONT"),
    ("nom.strip().title()", "Dupont"),
    ("'ARR-2026-001'.split('-')[1]", "2026"),
    ("'ARR-2026-001'[:3]", "ARR"),
    ("'ARR-2026'.startswith('ARR')", True),
    ("', '.join(tags)", "urgent, voirie"),
    ("f'ARR-{numero:05d}'", "ARR-00042"),
    ("f'{montant!r} / {decision!s}'", "52000 / accepte"),
    ("'grand' if montant > 40000 else 'petit'", "grand"),
    ("sum([l['montant'] for l in lignes])", 42),
    ("sum(l['montant'] for l in lignes)", 42),
    ("max(pour, contre)", 12),
    ("min([3, 1, 2])", 1),
    ("sorted(tags, reverse=True)", ["voirie", "urgent"]),
    ("[p['nom'] for p in dossier['pieces'] if p['pages'] > 1]", ["plan.pdf"]),
    ("{p['nom']: p['pages'] for p in dossier['pieces']}", {"plan.pdf": 3, "devis.pdf": 1}),
    ("{t.upper() for t in tags}", {"URGENT", "VOIRIE"}),
    ("list(dossier.keys())", ["pieces"]),
    ("dossier.get('absent', 0)", 0),
    ("any(t == 'voirie' for t in tags)", True),
    ("all([pour > 0, contre > 0])", True),
    ("round(montant * 1.2, 2)", 62400.0),
    ("abs(contre - pour)", 5),
    ("pour / (pour + contre) > 0.5", True),
    ("pour // 5", 2),
    ("int('12') + float('0.5')", 12.5),
    ("str(numero).zfill(4)", "0042"),
    ("Decimal(montant_texte) * 2", Decimal("2469.00")),
    ("(Decimal(montant_texte) * Decimal('1.2')).quantize(Decimal('0.01'))", Decimal("1481.40")),
    ("parse_date(date_depot) + timedelta(days=30)", date(2026, 3, 31)),
    ("(parse_date('2026-04-01') - parse_date(date_depot)).days", 31),
    ("parse_datetime(echeance) > now()", True),
    ("today()", date(2026, 3, 15)),
    ("(now() + timedelta(days=2)).isoformat()", "2026-03-17T09:30:00+00:00"),
    ("d.year == 2026 and d.month == 3", True),
    ("d.strftime('%d/%m/%Y')", "01/03/2026"),
    ("f'{d:%d/%m/%Y}'", "01/03/2026"),
    ("d.weekday()", 6),
    ("date(2026, 1, 1).isoformat()", "2026-01-01"),
    ("list(range(3))", [0, 1, 2]),
    ("list(enumerate(tags))", [(0, "urgent"), (1, "voirie")]),
    ("list(zip(tags, [1, 2]))", [("urgent", 1), ("voirie", 2)]),
    ("tuple(tags)", ("urgent", "voirie")),
    ("dict(a=1)", {"a": 1}),
    ("set(tags) == {'urgent', 'voirie'}", True),
    ("-montant", -52_000),
    ("2 ** 10", 1024),
    ("len({'a': 1} | {'b': 2})", 2),
]


@pytest.mark.parametrize(("source", "expected"), LEGITIMATE)
def test_legitimate_expression(source: str, expected: Any) -> None:
    assert evaluate(source, DATA, clock=_clock) == expected


def test_fallback_names_resolve_after_task_data() -> None:
    assert evaluate("a + b", {"a": 1}, fallback=[{"a": 100, "b": 2}]) == 3


def test_task_data_may_shadow_function_names() -> None:
    assert evaluate("len", {"len": 3}) == 3


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(EvaluationError, match="'montnat' is not defined"):
        evaluate("montnat > 1", DATA)


def test_runtime_errors_are_evaluation_errors() -> None:
    for source, pattern in [
        ("1 / 0", "ZeroDivisionError"),
        ("dossier['absent']", "not found"),
        ("tags[10]", "bad index"),
        ("'a' + 1", "TypeError"),
        ("parse_date('pas une date')", "parse_date"),
    ]:
        with pytest.raises(EvaluationError, match=pattern):
            evaluate(source, DATA)


# -- scripts -----------------------------------------------------------------------------------

SCRIPT = """\
total = 0
pieces = []
for ligne in lignes:
    if ligne['montant'] > 20:
        total += ligne['montant']
    elif ligne['montant'] < 0:
        continue
    else:
        pieces.append(ligne)
    if total > 1000:
        break
resume = {'total': total, 'nombre': len(pieces)}
resume['statut'] = 'ok' if total else 'vide'
premier, second = lignes[0]['montant'], lignes[1]['montant']
lignes[0]['vu'] = True
del temporaire
echeance = (today() + timedelta(days=30)).isoformat()
"""


def test_script_writes_results_into_task_data() -> None:
    data: dict[str, Any] = {
        "lignes": [{"montant": 10}, {"montant": 32}],
        "temporaire": "x",
    }
    execute(SCRIPT, data, clock=_clock)
    assert data["total"] == 32
    assert data["resume"] == {"total": 32, "nombre": 1, "statut": "ok"}
    assert (data["premier"], data["second"]) == (10, 32)
    assert data["lignes"][0]["vu"] is True
    assert "temporaire" not in data
    assert data["echeance"] == "2026-04-14"
    assert data["ligne"] == {"montant": 32}  # loop variables stay, as with exec


def test_script_reads_but_never_writes_the_fallback() -> None:
    data: dict[str, Any] = {}
    external = {"seuil": 10}
    execute("depasse = 12 > seuil", data, fallback=[external])
    assert data == {"depasse": True}
    assert external == {"seuil": 10}


def test_script_error_reports_its_line() -> None:
    with pytest.raises(EvaluationError) as failed:
        execute("a = 1\nb = 2\nc = a / 0\nd = 4", {})
    assert failed.value.line == 3
    assert "line 3" in str(failed.value)


def test_expressions_cannot_assign() -> None:
    with pytest.raises(ForbiddenSyntax):
        check_expression("y = 1")


def test_parsed_sources_are_cached_and_fast() -> None:
    source = "montant >= 40000 and decision == 'accepte' and 'urgent' in tags"
    evaluate(source, DATA)
    started = time.perf_counter()
    for _ in range(2000):
        evaluate(source, DATA)
    per_call = (time.perf_counter() - started) / 2000
    assert per_call < 0.001


def test_timedelta_and_dates_do_not_overflow_silently() -> None:
    with pytest.raises(EvaluationError):
        evaluate("date(9999, 12, 31) + timedelta(days=1)", {})
    assert evaluate("-timedelta(days=1)", {}) == timedelta(days=-1)
