"""Renewal of the PAdES-LTA document timestamp chain, against the live local PKI (TSA, CRLs).

The dev TSA certificate is valid for 20 years: a horizon longer than that makes renewal due
(the timestamp "expires within the horizon") without faking time; a 30-day horizon does not.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509
from click.testing import CliRunner
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from devstack.pki import DevPki
from engine.cli.signatures import group
from signatures.errors import DocumentRefusedError
from signatures.pades import PadesLevel
from signatures.renewal import (
    ArchivalTimestamp,
    RenewalRequest,
    latest_document_timestamp,
    renew_archival_timestamp,
    renew_archival_timestamp_to,
)
from signatures.validation import ValidationOptions, validate_pdf_for_archive
from tests.signatures.attacks import replace_page_content
from tests.signatures.pdfs import signed_pdf

pytestmark = pytest.mark.integration

BEYOND_TSA_VALIDITY = timedelta(days=365 * 25)
FAR_FROM_EXPIRY = timedelta(days=30)


def _sign(pki: DevPki, level: PadesLevel = PadesLevel.B_LTA, *, short_lived: bool = False) -> bytes:
    return signed_pdf(pki, level, short_lived=short_lived)


@pytest.fixture(scope="module")
def lta(dev_pki: DevPki) -> bytes:
    return _sign(dev_pki)


def _renewal(pki: DevPki, horizon: timedelta, **changes: object) -> RenewalRequest:
    base = RenewalRequest(timestamp_url=pki.tsa_url, trust_roots=pki.trust_roots, horizon=horizon)
    return RenewalRequest(**{**base.__dict__, **changes})


def _covered_by_last_timestamp(pdf: bytes) -> bytes:
    """The revision of ``pdf`` that its latest document timestamp covers."""
    last = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_timestamp_signatures[-1]
    byte_range = last.sig_object["/ByteRange"]
    return pdf[: int(byte_range[2]) + int(byte_range[3])]


def _vri_of_last_timestamp(pdf: bytes, of: bytes) -> dict[str, object] | None:
    """The DSS's VRI entry in ``pdf`` for the latest document timestamp of ``of``, if any."""
    last = PdfFileReader(io.BytesIO(of), strict=False).embedded_timestamp_signatures[-1]
    key = DocumentSecurityStore.sig_content_identifier(last.pkcs7_content)
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf), strict=False))
    entry = dss.vri_entries.get(key)
    return None if entry is None else dict(entry.get_object())


def _archive_valid(pki: DevPki, pdf: bytes, at: datetime | None = None) -> None:
    report = validate_pdf_for_archive(pdf, ValidationOptions(trust_roots=pki.trust_roots), at=at)
    assert report.valid, [s.problems for s in report.signatures]
    assert report.signatures[0].pades_level == "B-LTA"


def test_latest_timestamp_names_the_tsa_and_its_expiry(dev_pki: DevPki, lta: bytes) -> None:
    latest = latest_document_timestamp(lta)
    tsa = x509.Certificate.load(dev_pki.tsa_cert_path.read_bytes())
    assert latest.count == 1
    assert latest.tsa_name == "Horodatage dematflow (développement)"
    assert latest.tsa_not_after == tsa.not_valid_after
    assert abs(latest.time - datetime.now(UTC)) < timedelta(hours=1)


def test_a_timestamp_far_from_expiry_is_left_alone(dev_pki: DevPki, lta: bytes) -> None:
    output = io.BytesIO()
    outcome = renew_archival_timestamp_to(lta, _renewal(dev_pki, FAR_FROM_EXPIRY), output)
    assert not outcome.renewed
    assert outcome.size == 0 and output.getvalue() == b""
    assert outcome.current == outcome.previous
    assert "non renouvelé" in outcome.summary


def test_an_expiring_timestamp_is_renewed_with_its_validation_data(
    dev_pki: DevPki, lta: bytes, tmp_path: Path
) -> None:
    renewed = renew_archival_timestamp(lta, _renewal(dev_pki, BEYOND_TSA_VALIDITY))
    assert renewed.outcome.renewed and renewed.pdf is not None
    pdf = renewed.pdf
    assert pdf.startswith(lta), "an incremental update: the signed revision is untouched"
    assert renewed.outcome.size == len(pdf)
    assert renewed.outcome.previous.count == 1
    assert renewed.outcome.current.count == 2
    assert renewed.outcome.current.time >= renewed.outcome.previous.time
    assert latest_document_timestamp(pdf) == renewed.outcome.current
    # The validation data of the previous timestamp (its TSA's certificates and CRL) is in
    # the revision the new timestamp covers.
    vri = _vri_of_last_timestamp(_covered_by_last_timestamp(pdf), of=lta)
    assert vri is not None and "/CRL" in vri and "/Cert" in vri
    _archive_valid(dev_pki, pdf)
    path = tmp_path / "renouvele.pdf"
    path.write_bytes(pdf)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in pdfsig.stdout

    again = renew_archival_timestamp(pdf, _renewal(dev_pki, BEYOND_TSA_VALIDITY))
    assert again.pdf is not None and again.outcome.current.count == 3
    _archive_valid(dev_pki, again.pdf)


def test_renewed_chain_still_proves_a_signature_whose_certificate_expired(
    dev_pki: DevPki,
) -> None:
    pdf = _sign(dev_pki, short_lived=True)
    renewed = renew_archival_timestamp(pdf, _renewal(dev_pki, BEYOND_TSA_VALIDITY)).pdf
    assert renewed is not None
    signer = x509.Certificate.load(dev_pki.short_lived_signer.cert_path.read_bytes())
    _archive_valid(dev_pki, renewed, at=signer.not_valid_after + timedelta(hours=1))


