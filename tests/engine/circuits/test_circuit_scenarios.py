"""The shared circuit through its test procedure: scenarios, coverage and the `uses:` loader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.domain.errors import ProcessDefinitionError
from engine.runtime.specs import SHARED_CIRCUITS, flow_nodes, parse_bundle, read_procedure_dir
from tests.fixtures.services import TEST_PROCEDURES
from tests.support.scenarios import load_scenarios, run_scenario

CIRCUIT_TEST = TEST_PROCEDURES / "circuit_test"
SCENARIOS = load_scenarios(CIRCUIT_TEST)


@pytest.mark.parametrize(("name", "scenario"), SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_scenario(name: str, scenario: dict[str, object]) -> None:
    parsed = parse_bundle(read_procedure_dir(CIRCUIT_TEST))
    assert run_scenario(parsed, name, scenario).round_trips >= 2


def test_every_node_of_the_procedure_and_of_the_circuit_is_covered() -> None:
    parsed = parse_bundle(read_procedure_dir(CIRCUIT_TEST))
    visited: set[str] = set()
    for name, scenario in SCENARIOS:
        visited.update(run_scenario(parsed, name, scenario).visited)
    assert not flow_nodes(parsed) - visited


def test_the_circuit_is_copied_into_the_bundle_which_stays_content_addressed(
    tmp_path: Path,
) -> None:
    bundle = read_procedure_dir(CIRCUIT_TEST)
    assert (
        bundle.files["circuit_signature.bpmn"]
        == (SHARED_CIRCUITS / "circuit_signature.bpmn").read_bytes()
    )
    assert {"forms/circuit_visa.json", "forms/circuit_signature.json"} <= set(bundle.files)
    # A local copy of the circuits folder that differs gives another definition hash.
    procedures = tmp_path / "procedures"
    shutil.copytree(CIRCUIT_TEST, procedures / "circuit_test")
    shutil.copytree(SHARED_CIRCUITS, procedures / "_circuits")
    assert read_procedure_dir(procedures / "circuit_test").hash == bundle.hash
    circuit = procedures / "_circuits" / "circuit_signature.bpmn"
    circuit.write_bytes(circuit.read_bytes().replace(b"Clore l'", b"Fermer l'"))
    assert read_procedure_dir(procedures / "circuit_test").hash != bundle.hash


def test_an_unknown_circuit_or_a_name_clash_is_refused(tmp_path: Path) -> None:
    procedure = tmp_path / "circuit_test"
    shutil.copytree(CIRCUIT_TEST, procedure)
    manifest = procedure / "procedure.yaml"
    manifest.write_text(manifest.read_text().replace("[circuit_signature]", "[inconnu]"))
    with pytest.raises(ProcessDefinitionError, match="introuvable"):
        read_procedure_dir(procedure, circuits=SHARED_CIRCUITS)
    manifest.write_text(manifest.read_text().replace("[inconnu]", "[../secret]"))
    with pytest.raises(ProcessDefinitionError, match="noms de circuits"):
        read_procedure_dir(procedure, circuits=SHARED_CIRCUITS)
    manifest.write_text(manifest.read_text().replace("[../secret]", "[circuit_signature]"))
    (procedure / "forms" / "circuit_visa.json").write_text("{}")
    with pytest.raises(ProcessDefinitionError, match="existe déjà"):
        read_procedure_dir(procedure, circuits=SHARED_CIRCUITS)


def test_an_assignee_expression_is_checked_at_deployment(tmp_path: Path) -> None:
    procedure = tmp_path / "circuit_test"
    shutil.copytree(CIRCUIT_TEST, procedure)
    circuits = tmp_path / "_circuits"
    shutil.copytree(SHARED_CIRCUITS, circuits)
    bpmn = circuits / "circuit_signature.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(
            'name="assignee" value="signataire"', 'name="assignee" value="__import__(1)"', 1
        ),
        encoding="utf-8",
    )
    with pytest.raises(ProcessDefinitionError, match="expression refusée"):
        parse_bundle(read_procedure_dir(procedure))
