"""The SAE connector against the real simulator process, over both protocols."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.errors import PermanentError, RetryableError
from connectors.sae import (
    Accepted,
    EliminationRequest,
    Pending,
    Rejected,
    SaeKind,
    TransferPackage,
    open_sae_client,
)
from devstack.process import free_port
from tests.fixtures.sae import SaeSimulatorProcess, sample_transfer

KINDS = [SaeKind.VITAM, SaeKind.ASALAE]


@pytest.fixture(autouse=True)
def _reset(sae_simulator: SaeSimulatorProcess) -> None:
    sae_simulator.reset()


def _package(tmp_path: Path) -> TransferPackage:
    return sample_transfer(tmp_path, f"deliberation-{uuid.uuid4().hex[:10]}")


@pytest.mark.parametrize("kind", KINDS)
def test_accepted_transfer_gives_the_sae_identifiers(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    package = _package(tmp_path)
    client = sae_simulator.client(kind)
    try:
        submitted = client.submit_transfer(package)
        outcome = client.transfer_outcome(submitted)
    finally:
        client.close()
    assert isinstance(outcome, Accepted)
    assert outcome.sae_ids and all(i.startswith("aeaqaaaaa") for i in outcome.sae_ids)
    assert outcome.reply_code == ("OK" if kind == SaeKind.VITAM else "000")


@pytest.mark.parametrize("kind", KINDS)
def test_pending_until_the_sae_has_answered(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    sae_simulator.settings(reply_delay=60)
    client = sae_simulator.client(kind)
    try:
        outcome = client.transfer_outcome(client.submit_transfer(_package(tmp_path)))
    finally:
        client.close()
    assert isinstance(outcome, Pending)


@pytest.mark.parametrize("kind", KINDS)
def test_rejected_transfer_gives_the_sae_reasons(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    sae_simulator.settings(decision="reject", reason="Convention de versement expirée")
    client = sae_simulator.client(kind)
    try:
        outcome = client.transfer_outcome(client.submit_transfer(_package(tmp_path)))
    finally:
        client.close()
    assert isinstance(outcome, Rejected)
    assert any("Convention de versement expirée" in reason for reason in outcome.reasons)


@pytest.mark.parametrize("kind", KINDS)
def test_a_message_invalid_against_the_xsd_is_refused_with_the_schema_errors(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    valid = _package(tmp_path)
    broken = valid.manifest.replace(b"<CodeListVersions", b"<Intrus/><CodeListVersions", 1)
    package = TransferPackage(
        valid.message_identifier, valid.transferring_agency, broken, valid.objects
    )
    client = sae_simulator.client(kind)
    try:
        outcome = client.transfer_outcome(client.submit_transfer(package))
    finally:
        client.close()
    assert isinstance(outcome, Rejected)
    assert any("Intrus" in reason for reason in outcome.reasons)


@pytest.mark.parametrize("kind", KINDS)
def test_an_altered_object_is_refused(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    valid = _package(tmp_path)
    altered = {uri: data + b"!" for uri, data in valid.objects.items()}
    package = TransferPackage(
        valid.message_identifier, valid.transferring_agency, valid.manifest, altered
    )
    client = sae_simulator.client(kind)
    try:
        outcome = client.transfer_outcome(client.submit_transfer(package))
    finally:
        client.close()
    assert isinstance(outcome, Rejected)
    assert any("empreinte incorrecte" in reason for reason in outcome.reasons)


@pytest.mark.parametrize("kind", KINDS)
def test_sae_in_difficulty_is_a_retryable_error_and_the_retry_succeeds(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    sae_simulator.arm("error500")
    package = _package(tmp_path)
    client = sae_simulator.client(kind)
    try:
        with pytest.raises(RetryableError) as raised:
            client.submit_transfer(package)
        assert raised.value.code == "sae_unavailable"
        assert isinstance(client.transfer_outcome(client.submit_transfer(package)), Accepted)
    finally:
        client.close()


def test_an_sae_that_does_not_listen_is_a_retryable_error(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path
) -> None:
    client = open_sae_client(
        sae_simulator.config(SaeKind.VITAM, base_url=f"http://127.0.0.1:{free_port()}")
    )
    try:
        with pytest.raises(RetryableError) as raised:
            client.submit_transfer(_package(tmp_path))
    finally:
        client.close()
    assert raised.value.code == "sae_unreachable"


def test_wrong_asalae_credentials_are_a_permanent_error(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path
) -> None:
    client = sae_simulator.client(SaeKind.ASALAE, password="faux")
    try:
        with pytest.raises(PermanentError) as raised:
            client.submit_transfer(_package(tmp_path))
    finally:
        client.close()
    assert raised.value.code == "sae_forbidden"


@pytest.mark.parametrize("kind", KINDS)
def test_elimination_of_units_the_sae_holds(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    client = sae_simulator.client(kind)
    try:
        accepted = client.transfer_outcome(client.submit_transfer(_package(tmp_path)))
        assert isinstance(accepted, Accepted)
        request = EliminationRequest(
            message_identifier=f"ELIM-{uuid.uuid4().hex[:12]}",
            requester="213800000",
            requester_name="Commune de Saint-Exemple",
            archival_agency="FR-AD034",
            unit_ids=accepted.sae_ids,
            reason="DUA échue ; visa AD34-2026-001",
            requested_at=datetime.now(UTC),
        )
        done = client.elimination_outcome(client.request_elimination(request))
        assert isinstance(done, Accepted)
        assert set(done.sae_ids) == set(accepted.sae_ids)
        # The units are gone: asking again is refused with the SAE's reason.
        again = EliminationRequest(
            **{**request.__dict__, "message_identifier": "ELIM-again-" + kind}
        )
        refused = client.elimination_outcome(client.request_elimination(again))
    finally:
        client.close()
    assert isinstance(refused, Rejected)
    assert any("inconnues" in reason for reason in refused.reasons)


@pytest.mark.parametrize("kind", KINDS)
def test_an_oversized_reply_is_refused_before_parsing(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    client = sae_simulator.client(kind, max_reply_bytes=1024 * 1024)
    try:
        submitted = client.submit_transfer(_package(tmp_path))
        sae_simulator.arm("oversized", endpoint="reply")
        with pytest.raises(PermanentError) as raised:
            client.transfer_outcome(submitted)
    finally:
        client.close()
    assert raised.value.code == "sae_reply_too_large"


@pytest.mark.parametrize("kind", KINDS)
def test_a_reply_with_entities_is_refused_without_expanding_them(
    sae_simulator: SaeSimulatorProcess, tmp_path: Path, kind: SaeKind
) -> None:
    client = sae_simulator.client(kind)
    try:
        submitted = client.submit_transfer(_package(tmp_path))
        sae_simulator.arm("hostile", endpoint="reply")
        with pytest.raises(PermanentError) as raised:
            client.transfer_outcome(submitted)
    finally:
        client.close()
    assert raised.value.code == "sae_reply_doctype"
