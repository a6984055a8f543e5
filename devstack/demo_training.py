"""The demo's training space (espace de formation): a commune whose cases run on its own clock.

Its deliberation is driven like a clerk, the élus and a trainer would: drafted, visaed, put on a
séance's agenda; the trainer moves the training clock to the séance, the vote is recorded, the
mayor signs, the prefecture simulator acknowledges, and the trainer moves the clock past the
legal delays, so the timers fire in order and the case is sealed into an archive package. No
row is back-dated: every step runs now, on the tenant's clock, and the journal chain verifies.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from devstack.demo import (
    COUNCIL,
    DEMO_USERS,
    _actor,
    _attend_and_vote,
    _draft,
    _Seeder,
    _visas,
    seed_councillors,
)
from engine.bootstrap import Platform
from engine.domain.french import PARIS
from engine.domain.model import Actor, Case, CaseStatus
from engine.domain.training import TenantClock, on_tenant_clock
from engine.jobs.actes_polling import poll_transmissions
from engine.jobs.timers import ClockMoved, advance_tenant_clock
from engine.operations.actes import tdt_config
from engine.services import admin
from engine.services.tenant_clock import ClockMove, make_training, tenant_clock, upcoming_timers

TRAINING_SIREN = "213400997"
TRAINING_NAME = "Commune de Formation"
TRAINER = "admin"
ARCHIVED = (
    "Règlement intérieur du conseil municipal",
    "Mme Marie Dupont, maire",
    "Direction générale des services",
    "5.2",
    "Le conseil municipal adopte son règlement intérieur pour la durée du mandat.",
)
TO_PRACTISE = (
    "Subvention à l'association des parents d'élèves",
    "Mme Claire Dumas, adjointe aux affaires scolaires",
    "Service enfance et éducation",
    "7.5",
    "Le conseil municipal attribue une subvention de 800 euros à l'association.",
)
SESSION_IN_DAYS = 8
"""Days from the training date to the séance: more than the convocation delay."""


class _TrainingSeeder(_Seeder):
    """Drives the training tenant's cases on its own clock; the journal stamps itself."""

    tenant = TRAINING_SIREN
    issuer = TRAINING_NAME

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform)
        self.clock = TenantClock(training=True)
        """The tenant's clock as the seeder last moved it (read without a transaction: SQLite
        takes one writer, and a step asks for the time inside its own)."""

    @property
    def now(self) -> datetime:
        return self.clock.now(datetime.now(UTC))

    def job_clock(self) -> datetime:
        return datetime.now(UTC)  # the runner reads the tenant's clock itself

    def uow(self) -> Any:
        return self.platform.uow()

    def move_clock(self, move: ClockMove) -> ClockMoved:
        """What the trainer's buttons do, then what the worker would run."""
        with self.uow() as uow:
            moved = advance_tenant_clock(
                uow,
                tenant=self.tenant,
                move=move,
                real_now=datetime.now(UTC),
                actor=_actor(TRAINER),
            )
            self.clock = tenant_clock(uow, self.tenant)
            uow.commit()
        self.run_jobs()
        return moved

    def status(self, case: Case) -> CaseStatus:
        with self.uow() as uow:
            status: CaseStatus = uow.cases.get(self.tenant, case.id).status
            return status


def _create_tenant(platform: Platform) -> None:
    now = platform.clock()
    system = Actor.system("demo")
    with platform.uow() as uow:
        admin.create_tenant(uow, siren=TRAINING_SIREN, name=TRAINING_NAME, actor=system, now=now)
        make_training(uow, tenant=TRAINING_SIREN, actor=system, now=now)
        for login, _name, roles in DEMO_USERS:
            user = uow.users.by_username(login)
            assert user is not None
            for role in roles:
                uow.users.grant(user.id, TRAINING_SIREN, role)
                uow.journal.append(
                    tenant=TRAINING_SIREN,
                    kind="user.role_granted",
                    case_id=None,
                    actor=system.user_id,
                    payload={"user": login, "role": role},
                    now=now,
                )
        uow.commit()
    seed_councillors(platform, TRAINING_SIREN)


