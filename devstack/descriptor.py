"""The writing side of `plateforme.json`: `dematflow serve` says where its embedded services
listen; the product's CLI reads it (`engine.serve_descriptor`)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from engine.serve_descriptor import (
    ServeDescriptor,
    StaleDescriptor,
    descriptor_path,
    read_descriptor,
)


def write_descriptor(data_dir: Path, descriptor: ServeDescriptor) -> Path:
    """Write atomically with mode 0600 (it names the secret file and the local ports)."""
    path = descriptor_path(data_dir)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(asdict(descriptor), out, ensure_ascii=False, indent=2)
    temporary.replace(path)
    return path


def remove_descriptor(data_dir: Path, pid: int) -> None:
    """Remove the descriptor if it is the one this process wrote."""
    path = descriptor_path(data_dir)
    try:
        current = read_descriptor(data_dir)
    except StaleDescriptor:
        current = None
    if current is None or current.pid == pid:
        path.unlink(missing_ok=True)
