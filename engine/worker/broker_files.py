"""The embedded broker: kombu's filesystem transport with message files that are never read
half-written.

kombu 5.7.0 creates a message file under its final name and then writes it, while a consumer
lists the folder, takes the file and decodes it: a consumer polling in between got an empty file,
and the JSONDecodeError killed the worker (celery/kombu#1551, still open). Here a message is
written under a temporary name the consumers do not list and renamed into place (`os.replace`,
atomic on one filesystem); a file that does not decode yet (written by another writer) is left
for the next poll, and set aside if it still does not after `UNREADABLE_AFTER_S`."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils import json as kombu_json

log = logging.getLogger(__name__)

_dumps: Callable[[Any], str] = kombu_json.dumps  # kombu's JSON, as its own channel writes it
_loads: Callable[[str], Any] = kombu_json.loads

TRANSPORT = f"{__name__}:Transport"
"""The `broker_transport` setting that selects this transport for a `filesystem://` URL."""
PARTIAL_SUFFIX = ".part"
"""Suffix of a message file being written: `<id>.<queue>.msg.part` is no queue's message."""
_ORDER_DIGITS = 16
_clock: Callable[[], float] = time.monotonic
UNREADABLE_AFTER_S = 60.0
"""A message file that still does not decode after this long is set aside, not retried."""


class Channel(filesystem.Channel):
    """Filesystem channel whose writes are atomic and whose reads wait for complete files."""

    def _put(self, queue: Any, *args: Any, **kwargs: Any) -> None:
        # kombu always passes (queue, payload) positionally; its two base classes name the
        # payload differently (`payload`, `message`), hence *args for a compatible override.
        (payload,) = args
        # Zero-padded so that the name order the consumers sort by is the order of writing:
        # unpadded, "999_…" sorted after "1000_…" and a later message could overtake.
        name = f"{round(_clock() * 1000):0{_ORDER_DIGITS}d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as out:
                out.write(_dumps(payload).encode())
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] == wanted:
                message = self._take(name)
                if message is not None:
                    return message
        raise Empty()

    def _take(self, name: str) -> Any:
        """The decoded message of file `name`, now removed from the queue; None when it is gone
        (another consumer took it) or not complete yet."""
        path = os.path.join(self.data_folder_in, name)
        try:
            with open(path, "rb") as message_file:
                data = message_file.read()
            message = _loads(data.decode())
        except FileNotFoundError:
            return None
        except ValueError:
            self._set_aside_if_old(path, name)
            return None
        except OSError as exc:
            raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
        claimed = os.path.join(self.processed_folder, name)
        try:
            os.replace(path, claimed)  # only one consumer wins the file
        except FileNotFoundError:
            return None
        if not self.store_processed:
            os.remove(claimed)
        return message

    def _set_aside_if_old(self, path: str, name: str) -> None:
        try:
            age = time.time() - os.stat(path).st_mtime
            if age > UNREADABLE_AFTER_S:
                os.replace(path, os.path.join(self.processed_folder, name + ".illisible"))
                log.error("message illisible du courtier mis de côté : %s", name)
        except FileNotFoundError:
            pass


class Transport(filesystem.Transport):
    Channel = Channel
