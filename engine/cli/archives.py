"""`dematflow archives`: build, verify, audit and export sealed archival packages."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.archives_transfer import group as transfer_group
from engine.cli.common import (
    echo_json,
    fail,
    platform_trust_roots,
    settings,
    settings_with_store,
)

if TYPE_CHECKING:
    from archiving.model import PackageSpec
    from archiving.storage.s3 import ObjectStore
    from archiving.verify import PackageReport
    from engine.services.archives.seals import SealIdentities

__all__ = ["group", "spec_from_json"]


def spec_from_json(data: dict[str, Any], base: Path) -> PackageSpec:
    """A :class:`PackageSpec` from its JSON description (file sources relative to ``base``)."""
    from archiving.model import (
        AccessRule,
        Agency,
        AppraisalRule,
        FileRole,
        FinalAction,
        PackageFile,
        PackageSpec,
    )

    appraisal, access = data["appraisal"], data["access"]
    files = tuple(
        PackageFile(
            source=(base / item["source"]).resolve(),
            name=item["name"],
            role=FileRole(item["role"]),
            title=item.get("title", item["name"]),
            mime_type=item.get("mime_type", "application/octet-stream"),
            pronom_id=item.get("pronom_id"),
        )
        for item in data["files"]
    )
    return PackageSpec(
        package_id=data["package_id"],
        tenant=Agency(**data["tenant"]),
        archival_agency=Agency(**data["archival_agency"]),
        title=data["title"],
        closed_at=datetime.fromisoformat(data["closed_at"]),
        files=files,
        appraisal=AppraisalRule(
            rule_id=appraisal["rule_id"],
            years=int(appraisal["years"]),
            start_date=date.fromisoformat(appraisal["start_date"]),
            final_action=FinalAction(appraisal["final_action"]),
        ),
        access=AccessRule(
            rule_id=access["rule_id"], start_date=date.fromisoformat(access["start_date"])
        ),
        description=data.get("description", ""),
        actes_identifier=data.get("actes_identifier"),
        keywords=tuple(data.get("keywords", ())),
    )


def _der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = path.read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


def _trust_roots(paths: tuple[Path, ...]) -> tuple[bytes, ...]:
    if paths:
        return tuple(_der(path) for path in paths)
    return platform_trust_roots()


def _store() -> ObjectStore:
    from archiving.storage.s3 import ObjectStore, S3Config

    config = settings_with_store().storage
    assert config.endpoint is not None
    return ObjectStore(
        S3Config(
            endpoint=config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
        )
    )


def _print_report(report: PackageReport) -> None:
    seal = report.seal
    if seal is not None and seal.sealer is not None:
        when = seal.timestamp.isoformat() if seal.timestamp else "non horodaté"
        verdict = "" if seal.valid else " — sceau REFUSÉ"
        click.echo(
            f"sceau : {seal.signer} (certificat SHA-256 {seal.sealer.fingerprint}), "
            f"horodaté le {when}{verdict}"
        )
    click.echo(f"fichiers vérifiés : {report.files_checked} ({report.bytes_read} octets)")
    for note in report.notes:
        click.echo(f"  note : {note}")
    for finding in report.findings:
        click.echo(f"  [{finding.kind.value}] {finding.path or '(paquet)'} : {finding.message}")
    click.echo(
        "paquet intègre"
        if report.intact
        else f"paquet NON intègre : {len(report.findings)} anomalie(s)"
    )


def _sealer_json(report: PackageReport) -> dict[str, Any] | None:
    seal = report.seal
    if seal is None or seal.sealer is None:
        return None
    return {
        "subject": seal.sealer.subject,
        "fingerprint_sha256": seal.sealer.fingerprint,
        "key_usage": list(seal.sealer.key_usage),
        "timestamp": seal.timestamp.isoformat() if seal.timestamp else None,
        "valid": seal.valid,
    }


def _expected_seals(published: tuple[str, ...]) -> SealIdentities:
    """Who may seal: the fingerprints given by the verifier, else the platform's configuration
    (never the package). Fails (exit 2) when neither names a seal."""
    from engine.services.archives.seals import configured_seal_identities
    from engine.services.signing_setup import signing_setup
    from signatures.errors import SignatureError

    try:
        if published:
            return configured_seal_identities(settings(), seal_key=None, published=published)
        try:
            seal_key = signing_setup(settings()).seal_key
        except (OSError, ValueError, SignatureError):
            seal_key = None
        identities = configured_seal_identities(settings(), seal_key=seal_key)
    except (ValueError, SignatureError) as exc:
        fail(str(exc), code=2)
    if not identities.platform and not identities.tenants:
        fail(
            "aucune identité de sceau attendue : donnez l'empreinte SHA-256 publiée du cachet "
            "(--seal-fingerprint) ou configurez la PKI de la plateforme",
            code=2,
        )
    return identities


@click.group("archives")
def group() -> None:
    """Paquets d'archives scellés (SEDA 2.3 + BagIt), audit d'intégrité, export."""


_trust_option = click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Certificat racine de confiance (DER ou PEM) ; par défaut ceux de la configuration.",
)


@group.command("build")
@click.argument("spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def build(spec_file: Path, out_dir: Path) -> None:
    """Construire et sceller le paquet décrit par SPEC_FILE (JSON)."""
    from archiving.bag import build_package
    from archiving.errors import ArchivingError, InvalidManifestError
    from engine.services.archives.seals import SignaturesSealer
    from engine.services.signing_setup import signing_setup

    setup = signing_setup(settings())
    if not setup.timestamp_url:
        fail("aucune autorité d'horodatage configurée")
    try:
        spec = spec_from_json(json.loads(spec_file.read_text("utf-8")), spec_file.parent)
        built = build_package(
            spec,
            out_dir,
            sealer=SignaturesSealer(setup.seal_key, str(setup.timestamp_url), setup.trust_roots),
        )
    except InvalidManifestError as exc:
        fail(f"{exc}\n" + "\n".join(exc.problems))
    except (ArchivingError, KeyError, ValueError) as exc:
        fail(str(exc))
    click.echo(
        f"paquet scellé : {built.path} ({len(built.files)} fichiers, {built.total_bytes} octets)"
    )


@group.command("verify")
@click.argument("package", type=click.Path(exists=True, path_type=Path))
@_trust_option
@click.option(
    "--seal-fingerprint",
    "seal_fingerprints",
    multiple=True,
    help="Empreinte SHA-256 publiée du cachet attendu (sinon celle de la configuration).",
)
@click.option(
    "--en-ligne",
    "--online",
    "online",
    is_flag=True,
    help="Vérifier la révocation du cachet en ligne maintenant (sinon : données du sceau).",
)
@click.option(
    "--package-id", default=None, help="Paquet à vérifier dans un zip qui en contient plusieurs."
)
@click.option("--json", "as_json", is_flag=True, help="Rapport en JSON.")
def verify(
    package: Path,
    trust_roots: tuple[Path, ...],
    seal_fingerprints: tuple[str, ...],
    online: bool,
    package_id: str | None,
    as_json: bool,
) -> None:
    """Vérifier un paquet (dossier BagIt ou zip exporté), sans base de données.

    Le sceau doit être celui du cachet attendu (empreinte donnée ou configurée, jamais lue
    dans le paquet), valide et non révoqué à sa date. Code de sortie 0 seulement pour un
    paquet intègre.
    """
    from archiving.errors import ArchivingError
    from archiving.readers import open_package
    from archiving.verify import verify_package
    from engine.services.archives.exports import dip_renewal_findings
    from engine.services.archives.seals import SignaturesSealVerifier

    identities = _expected_seals(seal_fingerprints)
    try:
        trust = _trust_roots(trust_roots)
        verifier = SignaturesSealVerifier(trust, identities, online=online)
        with open_package(package, package_id=package_id) as reader:
            report = verify_package(reader, seal_verifier=verifier)
        renewals = dip_renewal_findings(package, trust)  # a DIP's renewed copies
        report = replace(report, findings=(*report.findings, *renewals))
    except ArchivingError as exc:
        fail(str(exc), code=2)
    except Exception as exc:
        fail(f"vérification impossible : {exc}", code=2)
    if as_json:
        echo_json(
            {
                "package_id": report.package_id,
                "intact": report.intact,
                "sealer": _sealer_json(report),
                "findings": [asdict(f) for f in report.findings],
            }
        )
    else:
        _print_report(report)
    sys.exit(0 if report.intact else 1)


@group.command("audit")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--cursor", default=None, help="Reprendre après ce paquet.")
@click.option("--batch-size", default=50, show_default=True)
@click.option(
    "--platform",
    "on_platform",
    is_flag=True,
    help="Audit complet par la plateforme (reprend l'audit en cours, rapport enregistré).",
)
@_trust_option
def audit(
    tenant: str,
    cursor: str | None,
    batch_size: int,
    on_platform: bool,
    trust_roots: tuple[Path, ...],
) -> None:
    """Audit d'intégrité (un lot) des paquets stockés d'une collectivité."""
    from archiving.audit import audit_packages
    from archiving.errors import ArchivingError
    from archiving.store import tenant_bucket
    from engine.services.archives.seals import SignaturesSealVerifier

    if on_platform:
        from engine.cli.archives_platform import platform_audit

        platform_audit(tenant, batch_size)
        return
    store = _store()
    try:
        bucket = tenant_bucket(settings().storage.bucket_prefix, tenant)
        report = audit_packages(
            store,
            bucket,
            seal_verifier=SignaturesSealVerifier(_trust_roots(trust_roots), _expected_seals(())),
            cursor=cursor,
            batch_size=batch_size,
        )
    except ArchivingError as exc:
        fail(str(exc), code=2)
    finally:
        store.close()
    echo_json(
        {
            "packages_checked": report.packages_checked,
            "objects_checked": report.objects_checked,
            "bytes_read": report.bytes_read,
            "next_cursor": report.next_cursor,
            "findings": [asdict(f) for f in report.findings],
        }
    )
    sys.exit(0 if report.intact else 1)


@group.command("export")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option(
    "--package",
    "package_id",
    default=None,
    help="Un seul paquet (DIP zip) ; sinon toute la collectivité.",
)
@click.option("--out", "target", required=True, type=click.Path(path_type=Path))
@click.option(
    "--platform",
    "on_platform",
    is_flag=True,
    help="Par la plateforme : export tracé au journal, avec les registres de la plateforme.",
)
@_trust_option
def export(
    tenant: str,
    package_id: str | None,
    target: Path,
    on_platform: bool,
    trust_roots: tuple[Path, ...],
) -> None:
    """Exporter un paquet (DIP zip) ou toutes les archives d'une collectivité (réversibilité)."""
    from archiving.dip import export_dip, export_tenant
    from archiving.errors import ArchivingError
    from archiving.store import tenant_bucket
    from engine.services.archives.seals import SignaturesSealVerifier

    if on_platform:
        from engine.cli.archives_platform import platform_export

        platform_export(tenant, package_id, target)
        return
    store = _store()
    try:
        bucket = tenant_bucket(settings().storage.bucket_prefix, tenant)
        if package_id:
            verifier = SignaturesSealVerifier(_trust_roots(trust_roots), _expected_seals(()))
            export_dip(store, bucket, package_id, target, seal_verifier=verifier)
            click.echo(f"DIP écrit : {target}")
        else:
            result = export_tenant(store, bucket, target)
            click.echo(
                f"{len(result.packages)} paquet(s), {result.objects} objet(s) exportés dans {target}"
            )
    except (ArchivingError, FileExistsError) as exc:
        fail(str(exc), code=2)
    finally:
        store.close()


