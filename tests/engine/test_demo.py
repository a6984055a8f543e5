"""`dematflow serve`'s demo: seeded through the real services started by the embedded default
(development PKI, prefecture simulator, mail drop, S3), with a deliberation at every stage."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.demo import DEMO_SIREN, seed_demo
from devstack.demo_training import ARCHIVED, TRAINING_SIREN
from engine.bootstrap import Platform
from engine.domain.archives import PackageState
from engine.domain.model import CaseStatus
from tests.fixtures.embedded import embedded_platform_in

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded_platform(tmp_path: Path, sqlite_template: Path) -> Iterator[Platform]:
    """What `serve` builds: the embedded services, then a platform configured to use them."""
    with embedded_platform_in(tmp_path, sqlite_template) as platform:
        yield platform


def _cases(platform: Platform, procedure: str) -> dict[str, dict[str, object]]:
    """Data of the demo's cases of one procedure, by case id."""
    with platform.uow() as uow:
        rows = uow.cases.summaries(
            DEMO_SIREN, procedure, since=platform.clock() - timedelta(days=60)
        )
        return {str(case_id): data for case_id, _reference, data in rows}


def _tasks(platform: Platform) -> dict[str, list[tuple[str, str | None]]]:
    with platform.uow() as uow:
        tasks = uow.cases.human_tasks(DEMO_SIREN)
    found: dict[str, list[tuple[str, str | None]]] = {}
    for task in tasks:
        found.setdefault(str(task.case_id), []).append((task.name, task.assignee))
    return found


def test_demo_walks_deliberations_through_every_stage(
    embedded_platform: Platform, tmp_path: Path
) -> None:
    platform = embedded_platform
    credentials = tmp_path / "identifiants-demo.txt"

    assert seed_demo(platform, credentials)
    assert not seed_demo(platform, credentials), "la démo n'est créée qu'une fois"

    text = credentials.read_text(encoding="utf-8")
    for login in ("agent", "chef_service", "dgs", "maire", "archiviste", "admin"):
        assert f"\n{login} " in text
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600

    tasks = _tasks(platform)
    deliberations = _cases(platform, "deliberation")
    by_subject = {str(data["objet"]): (case_id, data) for case_id, data in deliberations.items()}
    assert len(by_subject) == 4

    draft_id, draft = by_subject["Tarifs de la restauration scolaire à compter du 1er janvier"]
    assert draft["statut"] == "en cours de visa"
    assert tasks[draft_id] == [("viser", "chef_service")]

    to_sign_id, to_sign = by_subject[
        "Convention de mise à disposition du gymnase au collège Jean-Moulin"
    ]
    assert to_sign["statut"] == "à signer"
    assert tasks[to_sign_id] == [("signer", "maire")]

    _awaiting_id, awaiting = by_subject["Création d'un emploi permanent de technicien territorial"]
    with platform.uow() as uow:
        waiting = uow.cases.waiting_for_message(
            DEMO_SIREN, "actes_accuse_reception", str(awaiting["numero_acte"])
        )
    assert [str(w) for w in waiting] == [_awaiting_id]
    assert awaiting["transmission"]

    _published_id, published = by_subject["Dénomination de la place du Marché"]
    signed = published["acte_signe"]
    assert isinstance(signed, dict) and signed["validation"]["valide"] is True
    assert published["statut"] == "transmise" and published["identifiant_ar"]
    assert published["executoire_le"] == published["publication"]["publie_le"]  # type: ignore[index]

    # The three voted at the same session, numbered in the act series of the year.
    numbers = sorted(str(d["numero_acte"]) for _, d in by_subject.values() if "numero_acte" in d)
    assert len(numbers) == 3 and all("_DEL" in n for n in numbers)
    assert len({str(d["seance"]) for _, d in by_subject.values() if "seance" in d}) == 1

    (session,) = _cases(platform, "seance-conseil").values()
    assert session["statut"] == "tenue, liste publiée"
    listed = session["deliberations_seance"]["deliberations"]  # type: ignore[index]
    assert sorted(d["numero"] for d in listed) == numbers
    assert {d["resultat"] for d in listed} == {"adoptée"}

    with platform.uow() as uow:
        entries = uow.publications.online(DEMO_SIREN, platform.clock())
    sessions = {e.session for e in entries}
    assert sessions == {published["seance"]}, "acte et liste rattachés à la séance"

    (procurement_id,) = _cases(platform, "commande-publique")
    with platform.uow() as uow:
        procurement = uow.cases.get(DEMO_SIREN, uuid.UUID(procurement_id))
    assert procurement.status is CaseStatus.RUNNING
    assert tasks[procurement_id]

    # Filed through the public portal's service, with its reference and receipt date.
    (request,) = _cases(platform, "demande-usager").values()
    assert str(request["reference"]).startswith("DEM-") and request["recu_le"]

    # A newcomer finds no case in error.
    procedures = ("arrete", "deliberation", "seance-conseil", "commande-publique", "demande-usager")
    ids = [case_id for procedure in procedures for case_id in _cases(platform, procedure)]
    with platform.uow() as uow:
        cases = [uow.cases.get(DEMO_SIREN, uuid.UUID(case_id)) for case_id in ids]
    assert len(cases) == 9  # 2 arrêtés, 4 délibérations, 1 séance, 1 marché, 1 demande
    assert [(c.procedure, c.error) for c in cases if c.status is CaseStatus.ERROR] == []
    _training_deliberation_is_archived(platform, text)


