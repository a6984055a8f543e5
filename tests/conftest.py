"""Test configuration: fixtures live in tests/fixtures, one plugin module per area."""

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.passwords",
    "tests.fixtures.pki",
    "tests.fixtures.s3",
    "tests.fixtures.smtp",
    "tests.fixtures.prefecture",
]
