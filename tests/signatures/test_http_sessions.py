"""HTTP sessions of the TSA client and the OCSP/CRL fetchers: one TLS context per process.

pyHanko and pyhanko-certvalidator made a TLS context (certifi's bundle loaded) for every TSA
request and every validation context: three per B-LTA act. The sessions still live per
request (they belong to one event loop), on one shared context that still verifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives.serialization import Encoding

from devstack.pki import DevPki
from signatures.errors import TimestampError
from signatures.pades import PadesLevel, SignRequest, VisibleField, sign_pdf
from signatures.tsa import shared_tls_context, timestamper_for
from tests.signatures.pdfs import make_pdf

pytestmark = pytest.mark.integration


def _request(pki: DevPki, **changes: object) -> SignRequest:
    marie = pki.signer("Marie Dupont")
    fields: dict[str, object] = {
        "key": marie.key,
        "signer_display_name": marie.display_name,
        "level": PadesLevel.B_LTA,
        "visible": VisibleField(page=1, box=(320, 40, 565, 120)),
        "timestamp_url": pki.tsa_url,
        "trust_roots": pki.trust_roots,
        "convert_to_pdfa": False,
        **changes,
    }
    return SignRequest(**fields)  # type: ignore[arg-type]


def test_the_shared_context_verifies_certificates_and_host_names() -> None:
    context = shared_tls_context()
    assert context is shared_tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


def test_a_signed_act_creates_no_tls_context(
    dev_pki: DevPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_pdf(make_pdf(), _request(dev_pki))  # the process's shared context exists now
    made: list[object] = []
    original: Callable[..., ssl.SSLContext] = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    for _ in range(2):  # each in its own event loop: sessions are per loop
        sign_pdf(make_pdf(), _request(dev_pki))
    assert made == []


def test_the_tsa_client_works_across_event_loops(dev_pki: DevPki) -> None:
    client = timestamper_for(dev_pki.tsa_url)
    for text in (b"un", b"deux"):
        digest = hashlib.sha256(text).digest()
        token = asyncio.run(client.async_timestamp(digest, "sha256"))
        tst_info = token["content"]["encap_content_info"]["content"].parsed
        assert tst_info["message_imprint"]["hashed_message"].native == digest


class _Silent(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def untrusted_https_url(dev_pki: DevPki, tmp_path: Path) -> Iterator[str]:
    """An HTTPS server whose certificate no public authority issued."""
    identity = dev_pki.signer("Jean Martin")
    cert = crypto_x509.load_der_x509_certificate(identity.cert_path.read_bytes())
    pem = tmp_path / "server.pem"
    pem.write_bytes(cert.public_bytes(Encoding.PEM))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pem, identity.key_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_untrusted_https_tsa_is_refused(dev_pki: DevPki, untrusted_https_url: str) -> None:
    with pytest.raises(TimestampError):
        sign_pdf(make_pdf(), _request(dev_pki, timestamp_url=untrusted_https_url))