@group.command("retention")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--package", "package_id", default=None, help="Paquet sur lequel décider.")
@click.option(
    "--decision",
    type=click.Choice(["extend", "transfer", "destroy"]),
    default=None,
    help="extend : prolonger ; transfer : verser ; destroy : éliminer (visa de l'archiviste).",
)
@click.option("--years", type=int, default=None, help="Années de prolongation (extend).")
@click.option("--user", "username", default=None, help="Archiviste qui décide (obligatoire).")
@click.option("--comment", default="", help="Motif de la décision.")
@click.option("--visa-reference", default=None, help="Référence du visa d'élimination (destroy).")
@click.option("--visa-date", default=None, help="Date du visa d'élimination, AAAA-MM-JJ.")
@click.option(
    "--visa-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Bordereau d'élimination visé par les Archives départementales (PDF).",
)
def retention(
    tenant: str,
    package_id: str | None,
    decision: str | None,
    years: int | None,
    username: str | None,
    comment: str,
    visa_reference: str | None,
    visa_date: str | None,
    visa_file: Path | None,
) -> None:
    """Paquets dont la DUA est échue (sans option), ou décision de sort final sur l'un d'eux."""
    from engine.cli.archives_retention import platform_retention

    platform_retention(
        tenant,
        package_id,
        decision,
        years,
        username,
        comment,
        (visa_reference, visa_date, visa_file),
    )


