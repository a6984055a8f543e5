"""Tenant administration: members and roles, procedure catalogue, settings (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import event, inspect
from sqlalchemy.exc import OperationalError

from engine.bootstrap import Platform
from engine.domain.errors import Conflict, FormValidationError, InvalidInput, NotFound
from engine.domain.model import Actor
from engine.persistence.tables import metadata
from engine.runtime.specs import read_procedure_dir
from engine.services import admin, tenant_settings
from engine.services.admin import deploy_bundle
from engine.services.archives.retention import retention_rule
from tests.engine.rendering_contexts import AR_ACCEPTATION
from tests.engine.support import (
    NOW,
    OPERATOR,
    SIREN_A,
    SIREN_B,
    call_operation,
    complete,
    make_tenants,
    ready,
    start,
)

PASSWORD = "mot-de-passe-initial"
PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def _actor(username: str) -> Actor:
    return Actor(f"user:{username}", frozenset({"admin"}), username)


@pytest.fixture
def p(platform: Platform) -> Iterator[Platform]:
    make_tenants(platform)
    yield platform


def _user(p: Platform, username: str, roles: tuple[str, ...], tenant: str = SIREN_A) -> uuid.UUID:
    with p.uow() as uow:
        user_id = admin.create_user(
            uow,
            username=username,
            display_name=username.title(),
            email=f"{username}@mairie.fr",
            password=PASSWORD,
            tenant=tenant,
            roles=roles,
            actor=OPERATOR,
            now=p.clock(),
        )
        uow.commit()
    return user_id


def _grant(p: Platform, user_id: uuid.UUID, tenant: str, role: str) -> None:
    with p.uow() as uow:
        uow.users.grant(user_id, tenant, role)
        uow.commit()


def _journal(p: Platform, tenant: str, prefix: str) -> list[tuple[str, str, dict[str, Any]]]:
    with p.uow() as uow:
        return [
            (e.kind, e.actor, e.payload)
            for e in uow.journal.iter_entries(tenant)
            if e.kind.startswith(prefix)
        ]


# --- members and roles -------------------------------------------------------------------


def test_members_are_listed_with_their_roles_in_one_statement(p: Platform) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    counts = []
    for number in (1, 6):
        for index in range(number):
            _user(p, f"membre{number}-{index}", ("agent", "elu"))
        with p.uow() as uow:
            event.listen(p.db, "before_cursor_execute", record)
            try:
                statements.clear()
                members = admin.list_members(uow, SIREN_A)
                counts.append(len(statements))
            finally:
                event.remove(p.db, "before_cursor_execute", record)
    assert counts == [1, 1]
    assert len(members) == 7
    first = next(m for m in members if m.username == "membre1-0")
    assert first.roles == {"agent", "elu"} and first.active and first.email == "membre1-0@mairie.fr"
    _user(p, "ailleurs", ("agent",), tenant=SIREN_B)
    with p.uow() as uow:
        assert "ailleurs" not in {m.username for m in admin.list_members(uow, SIREN_A)}


def test_roles_are_granted_and_revoked_in_this_tenant_only_and_journaled(p: Platform) -> None:
    _user(p, "chef", ("admin",))
    user_id = _user(p, "claire", ("agent",))
    _grant(p, user_id, SIREN_B, "agent")
    with p.uow() as uow:
        member = admin.set_roles(
            uow,
            tenant=SIREN_A,
            user_id=user_id,
            roles=frozenset({"elu", "archiviste"}),
            actor=_actor("chef"),
            now=p.clock(),
        )
        uow.commit()
    assert member.roles == {"elu", "archiviste"}
    with p.uow() as uow:
        assert uow.users.roles(user_id, SIREN_A) == {"elu", "archiviste"}
        assert uow.users.roles(user_id, SIREN_B) == {"agent"}
    assert _journal(p, SIREN_A, "user.role") == [
        ("user.role_granted", "user:chef", {"username": "claire", "role": "archiviste"}),
        ("user.role_granted", "user:chef", {"username": "claire", "role": "elu"}),
        ("user.role_revoked", "user:chef", {"username": "claire", "role": "agent"}),
    ]
    assert _journal(p, SIREN_B, "user.role") == []


def test_bad_role_changes_are_refused_and_change_nothing(p: Platform) -> None:
    chef = _user(p, "chef", ("admin", "agent"))
    stranger = _user(p, "etranger", ("agent",), tenant=SIREN_B)
    with p.uow() as uow:
        with pytest.raises(InvalidInput, match="Rôle\\(s\\) inconnu\\(s\\) : maire"):
            admin.set_roles(
                uow,
                tenant=SIREN_A,
                user_id=chef,
                roles=frozenset({"maire"}),
                actor=_actor("chef"),
                now=p.clock(),
            )
        with pytest.raises(InvalidInput, match="au moins un rôle"):
            admin.set_roles(
                uow,
                tenant=SIREN_A,
                user_id=chef,
                roles=frozenset(),
                actor=_actor("chef"),
                now=p.clock(),
            )
        with pytest.raises(Conflict, match="votre propre rôle d'administrateur"):
            admin.set_roles(
                uow,
                tenant=SIREN_A,
                user_id=chef,
                roles=frozenset({"agent"}),
                actor=_actor("chef"),
                now=p.clock(),
            )
        with pytest.raises(NotFound):
            admin.set_roles(
                uow,
                tenant=SIREN_A,
                user_id=stranger,
                roles=frozenset({"agent"}),
                actor=_actor("chef"),
                now=p.clock(),
            )
    with p.uow() as uow:
        assert uow.users.roles(chef, SIREN_A) == {"admin", "agent"}
        assert uow.users.roles(stranger, SIREN_B) == {"agent"}
    assert _journal(p, SIREN_A, "user.role") == []


def test_another_admin_may_remove_an_admin_role_while_an_admin_remains(p: Platform) -> None:
    _user(p, "chef", ("admin",))
    second = _user(p, "adjoint", ("agent",))
    with p.uow() as uow:
        promoted = admin.grant_role(
            uow, tenant=SIREN_A, user_id=second, role="admin", actor=_actor("chef"), now=p.clock()
        )
        assert promoted.roles == {"admin", "agent"}
        admin.revoke_role(
            uow, tenant=SIREN_A, user_id=second, role="admin", actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
        assert uow.tenant_admin.active_admins(SIREN_A) == {
            m.user_id for m in admin.list_members(uow, SIREN_A) if m.username == "chef"
        }


def test_deactivation_is_per_tenant_keeps_roles_and_is_reversible(p: Platform) -> None:
    _user(p, "chef", ("admin",))
    user_id = _user(p, "claire", ("agent", "elu"))
    _grant(p, user_id, SIREN_B, "agent")
    with p.uow() as uow:
        member = admin.deactivate_member(
            uow, tenant=SIREN_A, user_id=user_id, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    assert not member.active and member.suspended_by == "user:chef"
    assert member.roles == {"agent", "elu"}
    with p.uow() as uow:
        assert uow.users.roles(user_id, SIREN_A) == frozenset()
        assert uow.users.roles(user_id, SIREN_B) == {"agent"}
        assert uow.users.tenants_of(user_id) == [SIREN_B]
        with pytest.raises(Conflict, match="déjà désactivé"):
            admin.deactivate_member(
                uow, tenant=SIREN_A, user_id=user_id, actor=_actor("chef"), now=p.clock()
            )
    with p.uow() as uow:
        admin.reactivate_member(
            uow, tenant=SIREN_A, user_id=user_id, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    with p.uow() as uow:
        assert uow.users.roles(user_id, SIREN_A) == {"agent", "elu"}
        assert uow.users.tenants_of(user_id) == sorted([SIREN_A, SIREN_B])
    assert [(k, a) for k, a, _ in _journal(p, SIREN_A, "user.")][-2:] == [
        ("user.deactivated", "user:chef"),
        ("user.reactivated", "user:chef"),
    ]


def test_the_last_active_admin_cannot_deactivate_themselves(p: Platform) -> None:
    chef = _user(p, "chef", ("admin",))
    with p.uow() as uow, pytest.raises(Conflict, match="dernier administrateur actif"):
        admin.deactivate_member(
            uow, tenant=SIREN_A, user_id=chef, actor=_actor("chef"), now=p.clock()
        )
    second = _user(p, "adjoint", ("admin",))
    with p.uow() as uow:
        # With another active admin, leaving is allowed...
        admin.deactivate_member(
            uow, tenant=SIREN_A, user_id=chef, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    with p.uow() as uow:
        # ...and the one left cannot be deactivated, even by an operator's script.
        with pytest.raises(Conflict, match="au moins un administrateur actif"):
            admin.deactivate_member(
                uow, tenant=SIREN_A, user_id=second, actor=OPERATOR, now=p.clock()
            )
        assert uow.tenant_admin.active_admins(SIREN_A) == {second}


def test_a_temporary_password_is_hashed_and_journaled_without_the_password(p: Platform) -> None:
    _user(p, "chef", ("admin",))
    user_id = _user(p, "claire", ("agent",))
    with p.uow() as uow:
        with pytest.raises(InvalidInput, match="au moins 12 caractères"):
            admin.reset_password(
                uow,
                tenant=SIREN_A,
                user_id=user_id,
                password="court",
                actor=_actor("chef"),
                now=p.clock(),
            )
        admin.reset_password(
            uow,
            tenant=SIREN_A,
            user_id=user_id,
            password="provisoire-2026-A",
            actor=_actor("chef"),
            now=p.clock(),
        )
        uow.commit()
    with p.uow() as uow:
        row = uow.users.by_id(user_id)
    assert row is not None and row.password_hash.startswith("$argon2")
    assert PasswordHasher().verify(row.password_hash, "provisoire-2026-A")
    assert not admin.check_password(row.password_hash, PASSWORD)
    entries = _journal(p, SIREN_A, "user.password")
    assert entries == [("user.password_reset", "user:chef", {"username": "claire"})]
    assert "provisoire" not in str(entries) and "argon2" not in str(entries)


def test_a_password_opening_another_tenant_is_not_reset_by_a_tenant_admin(p: Platform) -> None:
    _user(p, "chef", ("admin",))
    shared = _user(p, "partage", ("agent",))
    _grant(p, shared, SIREN_B, "agent")
    with p.uow() as uow:
        # Deactivated in B still counts: reactivation there would let the new password in.
        uow.tenant_admin.suspend(SIREN_B, shared, by="user:x", now=p.clock())
        with pytest.raises(Conflict, match="seul l'exploitant"):
            admin.reset_password(
                uow,
                tenant=SIREN_A,
                user_id=shared,
                password="provisoire-2026-A",
                actor=_actor("chef"),
                now=p.clock(),
            )
        row = uow.users.by_id(shared)
    assert row is not None and admin.check_password(row.password_hash, PASSWORD)


# --- procedure catalogue -----------------------------------------------------------------


def _set(p: Platform, procedure: str, enabled: bool, pinned: str | None = None) -> None:
    with p.uow() as uow:
        tenant_settings.set_procedure(
            uow,
            tenant=SIREN_A,
            procedure=procedure,
            enabled=enabled,
            pinned_hash=pinned,
            actor=_actor("chef"),
            now=p.clock(),
        )
        uow.commit()


def _enabled(p: Platform, tenant: str = SIREN_A) -> dict[str, str]:
    with p.uow() as uow:
        return {r.procedure: r.hash for r in tenant_settings.enabled_procedures(uow, tenant)}


def test_every_deployed_procedure_is_enabled_by_default(p: Platform) -> None:
    with p.uow() as uow:
        latest = {r.procedure: r.hash for r in uow.specs.catalogue()}
        entries = tenant_settings.catalogue(uow, SIREN_A)
    assert {"arrete", "deliberation", "demande-usager"} <= set(latest)
    assert _enabled(p) == latest
    assert all(e.enabled and e.pinned_hash is None for e in entries)
    assert {e.procedure: e.spec_hash for e in entries} == latest


def test_a_disabled_procedure_starts_no_case_but_running_cases_continue(p: Platform) -> None:
    running = start(p, "arrete")
    _set(p, "arrete", enabled=False)
    assert "arrete" not in _enabled(p)
    assert "arrete" in _enabled(p, SIREN_B)
    with pytest.raises(Conflict, match="n'est pas activée pour votre collectivité"):
        start(p, "arrete")
    start(p, "arrete", tenant=SIREN_B)
    updated = complete(
        p, running, "rediger", {"objet": "Arrêté", "nature": "3", "texte": "Texte 1234."}
    )
    assert "signer" in ready(p, updated)
    assert _journal(p, SIREN_A, "catalogue.") == [
        (
            "catalogue.changed",
            "user:chef",
            {"procedure": "arrete", "enabled": False, "version": None},
        )
    ]
    _set(p, "arrete", enabled=True)
    assert start(p, "arrete").procedure == "arrete"


def _deploy_new_version(p: Platform, tmp_path: Path) -> str:
    """Deploy `arrete` again with another title: a second, newer version."""
    copy = tmp_path / "processes" / "arrete"
    shutil.copytree(PROCESSES / "arrete", copy)
    shutil.copytree(PROCESSES / "_circuits", tmp_path / "processes" / "_circuits")
    manifest = copy / "procedure.yaml"
    manifest.write_text(
        manifest.read_text().replace("(circuit simple)", "(version 2)"), encoding="utf-8"
    )
    bundle = read_procedure_dir(copy)
    with p.uow() as uow:
        assert deploy_bundle(
            uow, bundle, operations=p.operations, now=p.clock() + timedelta(seconds=5)
        )
        uow.commit()
    return bundle.hash


def test_a_pinned_version_is_used_for_new_cases_until_unpinned(p: Platform, tmp_path: Path) -> None:
    with p.uow() as uow:
        first = uow.specs.catalogue()
    old = next(r.hash for r in first if r.procedure == "arrete")
    new = _deploy_new_version(p, tmp_path)
    assert start(p, "arrete").spec_hash == new
    _set(p, "arrete", enabled=True, pinned=old)
    assert _enabled(p)["arrete"] == old
    assert start(p, "arrete").spec_hash == old
    assert start(p, "arrete", tenant=SIREN_B).spec_hash == new
    with p.uow() as uow:
        entry = next(e for e in tenant_settings.catalogue(uow, SIREN_A) if e.procedure == "arrete")
    assert entry.pinned_hash == old and [v.hash for v in entry.versions] == [new, old]
    assert entry.title == "Arrêté du maire (circuit simple)"
    _set(p, "arrete", enabled=True)
    assert start(p, "arrete").spec_hash == new


def test_a_version_of_another_procedure_or_unknown_procedure_is_refused(p: Platform) -> None:
    with p.uow() as uow:
        other = next(r.hash for r in uow.specs.catalogue() if r.procedure == "deliberation")
        with pytest.raises(FormValidationError) as caught:
            tenant_settings.set_procedure(
                uow,
                tenant=SIREN_A,
                procedure="arrete",
                enabled=True,
                pinned_hash=other,
                actor=_actor("chef"),
                now=p.clock(),
            )
        assert caught.value.errors[0].path == "version"
        with pytest.raises(NotFound, match="Procédure inconnue"):
            tenant_settings.set_procedure(
                uow,
                tenant=SIREN_A,
                procedure="inexistante",
                enabled=False,
                pinned_hash=None,
                actor=_actor("chef"),
                now=p.clock(),
            )
        assert uow.tenant_admin.choices(SIREN_A) == {}


# --- settings ----------------------------------------------------------------------------

SERVICE_FORM = {
    "service_nom": "Pôle population",
    "service_adresse": "Hôtel de ville, 2 rue Haute, 34000 Montpellier",
    "service_telephone": "04 67 11 22 33",
    "service_courriel": "Population@Mairie-Test.fr",
}


def test_settings_are_validated_field_by_field() -> None:
    with pytest.raises(FormValidationError) as caught:
        tenant_settings.parse_settings(
            {
                "publication_titre": "T" * 201,
                "publication_contact": "pas-une-adresse",
                "service_courriel": "x@",
                "service_telephone": "appelez-nous",
            }
        )
    errors = {e.path: e.message for e in caught.value.errors}
    assert errors == {
        "publication_titre": "200 caractères au plus.",
        "publication_contact": "Adresse électronique invalide (exemple : accueil@mairie.fr).",
        "service_courriel": "Adresse électronique invalide (exemple : accueil@mairie.fr).",
        "service_nom": "Indiquez la désignation du service.",
        "service_adresse": "Indiquez l'adresse postale du service.",
        "service_telephone": "Numéro invalide (exemple : 04 67 00 00 00).",
    }
    empty = tenant_settings.parse_settings({})
    assert empty.service_usagers is None and empty.publication.titre == ""


def test_settings_round_trip_and_are_journaled(p: Platform) -> None:
    parsed = tenant_settings.parse_settings(
        {
            "publication_titre": "  Actes de la  commune ",
            "publication_introduction": "Premier paragraphe.\n\nSecond.",
            "publication_contact": "accueil@mairie-test.fr",
            **SERVICE_FORM,
        }
    )
    with p.uow() as uow:
        tenant_settings.save_settings(
            uow, tenant=SIREN_A, settings=parsed, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    with p.uow() as uow:
        read = tenant_settings.read_settings(uow, SIREN_A)
        other = tenant_settings.read_settings(uow, SIREN_B)
    assert read == parsed
    assert read.publication.titre == "Actes de la commune"
    assert read.publication.introduction == "Premier paragraphe.\n\nSecond."
    assert read.service_usagers is not None
    assert read.service_usagers.courriel == "Population@mairie-test.fr"
    assert other.service_usagers is None and other.publication.titre == ""
    [(kind, actor, payload)] = _journal(p, SIREN_A, "settings.")
    assert (kind, actor) == ("settings.changed", "user:chef")
    assert payload["service_usagers"]["nom"] == "Pôle population"


def _text_of(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / f"{uuid.uuid4().hex}.pdf"
    source.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(source), "-"], capture_output=True, check=True
    )
    return re.sub(r"\s+", " ", done.stdout.decode("utf-8").replace("\u00a0", " "))


def _rendered_text(p: Platform, tmp_path: Path, tenant: str, key: str) -> str:
    case = start(p, "arrete", tenant=tenant)
    call_operation(
        p,
        "documents.render",
        {"modele": "accuse_reception_crpa", "contexte": AR_ACCEPTATION},
        case_id=case.id,
        key=key,
        tenant=tenant,
        now=NOW,
    )
    with p.uow() as uow:
        [document] = uow.documents.for_case(tenant, case.id)
        return _text_of(uow.documents.content(document), tmp_path)


@pytest.mark.integration
def test_the_tenants_service_contacts_win_on_the_acknowledgement(
    p: Platform, tmp_path: Path
) -> None:
    parsed = tenant_settings.parse_settings(SERVICE_FORM)
    with p.uow() as uow:
        tenant_settings.save_settings(
            uow, tenant=SIREN_A, settings=parsed, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    mine = _rendered_text(p, tmp_path, SIREN_A, "ar-a")
    assert "Pôle population" in mine and "04 67 11 22 33" in mine
    assert "Population@mairie-test.fr" in mine
    assert "Service de l'accueil et des formalités" not in mine
    # A tenant without settings keeps the contacts the procedure's rules give.
    theirs = _rendered_text(p, tmp_path, SIREN_B, "ar-b")
    assert "Service de l'accueil et des formalités" in theirs and "Pôle population" not in theirs


def test_the_migration_creates_the_tables_as_declared(p: Platform) -> None:
    names = ("tenant_procedures", "tenant_suspensions", "tenant_settings")
    with p.db.connect() as conn:
        assert set(names) <= set(inspect(conn).get_table_names())
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert [d for d in differences if any(name in repr(d) for name in names)] == []


# --- retention schedule overrides --------------------------------------------------------


def _retention_form(p: Platform, **changes: str) -> dict[str, str]:
    with p.uow() as uow:
        lines = tenant_settings.retention_lines(uow, SIREN_A)
    form = {f"annees_{line.typologie}": str(line.current.years) for line in lines}
    form |= {f"sort_{line.typologie}": line.current.final_action for line in lines}
    return form | changes


def test_retention_overrides_apply_to_this_tenant_only(p: Platform) -> None:
    form = _retention_form(p, annees_arrete="15", sort_arrete="Destroy")
    with p.uow() as uow:
        changed = tenant_settings.save_retention(
            uow, tenant=SIREN_A, form=form, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
    assert changed == ["arrete"]
    with p.uow() as uow:
        mine = retention_rule(uow, SIREN_A, "arrete")
        theirs = retention_rule(uow, SIREN_B, "arrete")
        line = next(
            x for x in tenant_settings.retention_lines(uow, SIREN_A) if x.typologie == "arrete"
        )
    assert (mine.rule_id, mine.years, mine.final_action) == ("DUA-ARRETE-P15Y", 15, "Destroy")
    assert mine.access_rule == theirs.access_rule
    assert (theirs.rule_id, theirs.years, theirs.final_action) == ("DUA-ARRETE-P10Y", 10, "Keep")
    assert line.overridden
    [(kind, actor, payload)] = _journal(p, SIREN_A, "archive.retention")
    assert (kind, actor, payload["years"]) == ("archive.retention_rule", "user:chef", 15)
    # Back to the default values: the default rule id again.
    back = _retention_form(p, annees_arrete="10", sort_arrete="Keep")
    with p.uow() as uow:
        tenant_settings.save_retention(
            uow, tenant=SIREN_A, form=back, actor=_actor("chef"), now=p.clock()
        )
        uow.commit()
        assert retention_rule(uow, SIREN_A, "arrete").rule_id == "DUA-ARRETE-P10Y"


def test_invalid_retention_values_are_all_listed_and_nothing_is_written(p: Platform) -> None:
    form = _retention_form(p, annees_arrete="-3", annees_deliberation="dix", sort_arrete="Brûler")
    form["annees_marche_public"] = "15"
    with p.uow() as uow, pytest.raises(FormValidationError) as caught:
        tenant_settings.save_retention(
            uow, tenant=SIREN_A, form=form, actor=_actor("chef"), now=p.clock()
        )
    assert {e.path for e in caught.value.errors} == {
        "annees_arrete",
        "annees_deliberation",
        "sort_arrete",
    }
    assert "Nombre entier d'années entre 0 et 200." in str(caught.value)
    with p.uow() as uow:
        assert retention_rule(uow, SIREN_A, "marche_public").years == 10
    assert _journal(p, SIREN_A, "archive.retention") == []


def test_two_admins_demoting_each_other_at_once_are_serialized(p: Platform) -> None:
    """Without the lock on the tenant, each would see the other still admin and both would
    pass the last-admin check, leaving the tenant without any admin."""
    if p.db.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writing transactions by itself (BEGIN IMMEDIATE)")
    first = _user(p, "premier", ("admin", "agent"))
    second = _user(p, "second", ("admin", "agent"))
    with p.uow() as one:
        admin.set_roles(
            one,
            tenant=SIREN_A,
            user_id=second,
            roles=frozenset({"agent"}),
            actor=_actor("premier"),
            now=p.clock(),
        )
        with p.uow() as other, pytest.raises(OperationalError, match="lock timeout") as caught:
            other.connection.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
            admin.set_roles(
                other,
                tenant=SIREN_A,
                user_id=first,
                roles=frozenset({"agent"}),
                actor=_actor("second"),
                now=p.clock(),
            )
        # It waited before checking anything (not later, on the journal, after its check).
        assert "FROM tenants" in str(caught.value.statement)
        one.commit()
    with p.uow() as uow:
        assert uow.tenant_admin.active_admins(SIREN_A) == {first}
