"""`dematflow signatures ...`: sign, verify and renew archival timestamps of PDFs."""

from __future__ import annotations

import logging
import mmap
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

import click

from engine.cli.common import fail

if TYPE_CHECKING:
    from signatures import SigningOutcome, SignRequest
    from signatures.renewal import RenewalOutcome, RenewalRequest


LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
"""`signatures.PadesLevel`'s values, written out so that `--help` does not import pyHanko
(`tests/cli/test_lazy_imports.py` checks they stay equal)."""

RENEWAL_HORIZON_DAYS = 365
"""`signatures.renewal.DEFAULT_RENEWAL_HORIZON` in days (same check)."""

_NOISY_LOGGERS = ("pyhanko", "pyhanko_certvalidator")


def quiet_library_logs() -> None:
    """Keep pyHanko's own log lines off the terminal of a one-shot command.

    pyHanko and its certificate validator log every path they could not build, every
    revocation source they could not use, as warnings with a traceback (e.g. while trying the
    chains of an untrusted TSA), even when the validation ends well; without a logging set-up
    Python prints them on stderr. The report already says what matters, in French.
    """
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _der_certs(paths: tuple[Path, ...]) -> tuple[bytes, ...]:
    from asn1crypto import pem

    certs: list[bytes] = []
    for path in paths:
        data = path.read_bytes()
        if pem.detect(data):
            certs.extend(der for _, _, der in pem.unarmor(data, multiple=True))
        else:
            certs.append(data)
    return tuple(certs)


def _sign_file(source: Path, target: Path, request: SignRequest) -> SigningOutcome:
    """Sign SOURCE (memory-mapped, never read in) into a temporary file renamed to TARGET.

    The unchanged document goes from file to file inside the kernel where it can
    (`signatures.pades.sign_file_to`).
    """
    from signatures.pades import sign_file_to

    with source.open("rb") as handle, _replacing(target) as output:
        return sign_file_to(handle, request, output)


