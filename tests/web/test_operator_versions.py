"""The operator's procedure versions page: active version per tenant, deploying a stored version
for one more tenant or all, the migration dry run, applying it per case, and rolling back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from engine.bootstrap import Platform
from engine.runtime.specs import read_procedure_dir
from engine.services import procedure_versions as pv
from tests.engine.support import OPERATOR, SIREN_A, SIREN_B, get, start
from tests.support.versions import relabelled

Login = Callable[[str], tuple[TestClient, str]]
PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def test_operator_plans_applies_and_rolls_back_a_migration(
    browser_as: Login, people: Platform
) -> None:
    v1 = read_procedure_dir(PROCESSES / "arrete")
    case = start(people, "arrete")
    other = start(people, "arrete", tenant=SIREN_B)
    with people.uow() as uow:
        v2 = pv.deploy_version(
            uow,
            relabelled(v1),
            operations=people.operations,
            tenant=SIREN_A,
            actor=OPERATOR,
            now=people.clock(),
        )
        uow.commit()
    operator, token = browser_as("exploitant")
    page = operator.get("/exploitation/versions")
    assert page.status_code == 200
    assert (
        "v2" in page.text and v2.hash[:12] in page.text and "toutes les collectivités" in page.text
    )

    # Deploying v2 for tenant B too needs the CSRF token.
    no_token = operator.post(
        "/exploitation/versions/deployer", data={"version": v2.hash, "pour": SIREN_B}
    )
    assert no_token.status_code in (400, 403)
    unknown = operator.post(
        "/exploitation/versions/deployer",
        data={"csrf_token": token, "version": "0" * 64, "pour": "toutes"},
    )
    assert unknown.status_code == 303
    assert "version inconnue" in operator.get("/exploitation/versions").text.lower()

    plan = operator.get(
        "/exploitation/versions/migration", params={"procedure": "arrete", "cible": v2.hash}
    )
    assert plan.status_code == 200
    assert (
        "Simulation : rien n&#39;a été modifié" in plan.text
        or "Simulation : rien n'a été modifié" in plan.text
    )
    assert case.reference in plan.text and "Non migrable" in plan.text  # B has no v2 yet
    assert "champs ajoutés : Remarque (v2)" in plan.text
    assert get(people, case).spec_hash == v1.hash

    applied = operator.post(
        "/exploitation/versions/migration",
        data={
            "csrf_token": token,
            "procedure": "arrete",
            "cible": v2.hash,
            "collectivite": "",
            "dossier": f"{SIREN_A}:{case.id}",
        },
    )
    assert applied.status_code == 303
    assert get(people, case).spec_hash == v2.hash
    assert get(people, other, SIREN_B).spec_hash == v1.hash
    assert "1 dossier(s) passé(s) en v2" in operator.get(applied.headers["location"]).text
    clerk, _ = browser_as("agent.a")
    history = clerk.get(f"/c/{SIREN_A}/dossiers/{case.id}")
    assert "Dossier passé à une nouvelle version de la procédure" in history.text
    assert "Arrêté du maire (circuit simple) (v2)" in history.text

    back = operator.post(
        f"/exploitation/versions/dossiers/{SIREN_A}/{case.id}/revenir", data={"csrf_token": token}
    )
    assert back.status_code == 303
    assert get(people, case).spec_hash == v1.hash
    again = operator.post(
        f"/exploitation/versions/dossiers/{SIREN_A}/{case.id}/revenir", data={"csrf_token": token}
    )
    assert again.status_code == 303
    assert "Retour impossible" in operator.get("/exploitation/versions").text

    bad = operator.get(
        "/exploitation/versions/migration", params={"procedure": "arrete", "cible": "v9"}
    )
    assert bad.status_code == 303
    assert "Version « v9 » inconnue" in operator.get("/exploitation/versions").text
