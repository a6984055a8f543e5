"""Legal holds and destruction an auditor accepts (issue 14): holds placed and lifted from the
package page and the CLI by a named archivist with a reason; destruction only with the visa
d'élimination of the Archives départementales; the destruction record sealed, timestamped,
under COMPLIANCE lock, downloadable and verified offline (tampering detected).

Runs on packages really sealed into the SeaweedFS fixture with the dev PKI."""

from __future__ import annotations

import html
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from click.testing import CliRunner

from archiving.destruction import record_keys, verify_destruction_record
from archiving.store import package_key
from engine.cli.archives import group as archives_cli
from engine.domain.archives import DESTROYED, ArchivedPackage
from engine.services.archives.setup import archive_setup
from tests.engine.archives.conftest import (  # noqa: F401 (fixtures)
    PlatformFactory,
    archived_case,
    make_platform,
    package_of,
    use_platform_env,
)
from tests.engine.support import SIREN_A, fixed_clock
from tests.web.test_pages_archives import ARCHIVES, _add_archivists, _archivist

pytestmark = pytest.mark.integration
PAST = datetime(2020, 1, 6, 9, tzinfo=UTC)


def _visa_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _replace(record: bytes, name: str, transform: object) -> bytes:
    """The downloaded zip with one member rewritten (what a forger would do)."""
    source = zipfile.ZipFile(io.BytesIO(record))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            target.writestr(item, transform(data) if item == name else data)  # type: ignore[operator]
    return out.getvalue()


def _due_packages(make_platform: PlatformFactory) -> tuple[ArchivedPackage, ArchivedPackage]:  # noqa: F811
    """Two packages closed in 2020 with a one-year DUA: due, their locks expired."""
    past = make_platform(clock=fixed_clock(PAST))
    _add_archivists(past)
    doomed = package_of(past, archived_case(past, title="a-eliminer.pdf", years=1))
    held = package_of(past, archived_case(past, title="en-litige.pdf", years=1))
    assert doomed is not None and held is not None
    return doomed, held


