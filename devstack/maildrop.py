"""The mail drop of the embedded default: an SMTP server on 127.0.0.1 (aiosmtpd, in a thread of
`serve`) that keeps every message as an .eml file to read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from devstack.process import free_port

log = logging.getLogger(__name__)


class MailDrop:
    """aiosmtpd handler: each message becomes a file of `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data = bytes(envelope.content)
        message = BytesParser(policy=policy.default).parsebytes(data)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{abs(hash(data)) % 10**8:08d}.eml"
        (self.directory / name).write_bytes(data)
        log.info("courriel déposé dans %s : %s", name, message.get("Subject", ""))
        return "250 OK"


def start_mail_drop(directory: Path) -> tuple[int, Callable[[], None]]:
    """Listen on a free 127.0.0.1 port; (that port, the function that stops the server)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    controller = Controller(MailDrop(directory), hostname="127.0.0.1", port=port)
    controller.start()
    return port, controller.stop
