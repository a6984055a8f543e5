"""Legal deadlines computed from rules, each stored with its rule, inputs and a French explanation.

Conventions (documented once, used everywhere):
- Inputs are aware datetimes; a naive datetime is refused (`DeadlineError`). The legal day is
  the Europe/Paris calendar day on which an instant falls.
- A `Deadline` names its last day (`local_date`, inclusive, Europe/Paris) and `due`, the
  *exclusive* end of that day: the next local midnight, in UTC. The deadline has passed at and
  after `due` (so a BPMN timer set to `due` fires exactly when the implicit decision arises, the
  window closes, or the signature becomes allowed). We chose the next midnight over
  23:59:59.999999 so that `due` is an exact instant with no rounding question.
- Months are counted "de date à date" (same day-of-month; the last day of the month when it has
  no such day), days per art. 641 CPC (the day of the event does not count).
- Whether a deadline that ends on a Saturday, Sunday or holiday moves to the next working day
  (art. 642 CPC) is a per-rule parameter: contentious deadlines yes, implicit decisions and
  convocations no (see each function).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.domain.calendar_fr import (
    METROPOLE,
    DayCount,
    DeadlineError,
    HolidayCalendar,
    add_business_days,
    add_months,
    count_days,
    count_months,
    end_of_local_day,
    iso8601_utc,
    local_date,
    merge_intervals,
    months_from,
    non_working_reason,
    require_aware,
)
from engine.domain.french import format_date_fr

__all__ = [
    "Deadline",
    "DeadlineError",
    "MissingDocumentsRequest",
    "business_days_later",
    "convocation_deadline",
    "days_later_end_of_day",
    "implicit_decision",
    "legality_control_end",
    "make_deadline",
    "months_later_end_of_day",
    "publication_min_end",
    "standstill_end",
]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Deadline:
    """A computed legal date, with what produced it, for storage (JSON) and display."""

    rule: str
    """Stable rule id, e.g. `cgct.convocation.jours_francs`."""
    legal_basis: str
    """The text that sets the rule, e.g. `Art. L2121-12 CGCT`."""
    due: datetime
    """Exclusive end of the last day: the deadline has passed at and after this UTC instant."""
    local_date: date
    """The last day (inclusive) in Europe/Paris, as shown to users: the Paris day of the last
    instant before `due`."""
    inputs: Mapping[str, Any]
    """The JSON-compatible inputs the rule was given (ISO 8601 strings for date-times)."""
    explanation: str
    """French sentence for the UI saying how the date was computed."""

    def __post_init__(self) -> None:
        due = require_aware(self.due, "due").astimezone(UTC)
        # The last day is the Paris day of the last instant before `due`.
        if local_date(due - timedelta(microseconds=1)) != self.local_date:
            raise DeadlineError(
                f"Échéance incohérente : {self.local_date.isoformat()} n'est pas le dernier jour "
                f"avant {iso8601_utc(due)}."
            )
        object.__setattr__(self, "due", due)
        object.__setattr__(self, "inputs", dict(self.inputs))

    @property
    def due_iso(self) -> str:
        """`due` as an ISO 8601 UTC date-time (`2026-03-02T23:00:00Z`) for BPMN timers."""
        return iso8601_utc(self.due)

    def has_passed(self, now: datetime) -> bool:
        """True when `now` is at or after `due`."""
        return require_aware(now, "now") >= self.due

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form, read back by `from_dict`."""
        return {
            "schema": SCHEMA_VERSION,
            "rule": self.rule,
            "legal_basis": self.legal_basis,
            "due": self.due_iso,
            "local_date": self.local_date.isoformat(),
            "timezone": "Europe/Paris",
            "inputs": dict(self.inputs),
            "explanation": self.explanation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deadline:
        """Rebuild a stored deadline; malformed data raises `DeadlineError`."""
        try:
            if data["schema"] != SCHEMA_VERSION:
                raise DeadlineError(f"Version d'échéance inconnue : {data['schema']!r}.")
            fields = {name: data[name] for name in ("rule", "legal_basis", "explanation", "inputs")}
            due = datetime.fromisoformat(_text(data["due"]))
            last = date.fromisoformat(_text(data["local_date"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DeadlineError(f"Échéance enregistrée illisible : {exc}.") from exc
        if not all(isinstance(fields[name], str) for name in ("rule", "legal_basis")):
            raise DeadlineError("Échéance enregistrée illisible : règle ou base légale absente.")
        if not isinstance(fields["inputs"], Mapping):
            raise DeadlineError("Échéance enregistrée illisible : entrées invalides.")
        return cls(
            rule=fields["rule"],
            legal_basis=fields["legal_basis"],
            due=due,
            local_date=last,
            inputs=fields["inputs"],
            explanation=str(fields["explanation"]),
        )


def make_deadline(
    *,
    rule: str,
    legal_basis: str,
    last_day: date,
    inputs: Mapping[str, Any],
    headline: str,
    steps: Sequence[str],
) -> Deadline:
    """Build a `Deadline` whose due instant is the end of `last_day` in Europe/Paris."""
    detail = " ; ".join(steps)
    return Deadline(
        rule=rule,
        legal_basis=legal_basis,
        due=end_of_local_day(last_day),
        local_date=last_day,
        inputs=inputs,
        explanation=f"{headline} : {detail}." if detail else f"{headline}.",
    )


def _calendar_inputs(calendar: HolidayCalendar) -> dict[str, Any]:
    return {
        "alsace_moselle": calendar.alsace_moselle,
        "extra_days": sorted(day.isoformat() for day in calendar.extra_days),
    }


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"texte attendu, {type(value).__name__} trouvé")
    return value


def _fr(day: date) -> str:
    return format_date_fr(day)


def _headline_day(day: date) -> str:
    return f"fin du {_fr(day)} (heure de Paris)"


def months_later_end_of_day(
    start: datetime,
    *,
    months: int,
    rule: str,
    legal_basis: str,
    franc: bool = False,
    extend_to_working_day: bool = False,
    calendar: HolidayCalendar = METROPOLE,
    subject: str = "Échéance",
) -> Deadline:
    """End of the day with the same date `months` later (last day of the month if none).

    `franc`: the day of expiry is not counted either (the deadline ends one day later), as for
    contentious deadlines before administrative courts. `extend_to_working_day`: art. 642 CPC.
    """
    moment = require_aware(start, "start")
    count = count_months(
        local_date(moment), months, franc=franc, extend=extend_to_working_day, calendar=calendar
    )
    inputs = {"start": moment.isoformat(), "months": months, "franc": franc}
    return _counted(count, rule, legal_basis, subject, inputs, extend_to_working_day, calendar)


def days_later_end_of_day(
    start: datetime,
    *,
    days: int,
    rule: str,
    legal_basis: str,
    franc: bool = False,
    extend_to_working_day: bool = False,
    calendar: HolidayCalendar = METROPOLE,
    subject: str = "Échéance",
) -> Deadline:
    """End of the day `days` calendar days after the day of `start` (which does not count)."""
    moment = require_aware(start, "start")
    count = count_days(
        local_date(moment), days, franc=franc, extend=extend_to_working_day, calendar=calendar
    )
    inputs = {"start": moment.isoformat(), "days": days, "franc": franc}
    return _counted(count, rule, legal_basis, subject, inputs, extend_to_working_day, calendar)


def _counted(
    count: DayCount,
    rule: str,
    legal_basis: str,
    subject: str,
    inputs: dict[str, Any],
    extend: bool,
    calendar: HolidayCalendar,
) -> Deadline:
    return make_deadline(
        rule=rule,
        legal_basis=legal_basis,
        last_day=count.last_day,
        inputs={**inputs, "extend_to_working_day": extend, **_calendar_inputs(calendar)},
        headline=f"{subject} à la {_headline_day(count.last_day)}",
        steps=count.steps,
    )


def business_days_later(
    start: datetime,
    *,
    days: int,
    rule: str,
    legal_basis: str,
    calendar: HolidayCalendar = METROPOLE,
    subject: str = "Échéance",
) -> Deadline:
    """End of the `days`-th working day (Monday-Friday, not a holiday) after the day of `start`."""
    moment = require_aware(start, "start")
    if days < 1:
        raise DeadlineError(f"Nombre de jours ouvrés invalide : {days}.")
    first = local_date(moment)
    last = add_business_days(first, days, calendar=calendar)
    return make_deadline(
        rule=rule,
        legal_basis=legal_basis,
        last_day=last,
        inputs={"start": moment.isoformat(), "days": days, **_calendar_inputs(calendar)},
        headline=f"{subject} à la {_headline_day(last)}",
        steps=[
            f"{days} jours ouvrés à compter du {_fr(first)}, jour qui ne compte pas "
            "(samedis, dimanches et jours fériés exclus)"
        ],
    )


def convocation_deadline(
    session_at: datetime, *, jours_francs: int = 5, legal_basis: str | None = None
) -> Deadline:
    """Last day to send the council convocation: `jours_francs` full days before the session.

    Neither the day of sending nor the day of the session counts, so the convocation goes out
    at the latest on the session day minus (jours_francs + 1): for a Monday session with 5
    jours francs, the Tuesday of the week before (CE, 12 juillet 1955, Mignaloux-Beauvoir).
    Saturdays, Sundays and holidays inside the period count and nothing is moved: art. 642
    CPC does not apply to this backward count (CE accepted a convocation of 21 December 1989
    for a 26 December session with a Saturday, Sunday and holiday in between; question écrite
    Sénat n° 00343, JO 12/07/2012, réponse 14/02/2013). 3 jours francs below 3,500 inhabitants
    (L2121-11); in an emergency the mayor may cut it to 1 jour franc (L2121-12, al. 3).
    """
    moment = require_aware(session_at, "session_at")
    if jours_francs < 1:
        raise DeadlineError(f"Nombre de jours francs invalide : {jours_francs}.")
    session_day = local_date(moment)
    last = session_day - timedelta(days=jours_francs + 1)
    basis = legal_basis or {5: "Art. L2121-12 CGCT", 3: "Art. L2121-11 CGCT"}.get(
        jours_francs, "Art. L2121-11 et L2121-12 CGCT"
    )
    return make_deadline(
        rule="cgct.convocation.jours_francs",
        legal_basis=basis,
        last_day=last,
        inputs={"session_at": moment.isoformat(), "jours_francs": jours_francs},
        headline=f"Convocation à envoyer au plus tard le {_fr(last)}",
        steps=[
            f"{jours_francs} jours francs avant la séance du {_fr(session_day)} "
            "(le jour de l'envoi et le jour de la séance ne comptent pas)",
            "les samedis, dimanches et jours fériés comptent et ne reportent pas le délai",
        ],
    )


@dataclass(frozen=True)
class MissingDocumentsRequest:
    """A request for missing documents on an incomplete citizen request (art. L114-5 CRPA)."""

    requested_at: datetime
    """When the administration asked for the missing documents (aware)."""
    time_limit: date
    """Last day (Europe/Paris) the applicant was given to produce them ("elle fixe un délai")."""
    received_at: datetime | None = None
    """When the missing documents were received (aware); None while they are awaited."""


def implicit_decision(
    received_at: datetime,
    *,
    acceptance: bool,
    months: int = 2,
    missing_documents: Sequence[MissingDocumentsRequest] = (),
    legal_basis: str | None = None,
) -> Deadline | None:
    """When silence on a citizen's request becomes an implicit decision (CRPA).

    Same date `months` later, end of day (L231-1: acceptance; L231-4: the rejection cases;
    L231-6: other delays set by decree). Never moved to a working day: the decision arises on
    a Saturday, Sunday or holiday too (service-public.fr: a complete request received on
    1 March 2022 is accepted on 1 May 2022, a Sunday and holiday; CE, 5 juin 2009, n° 312682,
    took an implicit rejection born on Sunday 12 August 2007 as is).

    Incomplete file (art. L114-5 CRPA) — two different regimes:
    - acceptance: the delay only runs from receipt of the missing documents (it restarts
      whole); while any are awaited there is no date yet and None is returned;
    - rejection: the delay is suspended during the time given to produce them, the
      suspension ending early when they arrive; suspended days are added to the end.
    """
    moment = require_aware(received_at, "received_at")
    start_day = local_date(moment)
    requests = _checked_requests(missing_documents, start_day)
    basis = legal_basis or ("Art. L231-1 CRPA" if acceptance else "Art. L231-4 CRPA")
    steps = [f"silence gardé pendant {months} mois sur la demande reçue le {_fr(start_day)}"]
    if requests:
        basis += " ; art. L114-5 CRPA"
    if acceptance:
        restarted = _restart(start_day, months, requests)
        if restarted is None:
            return None
        start_day, restart_steps = restarted
        steps.extend(restart_steps)
    count = months_from(start_day, months)
    steps.extend(count.steps)
    last = count.last_day
    if not acceptance:
        last, suspension_steps = _suspend(last, requests)
        steps.extend(suspension_steps)
    reason = non_working_reason(last)
    if reason is not None:
        steps.append(
            f"le {format_date_fr(last, weekday=False)} tombe un {reason} mais la décision "
            "implicite naît quand même ce jour-là (pas de report)"
        )
    kind = "d'acceptation acquise" if acceptance else "de rejet née"
    return make_deadline(
        rule=f"crpa.decision_implicite.{'acceptation' if acceptance else 'rejet'}",
        legal_basis=basis,
        last_day=last,
        inputs={
            "received_at": moment.isoformat(),
            "acceptance": acceptance,
            "months": months,
            "missing_documents": [_request_json(r) for r in requests],
        },
        headline=f"Décision implicite {kind} à la {_headline_day(last)}",
        steps=steps,
    )


def _checked_requests(
    requests: Sequence[MissingDocumentsRequest], received_day: date
) -> list[MissingDocumentsRequest]:
    for request in requests:
        asked = local_date(require_aware(request.requested_at, "requested_at"))
        if asked < received_day:
            raise DeadlineError("Pièces manquantes demandées avant la réception de la demande.")
        if request.time_limit < asked:
            raise DeadlineError("Délai imparti pour les pièces manquantes antérieur à la demande.")
        received = request.received_at
        if received is not None and local_date(require_aware(received, "received_at")) < asked:
            raise DeadlineError("Pièces manquantes reçues avant d'avoir été demandées.")
    return sorted(requests, key=lambda request: request.requested_at)


def _restart(
    start: date, months: int, requests: Sequence[MissingDocumentsRequest]
) -> tuple[date, list[str]] | None:
    """L114-5, al. 2: the acceptance delay runs only from receipt of the missing documents.

    A request made after the decision arose changes nothing; None while documents asked for
    in time are still awaited (no date can be given yet).
    """
    steps: list[str] = []
    for request in requests:
        asked = local_date(request.requested_at)
        if asked > add_months(start, months):
            steps.append(f"demande de pièces du {_fr(asked)} sans effet : décision déjà acquise")
            continue
        if request.received_at is None:
            return None
        start = max(start, local_date(request.received_at))
        steps.append(
            "demande incomplète : le délai ne court qu'à compter de la réception des pièces "
            f"manquantes, le {_fr(start)}"
        )
    return start, steps


def _suspend(last: date, requests: Sequence[MissingDocumentsRequest]) -> tuple[date, list[str]]:
    """Add the suspended days (L114-5, al. 3) of every request made while the delay ran."""
    intervals = []
    for request in requests:
        end = request.time_limit + timedelta(days=1)
        if request.received_at is not None:
            end = min(end, local_date(request.received_at))
        intervals.append((local_date(request.requested_at), end))
    steps: list[str] = []
    for start, end in merge_intervals(intervals):
        if start > last:
            break
        last += end - start
        steps.append(
            f"délai suspendu du {_fr(start)} au {_fr(end - timedelta(days=1))} inclus "
            f"({(end - start).days} jours : délai imparti pour produire les pièces manquantes, "
            f"ou jusqu'à leur réception si elle est antérieure), fin reportée au {_fr(last)}"
        )
    return last, steps


def _request_json(request: MissingDocumentsRequest) -> dict[str, Any]:
    received = request.received_at.isoformat() if request.received_at else None
    return {
        "requested_at": request.requested_at.isoformat(),
        "time_limit": request.time_limit.isoformat(),
        "received_at": received,
    }


def legality_control_end(
    ar_received_at: datetime,
    *,
    months: int = 2,
    complements_received_at: datetime | None = None,
    calendar: HolidayCalendar = METROPOLE,
) -> Deadline:
    """Last day for the préfet to refer a transmitted act to the administrative court.

    L2131-6 CGCT: two months from receipt at the prefecture (the AR date), or from receipt of
    the complements when the préfet asked for them (`complements_received_at`). As a
    contentious deadline it is "franc" (neither the day of receipt nor the day of expiry
    counts) and, when it ends on a Saturday, Sunday or holiday, the referral is admissible on
    the next working day (CE, 5 juin 2009, n° 312682, applying art. 642 CPC: start 12 August
    2007, franc end Saturday 13 October, referral of Monday 15 October admissible). The act is
    safe from a déféré once this deadline has passed.
    """
    moment = require_aware(ar_received_at, "ar_received_at")
    start, steps = local_date(moment), [f"acte reçu en préfecture le {_fr(local_date(moment))}"]
    inputs: dict[str, Any] = {"ar_received_at": moment.isoformat(), "months": months}
    if complements_received_at is not None:
        complements = require_aware(complements_received_at, "complements_received_at")
        if local_date(complements) < start:
            raise DeadlineError("Compléments reçus avant l'acte lui-même.")
        start = local_date(complements)
        inputs["complements_received_at"] = complements.isoformat()
        steps.append(f"le délai court de la réception des compléments demandés, le {_fr(start)}")
    count = count_months(start, months, franc=True, extend=True, calendar=calendar)
    return make_deadline(
        rule="cgct.controle_legalite.defere",
        legal_basis="Art. L2131-6 CGCT ; art. 642 CPC",
        last_day=count.last_day,
        inputs={**inputs, **_calendar_inputs(calendar)},
        headline=f"Délai de déféré préfectoral expirant à la {_headline_day(count.last_day)}",
        steps=[*steps, *count.steps],
    )


def publication_min_end(published_at: datetime, *, months: int = 2) -> Deadline:
    """Last day an act published online must stay online (R2131-1 CGCT: "la durée de publicité
    de l'acte ne peut pas être inférieure à deux mois"). Same date `months` later, end of day,
    never shortened nor moved; the act may come down from the next day."""
    moment = require_aware(published_at, "published_at")
    count = months_from(local_date(moment), months)
    return make_deadline(
        rule="cgct.publication.duree_minimale",
        legal_basis="Art. L2131-1 et R2131-1 CGCT",
        last_day=count.last_day,
        inputs={"published_at": moment.isoformat(), "months": months},
        headline=f"Acte à maintenir en ligne au moins jusqu'à la {_headline_day(count.last_day)}",
        steps=[
            f"mis en ligne le {_fr(local_date(moment))}",
            *count.steps,
            f"retrait possible à partir du {_fr(count.last_day + timedelta(days=1))}",
        ],
    )


def standstill_end(
    notified_at: datetime, *, days: int | None = None, electronic: bool = True
) -> Deadline:
    """End of the standstill before signing a formal-procedure contract (R2182-1 CCP).

    At least 11 days (16 when the rejection notices were not sent electronically) between
    sending them and signing. The count runs "de date à date", the day of sending included:
    notices sent on 28 December 2010 with 16 days → standstill over on 12 January 2011 at
    night, signature lawful on 13 January (CE, 2 août 2011, n° 347526). Not moved when it ends
    on a non-working day: it is a minimum wait, not a time to act.
    """
    moment = require_aware(notified_at, "notified_at")
    length = days if days is not None else (11 if electronic else 16)
    if length < 1:
        raise DeadlineError(f"Nombre de jours invalide : {length}.")
    sent = local_date(moment)
    last = sent + timedelta(days=length - 1)
    return make_deadline(
        rule="ccp.standstill",
        legal_basis="Art. R2182-1 CCP",
        last_day=last,
        inputs={"notified_at": moment.isoformat(), "days": length, "electronic": electronic},
        headline=f"Signature du marché possible à partir du {_fr(last + timedelta(days=1))}",
        steps=[
            f"délai de suspension de {length} jours à compter de l'envoi des notifications "
            f"de rejet le {_fr(sent)}, jour de l'envoi compris (CE, 2 août 2011, n° 347526)",
            f"le délai s'achève à la {_headline_day(last)}",
        ],
    )