@group.command("hold")
@click.option("--tenant", required=True, help="SIREN de la collectivité.")
@click.option("--package", "package_id", required=True, help="Paquet à geler.")
@click.option("--user", "username", required=True, help="Archiviste qui décide.")
@click.option("--reason", required=True, help="Motif du gel (ou de sa levée).")
@click.option("--lift", is_flag=True, help="Lever le gel au lieu de le placer.")
def hold(tenant: str, package_id: str, username: str, reason: str, lift: bool) -> None:
    """Placer (ou lever, --lift) une conservation pour litige sur un paquet."""
    from engine.cli.archives_retention import platform_hold

    platform_hold(tenant, package_id, username, reason, lift)


@group.command("storage")
def storage() -> None:
    """Vérifier les compartiments d'archives : verrouillage, versionnage, rétention par défaut."""
    from archiving.errors import ArchivingError
    from engine.bootstrap import build_platform
    from engine.domain.errors import DematflowError
    from engine.services.archives.setup import archive_setup, storage_report

    platform = build_platform(settings_with_store())
    try:
        rows = storage_report(platform.uow, archive_setup(platform.settings))
    except (DematflowError, ArchivingError) as exc:
        fail(str(exc), code=2)
        return
    finally:
        platform.db.dispose()
    echo_json(rows)
    if any("problem" in row for row in rows):
        fail("compartiment(s) non conforme(s) : voir « problem »")


