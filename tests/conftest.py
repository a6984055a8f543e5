"""Test configuration: fixtures live in tests/fixtures, one plugin module per area."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.passwords",
    "tests.fixtures.pki",
    "tests.fixtures.s3",
    "tests.fixtures.smtp",
    "tests.fixtures.prefecture",
    "tests.fixtures.private_services",
    "tests.fixtures.sae",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `make test` (pytest-xdist, `--dist loadgroup`) the tests of a module that uses a
    module-scoped fixture (a Ghostscript conversion, a seeded demo, a browser) run on one worker,
    which builds that fixture once; every other test goes to whichever worker is free."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
