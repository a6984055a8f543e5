"""The `personal_data:` declarations of procedure.yaml: the shipped procedures declare theirs, a
wrong one is refused at deployment (and by `processes validate`) with a French message, and the
retention delays count from the declared event on the Paris calendar."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.bootstrap import Platform
from engine.cli.main import cli
from engine.domain.errors import ProcessDefinitionError
from engine.domain.personal_data import CATEGORIES, Retention, parse_personal_data, read_path
from engine.runtime.clock import frozen_now
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import parse_bundle, read_procedure_dir
from tests.support import scenarios

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
SHIPPED = ("arrete", "commande-publique", "deliberation", "demande-usager", "seance-conseil")
RGPD_TEST = Path(__file__).resolve().parent / "procedures" / "rgpd_test"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_procedure_declares_its_personal_data(name: str) -> None:
    bundle = parse_bundle(read_procedure_dir(PROCESSES / name)).bundle
    declaration = bundle.personal_data
    assert declaration is not None
    assert declaration.purpose and declaration.legal_basis and declaration.recipients
    assert declaration.fields or declaration.note
    assert all(f.category in CATEGORIES for f in declaration.fields)


def test_the_citizen_request_purges_contacts_two_months_after_notification() -> None:
    declaration = read_procedure_dir(PROCESSES / "demande-usager").personal_data
    assert declaration is not None
    paths = set(declaration.paths())
    assert {"demandeur.courriel", "demandeur.telephone", "pieces"} <= paths
    assert "decision_signee" not in paths  # the act stays
    (retention,) = declaration.retentions()
    assert retention.after[0] == "notification.envoye_le" and retention.months == 2


BASE = """
  purpose: "Tester."
  legal_basis: "Mission d'intérêt public."
  subjects: "Demandeurs"
  recipients: ["Agents"]
  retention: {after: [notifie_le], event: "la notification", months: 2}
