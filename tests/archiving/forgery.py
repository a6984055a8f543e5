"""Forging an archival package the way an attacker would (used by the attack corpus tests).

Only public, stable pieces are used (the bag's file names, ``seal_detached`` and a trusted TSA),
so the same forgeries can be replayed against an older checkout to show what it accepted.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree

from signatures.keys import KeySource, Pkcs12Key
from signatures.seal import seal_detached

SEDA = "{fr:gouv:culture:archivesdefrance:seda:v2.3}"
UNSIGNED_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def _manifest(root: Path, names: list[str]) -> bytes:
    lines = (f"{_sha512((root / name).read_bytes())}  {name}\n" for name in sorted(names))
    return "".join(lines).encode("utf-8")


def _edit_seda(root: Path, document: str, content: bytes, later: datetime | None) -> None:
    path = root / "data/seda/ArchiveTransfer.xml"
    tree = etree.fromstring(path.read_bytes())
    uri = document.removeprefix("data/")
    for bdo in tree.iter(SEDA + "BinaryDataObject"):
        if bdo.findtext(SEDA + "Uri") == uri:
            bdo.find(SEDA + "MessageDigest").text = _sha512(content)
            bdo.find(SEDA + "Size").text = str(len(content))
    if later is not None:
        tree.find(SEDA + "Date").text = later.isoformat()
        for node in tree.iter(SEDA + "EndDate"):
            node.text = later.date().isoformat()
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


def _edit_bag_info(root: Path, later: datetime | None) -> None:
    if later is None:
        return
    path = root / "bag-info.txt"
    lines = path.read_text("utf-8").splitlines()
    lines = [
        f"Bagging-Date: {later.date().isoformat()}" if line.startswith("Bagging-Date:") else line
        for line in lines
    ]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def forge(
    genuine: Path,
    target: Path,
    *,
    key: KeySource,
    tsa_url: str,
    document: str = "data/documents/deliberation.pdf",
    content: bytes = UNSIGNED_PDF,
    later: datetime | None = None,
    trust_roots: tuple[bytes, ...] = (),
) -> Path:
    """Copy the bag ``genuine`` to ``target`` with ``document`` replaced by ``content``, the
    manifests and SEDA digests recomputed (content dates moved to ``later`` when given), and
    a new seal by ``key`` with a genuine timestamp from ``tsa_url`` (and the revocation data
    of ``key``'s certificate embedded when ``trust_roots`` are given)."""
    shutil.copytree(genuine, target)
    (target / document).write_bytes(content)
    _edit_seda(target, document, content, later)
    _edit_bag_info(target, later)
    payload = [
        str(path.relative_to(target))
        for path in sorted((target / "data").rglob("*"))
        if path.is_file()
    ]
    (target / "manifest-sha512.txt").write_bytes(_manifest(target, payload))
    tag_manifest = _manifest(target, ["bagit.txt", "bag-info.txt", "manifest-sha512.txt"])
    (target / "tagmanifest-sha512.txt").write_bytes(tag_manifest)
    extra = {"trust_roots": trust_roots} if trust_roots else {}
    (target / "tagmanifest-sha512.txt.p7s").write_bytes(
        seal_detached(tag_manifest, key=key, timestamp_url=tsa_url, **extra)
    )
    return target


def self_signed_key(directory: Path, common_name: str) -> Pkcs12Key:
    """A self-signed certificate (seal key usages) with its key, as a PKCS#12 key store."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / "self-signed.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, cert, None, serialization.BestAvailableEncryption(b"x")
        )
    )
    return Pkcs12Key(path=path, passphrase=b"x")
