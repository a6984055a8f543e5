"""The @ctes client against the real simulator process over mutual TLS: exactly once, faults."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.actes.acknowledgement import ExchangeKind, reconcile_acknowledgement
from connectors.actes.client import ClientTls, TdtClient, TdtConfig
from connectors.actes.envelope import build_archive
from connectors.actes.status import TransactionStatus
from connectors.errors import (
    AcknowledgementConflictError,
    DuplicateActError,
    IdempotencyConflictError,
    PermanentError,
    RetryableError,
)
from tests.connectors.conftest import Simulator, free_port, make_transmission, run_simulator

pytestmark = pytest.mark.integration


def _arm(prefecture: Simulator, kind: str, endpoint: str = "submit", count: int = 1) -> None:
    with prefecture.admin() as http:
        response = http.post(
            "/admin/faults", json={"endpoint": endpoint, "kind": kind, "count": count}
        )
        assert response.status_code == 200, response.text


def _transactions(prefecture: Simulator, act_id: str) -> list[dict[str, object]]:
    with prefecture.admin() as http:
        return [t for t in http.get("/admin/transactions").json() if t["act_unique_id"] == act_id]


def test_submit_then_acknowledgement(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"case-1/{t.number}")
        assert not submission.replayed
        state = client.status(submission.transaction_id)
    assert state.status == TransactionStatus.ACQUITTEMENT_RECU
    assert state.acknowledgement is not None
    assert state.acknowledgement.act_unique_id == t.act_unique_id
    assert b"ARActe" in state.acknowledgement.xml


def test_same_key_twice_sends_once(prefecture: Simulator) -> None:
    t = make_transmission()
    archive = build_archive(t)
    with prefecture.client() as client:
        first = client.submit(archive, idempotency_key=f"k-{t.number}")
        # the job runs again, on another day: the envelope differs, the act does not
        again = client.submit(build_archive(t, serial=2), idempotency_key=f"k-{t.number}")
    assert again.replayed and again.transaction_id == first.transaction_id
    assert len(_transactions(prefecture, t.act_unique_id)) == 1


def test_concurrent_twins_send_once(prefecture: Simulator) -> None:
    t = make_transmission()
    archive = build_archive(t)
    results: list[str] = []

    def run() -> None:
        with prefecture.client() as client:
            results.append(
                client.submit(archive, idempotency_key=f"twin-{t.number}").transaction_id
            )

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 4
    assert len(_transactions(prefecture, t.act_unique_id)) == 1


def test_key_reused_for_another_act_is_a_conflict(prefecture: Simulator) -> None:
    first, second = make_transmission(), make_transmission()
    with prefecture.client() as client:
        client.submit(build_archive(first), idempotency_key=f"reuse-{first.number}")
        with pytest.raises(IdempotencyConflictError) as caught:
            client.submit(build_archive(second), idempotency_key=f"reuse-{first.number}")
    assert "clé d'idempotence" in caught.value.message
    assert _transactions(prefecture, second.act_unique_id) == []


def test_same_number_under_another_key_is_a_duplicate(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        client.submit(build_archive(t), idempotency_key=f"a-{t.number}")
        with pytest.raises(DuplicateActError) as caught:
            client.submit(build_archive(t), idempotency_key=f"b-{t.number}")
    assert "même numéro" in caught.value.message and not caught.value.retryable


def test_lost_answer_after_commit_is_retried_without_duplicate(prefecture: Simulator) -> None:
    t = make_transmission()
    _arm(prefecture, "timeout_after_commit")
    started = time.monotonic()
    with prefecture.client(timeout=0.5) as client:
        submission = client.submit(build_archive(t), idempotency_key=f"lost-{t.number}")
    assert submission.replayed  # the first attempt did create it; the retry found it
    assert time.monotonic() - started < 4
    assert len(_transactions(prefecture, t.act_unique_id)) == 1


def test_error_after_commit_then_job_rerun(prefecture: Simulator) -> None:
    t = make_transmission()
    _arm(prefecture, "error_after_commit")
    with prefecture.client(attempts=1) as client:
        with pytest.raises(RetryableError) as caught:
            client.submit(build_archive(t), idempotency_key=f"rerun-{t.number}")
        assert caught.value.code == "tdt_unavailable" and "relancée" in caught.value.action
        # the engine's job runs again later with the same key
        again = client.submit(build_archive(t), idempotency_key=f"rerun-{t.number}")
    assert again.replayed
    assert len(_transactions(prefecture, t.act_unique_id)) == 1


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("timeout", "tdt_timeout"),
        ("error500", "tdt_unavailable"),
        ("malformed", "tdt_malformed_response"),
    ],
)
def test_persistent_faults_are_retryable_and_nothing_is_sent(
    prefecture: Simulator, kind: str, code: str
) -> None:
    t = make_transmission()
    _arm(prefecture, kind, count=2)
    with (
        prefecture.client(timeout=0.5, attempts=2) as client,
        pytest.raises(RetryableError) as caught,
    ):
        client.submit(build_archive(t), idempotency_key=f"f-{t.number}")
    assert caught.value.code == code and caught.value.retryable
    assert _transactions(prefecture, t.act_unique_id) == []


def test_passing_fault_is_absorbed_by_retries(prefecture: Simulator) -> None:
    t = make_transmission()
    _arm(prefecture, "error500", endpoint="status")
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"p-{t.number}")
        assert client.status(submission.transaction_id).acknowledged


def test_rejection_by_the_simulator_validation(prefecture: Simulator) -> None:
    archive = build_archive(make_transmission())
    broken = archive.__class__(**{**archive.__dict__, "content": b"\x1f\x8b garbage"})
    with prefecture.client() as client, pytest.raises(PermanentError) as caught:
        client.submit(broken, idempotency_key="broken-archive")
    assert "Archive refusée" in caught.value.message and not caught.value.retryable


def test_rejection_by_the_prefecture_is_a_status_value(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"rej-{t.number}")
        with prefecture.admin() as http:
            http.post(
                f"/admin/transactions/{submission.transaction_id}/reject",
                json={"reason": "Matière incohérente avec l'objet"},
            ).raise_for_status()
        state = client.status(submission.transaction_id)
    assert state.rejected and state.status == TransactionStatus.REFUSE
    assert state.message == "Matière incohérente avec l'objet"


def test_duplicate_acknowledgement_is_detected(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"dup-{t.number}")
        first = client.status(submission.transaction_id).acknowledgement
        assert first is not None
        same = client.status(submission.transaction_id).acknowledgement
        assert same is not None
        assert (
            reconcile_acknowledgement(same, expected_act_id=t.act_unique_id, known=first) is first
        )
        _arm(prefecture, "other_ar", endpoint="status")
        other = client.status(submission.transaction_id).acknowledgement
    assert other is not None
    with pytest.raises(AcknowledgementConflictError):
        reconcile_acknowledgement(other, expected_act_id=t.act_unique_id, known=first)


def test_cancel_and_exchanges(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"ex-{t.number}")
        tid = submission.transaction_id
        assert client.status(tid).acknowledged
        with prefecture.admin() as http:
            for kind in ("2A", "3A", "4A", "5A"):
                http.post(
                    f"/admin/transactions/{tid}/exchanges",
                    json={"kind": kind, "text": f"Message {kind}"},
                ).raise_for_status()
        exchanges = client.exchanges(tid)
        assert [e.kind for e in exchanges] == list(ExchangeKind)
        xml = client.fetch_exchange(exchanges[1].id)
        assert b"DemandePieceComplementaire" in xml and t.act_unique_id.encode() in xml
        client.cancel(tid)
        client.cancel(tid)  # repeating is harmless
        assert client.status(tid).status == TransactionStatus.ANNULE


def test_cancel_before_acknowledgement_is_refused(prefecture: Simulator) -> None:
    t = make_transmission()
    with prefecture.client() as client:
        submission = client.submit(build_archive(t), idempotency_key=f"c-{t.number}")
        with prefecture.admin() as http:
            http.post(f"/admin/transactions/{submission.transaction_id}/reject", json={})
        with pytest.raises(PermanentError, match="Acquittement reçu"):
            client.cancel(submission.transaction_id)


def test_unknown_client_certificate_gets_nothing(prefecture: Simulator) -> None:
    pki = prefecture.pki
    assert pki is not None
    t = make_transmission()
    config = TdtConfig(prefecture.base_url, tls=ClientTls(pki.rogue_cert, pki.rogue_key, pki.ca))
    with (
        TdtClient(config, sleep=lambda _s: None) as client,
        pytest.raises(RetryableError) as caught,
    ):
        client.submit(build_archive(t), idempotency_key=f"rogue-{t.number}")
    # uvicorn hangs up without a TLS alert: the error cannot be told from a network cut
    assert caught.value.code == "tdt_disconnected" and "certificat" in caught.value.action
    assert _transactions(prefecture, t.act_unique_id) == []


def test_untrusted_server_certificate_is_permanent(prefecture: Simulator) -> None:
    pki = prefecture.pki
    assert pki is not None
    # trusting only another CA: the simulator's certificate cannot be verified
    config = TdtConfig(
        prefecture.base_url, tls=ClientTls(pki.client_cert, pki.client_key, pki.rogue_cert)
    )
    with TdtClient(config) as client, pytest.raises(PermanentError) as caught:
        client.status("1")
    assert caught.value.code == "tdt_tls_refused" and "certificat" in caught.value.action


def test_connection_refused_is_retryable(prefecture: Simulator) -> None:
    config = TdtConfig(f"https://127.0.0.1:{free_port()}", tls=prefecture.client_tls())
    with (
        TdtClient(config, sleep=lambda _s: None) as client,
        pytest.raises(RetryableError) as caught,
    ):
        client.status("1")
    assert caught.value.code == "tdt_unreachable"


def test_state_survives_a_restart(tmp_path, mtls_pki) -> None:  # type: ignore[no-untyped-def]
    simulator = run_simulator(tmp_path / "sim", mtls_pki)
    t = make_transmission()
    try:
        with simulator.client() as client:
            submission = client.submit(build_archive(t), idempotency_key=f"restart-{t.number}")
        simulator.stop()
        simulator.start()
        with simulator.client() as client:
            assert client.status(submission.transaction_id).acknowledged
            again = client.submit(build_archive(t), idempotency_key=f"restart-{t.number}")
        assert again.replayed and again.transaction_id == submission.transaction_id
    finally:
        simulator.stop()


def test_plain_http_embedded_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    simulator = run_simulator(tmp_path / "plain", None)
    try:
        with simulator.client() as client:
            t = make_transmission()
            submission = client.submit(build_archive(t), idempotency_key="plain")
            assert client.status(submission.transaction_id).acknowledged
    finally:
        simulator.stop()


def test_cli_refuses_incomplete_tls_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from devstack.cli_simulators import group

    cert = tmp_path / "c.pem"
    cert.write_text("x")
    result = CliRunner().invoke(
        group, ["prefecture", "--data-dir", str(tmp_path), "--tls-cert", str(cert)]
    )
    assert result.exit_code == 2 and "vont ensemble" in result.output
    result = CliRunner().invoke(
        group, ["prefecture", "--data-dir", str(tmp_path), "--host", "0.0.0.0"]
    )
    assert result.exit_code == 2 and "boucle locale" in result.output