def test_holds_and_sealed_destruction_from_the_package_page(
    make_platform: PlatformFactory,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doomed, held = _due_packages(make_platform)
    assert doomed is not None and held is not None and doomed.objects
    p = make_platform()
    setup = archive_setup(p.settings)
    bucket = setup.bucket(SIREN_A)
    client, token = _archivist(p)
    visa_pdf = _visa_pdf()
    try:

        def post(package_id: str, route: str, files: object = None, **form: str) -> str:
            url = f"{ARCHIVES}/paquets/{package_id}"
            response = client.post(
                f"{url}/{route}",
                data={"csrf_token": token, **form},
                files=files,  # type: ignore[arg-type]
            )
            assert response.status_code == 303 and response.headers["location"] == url
            return html.unescape(client.get(url).text)

        page = html.unescape(client.get(f"{ARCHIVES}/paquets/{held.package_id}").text)
        assert "Geler le paquet" in page and "Conservation pour litige (gel)" in page
        # Without the CSRF token: refused, nothing held.
        forged = client.post(
            f"{ARCHIVES}/paquets/{held.package_id}/gel", data={"action": "placer", "motif": "x"}
        )
        assert forged.status_code == 403
        page = post(held.package_id, "gel", action="placer", motif="")
        assert "Gel non appliqué : Indiquez le motif du gel" in page
        page = post(held.package_id, "gel", action="placer", motif="Recours TA n° 2601234")
        assert "Conservation pour litige placée sur" in page and "Lever le gel" in page
        with setup.store() as store:
            versions = store.versions(bucket, package_key(held.package_id))
            infos = [store.stat(bucket, v.key, version_id=v.version_id) for v in versions]
        assert versions and all(info is not None and info.legal_hold for info in infos)
        visa = {"visa_bordereau": ("visa.pdf", visa_pdf, "application/pdf")}
        fields = {"visa_reference": "AD13-ELIM-2026-042", "visa_date": "2026-02-03"}
        # A held package cannot be destroyed, even with a visa.
        page = post(held.package_id, "sort-final", visa, decision="destroy", **fields)
        assert "Décision non appliquée : Élimination refusée : le paquet est gelé" in page
        with setup.store() as store:
            assert len(store.versions(bucket, package_key(held.package_id))) == len(versions)
        # No visa: refused. A non-PDF bordereau: refused.
        page = post(doomed.package_id, "sort-final", decision="destroy", commentaire="DUA échue")
        assert "le visa d'élimination des Archives départementales" in page
        bad = {"visa_bordereau": ("visa.pdf", b"pas un pdf", "application/pdf")}
        page = post(doomed.package_id, "sort-final", bad, decision="destroy", **fields)
        assert "doit être un fichier PDF" in page
        # Read the objects before destruction, to compare with the record.
        with setup.store() as store:
            before = {
                f"{v.key}@{v.version_id}": store.read_digest(
                    bucket, v.key, version_id=v.version_id
                )[1]
                for v in store.versions(bucket, package_key(doomed.package_id))
            }
        page = post(
            doomed.package_id,
            "sort-final",
            visa,
            decision="destroy",
            commentaire="DUA échue, sans intérêt historique",
            **fields,
        )
        assert "Éliminé ; bordereau d'élimination" in page
        assert "Télécharger le bordereau d'élimination scellé" in page
        download = client.get(f"{ARCHIVES}/paquets/{doomed.package_id}/bordereau-elimination")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/zip"
        record = download.content
        # Lift the hold, with a reason; journaled with both reasons.
        page = post(held.package_id, "gel", action="lever", motif="Jugement définitif")
        assert "Conservation pour litige levée sur" in page and "Geler le paquet" in page
    finally:
        client.__exit__(None, None, None)
    with p.uow() as uow:
        assert uow.archives.get(SIREN_A, doomed.package_id).state == DESTROYED  # type: ignore[union-attr]
        holds = [e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "archive.legal_hold"]
        assert [(e.payload["on"], e.payload["reason"], e.actor) for e in holds] == [
            (True, "Recours TA n° 2601234", "user:archiviste.a"),
            (False, "Jugement définitif", "user:archiviste.a"),
        ]
        [destroyed] = [
            e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "archive.destroyed"
        ]
        assert destroyed.actor == "user:archiviste.a"
        assert destroyed.payload["visa_reference"] == "AD13-ELIM-2026-042"
    with setup.store() as store:
        assert store.versions(bucket, package_key(doomed.package_id)) == []
        for key in record_keys(doomed.package_id):
            info = store.stat(bucket, key)
            assert info is not None and info.lock_mode == "COMPLIANCE", key
            assert info.retain_until is not None and info.retain_until.year >= p.clock().year + 29

    # Offline: the downloaded bytes alone and the platform's trust roots.
    check = verify_destruction_record(record, setup.seal_verifier)
    assert check.valid, check.problems
    assert check.package_id == doomed.package_id and check.timestamp is not None
    assert dict(check.objects) == before  # every destroyed version, with its SHA-512
    members = zipfile.ZipFile(io.BytesIO(record))
    assert members.read("visa-elimination.pdf") == visa_pdf
    notice = members.read("bordereau-elimination.xml").decode()
    for expected in (
        f"Titre : {html.escape(doomed.title, quote=False)}",
        f"Règle de conservation (DUA) : {doomed.dua_rule}",
        "Motif : DUA échue, sans intérêt historique",
        "Approuvé par : Archiviste.a (user:archiviste.a), archiviste",
        f"Sceau du paquet détruit SHA-512 {doomed.seal_sha512}",
        "Visa d'élimination : AD13-ELIM-2026-042 du 03/02/2026",
        "<AuthorizationRequestReplyIdentifier>AD13-ELIM-2026-042<",
    ):
        assert expected in notice, expected

    # Attacks on the downloaded record.
    hidden = _replace(
        record,
        "bordereau-elimination.xml",
        lambda data: data.replace(b"DUA \xc3\xa9chue, sans", b"DUA \xc3\xa9chue, avec"),
    )
    assert hidden != record
    forged = verify_destruction_record(hidden, setup.seal_verifier)
    assert not forged.valid and any("Sceau invalide" in x for x in forged.problems)
    swapped = _replace(record, "visa-elimination.pdf", lambda data: data + b"\n% autre visa")
    forged = verify_destruction_record(swapped, setup.seal_verifier)
    assert not forged.valid
    assert forged.problems == ("Le bordereau visé ne correspond pas à l'empreinte scellée.",)
    assert not verify_destruction_record(b"PK\x03\x04 tronque", setup.seal_verifier).valid

    # The same checks from the command line, offline (trust root of the platform's PKI).
    monkeypatch.setenv("DEMATFLOW_PKI__DEV_DIR", str(p.settings.pki.dev_dir))
    monkeypatch.setenv("DEMATFLOW_DATA_DIR", str(p.settings.data_dir))
    good, bad_file = tmp_path / "elimination.zip", tmp_path / "falsifie.zip"
    good.write_bytes(record)
    bad_file.write_bytes(hidden)
    result = CliRunner().invoke(archives_cli, ["destruction-verify", str(good)])
    assert result.exit_code == 0 and "bordereau intègre" in result.output, result.output
    result = CliRunner().invoke(archives_cli, ["destruction-verify", str(bad_file)])
    assert result.exit_code == 1 and "bordereau NON intègre" in result.output, result.output


def test_cli_holds_and_destruction_need_a_named_archivist_and_the_visa(
    make_platform: PlatformFactory,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doomed, held = _due_packages(make_platform)
    assert doomed is not None and held is not None
    p = make_platform()
    use_platform_env(p, monkeypatch)
    runner = CliRunner()
    visa = tmp_path / "visa.pdf"
    visa.write_bytes(_visa_pdf())
    hold = ["hold", "--tenant", SIREN_A, "--package", held.package_id, "--reason", "Recours"]
    result = runner.invoke(archives_cli, hold)
    assert result.exit_code == 2 and "--user" in result.output
    result = runner.invoke(archives_cli, [*hold, "--user", "maire"])
    assert result.exit_code == 2 and "n'a pas le rôle archiviste" in result.output
    result = runner.invoke(archives_cli, [*hold, "--user", "archiviste.a"])
    assert result.exit_code == 0 and "Conservation pour litige placée" in result.output
    destroy = ["retention", "--tenant", SIREN_A, "--decision", "destroy"]
    visa_args = ["--visa-reference", "AD-2026-9", "--visa-date", "2026-02-03"]
    visa_args += ["--visa-file", str(visa)]
    result = runner.invoke(archives_cli, [*destroy, "--package", doomed.package_id, *visa_args])
    assert result.exit_code == 2 and "--user est obligatoire" in result.output
    result = runner.invoke(
        archives_cli, [*destroy, "--package", doomed.package_id, "--user", "maire", *visa_args]
    )
    assert result.exit_code == 2 and "n'a pas le rôle archiviste" in result.output
    as_archivist = [*destroy, "--user", "archiviste.a"]
    result = runner.invoke(archives_cli, [*as_archivist, "--package", doomed.package_id])
    assert result.exit_code == 2 and "--visa-reference" in result.output
    result = runner.invoke(archives_cli, [*as_archivist, "--package", held.package_id, *visa_args])
    assert result.exit_code == 2 and "gelé pour litige" in result.output
    result = runner.invoke(
        archives_cli, [*as_archivist, "--package", doomed.package_id, *visa_args]
    )
    assert result.exit_code == 0 and "Éliminé" in result.output, result.output
    result = runner.invoke(archives_cli, [*hold, "--user", "archiviste.a", "--lift"])
    assert result.exit_code == 0 and "levée" in result.output
    setup = archive_setup(p.settings)
    with p.uow() as uow:
        assert uow.archives.get(SIREN_A, doomed.package_id).state == DESTROYED  # type: ignore[union-attr]
        assert not uow.archives.get(SIREN_A, held.package_id).legal_hold  # type: ignore[union-attr]
        [destroyed] = [
            e for e in uow.journal.iter_entries(SIREN_A) if e.kind == "archive.destroyed"
        ]
        assert destroyed.actor == "user:archiviste.a"
    bucket = setup.bucket(SIREN_A)
    with setup.store() as store:
        assert store.versions(bucket, package_key(held.package_id))
        key = record_keys(doomed.package_id)[0]
        with store.open(bucket, key) as stream:
            record = stream.read()
    assert b"AD-2026-9" in record and b"Approuv" in record


def test_the_hold_action_goes_through_the_legal_hold_identity(
    make_platform: PlatformFactory,  # noqa: F811
) -> None:
    """A wrong legal-hold key: the page says so in French, no 500, nothing held (the writing
    identity, which the route does not use, is refused holds by the store anyway)."""
    import dataclasses

    from engine.services.archives.setup import archive_setup as build_setup

    past = make_platform(clock=fixed_clock(PAST))
    _add_archivists(past)
    held = package_of(past, archived_case(past, title="gel-refuse.pdf", years=1))
    assert held is not None
    p = make_platform()
    setup = build_setup(p.settings)
    assert setup.holds_s3 is not None
    p.extras["archive_setup"] = dataclasses.replace(
        setup, holds_s3=dataclasses.replace(setup.holds_s3, secret_key="cle-fausse-du-gel")
    )
    client, token = _archivist(p)
    url = f"{ARCHIVES}/paquets/{held.package_id}"
    response = client.post(
        f"{url}/gel", data={"csrf_token": token, "action": "placer", "motif": "Recours TA"}
    )
    assert response.status_code == 303
    page = html.unescape(client.get(url).text)
    assert "Gel non appliqué : le stockage a refusé le gel à l'identité de gel" in page
    with setup.store() as store:
        versions = store.versions(setup.bucket(SIREN_A), package_key(held.package_id))
        infos = [
            store.stat(setup.bucket(SIREN_A), v.key, version_id=v.version_id) for v in versions
        ]
        assert versions and all(info is not None and not info.legal_hold for info in infos)
