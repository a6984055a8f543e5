"""A local development PKI (root, intermediate, signers, seal, TSA, OCSP, CRLs) built with certomancer.

Used by the embedded default when no production PKI is configured, and by the tests. What
signing needs is also written as plain data (`engine.services.signing_setup`'s `signing.json`), which is all
the product reads of it. Keys are generated here (certomancer
does not generate keys), certificates and PKCS#12 files are written by certomancer, and
``certomancer animate`` serves the TSA, OCSP responder and CRLs on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.process import ChildProcess, ProcessNotReady, port_open, start_process
from engine.services.signing_setup import LocalPki, write_local_pki
from signatures.errors import SignatureError
from signatures.keys import Pkcs12Key

__all__ = [
    "SHORT_LIVED_VALIDITY",
    "DevIdentity",
    "DevPki",
    "DevPkiError",
    "DevPkiServer",
    "build_dev_pki",
    "load_dev_pki",
    "publish_for_signing",
    "serve_dev_pki",
]

_ARCH = "dematflow-dev"
_MANIFEST = "devpki.json"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
_SHORT_LIVED_NAME = "Signataire Éphémère"
SEAL_NAME = "Cachet serveur de la plateforme dematflow (développement)"
"""The seal is the platform's: it seals every tenant's documents and packages (the demo
commune's and the training space's alike), so it bears no collectivité's name."""
SEAL_ORGANISATION = "Plateforme dematflow (développement)"

SHORT_LIVED_VALIDITY = timedelta(hours=2)
"""How long after the build the short-lived signer's certificate stays valid."""


class DevPkiError(SignatureError):
    """The development PKI could not be built, found or served."""


@dataclass(frozen=True)
class DevIdentity:
    """One certificate holder of the development PKI with its PKCS#12 key store."""

    label: str
    """certomancer label of the certificate (and of its key)."""
    display_name: str
    """Common name written in the certificate."""
    pkcs12_path: Path
    """PKCS#12 file holding the key, the certificate and its chain."""
    passphrase: bytes
    """Passphrase of the PKCS#12 file."""
    cert_path: Path
    """The certificate alone, DER."""
    key_path: Path
    """The private key, unencrypted PKCS#8 PEM (for importing into a PKCS#11 token)."""

    @property
    def key(self) -> Pkcs12Key:
        """The key source to sign with this identity."""
        return Pkcs12Key(path=self.pkcs12_path, passphrase=self.passphrase)

    def __repr__(self) -> str:
        return f"DevIdentity(label={self.label!r}, display_name={self.display_name!r})"


@dataclass(frozen=True)
class DevPki:
    """A built development PKI: where its files are and which URLs its services answer on."""

    directory: Path
    """Directory holding the keys, the certomancer config, certificates and PKCS#12 files."""
    config_path: Path
    """certomancer YAML configuration."""
    port: int
    """127.0.0.1 port baked into the certificates' CRL/OCSP URLs; serve on this port."""
    root_cert_path: Path
    """Trust anchor, DER."""
    intermediate_cert_path: Path
    """Intermediate CA issuing the signer and seal certificates, DER."""
    tsa_cert_path: Path
    """Time-stamping authority certificate, DER."""
    signers: tuple[DevIdentity, ...]
    """Demo signatories, in the order their names were given."""
    seal: DevIdentity
    """The organisation seal (cachet serveur)."""
    revoked_signer: DevIdentity
    """A signer whose certificate was revoked an hour before the PKI was built (for tests)."""
    expired_signer: DevIdentity
    """A signer whose certificate expired before the PKI was built (for tests)."""
    short_lived_signer: DevIdentity
    """A signer whose certificate expires two hours after the PKI was built (archive tests)."""
    tsa_url: str
    """RFC 3161 time-stamping endpoint."""
    ocsp_url: str
    """OCSP responder for certificates issued by the intermediate CA (POST only)."""
    crl_urls: tuple[str, ...]
    """CRLs of the root and the intermediate CA."""

    @property
    def trust_roots(self) -> tuple[bytes, ...]:
        """DER trust anchors of this PKI."""
        return (self.root_cert_path.read_bytes(),)

    def signer(self, display_name: str) -> DevIdentity:
        """The demo signer with this display name."""
        for identity in self.signers:
            if identity.display_name == display_name:
                return identity
        raise DevPkiError(f"Aucun signataire de démonstration nommé « {display_name} ».")