"""


def _procedure(tmp_path: Path, declaration: str) -> Path:
    folder = tmp_path / "rgpd_test"
    shutil.copytree(RGPD_TEST, folder)
    manifest = (folder / "procedure.yaml").read_text(encoding="utf-8")
    head = manifest.split("personal_data:")[0]
    (folder / "procedure.yaml").write_text(head + "personal_data:" + declaration, "utf-8")
    return folder


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        (
            BASE + "  fields:\n    demandeur.courriell: {category: coordonnees, label: C}\n",
            "le champ « courriell » n'existe pas dans « demandeur »",
        ),
        (
            BASE + "  fields:\n    adresse_usager: {category: coordonnees, label: A}\n",
            "n'écrit jamais la donnée « adresse_usager »",
        ),
        (
            BASE + "  fields:\n    pieces: {category: photos, label: P}\n",
            "catégorie « photos » inconnue",
        ),
        (
            BASE.replace("[notifie_le]", "[notifiee_le]")
            + "  fields:\n    pieces: {category: pieces_justificatives, label: P}\n",
            "« notifiee_le »",
        ),
        (
            BASE.replace("months: 2", "months: -1")
            + "  fields:\n    pieces: {category: pieces_justificatives, label: P}\n",
            "months : un entier",
        ),
        (
            BASE.replace('  purpose: "Tester."\n', "")
            + "  fields:\n    pieces: {category: pieces_justificatives, label: P}\n",
            "purpose : un texte",
        ),
        (BASE, "sans donnée personnelle déclarée"),
        (
            BASE + "  fields:\n    Pieces: {category: pieces_justificatives, label: P}\n",
            "n'est pas une clé de données",
        ),
        (BASE + "  durée: 3\n", "clé inconnue durée"),
    ],
)
def test_a_wrong_declaration_is_refused_at_deployment(
    tmp_path: Path, declaration: str, expected: str
) -> None:
    folder = _procedure(tmp_path, declaration)
    with pytest.raises(ProcessDefinitionError, match=expected):
        parse_bundle(read_procedure_dir(folder))
    result = CliRunner().invoke(cli, ["processes", "validate", str(folder)])
    assert result.exit_code != 0
    assert expected.split("«")[0].strip() in result.output


def test_the_test_procedure_is_valid() -> None:
    parse_bundle(read_procedure_dir(RGPD_TEST))


def test_a_delay_ends_at_the_end_of_its_paris_day() -> None:
    retention = Retention(after=("notification.envoye_le",), event="la notification", months=2)
    data = {"notification": {"envoye_le": "2026-12-31T23:30:00+00:00"}}  # 1 January in Paris
    due = retention.due(data, closed_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert due == datetime(2027, 3, 1, 23, 0, tzinfo=UTC)  # 2 March 00:00 Paris
    # The event never happened (an early cancellation): the delay counts from the closure.
    assert retention.due({}, closed_at=datetime(2026, 6, 1, 10, tzinfo=UTC)) == datetime(
        2026, 8, 1, 22, 0, tzinfo=UTC
    )


def test_no_declaration_is_accepted_but_reads_as_none() -> None:
    assert parse_personal_data(None) is None


def test_the_purge_tables_match_their_migration(platform: Platform) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from engine.persistence.tables import metadata

    with platform.db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "personal_data" in str(d) or "purged_documents" in str(d)] == []


def _final_runtime(parsed: Any, name: str, scenario: dict[str, Any]) -> CaseRuntime:
    """The scenario run as `run_scenario` does, keeping the runtime (saved and restored)."""
    now = scenarios._parse_start(scenario.get("start_at"))
    with frozen_now(now):
        runtime = CaseRuntime.start(parsed, dict(scenario.get("start") or {}))
    for index, step in enumerate(scenario.get("steps") or [], start=1):
        runtime = scenarios._round_trip(runtime)
        with frozen_now(now):
            now = scenarios._apply_step(runtime, step, now, f"{name}, étape {index}")
    return scenarios._round_trip(runtime)


def _texts(value: Any) -> set[str]:
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and isinstance(value.get("sha256"), str):
            return {value["nom"]} if isinstance(value.get("nom"), str) else set()
        return {t for v in value.values() for t in _texts(v)}
    if isinstance(value, list):
        return {t for v in value for t in _texts(v)}
    return {value} if isinstance(value, str) and len(value) >= 3 else set()


CASES = [
    (name, scenario_name, scenario)
    for name in ("demande-usager", "commande-publique", "seance-conseil")
    for scenario_name, scenario in scenarios.load_scenarios(PROCESSES / name)
]


@pytest.mark.parametrize(("name", "scenario_name", "scenario"), CASES, ids=lambda v: str(v)[:40])
def test_the_declared_keys_leave_no_copy_in_the_case_state(
    name: str, scenario_name: str, scenario: dict[str, Any]
) -> None:
    """On each scenario of a procedure that purges, the declared values are gone from the whole
    saved state (every task's data, the events) once anonymised, and the event keys are real."""
    parsed = parse_bundle(read_procedure_dir(PROCESSES / name))
    declaration = parsed.bundle.personal_data
    assert declaration is not None
    runtime = _final_runtime(parsed, scenario_name, scenario)
    data = runtime.data
    personal = set().union(*(_texts(read_path(data, f.path)) for f in declaration.fields))
    if runtime.completed and declaration.retention is not None:
        events = [p for p in declaration.retention.after if p != "cloture"]
        if events and "cloture" not in declaration.retention.after:
            found = [p for p in events if read_path(data, p) is not None]
            assert found or data.get("statut") in (None, "sans suite", "infructueuse"), (
                f"{scenario_name}: aucune date de {declaration.retention.event} ({events})"
            )
    runtime.anonymise(list(declaration.paths()))
    dumped = runtime.dump()
    state = dumped.header + "".join(body for _scope, body in dumped.tasks.values())
    left = sorted(t for t in personal if t in state)
    assert not left, f"{scenario_name}: encore présent après anonymisation : {left}"
