"""Connectors test fixtures: a small PKI for mutual TLS and the prefecture simulator process."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from connectors.actes.client import ClientTls, TdtClient, TdtConfig
from connectors.actes.model import ActesFile, ActesTransmission, Nature
from connectors.retry import RetryPolicy

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@dataclass(frozen=True)
class Pki:
    """PEM files of a CA, a server certificate for 127.0.0.1 and client certificates."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_cert: Path
    rogue_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(
    directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _issue(
    subject: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(signing_key, hashes.SHA256()), key


@pytest.fixture(scope="session")
def mtls_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("mtls")
    ca = _issue("Test AC dematflow", None, ca=True)
    server = _issue("127.0.0.1", ca, server=True)
    client = _issue("Commune de Test", ca)
    rogue_ca = _issue("AC inconnue", None, ca=True)
    rogue = _issue("Intrus", rogue_ca)
    ca_path, _ = _write(directory, "ca", *ca)
    server_cert, server_key = _write(directory, "server", *server)
    client_cert, client_key = _write(directory, "client", *client)
    rogue_cert, rogue_key = _write(directory, "rogue", *rogue)
    return Pki(ca_path, server_cert, server_key, client_cert, client_key, rogue_cert, rogue_key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Simulator:
    """A prefecture simulator running in its own process, through the real CLI."""

    base_url: str
    data_dir: Path
    pki: Pki | None
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def client_tls(self) -> ClientTls | None:
        if self.pki is None:
            return None
        return ClientTls(self.pki.client_cert, self.pki.client_key, self.pki.ca)

    def client(self, *, timeout: float = 2.0, attempts: int = 3) -> TdtClient:
        retry = RetryPolicy(base_seconds=0.05, max_seconds=0.2, max_attempts=attempts, jitter=0)
        return TdtClient(
            TdtConfig(self.base_url, tls=self.client_tls(), timeout_seconds=timeout, retry=retry)
        )

    def admin(self) -> httpx.Client:
        verify: object = True
        if self.pki is not None:
            import ssl

            ctx = ssl.create_default_context(cafile=str(self.pki.ca))
            ctx.load_cert_chain(str(self.pki.client_cert), str(self.pki.client_key))
            verify = ctx
        return httpx.Client(base_url=self.base_url, verify=verify, timeout=10)  # type: ignore[arg-type]

    def start(self) -> None:
        args = [
            sys.executable,
            "-c",
            "from engine.cli.simulators import group; group()",
            "prefecture",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if self.pki is not None:
            args += [
                "--tls-cert",
                str(self.pki.server_cert),
                "--tls-key",
                str(self.pki.server_key),
                "--client-ca",
                str(self.pki.ca),
            ]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with (self.data_dir / "simulator.log").open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        with self.admin() as http:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    if http.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError((self.data_dir / "simulator.log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def run_simulator(data_dir: Path, pki: Pki | None) -> Simulator:
    port = free_port()
    scheme = "https" if pki else "http"
    simulator = Simulator(f"{scheme}://127.0.0.1:{port}", data_dir, pki, port=port)
    simulator.start()
    return simulator


@pytest.fixture(scope="session")
def prefecture(tmp_path_factory: pytest.TempPathFactory, mtls_pki: Pki) -> Iterator[Simulator]:
    """The simulator over HTTPS with mutual TLS, shared by the session."""
    simulator = run_simulator(tmp_path_factory.mktemp("prefecture"), mtls_pki)
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def _no_armed_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "prefecture" in request.fixturenames:
        with request.getfixturevalue("prefecture").admin() as http:
            http.delete("/admin/faults")


def act_number() -> str:
    return "T" + uuid.uuid4().hex[:12].upper()


def make_transmission(**changes: object) -> ActesTransmission:
    values: dict[str, object] = {
        "nature": Nature.DELIBERATION,
        "matiere": "5.2",
        "number": act_number(),
        "decision_date": dt.date(2025, 3, 14),
        "subject": "Approbation du compte administratif 2024 — budget principal",
        "act": ActesFile("deliberation.pdf", PDF),
        "siren": "214400000",
        "department": "034",
        "annexes": (ActesFile("annexe.pdf", PDF), ActesFile("plan.png", PNG)),
        "referent_name": "Jeanne Martin",
        "referent_email": "secretariat@mairie.example.fr",
    }
    values.update(changes)
    return ActesTransmission(**values)  # type: ignore[arg-type]
