"""Bounded child processes for parsing untrusted files: address space, CPU and wall-clock limits.

A crafted PDF can inflate a 1 MB FlateDecode stream to gigabytes, nest objects until a parser
overflows its stack, or loop. None of that may touch the calling process (a web worker), so
every parse of an untrusted PDF runs in a child process with `RLIMIT_AS`, `RLIMIT_CPU` and a
wall-clock timeout, and the caller only receives a small picklable result or a French refusal.

Children are forked from a multiprocessing *forkserver* that has already imported pikepdf and
pyHanko (`_PRELOAD`): a fork costs a few milliseconds instead of the seconds an interpreter
start and those imports take. The same limits serve the external renderers (`pdftoppm` in
`web.previews`) through :func:`apply_limits` used as a ``preexec_fn``.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, process, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from signatures.errors import DocumentRefusedError

__all__ = [
    "DEFAULT_LIMITS",
    "UNSAFE",
    "ChildLimits",
    "apply_limits",
    "run_bounded",
    "start",
    "warm_up",
]

T = TypeVar("T")

UNSAFE = "Ce PDF ne peut pas être lu sans risque"
"""Start of every refusal caused by a limit: the user knows the file, not the server, is at fault."""


@dataclass(frozen=True)
class ChildLimits:
    """Resources one child may use before it is stopped."""

    memory_bytes: int = 768 * 1024 * 1024
    """Address-space limit (`RLIMIT_AS`) above what the child inherited at fork."""
    cpu_seconds: int = 10
    """CPU time (`RLIMIT_CPU`); the kernel kills the child past it."""
    wall_seconds: float = 20.0
    """Wall-clock time, counted by the parent, which kills the child past it (waiting for a
    free slot is not counted)."""
    output_bytes: int = 8 * 1024 * 1024
    """Largest file the child may write (`RLIMIT_FSIZE`)."""


DEFAULT_LIMITS = ChildLimits()

_PRELOAD = [
    "signatures.intake",
    "pikepdf",
    "pyhanko.pdf_utils.reader",
    "pyhanko.sign.fields",
    "pyhanko.sign.validation.pdf_embedded",
    "signatures.active_content",
    "signatures.pdfa",
]
"""Imported once by the forkserver, so that each child starts with pikepdf and pyHanko loaded:
`signatures.intake` imports them only where it uses them (a process that never parses a PDF
does not load them), so the modules its children use are named here
(`tests/signatures/test_sandbox_preload.py` checks the list covers them)."""
_CONCURRENT = threading.BoundedSemaphore(2)
"""Parses running at once per calling process: each child may use `memory_bytes`."""
_SLOT_WAIT_SECONDS = 120.0
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(_PRELOAD)


def _forget_parent_forkserver() -> None:  # pragma: no cover - runs in a forked child
    """A process forked from a client of the forkserver (a Celery pool child, a web worker)
    starts its own: the inherited one is not its child, and multiprocessing would fail on it
    (`waitpid`). Parse slots held by the parent's threads are not held here either."""
    global _CONCURRENT
    _CONCURRENT = threading.BoundedSemaphore(2)
    server: Any = forkserver._forkserver
    if server._forkserver_pid is None:
        return
    with contextlib.suppress(OSError):
        os.close(server._forkserver_alive_fd)
    server._forkserver_pid = server._forkserver_address = server._forkserver_alive_fd = None


os.register_at_fork(after_in_child=_forget_parent_forkserver)


