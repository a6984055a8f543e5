"""SEDA manifest, sealed bag and offline verification."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import bagit
import pytest
from lxml import etree

from archiving.bag import SEAL, SEDA_MANIFEST, TAG_MANIFEST, build_package
from archiving.digests import digest_bytes
from archiving.errors import InvalidManifestError, InvalidPackageInputError
from archiving.readers import open_package
from archiving.seda import SEDA_NS, build_archive_transfer, validate_manifest
from archiving.verify import FindingKind, verify_package
from tests.archiving.conftest import sample_spec

pytestmark = pytest.mark.integration


def test_manifest_describes_every_file_and_validates(tmp_path: Path) -> None:
    spec = sample_spec(tmp_path)
    digests = {item.bag_path: digest_bytes(item.source.read_bytes()) for item in spec.files}
    manifest = build_archive_transfer(spec, digests)
    assert validate_manifest(manifest) == ()
    root = etree.fromstring(manifest)
    ns = {"s": SEDA_NS}
    objects = root.findall(".//s:BinaryDataObject", ns)
    assert len(objects) == 4
    first = objects[0]
    assert (
        first.findtext("s:MessageDigest", namespaces=ns)
        == digests["data/documents/deliberation.pdf"].sha512
    )
    assert first.find("s:MessageDigest", ns).get("algorithm") == "SHA-512"
    assert first.findtext("s:FormatIdentification/s:FormatId", namespaces=ns) == "fmt/476"
    assert root.findtext(".//s:AppraisalRule/s:FinalAction", namespaces=ns) == "Destroy"
    assert root.findtext(".//s:AccessRule/s:Rule", namespaces=ns) == "AR038"
    assert root.findtext(".//s:OriginatingSystemId", namespaces=ns) == spec.actes_identifier
    assert root.findtext("s:ArchivalAgency/s:Identifier", namespaces=ns) == "OPERATEUR-ARCHIVES"


def test_manifest_failing_the_xsd_is_refused(tmp_path: Path) -> None:
    spec = sample_spec(tmp_path)
    digests = {item.bag_path: digest_bytes(b"x") for item in spec.files}
    broken = (
        build_archive_transfer(spec, digests)
        .replace(b"<Title>", b"<Titre>", 1)
        .replace(b"</Title>", b"</Titre>", 1)
    )
    problems = validate_manifest(broken)
    assert problems
    with pytest.raises(InvalidManifestError):
        from archiving.seda import check_manifest

        check_manifest(broken)


def test_bag_is_sealed_and_valid_for_the_library_of_congress_bagit(
    tmp_path, sealer, seal_verifier
) -> None:
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    bag = bagit.Bag(str(built.path))
    assert bag.validate()
    assert bag.info["External-Identifier"] == "deliberation-2026-001"
    assert "sha512" in bag.algorithms
    with open_package(built.path) as reader:
        report = verify_package(reader, seal_verifier=seal_verifier)
    assert report.intact, report.findings
    assert report.seal is not None and report.seal.timestamp is not None
    assert report.seal.signer


def test_tampered_payload_is_reported(tmp_path, sealer, seal_verifier) -> None:
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    (built.path / "data/documents/deliberation.pdf").write_bytes(b"%PDF-1.7 forged")
    with open_package(built.path) as reader:
        report = verify_package(reader, seal_verifier=seal_verifier)
    kinds = {(f.kind, f.path) for f in report.findings}
    assert (FindingKind.ALTERED, "data/documents/deliberation.pdf") in kinds
    assert (FindingKind.SEDA_MISMATCH, "data/documents/deliberation.pdf") in kinds
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(built.path)).validate()


def test_rewritten_manifests_break_the_seal(tmp_path, sealer, seal_verifier) -> None:
    """A forger who recomputes every manifest still cannot make a valid seal."""
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    target = built.path / "data/documents/deliberation.pdf"
    target.write_bytes(b"%PDF-1.7 forged")
    bag = bagit.Bag(str(built.path))
    bag.save(manifests=True)  # recomputes manifest and tag manifest
    with open_package(built.path) as reader:
        report = verify_package(reader, seal_verifier=seal_verifier)
    assert any(f.kind == FindingKind.BROKEN_SEAL for f in report.findings)
    assert not report.intact


def test_missing_seal_and_untrusted_seal(tmp_path, sealer, seal_verifier, rogue_pki) -> None:
    from engine.services.archives.seals import SignaturesSealer

    built = build_package(sample_spec(tmp_path / "in", "a"), tmp_path / "out", sealer=sealer)
    (built.path / SEAL).unlink()
    with open_package(built.path) as reader:
        assert any(
            f.kind == FindingKind.BROKEN_SEAL
            for f in verify_package(reader, seal_verifier=seal_verifier).findings
        )
    rogue = SignaturesSealer(key=rogue_pki.seal.key, timestamp_url=rogue_pki.tsa_url)
    other = build_package(sample_spec(tmp_path / "in", "b"), tmp_path / "out", sealer=rogue)
    with open_package(other.path) as reader:
        report = verify_package(reader, seal_verifier=seal_verifier)
    assert [f.kind for f in report.findings] == [FindingKind.BROKEN_SEAL] * len(report.findings)
    assert report.findings


def test_zip_export_verifies_and_tampered_zip_fails(tmp_path, sealer, seal_verifier) -> None:
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    archive = tmp_path / "export.zip"
    shutil.make_archive(str(archive.with_suffix("")), "zip", built.path.parent, built.package_id)
    with open_package(archive) as reader:
        assert verify_package(reader, seal_verifier=seal_verifier).intact
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(forged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(TAG_MANIFEST):
                data = data.replace(b"bagit.txt", b"bagit.txx")
            target.writestr(info, data)
    with open_package(forged) as reader:
        report = verify_package(reader, seal_verifier=seal_verifier)
    assert {f.kind for f in report.findings} >= {FindingKind.BROKEN_SEAL}


def test_bad_input_is_refused_before_anything_is_written(tmp_path, sealer) -> None:
    spec = sample_spec(tmp_path / "in")
    missing = spec.files[0].source
    missing.unlink()
    with pytest.raises(InvalidPackageInputError):
        build_package(spec, tmp_path / "out", sealer=sealer)
    assert not (tmp_path / "out" / spec.package_id).exists()


def test_seda_manifest_sits_in_the_payload(tmp_path, sealer) -> None:
    built = build_package(sample_spec(tmp_path / "in"), tmp_path / "out", sealer=sealer)
    assert SEDA_MANIFEST in built.files
    assert validate_manifest((built.path / SEDA_MANIFEST).read_bytes()) == ()


def test_package_whose_manifest_fails_the_xsd_is_never_written(tmp_path, sealer) -> None:
    import dataclasses

    spec = sample_spec(tmp_path / "in")
    bad = dataclasses.replace(spec, appraisal=dataclasses.replace(spec.appraisal, rule_id=" "))
    with pytest.raises(InvalidManifestError) as caught:
        build_package(bad, tmp_path / "out", sealer=sealer)
    assert caught.value.problems
    assert list((tmp_path / "out").iterdir()) == []