def _training_deliberation_is_archived(platform: Platform, guide: str) -> None:
    """Driven on the training clock, not back-dated: the clock stands past the legal delays."""
    with platform.uow() as uow:
        clock = uow.tenants.clock(TRAINING_SIREN)
        rows = uow.cases.summaries(
            TRAINING_SIREN, "deliberation", since=platform.clock() - timedelta(days=1)
        )
        archived = [
            uow.archives.for_case(TRAINING_SIREN, case_id)
            for case_id, _reference, data in rows
            if data.get("objet") == ARCHIVED[0]
        ]
        councillors = uow.council.councillors(TRAINING_SIREN)
    assert clock.training and clock.offset > timedelta(days=60)
    (package,) = archived
    assert package is not None and package.state is PackageState.ARCHIVED
    assert len(councillors) >= 5
    assert "Espace de formation" in guide and TRAINING_SIREN in guide


def test_demo_journal_is_a_valid_chain_stamped_in_real_time(
    embedded_platform: Platform, tmp_path: Path
) -> None:
    """`dematflow audit verify` passes right after seeding: the journal is never back-dated."""
    from datetime import UTC, datetime

    from engine.services.archives.journal_checks import verify_journal

    platform = embedded_platform
    before = datetime.now(UTC)
    assert seed_demo(platform, tmp_path / "identifiants-demo.txt")
    after = datetime.now(UTC)
    with platform.uow() as uow:
        tenants = [tenant.siren for tenant in uow.tenants.all()]
        reports = {siren: verify_journal(uow, siren) for siren in tenants}
        entries = list(uow.journal.iter_entries(DEMO_SIREN))
    assert DEMO_SIREN in reports
    for siren, report in reports.items():
        assert report.intact, (siren, report.findings[:5])
    stamps = [entry.recorded_at for entry in entries]
    assert stamps == sorted(stamps), "entries appended in the order they happen"
    assert before - timedelta(seconds=1) <= stamps[0] and stamps[-1] <= after


def test_the_training_space_transfers_to_the_embedded_sae_simulator(platform: Platform) -> None:
    from devstack.demo_training import point_training_at_sae
    from engine.domain.model import Actor
    from engine.services import admin
    from engine.services.archives.transfer import parse_endpoint, save_endpoint
    from engine.services.tenant_clock import make_training

    assert not point_training_at_sae(platform, "http://127.0.0.1:8471")  # no training space yet
    system = Actor.system("test")
    with platform.uow() as uow:
        admin.create_tenant(
            uow, siren=TRAINING_SIREN, name="Formation", actor=system, now=platform.clock()
        )
        make_training(uow, tenant=TRAINING_SIREN, actor=system, now=platform.clock())
        uow.commit()
    assert point_training_at_sae(platform, "http://127.0.0.1:8471")
    assert not point_training_at_sae(platform, "http://127.0.0.1:8471")  # unchanged
    assert point_training_at_sae(platform, "http://127.0.0.1:9000")  # the next start's port
    with platform.uow() as uow:
        endpoint = uow.sae.endpoint(TRAINING_SIREN)
        assert endpoint is not None and endpoint.url == "http://127.0.0.1:9000"
        real = parse_endpoint(
            {"kind": "vitam", "url": "https://sae.example.fr", "vitam_tenant": "2"},
            tenant=TRAINING_SIREN,
            operator=True,
        )
        save_endpoint(uow, real, actor=system, now=platform.clock(), operator=True)
        uow.commit()
    assert not point_training_at_sae(platform, "http://127.0.0.1:9001")  # someone's own SAE stays
    with platform.uow() as uow:
        endpoint = uow.sae.endpoint(TRAINING_SIREN)
        assert endpoint is not None and endpoint.url == "https://sae.example.fr"