@contextmanager
def _replacing(target: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``target`` that replaces it only when the block succeeds."""
    directory = target.resolve().parent
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".signature-", delete=False) as out:
        temporary = Path(out.name)
        try:
            yield cast(BinaryIO, out)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            out.close()
            temporary.unlink(missing_ok=True)
            raise
    temporary.replace(target)


@click.group(name="signatures")
def group() -> None:
    """Signatures électroniques PAdES : signer et vérifier des PDF."""


@group.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    default="B-LTA",
    show_default=True,
)
@click.option(
    "--pkcs12",
    "pkcs12",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Magasin de clés PKCS#12 du signataire.",
)
@click.option(
    "--passphrase-env",
    default="DEMATFLOW_PKCS12_PASSPHRASE",
    show_default=True,
    help="Variable d'environnement contenant la phrase de passe.",
)
@click.option("--name", "display_name", required=True, help="Nom du signataire affiché.")
@click.option("--quality", default="", help="Qualité, par exemple « Le Maire ».")
@click.option("--reason", default="", help="Motif de la signature.")
@click.option("--location", default="", help="Lieu de signature.")
@click.option(
    "--page",
    type=int,
    default=None,
    help="Page du bloc visible (1 = première, -1 = dernière) ; absent = invisible.",
)
@click.option(
    "--box",
    nargs=4,
    type=int,
    default=(340, 40, 560, 120),
    show_default=True,
    help="Rectangle x1 y1 x2 y2 en points.",
)
@click.option("--tsa-url", default=None, help="URL de l'autorité d'horodatage (B-T et au-delà).")
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Certificat racine de confiance (PEM ou DER).",
)
@click.option(
    "--no-pdfa", is_flag=True, help="Ne pas convertir en PDF/A-2b avant la première signature."
)
def sign(
    source: Path,
    target: Path,
    level: str,
    pkcs12: Path,
    passphrase_env: str,
    display_name: str,
    quality: str,
    reason: str,
    location: str,
    page: int | None,
    box: tuple[int, int, int, int],
    tsa_url: str | None,
    trust_roots: tuple[Path, ...],
    no_pdfa: bool,
) -> None:
    """Signer SOURCE (PDF) et écrire le résultat dans TARGET."""
    from signatures import PadesLevel, Pkcs12Key, SignatureError, SignRequest, VisibleField

    quiet_library_logs()
    passphrase = os.environ.get(passphrase_env)
    request = SignRequest(
        key=Pkcs12Key(path=pkcs12, passphrase=passphrase.encode() if passphrase else None),
        signer_display_name=display_name,
        level=PadesLevel(level),
        quality=quality,
        reason=reason,
        location=location,
        visible=VisibleField(page=page, box=box) if page is not None else None,
        timestamp_url=tsa_url,
        trust_roots=_der_certs(trust_roots),
        convert_to_pdfa=not no_pdfa,
    )
    try:
        signed = _sign_file(source, target, request)
    except SignatureError as exc:
        fail(str(exc))
        return
    if signed.original is not None:
        click.echo("Document converti en PDF/A-2b avant signature (original conservé).")
    click.echo(f"Signé au niveau {signed.level} par {signed.signer_certificate_name} : {target}")


@group.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Certificat racine de confiance (PEM ou DER) ; par défaut ceux de la plateforme "
    "(racine de la PKI de développement du dossier de données).",
)
@click.option(
    "--maintenant",
    "--online",
    "online",
    is_flag=True,
    help="Valider maintenant, révocation vérifiée en ligne (OCSP/CRL) ; par défaut, hors ligne, "
    "B-LT/B-LTA jugées à la date de leurs données de validation (archivage AdES-LTA).",
)
@click.option(
    "--date",
    "at",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Juger le document à cette date (UTC si sans fuseau) au lieu de maintenant.",
)
@click.option("--json", "as_json", is_flag=True, help="Rapport JSON sur la sortie standard.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Écrire aussi le rapport HTML.",
)
def verify(
    source: Path,
    trust_roots: tuple[Path, ...],
    online: bool,
    at: datetime | None,
    as_json: bool,
    html_path: Path | None,
) -> None:
    """Vérifier toutes les signatures de SOURCE ; code de sortie 0 seulement si toutes sont valides.

    Hors ligne (défaut), une signature B-LTA est jugée par la validation d'archivage AdES-LTA
    (ses horodatages de document prouvent son existence) et une B-LT à la date de ses données
    de révocation, tant que le certificat du signataire n'a pas expiré.
    """
    from engine.cli.common import platform_trust_roots
    from signatures import (
        SignatureError,
        ValidationOptions,
        report_to_html,
        report_to_json,
        validate_pdf,
    )

    quiet_library_logs()
    options = ValidationOptions(
        trust_roots=_der_certs(trust_roots) if trust_roots else platform_trust_roots(),
        allow_fetching=online,
        long_term=not online,
        validation_time=at if at is None or at.tzinfo else at.replace(tzinfo=UTC),
    )
    try:
        report = validate_pdf(source.read_bytes(), options)
    except SignatureError as exc:
        fail(str(exc))
        return
    if html_path is not None:
        html_path.write_text(report_to_html(report), "utf-8")
    if as_json:
        click.echo(report_to_json(report))
    else:
        for signature in report.signatures:
            click.echo(signature.summary)
        click.echo(report.summary)
    sys.exit(0 if report.valid else 1)


@group.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tsa-url", required=True, help="URL de l'autorité d'horodatage.")
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Certificat racine de confiance (PEM ou DER).",
)
@click.option(
    "--horizon-days",
    type=click.IntRange(min=0),
    default=RENEWAL_HORIZON_DAYS,
    show_default=True,
    help="Renouveler si le certificat du dernier horodatage expire dans ce délai.",
)
def renew(
    source: Path, target: Path, tsa_url: str, trust_roots: tuple[Path, ...], horizon_days: int
) -> None:
    """Renouveler l'horodatage d'archivage (PAdES-LTA) de SOURCE dans TARGET si nécessaire.

    TARGET n'est écrit que si un nouvel horodatage de document a été ajouté.
    """
    from signatures import SignatureError
    from signatures.renewal import RenewalRequest

    quiet_library_logs()
    request = RenewalRequest(
        timestamp_url=tsa_url,
        trust_roots=_der_certs(trust_roots),
        horizon=timedelta(days=horizon_days),
    )
    try:
        outcome = _renew_file(source, target, request)
    except SignatureError as exc:
        fail(str(exc))
        return
    click.echo(outcome.summary)
    if outcome.renewed:
        click.echo(f"Document renouvelé ({outcome.current.count} horodatages) : {target}")


def _renew_file(source: Path, target: Path, request: RenewalRequest) -> RenewalOutcome:
    from signatures import DocumentRefusedError
    from signatures.renewal import (
        RenewalOutcome,
        latest_document_timestamp,
        renew_archival_timestamp_to,
        renewal_due,
    )

    with source.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise DocumentRefusedError("Le fichier est vide : ce n'est pas un document PDF.")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            previous = latest_document_timestamp(data, max_bytes=request.max_bytes)
            if not renewal_due(previous, request):
                return RenewalOutcome(renewed=False, previous=previous, current=previous, size=0)
            with _replacing(target) as output:
                return renew_archival_timestamp_to(data, request, output)
