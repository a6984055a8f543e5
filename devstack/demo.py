"""Demo data for the embedded default: one commune, a user per role, cases at several stages.

Every case is driven through the real use cases: forms are completed by the demo users, service
steps run in process against the embedded PKI, prefecture simulator and mail drop, and the
council session sends its messages to the deliberations. The business clock is set back while
seeding so that a council session already took place three days ago; the journal is not: its
links are appended in the order the seeding runs and stamped with the real time, so the tenant's
chain verifies (`dematflow audit verify`) right after the first start."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from engine.bootstrap import Platform
from engine.domain.french import PARIS
from engine.domain.model import Actor, Case, JournalEntry
from engine.jobs.actes_polling import poll_transmissions
from engine.jobs.timers import fire_due_timers
from engine.operations.actes import tdt_config
from engine.operations.base import OperationRetry
from engine.operations.runner import JobNotReady, run_job
from engine.persistence.repositories import JournalRepository
from engine.persistence.uow import UnitOfWork
from engine.rendering import RenderRequest, render_pdf
from engine.runtime.clock import frozen_now
from engine.services import admin, council
from engine.services import cases as case_services
from engine.services.citizen_requests import Upload, submit_request
from engine.services.documents import add_case_document

DEMO_SIREN = "213400005"
DEMO_NAME = "Commune de Démonstration"
DEMO_USERS = (
    ("agent", "Claire Agent", ("agent",)),
    ("chef_service", "Sophie Bernard", ("agent",)),
    ("dgs", "Paul Durand", ("agent",)),
    ("finances", "Nadia Lefèvre", ("agent",)),
    ("maire", "Marie Dupont", ("elu",)),
    ("adjoint", "Jean Martin", ("elu",)),
    ("archiviste", "Paul Archiviste", ("archiviste",)),
    ("admin", "Alice Administratrice", ("admin", "agent")),
)
DRAFT = {
    "objet": "Arrêté portant réglementation de la circulation rue des Écoles",
    "nature": "2",
    "texte": "Le maire arrête : la circulation est interdite rue des Écoles le 14 juillet.",
}
PROJECTS = (
    # objet, rapporteur, service, matière @ctes, texte; the stage each one is left at follows.
    (
        "Tarifs de la restauration scolaire à compter du 1er janvier",
        "Mme Claire Dumas, adjointe aux affaires scolaires",
        "Service enfance et éducation",
        "7.1",
        "Le conseil municipal fixe le prix du repas servi dans les écoles à 3,45 euros.",
    ),
    (
        "Convention de mise à disposition du gymnase au collège Jean-Moulin",
        "M. Karim Benali, adjoint aux sports",
        "Service des sports",
        "3.5",
        "Le conseil municipal approuve la convention et autorise le maire à la signer.",
    ),
    (
        "Création d'un emploi permanent de technicien territorial",
        "M. Jean Martin, adjoint aux finances",
        "Direction des ressources humaines",
        "4.1",
        "Le conseil municipal crée un emploi permanent de technicien à temps complet.",
    ),
    (
        "Dénomination de la place du Marché",
        "M. Jean Martin, adjoint à l'urbanisme",
        "Service urbanisme",
        "9.1",
        "Le conseil municipal dénomme « place du Marché » la place située devant la halle.",
    ),
)
COUNCIL = (
    ("Marie Dupont", "marie.dupont@demo.dematflow.fr", "maire"),
    ("Jean Martin", "jean.martin@demo.dematflow.fr", "adjoint"),
    ("Claire Dumas", "claire.dumas@demo.dematflow.fr", "adjoint"),
    ("Karim Benali", "karim.benali@demo.dematflow.fr", "adjoint"),
    ("Lucie Moreau", "lucie.moreau@demo.dematflow.fr", "conseiller_delegue"),
    ("Thomas Girard", "thomas.girard@demo.dematflow.fr", "conseiller"),
    ("Sarah Lambert", "sarah.lambert@demo.dematflow.fr", "conseiller"),
)
"""The council of the demo communes (name, mail, role), elected in March 2026."""
COUNCILLORS = [email for _name, email, _role in COUNCIL]
MANDATE = ("2026-03-22", "2032-03-31")
MAX_ROUNDS = 50


def _actor(login: str) -> Actor:
    name, roles = next((n, r) for lg, n, r in DEMO_USERS if lg == login)
    return Actor(f"user:{login}", frozenset(roles), name)


class _RealTimeJournal(JournalRepository):
    """The seeder replays past business moments; the journal records when it really wrote."""

    def append(
        self,
        *,
        tenant: str,
        kind: str,
        case_id: uuid.UUID | None,
        actor: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> JournalEntry:
        return super().append(
            tenant=tenant,
            kind=kind,
            case_id=case_id,
            actor=actor,
            payload=payload,
            now=datetime.now(UTC),
        )


class _SeedingUnitOfWork(UnitOfWork):
    def __enter__(self) -> _SeedingUnitOfWork:
        super().__enter__()
        self.journal = _RealTimeJournal(self.connection)
        return self


class _Seeder:
    """Drives the demo cases with the real services, on a business clock the seeder moves."""

    tenant = DEMO_SIREN
    issuer = DEMO_NAME

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._now = platform.clock()
        self.cases: list[uuid.UUID] = []

    @property
    def now(self) -> datetime:
        """The business time the seeding stands at."""
        return self._now

    def job_clock(self) -> datetime:
        """The clock the job runner reads."""
        return self.now

    def uow(self) -> UnitOfWork:
        """Every unit of work of the seeding: the platform's, with a real-time journal."""
        return _SeedingUnitOfWork(self.platform.db, self.platform.dispatch)

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        self._now = moment.astimezone(UTC)  # stored as UTC (SQLite keeps no offset)
        with frozen_now(self.now):
            yield

    def start(
        self, procedure: str, data: dict[str, Any], login: str = "agent", *, track: bool = True
    ) -> Case:
        with self.uow() as uow:
            case = case_services.start_case(
                uow,
                tenant=self.tenant,
                procedure=procedure,
                data=data,
                actor=_actor(login),
                now=self.now,
            )
            uow.commit()
        if track:  # its automatic steps run here; untracked ones are left to the worker
            self.cases.append(case.id)
        return case

    def complete(self, case: Case, task: str, data: dict[str, Any], login: str) -> None:
        with self.uow() as uow:
            ready = uow.cases.human_tasks(self.tenant, case_id=case.id)
            (found,) = [t for t in ready if t.name == task and t.assignee in (None, login)]
            case_services.complete_task(
                uow,
                tenant=self.tenant,
                case_id=case.id,
                task_id=found.id,
                data=data,
                actor=_actor(login),
                now=self.now,
            )
            uow.commit()
        self.run_jobs()

    def run_jobs(self) -> None:
        """Run every pending job of the demo cases until none is left (jobs create jobs)."""
        for _ in range(MAX_ROUNDS):
            with self.uow() as uow:
                pending = [
                    job.id
                    for case_id in self.cases
                    for job in uow.jobs.for_case(self.tenant, case_id)
                    if job.state.value in ("pending", "sent")
                ]
            if not pending:
                return
            for job_id in pending:
                try:
                    run_job(
                        job_id,
                        uow_factory=self.uow,
                        operations=self.platform.operations,
                        clock=self.job_clock,
                    )
                except (OperationRetry, JobNotReady):
                    continue  # e.g. the session's list waits for the acts' numbers
        raise RuntimeError("démo : des tâches automatiques restent en attente")

    def document(self, case: Case, modele: str, context: dict[str, Any]) -> dict[str, Any]:
        """A PDF the clerk would upload, rendered from a template and added to the case."""
        rendered = render_pdf(
            RenderRequest(template=modele, context=context, issuer=self.issuer, issued_at=self.now)
        )
        return self.upload(case, rendered.file_name, rendered.pdf)

    def upload(self, case: Case, name: str, content: bytes) -> dict[str, Any]:
        with self.uow() as uow:
            stored = add_case_document(
                uow,
                tenant=self.tenant,
                case_id=case.id,
                name=name,
                content=content,
                actor=_actor("agent"),
                now=self.now,
                max_bytes=self.platform.settings.max_upload_bytes,
            )
            uow.commit()
        return {
            "id": str(stored.id),
            "nom": stored.name,
            "sha256": stored.sha256,
            "taille": stored.size,
        }

    def project_number(self, case: Case) -> str:
        with self.uow() as uow:
            return str(uow.cases.get(self.tenant, case.id).data["numero_projet"])