@group.command("destruction-verify")
@click.argument("record", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_trust_option
@click.option(
    "--seal-fingerprint",
    "seal_fingerprints",
    multiple=True,
    help="Empreinte SHA-256 publiée du cachet attendu (sinon celle de la configuration).",
)
def destruction_verify(
    record: Path, trust_roots: tuple[Path, ...], seal_fingerprints: tuple[str, ...]
) -> None:
    """Vérifier hors ligne un bordereau d'élimination téléchargé (zip scellé)."""
    from archiving.destruction import MAX_RECORD_BYTES, verify_destruction_record
    from engine.services.archives.seals import SignaturesSealVerifier

    with record.open("rb") as stream:
        data = stream.read(MAX_RECORD_BYTES + 1)
    verifier = SignaturesSealVerifier(
        _trust_roots(trust_roots), _expected_seals(tuple(seal_fingerprints))
    )
    check = verify_destruction_record(data, verifier)
    if check.signer:
        when = check.timestamp.isoformat() if check.timestamp else "non horodaté"
        click.echo(f"sceau : {check.signer}, horodaté le {when}")
    click.echo(f"paquet éliminé : {check.package_id} ; {len(check.objects)} objet(s) listé(s)")
    for problem in check.problems:
        click.echo(f"  {problem}")
    click.echo("bordereau intègre" if check.valid else "bordereau NON intègre")
    sys.exit(0 if check.valid else 1)


@group.command("renew-timestamps")
@click.option("--tenant", default=None, help="SIREN de la collectivité (toutes par défaut).")
@click.option(
    "--horizon-days",
    type=click.IntRange(min=0),
    default=365,
    show_default=True,
    help="Renouveler si le certificat du dernier horodatage expire dans ce délai.",
)
def renew_timestamps(tenant: str | None, horizon_days: int) -> None:
    """Renouveler les horodatages d'archivage (PAdES-LTA) des PDF signés archivés."""
    from datetime import timedelta

    from archiving.errors import ArchivingError
    from engine.bootstrap import build_platform
    from engine.domain.errors import DematflowError
    from engine.jobs.timestamp_renewal import renew_due_timestamps, renewal_config
    from engine.services.archives.setup import archive_setup

    platform = build_platform(settings_with_store())
    try:
        run = renew_due_timestamps(
            platform.uow,
            archive_setup(platform.settings),
            renewal_config(platform.settings),
            tenant=tenant,
            horizon=timedelta(days=horizon_days),
            now=platform.clock(),
        )
    except (DematflowError, ArchivingError) as exc:
        fail(str(exc), code=2)
        return
    finally:
        platform.db.dispose()
    echo_json(
        {
            "packages": run.packages,
            "timestamped_documents": run.timestamped_documents,
            "renewed": [
                {"package": r.package_id, "object_key": r.object_key, "sha256": r.sha256}
                for r in run.renewed
            ],
            "problems": list(run.problems),
        }
    )
    sys.exit(1 if run.problems else 0)


group.add_command(transfer_group)
