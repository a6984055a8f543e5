"""Structured JSON logs with request/case/job ids, and Prometheus metrics read from the database.

Metrics are computed at scrape time from the database, so every API instance reports the same
platform-wide figures and worker processes need no metrics server of their own. They carry
procedure, state and operation labels only: no tenant or personal data.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

if TYPE_CHECKING:
    from engine.bootstrap import Platform

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
case_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("case_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

_CONTEXT = {"request_id": request_id, "case_id": case_id, "job_id": job_id}
_RECORD_FIELDS = ("method", "path", "status", "duration_ms")
"""Structured fields that loggers may attach (`extra=`), such as the web access log's."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ids from the context, never the request or form data."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in _CONTEXT.items():
            value = var.get()
            if value:
                entry[name] = value
        for name in _RECORD_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
WINDOW = timedelta(hours=1)


class PlatformCollector(Collector):
    """Cases by state, jobs by state, timers due, and job durations over the last hour."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Any]:
        now = self.platform.clock()
        with self.platform.uow() as uow:
            cases = uow.cases.count_by_status()
            jobs = uow.jobs.count_by_state()
            waiting = uow.jobs.waiting_by_operation()
            timers_due = uow.cases.count_due_timers(now)
            durations = uow.jobs.durations(now - WINDOW)
            findings = uow.archives.recent_findings_by_kind(now - timedelta(days=1))
            packages = uow.archives.packages_by_state()
        gauge = GaugeMetricFamily(
            "dematflow_cases", "Dossiers par procédure et état", labels=["procedure", "status"]
        )
        for (procedure, status), count in sorted(cases.items()):
            gauge.add_metric([procedure, status], count)
        yield gauge
        job_gauge = GaugeMetricFamily("dematflow_jobs", "Traitements par état", labels=["state"])
        for state, count in sorted(jobs.items()):
            job_gauge.add_metric([state], count)
        yield job_gauge
        yield self._queue_depth(waiting)
        yield GaugeMetricFamily(
            "dematflow_timers_due", "Minuteurs échus non encore traités", value=timers_due
        )
        found = GaugeMetricFamily(
            "dematflow_archive_audit_findings",
            "Constats des audits d'intégrité des dernières 24 heures, par nature",
            labels=["kind"],
        )
        for kind, count in sorted(findings.items()):
            found.add_metric([kind], count)
        yield found
        stored = GaugeMetricFamily(
            "dematflow_archive_packages", "Paquets d'archives par état", labels=["state"]
        )
        for state, count in sorted(packages.items()):
            stored.add_metric([state], count)
        yield stored
        yield from _duration_families(durations)

    def _queue_depth(self, waiting: dict[str, int]) -> GaugeMetricFamily:
        """Jobs waiting per worker queue: what a horizontal autoscaler of the workers of one
        queue follows (docker/k8s/, docs/deployment.md)."""
        from engine.operations.base import OperationFailed

        depth: dict[str, int] = dict.fromkeys(self.platform.operations.queues(), 0)
        for operation, count in waiting.items():
            try:
                queue = self.platform.queue_of(operation)
            except OperationFailed:
                continue  # an operation of an older release, no longer registered
            depth[queue] = depth.get(queue, 0) + count
        gauge = GaugeMetricFamily(
            "dematflow_queue_depth",
            "Traitements en attente ou en cours, par file des travailleurs",
            labels=["queue"],
        )
        for queue, count in sorted(depth.items()):
            gauge.add_metric([queue], count)
        return gauge


def _duration_families(durations: list[tuple[str, str, float]]) -> Iterator[Any]:
    histogram = HistogramMetricFamily(
        "dematflow_job_duration_seconds",
        "Durée des traitements terminés dans la dernière heure (signature, scellement, connecteurs…)",
        labels=["operation"],
    )
    finished = CounterMetricFamily(
        "dematflow_jobs_finished",
        "Traitements terminés dans la dernière heure",
        labels=["operation", "state"],
    )
    by_operation: dict[str, list[float]] = {}
    by_outcome: dict[tuple[str, str], int] = {}
    for operation, state, seconds in durations:
        by_operation.setdefault(operation, []).append(seconds)
        by_outcome[(operation, state)] = by_outcome.get((operation, state), 0) + 1
    for operation, values in sorted(by_operation.items()):
        buckets = [(str(bound), sum(1 for v in values if v <= bound)) for bound in DURATION_BUCKETS]
        buckets.append(("+Inf", len(values)))
        histogram.add_metric([operation], buckets, sum_value=sum(values))
    for (operation, state), count in sorted(by_outcome.items()):
        finished.add_metric([operation, state], count)
    yield histogram
    yield finished


def metrics_registry(platform: Platform) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(platform))
    return registry