def _draft(seeder: _Seeder, project: tuple[str, str, str, str, str]) -> Case:
    objet, rapporteur, service, matiere, texte = project
    case = seeder.start("deliberation", {})
    fields = {"objet": objet, "rapporteur": rapporteur, "service_porteur": service, "texte": texte}
    seeder.complete(
        case,
        "rediger_projet",
        {
            **fields,
            "matiere": matiere,
            "projet": seeder.document(case, "projet_deliberation", fields),
            "annexes": [],
            "visa_finances_requis": False,
            "chef_service": "chef_service",
            "dgs": "dgs",
            "signataire": "maire",
        },
        "agent",
    )
    return case


def _visas(seeder: _Seeder, case: Case) -> None:
    for login in ("chef_service", "dgs"):
        seeder.complete(case, "viser", {"decision": "viser"}, login)


def _hold_session(seeder: _Seeder, projects: list[Case], session_at: datetime) -> Case:
    """Convene the session twelve days before, hold it and record a vote per item."""
    with seeder.at(session_at - timedelta(days=12)):
        session = seeder.start("seance-conseil", {})
        seeder.complete(
            session,
            "convoquer_seance",
            {
                "seance": session_at.isoformat(),
                "lieu": "Salle du conseil, hôtel de ville",
                "projets": [seeder.project_number(p) for p in projects],
                "conseillers": COUNCILLORS,
            },
            "agent",
        )
    with seeder.at(session_at + timedelta(minutes=5)):
        fire_due_timers(seeder.uow, now=seeder.now)
        _attend_and_vote(seeder, session, len(projects))
    return session


