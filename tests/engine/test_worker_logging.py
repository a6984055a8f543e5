"""Worker log lines carry the job and case ids; the entry points write JSON lines by default."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from engine.bootstrap import Platform
from engine.domain.model import JobState
from engine.observability import JsonFormatter
from engine.operations.runner import run_job
from engine.worker.app import job_log_context
from tests.engine.support import ELU, SIREN_A, complete, get, make_tenants, start

ROOT = Path(__file__).resolve().parents[2]


def _json_lines(logger: logging.Logger, stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_lines_logged_while_a_job_runs_carry_its_job_and_case_ids(platform: Platform) -> None:
    make_tenants(platform)
    case = start(platform, "arrete")
    complete(platform, case, "rediger", {"objet": "Arrêté", "nature": "3", "texte": "Texte 1234."})
    complete(platform, case, "signer", {"decision": "signer"}, actor=ELU)
    with platform.uow() as uow:
        (job,) = uow.jobs.for_case(SIREN_A, case.id)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.worker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with job_log_context(platform, str(job.id)):
            logger.info("dans le traitement")
            outcome = run_job(
                job.id,
                uow_factory=platform.uow,
                operations=platform.operations,
                clock=platform.clock,
            )
        logger.info("après le traitement")
    finally:
        logger.removeHandler(handler)
    inside, after = _json_lines(logger, stream)
    assert inside["job_id"] == str(job.id) and inside["case_id"] == str(case.id)
    assert "job_id" not in after and "case_id" not in after
    assert outcome.state == JobState.DONE
    assert get(platform, case).data["numero_acte"].endswith("_ARR0001")


def test_an_unknown_job_still_gets_its_id_and_the_context_is_reset(platform: Platform) -> None:
    from engine.observability import case_id, job_id

    with job_log_context(platform, "00000000-0000-4000-8000-000000000000"):
        assert job_id.get() == "00000000-0000-4000-8000-000000000000"
        assert case_id.get() is None
    assert job_id.get() is None


def _log_from_entry_point_config(log_format: str) -> str:
    """What a process configured like `dematflow worker` writes for one warning and one spiff line."""
    script = (
        "import logging, logging.config\n"
        "from engine.cli.run import log_config\n"
        f"logging.config.dictConfig(log_config({log_format!r}))\n"
        "logging.getLogger('engine.test').warning('acte %s', 'numéroté')\n"
        "logging.getLogger('spiff.task').info('State changed to READY')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_entry_point_logging_writes_json_lines() -> None:
    (line,) = _log_from_entry_point_config("json").splitlines()
    entry = json.loads(line)
    assert entry["message"] == "acte numéroté" and entry["logger"] == "engine.test"
    assert entry["level"] == "WARNING"


def test_entry_point_logging_can_write_text() -> None:
    (line,) = _log_from_entry_point_config("text").splitlines()
    assert line.endswith("WARNING engine.test acte numéroté")


@pytest.mark.parametrize("command", ["web", "worker", "beat"])
def test_each_process_command_offers_the_log_format(command: str) -> None:
    from click.testing import CliRunner

    from engine.cli.main import cli

    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--log-format [json|text]" in result.output