def _label(name: str, taken: set[str]) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "signer"
    label, n = f"signer-{base}", 2
    while label in taken:
        label, n = f"signer-{base}-{n}", n + 1
    taken.add(label)
    return label


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"valid-from": start.strftime(_TIME_FORMAT), "valid-to": end.strftime(_TIME_FORMAT)}


def _key_usage(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _crl_point(repo: str) -> dict[str, Any]:
    return {
        "id": "crl_distribution_points",
        "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": [repo]}},
    }


_OCSP_AIA = {
    "id": "authority_information_access",
    "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["interm"]}},
}


def _leaf(window: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "issuer": "interm",
        "validity": window,
        "extensions": [
            _key_usage("digital_signature", "non_repudiation"),
            _crl_point("interm"),
            _OCSP_AIA,
        ],
        **extra,
    }


def _config(
    *, port: int, organisation: str, people: dict[str, str], now: datetime
) -> dict[str, Any]:
    ca_window = _window(now - timedelta(days=1), now + timedelta(days=365 * 20))
    leaf_window = _window(now - timedelta(days=1), now + timedelta(days=365 * 3))
    entities = {
        "root": {"common-name": "Racine dematflow (développement)"},
        "interm": {"common-name": "AC intermédiaire dematflow (développement)"},
        "tsa": {"common-name": "Horodatage dematflow (développement)"},
        "ocsp": {"common-name": "Répondeur OCSP dematflow (développement)"},
        "seal": {"common-name": SEAL_NAME, "organization-name": SEAL_ORGANISATION},
        **{label: {"common-name": name} for label, name in people.items()},
    }
    certs: dict[str, Any] = {
        "root": {
            "subject": "root",
            "issuer": "root",
            "validity": ca_window,
            "extensions": [
                {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                _key_usage("digital_signature", "key_cert_sign", "crl_sign"),
            ],
        },
        "interm": {
            "issuer": "root",
            "validity": ca_window,
            "extensions": [
                {
                    "id": "basic_constraints",
                    "critical": True,
                    "value": {"ca": True, "path-len-constraint": 0},
                },
                _key_usage("digital_signature", "key_cert_sign", "crl_sign"),
                _crl_point("root"),
            ],
        },
        "ocsp": {
            "issuer": "interm",
            "validity": ca_window,
            "extensions": [
                _key_usage("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                {"id": "ocsp_no_check"},
            ],
        },
        "tsa": {
            "issuer": "root",
            "validity": ca_window,
            "extensions": [
                _key_usage("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                _crl_point("root"),
            ],
        },
        "seal": _leaf(leaf_window),
        **{label: _leaf(leaf_window) for label in people if label.startswith("signer-")},
        "revoked": _leaf(
            leaf_window,
            revocation={
                "revoked-since": (now - timedelta(hours=1)).strftime(_TIME_FORMAT),
                "reason": "key_compromise",
            },
        ),
        "expired": _leaf(_window(now - timedelta(days=730), now - timedelta(days=365))),
        "short-lived": _leaf(_window(now - timedelta(days=1), now + SHORT_LIVED_VALIDITY)),
    }
    services = {
        "ocsp": {
            "interm": {"for-issuer": "interm", "responder-cert": "ocsp", "signing-key": "ocsp"}
        },
        "crl-repo": {
            "root": {
                "for-issuer": "root",
                "signing-key": "root",
                "simulated-update-schedule": "P90D",
            },
            "interm": {
                "for-issuer": "interm",
                "signing-key": "interm",
                "simulated-update-schedule": "P7D",
            },
        },
        "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
    }
    return {
        "external-url-prefix": f"http://127.0.0.1:{port}",
        "keysets": {
            _ARCH: {
                "path-prefix": "keys",
                "keys": {label: {"path": f"{label}.key.pem"} for label in entities},
            }
        },
        "pki-architectures": {
            _ARCH: {
                "keyset": _ARCH,
                "entity-defaults": {"country-name": "FR", "organization-name": organisation},
                "entities": entities,
                "certs": certs,
                "services": services,
            }
        },
    }


def _write_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


@contextmanager
def own_keys_unchecked() -> Iterator[None]:
    """Within this block, private keys load without OpenSSL's RSA consistency check (37 ms of
    CPU each): for certomancer, which loads this PKI's own keys, generated by `_write_key`, for
    every certificate and response it signs. Nothing else may load keys meanwhile."""

    def unchecked(load: Callable[..., Any]) -> Callable[..., Any]:
        def load_unchecked(data: bytes, password: bytes | None = None, *args: Any) -> Any:
            return load(data, password, *args, unsafe_skip_rsa_key_validation=True)

        return load_unchecked

    loaders = serialization.load_der_private_key, serialization.load_pem_private_key
    serialization.load_der_private_key = unchecked(loaders[0])
    serialization.load_pem_private_key = unchecked(loaders[1])
    try:
        yield
    finally:
        serialization.load_der_private_key, serialization.load_pem_private_key = loaders


def _dump(directory: Path, config_path: Path, labels: Sequence[str], passphrase: bytes) -> None:
    from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig

    try:
        config = CertomancerConfig.from_file(str(config_path), key_search_dir=str(directory))
        arch = config.get_pki_arch(ArchLabel(_ARCH))
        certs_dir = directory / "certs"
        certs_dir.mkdir(exist_ok=True)
        for label in labels:
            cert_label = CertLabel(str(label))
            (certs_dir / f"{label}.cer").write_bytes(arch.get_cert(cert_label).dump())
            if str(label) not in {"root", "interm", "ocsp", "tsa"}:
                pfx = arch.package_pkcs12(cert_label, password=passphrase)
                fd = os.open(
                    certs_dir / f"{label}.p12", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
                )
                with os.fdopen(fd, "wb") as out:
                    out.write(pfx)
    except Exception as exc:  # certomancer raises many unrelated types
        raise DevPkiError(f"Impossible de construire la PKI de développement : {exc}") from exc


def build_dev_pki(
    directory: Path,
    *,
    signer_names: Sequence[str],
    organisation: str,
    port: int,
) -> DevPki:
    """Generate keys, certificates and PKCS#12 files of a development PKI in ``directory``.

    ``port`` is the 127.0.0.1 port the PKI will be served on: it is written into the
    certificates' CRL and OCSP URLs. A random passphrase protects every PKCS#12 file; the
    manifest written beside them lets :func:`load_dev_pki` find everything again.
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "keys").mkdir(exist_ok=True)
    taken: set[str] = {"root", "interm", "tsa", "ocsp", "seal", "revoked", "expired", "short-lived"}
    people = {_label(name, taken): name for name in signer_names}
    people["revoked"] = "Signataire Révoqué"
    people["expired"] = "Signataire Expiré"
    people["short-lived"] = _SHORT_LIVED_NAME
    now = datetime.now(UTC).replace(microsecond=0)
    config = _config(port=port, organisation=organisation, people=people, now=now)
    config_path = directory / "certomancer.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    for label in config["keysets"][_ARCH]["keys"]:
        _write_key(directory / "keys" / f"{label}.key.pem")
    passphrase = secrets.token_urlsafe(18).encode()
    with own_keys_unchecked():  # the keys written just above
        _dump(directory, config_path, list(config["keysets"][_ARCH]["keys"]), passphrase)
    manifest = {
        "port": port,
        "passphrase": passphrase.decode(),
        "organisation": organisation,
        "seal_name": SEAL_NAME,
        "signers": [[label, name] for label, name in people.items() if label.startswith("signer-")],
        "revoked": people["revoked"],
        "expired": people["expired"],
        "short_lived": people["short-lived"],
    }
    manifest_path = directory / _MANIFEST
    fd = os.open(manifest_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=2)
    pki = load_dev_pki(directory)
    publish_for_signing(pki)
    return pki


def publish_for_signing(pki: DevPki) -> None:
    """Write what signing needs (`engine.services.signing_setup.LocalPki`) beside the PKI, as plain data."""
    write_local_pki(
        pki.directory,
        LocalPki(
            tsa_url=pki.tsa_url,
            trust_anchors=(pki.root_cert_path,),
            passphrase=pki.seal.passphrase.decode(),
            seal_name=pki.seal.display_name,
            seal_pkcs12=pki.seal.pkcs12_path,
            signers={signer.display_name: signer.pkcs12_path for signer in pki.signers},
        ),
    )


def load_dev_pki(directory: Path) -> DevPki:
    """Describe a development PKI built earlier by :func:`build_dev_pki`.

    Every path of the result is absolute: the PKI is served by a child process with its own cwd.
    """
    directory = directory.resolve()
    try:
        manifest = json.loads((directory / _MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise DevPkiError(f"PKI de développement introuvable dans {directory}.") from exc
    passphrase = manifest["passphrase"].encode()
    certs = directory / "certs"

    def identity(label: str, name: str) -> DevIdentity:
        return DevIdentity(
            label=label,
            display_name=name,
            pkcs12_path=certs / f"{label}.p12",
            passphrase=passphrase,
            cert_path=certs / f"{label}.cer",
            key_path=directory / "keys" / f"{label}.key.pem",
        )

    base = f"http://127.0.0.1:{manifest['port']}/{_ARCH}"
    return DevPki(
        directory=directory,
        config_path=directory / "certomancer.yml",
        port=int(manifest["port"]),
        root_cert_path=certs / "root.cer",
        intermediate_cert_path=certs / "interm.cer",
        tsa_cert_path=certs / "tsa.cer",
        signers=tuple(identity(label, name) for label, name in manifest["signers"]),
        # A PKI built before the seal was the platform's named it after the organisation.
        seal=identity(
            "seal", manifest.get("seal_name", f"Cachet serveur {manifest['organisation']}")
        ),
        revoked_signer=identity("revoked", manifest["revoked"]),
        expired_signer=identity("expired", manifest["expired"]),
        short_lived_signer=identity("short-lived", manifest.get("short_lived", _SHORT_LIVED_NAME)),
        tsa_url=f"{base}/tsa/tsa",
        ocsp_url=f"{base}/ocsp/interm",
        crl_urls=(f"{base}/crls/root/latest.crl", f"{base}/crls/interm/latest.crl"),
    )


class DevPkiServer:
    """A running ``certomancer animate`` process serving a development PKI on 127.0.0.1."""

    def __init__(self, pki: DevPki, child: ChildProcess) -> None:
        self.pki = pki
        self.child = child

    @property
    def tsa_url(self) -> str:
        """RFC 3161 endpoint."""
        return self.pki.tsa_url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and wait for it to exit."""
        self.child.stop(timeout)

    def __enter__(self) -> DevPkiServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_dev_pki(pki: DevPki, *, timeout: float = 15.0) -> DevPkiServer:
    """Start ``certomancer animate`` on 127.0.0.1:``pki.port`` and wait until it answers.

    The web UI (which would hand out PKCS#12 files) and time overrides are disabled.
    """
    command = [
        sys.executable,
        "-m",
        "devstack.pki_server",  # certomancer's command, its own keys loaded without a check
        "--config",
        str(pki.config_path.resolve()),
        "--key-root",
        str(pki.directory.resolve()),
        "animate",
        "--port",
        str(pki.port),
        "--no-web-ui",
        "--no-time-override",
    ]
    try:
        child = start_process(
            command,
            what="PKI de développement",
            log=pki.directory / "animate.log",
            cwd=pki.directory.resolve(),
            ready=lambda: port_open(pki.port),
            timeout=timeout,
        )
    except ProcessNotReady as exc:
        raise DevPkiError(
            f"Le serveur de la PKI de développement n'a pas démarré (port {pki.port}) : {exc}."
        ) from exc
    return DevPkiServer(pki, child)