def _attend_and_vote(seeder: _Seeder, session: Case, items: int) -> None:
    """The séance's secretary records who is there, then the vote of each item on the agenda."""
    seeder.complete(
        session,
        "constater_presences",
        {
            "membres_en_exercice": 27,
            "presents": 22,
            "pouvoirs": 3,
            "president_seance": "Mme Marie Dupont, maire",
            "secretaire_seance": "M. Jean Martin",
        },
        "agent",
    )
    votes = {"presents_au_vote": 22, "pouvoirs_au_vote": 3, "abstentions": 1}
    for _ in range(items):
        seeder.complete(
            session,
            "enregistrer_vote",
            {**votes, "pour": 21, "contre": 3, "ne_prend_pas_part": 0},
            "agent",
        )


def _acknowledge(seeder: _Seeder) -> None:
    """What the scheduler does every few minutes: fetch the prefecture's acknowledgements."""
    settings = seeder.platform.settings
    poll_transmissions(seeder.uow, tdt_config(settings.actes), now=seeder.now)
    seeder.run_jobs()


def _seed_deliberations(seeder: _Seeder) -> None:
    today = seeder.now
    past_session = datetime.combine(
        (today - timedelta(days=3)).astimezone(PARIS).date(), time(18, 30), tzinfo=PARIS
    )
    with seeder.at(past_session - timedelta(days=16)):
        voted = [_draft(seeder, p) for p in PROJECTS[1:]]
        for case in voted:
            _visas(seeder, case)
    _hold_session(seeder, voted, past_session)
    # The first one is left at the mayor's signature in the circuit.
    _awaiting_signature, awaiting_ar, published = voted
    with seeder.at(today - timedelta(days=2)):
        seeder.complete(published, "signer", {"decision": "signer"}, "maire")
        _acknowledge(seeder)
    with seeder.at(today - timedelta(hours=2)):
        seeder.complete(awaiting_ar, "signer", {"decision": "signer"}, "maire")
    with seeder.at(today):
        _draft(seeder, PROJECTS[0])  # left at the head of department's visa


def _seed_procurement(seeder: _Seeder) -> None:
    case = seeder.start("commande-publique", {})
    seeder.complete(
        case,
        "definir_besoin",
        {
            "objet": "Fourniture de mobilier pour l'école Jules-Ferry",
            "description_besoin": "Tables et chaises pour deux classes, livraison avant la rentrée.",
            "type_marche": "fournitures",
            "montant_estime_ht": 85000,
            "date_lancement": seeder.now.astimezone(PARIS).date().isoformat(),
            "code_cpv": "39160000-1",
            "duree_mois": 12,
        },
        "agent",
    )