@pytest.mark.parametrize("level", [PadesLevel.B_T, PadesLevel.B_LT])
def test_a_document_without_document_timestamp_is_refused(
    dev_pki: DevPki, level: PadesLevel
) -> None:
    with pytest.raises(DocumentRefusedError, match="pas d'horodatage de document"):
        renew_archival_timestamp(_sign(dev_pki, level), _renewal(dev_pki, BEYOND_TSA_VALIDITY))


def test_an_altered_document_is_refused_and_nothing_is_written(dev_pki: DevPki, lta: bytes) -> None:
    output = io.BytesIO()
    with pytest.raises(DocumentRefusedError, match="validation d'archivage"):
        renew_archival_timestamp_to(
            replace_page_content(lta), _renewal(dev_pki, BEYOND_TSA_VALIDITY), output
        )
    assert output.getvalue() == b""


def test_a_document_timestamped_by_an_untrusted_tsa_is_refused(
    dev_pki: DevPki, rogue_pki: DevPki
) -> None:
    forged = _sign(rogue_pki)
    with pytest.raises(DocumentRefusedError, match="validation d'archivage"):
        renew_archival_timestamp(forged, _renewal(dev_pki, BEYOND_TSA_VALIDITY))


def test_non_pdf_is_refused(dev_pki: DevPki) -> None:
    with pytest.raises(DocumentRefusedError, match="pas un document PDF"):
        renew_archival_timestamp(b"bonjour", _renewal(dev_pki, BEYOND_TSA_VALIDITY))


def _cli_renew(pki: DevPki, source: Path, target: Path, horizon_days: int) -> tuple[int, str]:
    result = CliRunner().invoke(
        group,
        [
            "renew",
            str(source),
            str(target),
            "--tsa-url",
            pki.tsa_url,
            "--trust-root",
            str(pki.root_cert_path),
            "--horizon-days",
            str(horizon_days),
        ],
    )
    return result.exit_code, result.output


def test_cli_renews_only_when_due(dev_pki: DevPki, lta: bytes, tmp_path: Path) -> None:
    source, target = tmp_path / "acte.pdf", tmp_path / "acte-renouvele.pdf"
    source.write_bytes(lta)
    code, output = _cli_renew(dev_pki, source, target, 30)
    assert code == 0, output
    assert "non renouvelé" in output and not target.exists()
    code, output = _cli_renew(dev_pki, source, target, BEYOND_TSA_VALIDITY.days)
    assert code == 0, output
    assert "Horodatage renouvelé" in output and "2 horodatages" in output
    assert latest_document_timestamp(target.read_bytes()).count == 2
    _archive_valid(dev_pki, target.read_bytes())

    b_lt = tmp_path / "b-lt.pdf"
    b_lt.write_bytes(_sign(dev_pki, PadesLevel.B_LT))
    code, output = _cli_renew(dev_pki, b_lt, tmp_path / "non.pdf", BEYOND_TSA_VALIDITY.days)
    assert code == 1 and "pas d'horodatage de document" in output
    assert not (tmp_path / "non.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "acte-renouvele.pdf",
        "acte.pdf",
        "b-lt.pdf",
    ]


# -- algorithm sunsets: a chain resting on a weakened algorithm is renewed in time ------------


def test_the_latest_timestamp_names_its_algorithms(lta: bytes) -> None:
    """The dev TSA signs with an RSA 2048 key over SHA-256 digests."""
    assert latest_document_timestamp(lta).algorithms == ("sha256", "rsa-2048")


def test_sunsets_cover_smaller_keys_of_their_kind() -> None:
    stamp = ArchivalTimestamp("ts", datetime.now(UTC), "TSA", datetime.now(UTC), 1, ())
    sunsets = {"sha1": date(2010, 12, 31), "rsa-2048": date(2030, 12, 31)}
    for algorithms, on, weakened in (
        (("sha256", "rsa-1536"), date(2031, 1, 1), ("rsa-1536 (31/12/2030)",)),
        (("sha256", "rsa-2048"), date(2030, 12, 30), ()),
        (("sha256", "rsa-3072"), date(2040, 1, 1), ()),
        (("sha1", "ec-256"), date(2026, 1, 1), ("sha1 (31/12/2010)",)),
    ):
        weak = dataclasses.replace(stamp, algorithms=algorithms).weakened(sunsets, on)
        assert weak == weakened, algorithms


def test_a_chain_on_a_weakened_algorithm_is_renewed_before_its_tsa_expires(
    dev_pki: DevPki, lta: bytes
) -> None:
    """Far from the TSA certificate's expiry, the chain is renewed all the same when one of
    its algorithms reaches its sunset within the horizon; not when the sunset is further."""
    soon = date.today() + timedelta(days=10)
    later = date.today() + timedelta(days=400)
    left = renew_archival_timestamp(
        lta, _renewal(dev_pki, FAR_FROM_EXPIRY, sunsets={"sha256": later})
    )
    assert not left.outcome.renewed
    for sunsets in ({"sha256": soon}, {"rsa-4096": soon}):
        renewed = renew_archival_timestamp(lta, _renewal(dev_pki, FAR_FROM_EXPIRY, sunsets=sunsets))
        assert renewed.outcome.renewed and renewed.pdf is not None, sunsets
        assert renewed.outcome.current.count == 2
        _archive_valid(dev_pki, renewed.pdf)
