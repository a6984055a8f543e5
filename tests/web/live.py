"""A real uvicorn server on 127.0.0.1 in a thread, and a raw HTTP client that streams a body
and stops as soon as the server answers (for limits that must act before the body is read)."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devstack.process import free_port


@dataclass
class ReadCounter:
    """Outermost ASGI layer: counts the body bytes uvicorn handed to the application."""

    app: ASGIApp
    body_bytes: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.body_bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counting, send)


@dataclass
class LiveServer:
    counter: ReadCounter
    port: int
    server: uvicorn.Server = field(repr=False)


@contextmanager
def live_server(app: ASGIApp) -> Iterator[LiveServer]:
    counter = ReadCounter(app)
    port = free_port()
    config = uvicorn.Config(
        counter, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(counter, port, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class Sent:
    """What a streaming client managed to send before the server answered."""

    status: int
    body_sent: int
    seconds: float
    response: bytes


def stream_body(
    port: int,
    path: str,
    *,
    total: int,
    chunked: bool,
    headers: dict[str, str] | None = None,
    chunk: int = 64 * 1024,
    timeout: float = 60.0,
) -> Sent:
    """POST `total` bytes (declared with Content-Length, or chunked) and stop sending as soon as
    the server answers or closes; returns how much of the body went out."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: multipart/form-data; boundary=limite",
    ]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    # One endless file part: what a multipart parser would spool to disk.
    part = (
        b'--limite\r\nContent-Disposition: form-data; name="fichier"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    )
    payload = part + b"x" * (chunk - len(part))
    sent = 0
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(f"{chunk:x}\r\n".encode() + payload + b"\r\n" if chunked else payload)
            payload = b"x" * chunk
            sent += chunk
            if time.monotonic() - started > timeout:
                raise AssertionError(f"still sending after {timeout} s ({sent} bytes)")
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = b""
    try:
        while b"\r\n\r\n" not in response:
            data = sock.recv(65536)
            if not data:
                break
            response += data
        sock.settimeout(2)
        while True:  # the rest of the answer, until the server closes
            data = sock.recv(65536)
            if not data:
                break
            response += data
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0
    return Sent(status, sent, time.monotonic() - started, response)