def _seed_citizen_request(seeder: _Seeder) -> None:
    platform = seeder.platform
    plan = render_pdf(
        RenderRequest(
            template="note",
            context={
                "titre": "Plan de situation de la terrasse",
                "texte": "Terrasse de 12 m² devant le café, 3 place de la Mairie.",
            },
            issuer=DEMO_NAME,
            issued_at=seeder.now,
        )
    )
    with seeder.uow() as uow:
        submitted = submit_request(
            uow,
            tenant=DEMO_SIREN,
            data={
                "type_demande": "decision_individuelle",
                "objet": "Autorisation d'installer une terrasse sur le domaine public",
                "description": "Je demande l'autorisation d'installer une terrasse d'avril à octobre.",
                "demandeur": {
                    "nom": "Petit",
                    "prenom": "Louis",
                    "courriel": "louis.petit@demo.dematflow.fr",
                    "adresse": "3 place de la Mairie, 34000 Démonstration",
                },
            },
            uploads=[Upload("plan_terrasse.pdf", plan.pdf)],
            consent=True,
            secret=platform.settings.secret_key,
            now=seeder.now,
        )
        uow.commit()
    seeder.cases.append(submitted.case.id)
    seeder.run_jobs()


def _seed_users(platform: Platform) -> list[str] | None:
    """The tenant and its users, once; None when the demo already exists."""
    now = platform.clock()
    system = Actor.system("demo")
    with platform.uow() as uow:
        if uow.tenants.get(DEMO_SIREN) is not None:
            return None
        admin.create_tenant(uow, siren=DEMO_SIREN, name=DEMO_NAME, actor=system, now=now)
        lines = [f"Collectivité de démonstration : {DEMO_NAME} (SIREN {DEMO_SIREN})", ""]
        for login, name, roles in (*DEMO_USERS, ("operateur", "Opérateur de la plateforme", ())):
            password = secrets.token_urlsafe(12)
            admin.create_user(
                uow,
                username=login,
                display_name=name,
                password=password,
                tenant=DEMO_SIREN if roles else None,
                roles=roles,
                is_operator=not roles,
                actor=system,
                now=now,
            )
            lines.append(f"{login:12} {password}   {name} ({', '.join(roles) or 'opérateur'})")
        uow.commit()
    return lines


def seed_councillors(platform: Platform, tenant: str) -> None:
    """The council of a demo commune, as its admin enters it (Conseil municipal)."""
    start, end = MANDATE
    with platform.uow() as uow:
        for name, email, role in COUNCIL:
            given = council.CouncillorInput(name, email, role, start, end)
            councillor = council.parse_councillor(tenant, given)
            council.save_councillor(uow, councillor, actor=_actor("admin"), now=platform.clock())
        uow.commit()


def _seed_arretes(seeder: _Seeder) -> None:
    first = seeder.start("arrete", {}, track=False)
    second = seeder.start("arrete", {}, track=False)
    seeder.complete(first, "rediger", DRAFT, "agent")
    seeder.complete(second, "rediger", DRAFT, "agent")
    seeder.complete(second, "signer", {"decision": "signer"}, "maire")


def seed_demo(platform: Platform, credentials_file: Path) -> bool:
    """Create the demo tenant once; passwords are random and written to `credentials_file`."""
    lines = _seed_users(platform)
    if lines is None:
        return False
    seed_councillors(platform, DEMO_SIREN)
    from devstack.demo_training import seed_training  # it builds on this module's seeder

    # First: its acknowledgements are polled before the commune's last act is transmitted,
    # which the walk-through leaves awaiting the prefecture's acknowledgement.
    training_guide = seed_training(platform)
    seeder = _Seeder(platform)
    _seed_deliberations(seeder)
    with seeder.at(platform.clock()):
        _seed_procurement(seeder)
        _seed_citizen_request(seeder)
        _seed_arretes(seeder)
    lines += ["", *DEMO_GUIDE, "", *training_guide]
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return True


DEMO_GUIDE = (
    "Parcours d'une délibération :",
    "- chef_service puis dgs : viser le projet « Tarifs de la restauration scolaire » ;",
    "- maire : signer la délibération « Convention de mise à disposition du gymnase » ;",
    "- la délibération « Création d'un emploi » attend l'accusé de réception de la préfecture ;",
    "- la délibération « Dénomination de la place du Marché » est publiée sur le registre,",
    "  avec la liste des délibérations de la séance tenue il y a trois jours.",
)