class _Popen(popen_forkserver.Popen):
    """A forkserver child that does not run the caller's ``__main__`` again.

    multiprocessing re-imports the parent's main module in every child (spawn semantics); for
    the web server that is its console script, which would cost an import of the whole
    application per upload. The child only needs the preloaded `signatures` modules. Same
    steps as the standard library's ``_launch`` otherwise."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        # Plain bytes: in a Celery pool child the key is billiard's, which refuses pickling.
        prep_data["authkey"] = bytes(prep_data["authkey"])
        buf = io.BytesIO()
        multiprocessing.context.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            multiprocessing.context.set_spawning_popen(None)
        fds: list[int] = self._fds  # type: ignore[attr-defined]  # set by the base __init__
        self.sentinel, w = forkserver.connect_to_new_process(fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as in the standard library
        close_fds: Callable[..., None] = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(process.BaseProcess):
    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Its own configuration, not the caller's: in a Celery pool child the caller's holds
        # billiard's authentication key, which multiprocessing cannot pass on.
        key = process.AuthenticationString(os.urandom(32))  # type: ignore[attr-defined]
        self._config = {"authkey": key, "daemon": True}

    def start(self) -> None:
        """As the standard library's, without its refusal in daemonic processes: a Celery
        prefork pool child is one, and signing reads the PDF/A claim through this sandbox.
        The refusal is there to avoid orphans; this child ends by itself (CPU and wall
        limits, killed by the caller), and the forkserver exits with its parent."""
        self._check_closed()  # type: ignore[attr-defined]
        self._popen = self._Popen(self)
        self._sentinel = self._popen.sentinel
        del self._target, self._args, self._kwargs  # type: ignore[attr-defined]
        process._children.add(self)  # type: ignore[attr-defined]


def _address_space() -> int:
    """Current virtual size of this process, in bytes (0 when /proc is unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def apply_limits(limits: ChildLimits = DEFAULT_LIMITS, *, relative: bool = False) -> None:
    """Limit the current process (a child, after fork; or a ``preexec_fn`` before exec).

    With ``relative``, the address-space limit is added to what the process already maps (a
    forked Python child has its interpreter and libraries mapped; an exec'd program has not).
    """
    memory = limits.memory_bytes + (_address_space() if relative else 0)
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(
    conn: Connection, limits: ChildLimits, function: Callable[..., Any], args: tuple[Any, ...]
) -> None:  # pragma: no cover - runs in the child process
    """Run ``function(*args)`` under the limits and send ("ok", result) or ("refused", why)."""
    apply_limits(limits, relative=True)
    try:
        outcome: tuple[str, Any] = ("ok", function(*args))
    except DocumentRefusedError as exc:
        outcome = ("refused", str(exc))
    except MemoryError:
        outcome = ("refused", f"{UNSAFE} : son analyse demande trop de mémoire.")
    except RecursionError:
        outcome = ("refused", f"{UNSAFE} : sa structure est imbriquée trop profondément.")
    except Exception:  # any parser failure is the file's fault, never a crash of the caller
        outcome = ("refused", "Le document PDF est corrompu ou illisible.")
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(("refused", f"{UNSAFE} : son analyse demande trop de mémoire."))
    conn.close()


def _died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0 and -exitcode in (24, 9):  # SIGXCPU, SIGKILL
        return f"{UNSAFE} : son analyse demande trop de temps de calcul."
    return f"{UNSAFE} : son analyse a échoué (mémoire ou structure hors limites)."


def run_bounded(function: Callable[..., T], *args: Any, limits: ChildLimits = DEFAULT_LIMITS) -> T:
    """``function(*args)`` computed in a bounded child process.

    ``function`` must be a module-level function and its arguments and result picklable.
    Raises :class:`DocumentRefusedError` with a French message when the function refuses the
    input, fails in any way, or the child exceeds a limit.
    """
    if not _CONCURRENT.acquire(timeout=_SLOT_WAIT_SECONDS):
        raise DocumentRefusedError(
            "Le serveur analyse trop de documents en ce moment : réessayez dans une minute."
        )
    try:
        return _run(function, args, limits)
    finally:
        _CONCURRENT.release()


def _run(function: Callable[..., T], args: tuple[Any, ...], limits: ChildLimits) -> T:
    receiver, sender = _context.Pipe(duplex=False)
    process = _Process(target=_child, args=(sender, limits, function, args))
    try:
        process.start()
        sender.close()
        ready = wait([receiver, process.sentinel], timeout=limits.wall_seconds)
        outcome: tuple[str, Any] | None = None
        if receiver in ready:
            try:
                outcome = receiver.recv()
            except (EOFError, OSError):
                outcome = None
        elif not ready:
            raise DocumentRefusedError(f"{UNSAFE} : son analyse a pris trop de temps.")
        if outcome is None:
            process.join(timeout=1.0)
            raise DocumentRefusedError(_died(process.exitcode))
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        if process.pid is not None:
            process.join(timeout=5.0)
            process.close()
    if outcome[0] != "ok":
        raise DocumentRefusedError(str(outcome[1]))
    result: T = outcome[1]
    return result


def _nothing() -> None:
    return None


def start() -> None:
    """Start the forkserver without waiting for it (it imports pikepdf and pyHanko, seconds
    without bytecode): an entry point calls it so that the first upload does not pay that."""
    forkserver.ensure_running()


def warm_up() -> None:
    """Start the forkserver and wait until a child has run (tests, benchmarks)."""
    run_bounded(_nothing)
