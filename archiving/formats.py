"""Format identification of the files of a package with FIDO (Open Preservation Foundation),
which matches PRONOM byte signatures: the format is read from the bytes, never from the name.

The files are untrusted (uploads, documents received from outside), so FIDO runs in a child
process with an address-space limit, a CPU limit and a wall-clock timeout; extension matching
is switched off (``-noextension``). A file FIDO cannot identify, or a run stopped by a limit,
gives no PRONOM identifier and says why: an identifier is never guessed.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORMAT_TOOL",
    "FormatLimits",
    "IdentifiedFormat",
    "identify_formats",
    "pronom_version",
]

_SEP = "\x1f"
_MATCH = _SEP.join(
    [
        "OK",
        "%(info.filename)s",
        "%(info.puid)s",
        "%(info.formatname)s",
        "%(info.version)s",
        "%(info.mimetype)s",
        "%(info.matchtype)s",
    ]
)
_NO_MATCH = _SEP.join(["KO", "%(info.filename)s"])


@dataclass(frozen=True)
class FormatLimits:
    """Resources one identification run (all the files of a package) may use."""

    memory_bytes: int = 1024 * 1024 * 1024
    cpu_seconds: int = 60
    wall_seconds: float = 120.0


@dataclass(frozen=True)
class IdentifiedFormat:
    """What FIDO found for one file (``puid`` None: not identified, ``reason`` says why)."""

    puid: str | None
    """PRONOM unique identifier (``fmt/477`` for PDF/A-2b...)."""
    name: str
    """PRONOM format name with its version (``Acrobat PDF/A - Portable Document Format 2b``)."""
    mime_type: str | None
    """MIME type PRONOM gives for the format (None when PRONOM gives none)."""
    reason: str = ""
    """Why there is no identifier (empty when identified)."""


@functools.cache
def pronom_version() -> str:
    """``PRONOM v109 (FIDO 1.6.1)``: the signature release the identifications come from."""
    from fido import __version__ as fido_version  # type: ignore[import-untyped]
    from fido.versions import get_local_versions  # type: ignore[import-untyped]

    return f"PRONOM v{get_local_versions().pronom_version} (FIDO {fido_version})"


FORMAT_TOOL = "FIDO"


_CHILD = """
import resource, sys
memory, cpu = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
from fido.fido import main
main(sys.argv[3:])
"""
"""The child sets its own limits before FIDO is even imported (no ``preexec_fn``, which is
unsafe in a threaded worker)."""


def _unidentified(paths: Sequence[Path], reason: str) -> dict[Path, IdentifiedFormat]:
    return {path: IdentifiedFormat(None, "Format non identifié", None, reason) for path in paths}


def identify_formats(
    paths: Sequence[Path], limits: FormatLimits | None = None
) -> dict[Path, IdentifiedFormat]:
    """The PRONOM format of each file, read from its bytes by FIDO in a bounded child process.

    Every path gets an answer: a file FIDO does not recognise, or every file of a run stopped
    by a limit, is returned without identifier and with the reason."""
    if not paths:
        return {}
    limits = limits or FormatLimits()
    resolved = [path.resolve() for path in paths]
    command = [
        sys.executable,
        "-I",
        "-c",
        _CHILD,
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
        "-q",
        "-noextension",
        "-matchprintf",
        _MATCH + "\n",
        "-nomatchprintf",
        _NO_MATCH + "\n",
        *(str(path) for path in resolved),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=limits.wall_seconds,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return _unidentified(paths, "identification interrompue (délai)")
    found: dict[Path, list[IdentifiedFormat]] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(_SEP)
        if fields[0] == "OK" and len(fields) == 7:
            _ok, name, puid, format_name, version, mime, _kind = fields
            label = format_name if version in format_name else f"{format_name} {version}"
            found.setdefault(Path(name), []).append(IdentifiedFormat(puid, label, mime or None))
    result: dict[Path, IdentifiedFormat] = {}
    for original, path in zip(paths, resolved, strict=True):
        matches = found.get(path, [])
        if len(matches) == 1:
            result[original] = matches[0]
        elif matches:
            # Several signatures match: keep them all in the name, the identifier of none.
            names = " ou ".join(f"{m.name} ({m.puid})" for m in matches)
            result[original] = IdentifiedFormat(None, names, None, "plusieurs formats possibles")
        elif done.returncode != 0:
            result[original] = IdentifiedFormat(
                None, "Format non identifié", None, "identification interrompue (limite)"
            )
        else:
            result[original] = IdentifiedFormat(
                None, "Format non identifié", None, "aucune signature PRONOM reconnue"
            )
    return result
