"""The mail drop of the embedded default: an SMTP server on 127.0.0.1 (aiosmtpd, in a thread of
`serve`) that keeps every message as an .eml file to read.

It suppresses duplicates as a careful receiver does: SMTP cannot tell a sender that a message
arrived when the connection (or the sender) dies between the server's « 250 » and the sender's
own record, so the sender may send it again, with the same Message-ID (connectors.send_mail
keeps it from its first try). A second copy for the same recipients is accepted and dropped."""

from __future__ import annotations

import hashlib
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


def delivery_key(message_id: str, recipients: list[str]) -> str:
    """What makes a copy a duplicate: its Message-ID and its recipients (a recipient deferred
    by the server and sent again later, with the same Message-ID, is a new delivery)."""
    raw = "\n".join([message_id.strip(), *sorted(r.lower() for r in recipients)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class MailDrop:
    """aiosmtpd handler: each message becomes a file of `directory`, once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data = bytes(envelope.content)
        message = BytesParser(policy=policy.default).parsebytes(data)
        message_id = str(message.get("Message-ID", "") or "")
        if message_id:
            key = delivery_key(message_id, list(envelope.rcpt_tos))
            if any(self.directory.glob(f"*-{key}.eml")):
                log.info("courriel en double ignoré : %s", message_id)
                return "250 OK (déjà reçu)"
        else:
            key = hashlib.sha256(data).hexdigest()[:16]
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{key}.eml"
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