def _session(seeder: _TrainingSeeder, projects: list[Case]) -> Case:
    day = (seeder.now + timedelta(days=SESSION_IN_DAYS)).astimezone(PARIS).date()
    session_at = datetime.combine(day, time(18, 30), tzinfo=PARIS)
    session = seeder.start("seance-conseil", {})
    seeder.complete(
        session,
        "convoquer_seance",
        {
            "seance": session_at.isoformat(),
            "lieu": "Salle du conseil, mairie de Formation",
            "projets": [seeder.project_number(p) for p in projects],
            "conseillers": [email for _name, email, _role in COUNCIL],
        },
        "agent",
    )
    seeder.move_clock(ClockMove(to=session_at + timedelta(minutes=5)))
    _attend_and_vote(seeder, session, len(projects))
    return session


def _past_legal_delays(seeder: _TrainingSeeder) -> None:
    """The trainer moves the clock past the last timer waiting (control and publication)."""
    with seeder.uow() as uow:
        waiting = upcoming_timers(uow, seeder.tenant)
    if waiting:
        last = max(t.due_at for t in waiting)
        seeder.move_clock(ClockMove(to=last + timedelta(minutes=1)))


def seed_training(platform: Platform) -> list[str]:
    """Create the training tenant with an archived deliberation; returns the guide's lines."""
    _create_tenant(platform)
    with on_tenant_clock(TenantClock(training=True)):  # documents rendered here are marked
        return _drive(_TrainingSeeder(platform))


def _drive(seeder: _TrainingSeeder) -> list[str]:
    archived = _draft(seeder, ARCHIVED)
    _visas(seeder, archived)
    _session(seeder, [archived])
    seeder.complete(archived, "signer", {"decision": "signer"}, "maire")
    actes = tdt_config(seeder.platform.settings.actes)
    poll_transmissions(seeder.uow, actes, now=datetime.now(UTC))
    seeder.run_jobs()
    _past_legal_delays(seeder)
    if seeder.status(archived) != CaseStatus.COMPLETED:
        raise RuntimeError("démo : la délibération de formation n'a pas été archivée")
    _draft(seeder, TO_PRACTISE)  # left at the head of department's visa, for the trainees
    return list(TRAINING_GUIDE)


TRAINING_GUIDE = (
    f"Espace de formation : {TRAINING_NAME} (SIREN {TRAINING_SIREN})",
    "Les mêmes comptes y ont les mêmes rôles ; après connexion, choisissez",
    f"« {TRAINING_NAME} ». Chaque page porte le bandeau FORMATION.",
    "",
    "1. archiviste : Archives > « Règlement intérieur du conseil municipal » : le paquet",
    "   scellé de la délibération (votée, signée, transmise, publiée puis archivée en",
    "   avançant l'horloge de formation) ; bouton « Vérifier le paquet » ; bouton",
    "   « Verser au SAE » : le simulateur du SAE des Archives départementales l'accepte",
    "   en deux minutes environ (page du paquet : « Versé aux Archives départementales »).",
    "2. admin (formateur) : Espace de formation : date du jour de formation, échéances",
    "   à venir, boutons « Avancer de 1 jour / 7 jours / 1 mois » et « Aller à la date ».",
    "3. chef_service puis dgs : Mes tâches > viser « Subvention à l'association des",
    "   parents d'élèves » ; agent : Nouveau dossier > Séance du conseil municipal pour",
    "   l'inscrire ; admin : avancer l'horloge jusqu'à la séance ; agent : présences et",
    "   vote ; maire : Parapheur > signer ; admin : « Avancer de 1 mois » deux fois :",
    "   le contrôle de légalité se termine et le dossier est archivé.",
    "",
    "En ligne de commande (plateforme lancée) :",
    f"  dematflow audit verify --tenant {TRAINING_SIREN}",
)


def point_training_at_sae(platform: Platform, url: str) -> bool:
    """Give the training space the embedded SAE simulator as its Archives départementales'
    SAE (its port changes with each start), unless someone set a SAE of their own: its
    archivist can then try « Verser au SAE » end to end. True when the setting changed."""
    from engine.domain.training import goes_outside
    from engine.services.archives.transfer import parse_endpoint, save_endpoint

    with platform.uow() as uow:
        if uow.tenants.get(TRAINING_SIREN) is None:
            return False
        current = uow.sae.endpoint(TRAINING_SIREN)
        if current is not None and (current.url == url or goes_outside(current.url)):
            return False
        form = {"kind": "vitam", "url": url, "vitam_tenant": "1"}
        endpoint = parse_endpoint(form, tenant=TRAINING_SIREN, operator=True, allow_http=True)
        save_endpoint(
            uow, endpoint, actor=Actor.system("demo"), now=platform.clock(), operator=True
        )
        uow.commit()
    return True
