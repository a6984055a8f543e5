"""The trainer's page (espace de formation): the tenant's date, the timers due, moving the clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import InvalidInput, NotFound
from engine.domain.french import PARIS
from engine.domain.training import goes_outside, real_time
from engine.jobs.timers import advance_tenant_clock
from engine.services.tenant_clock import ClockMove, tenant_clock, upcoming_timers
from web.auth import TenantAccess, page_access
from web.deps import PlatformDep, UowDep
from web.pages.common import FormDep, flash, see_other, tenant_page
from web.security import check_csrf
from web.templating import date_fr

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)

TenantAdmin = Annotated[TenantAccess, Depends(page_access("admin"))]
STEPS = {
    "1j": ("Avancer de 1 jour", ClockMove(by=timedelta(days=1))),
    "7j": ("Avancer de 7 jours", ClockMove(by=timedelta(days=7))),
    "1m": ("Avancer de 1 mois", ClockMove(months=1)),
}
DEFAULT_TIME = "09:00"


def _page(
    request: Request,
    access: TenantAccess,
    unit: UowDep,
    p: PlatformDep,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    siren = access.tenant.siren
    clock = tenant_clock(unit, siren)
    if not clock.training:
        raise NotFound("Cette collectivité n'est pas un espace de formation.")
    now = clock.now(real_time(p.clock))
    context: dict[str, Any] = {
        "training_now": now,
        "offset_days": clock.offset.days,
        "timers": upcoming_timers(unit, siren),
        "steps": {key: label for key, (label, _) in STEPS.items()},
        "min_date": now.astimezone(PARIS).date().isoformat(),
        "default_time": DEFAULT_TIME,
        "error": error,
        # Where its acts go: the prefecture simulator, on this machine (never outside).
        "simulator_url": "" if goes_outside(actes_url := p.settings.actes.base_url) else actes_url,
    }
    return tenant_page(request, access, "training.html", context, status=status)


@router.get("/c/{tenant}/admin/formation")
def training(request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep) -> Response:
    return _page(request, access, unit, p)


@router.post("/c/{tenant}/admin/formation/horloge")
def move_clock(
    request: Request, access: TenantAdmin, unit: UowDep, p: PlatformDep, form: FormDep
) -> Response:
    try:
        move = _move(str(form.get("avancer") or ""), form)
        moved = advance_tenant_clock(
            unit,
            tenant=access.tenant.siren,
            move=move,
            real_now=real_time(p.clock),
            actor=access.actor,
        )
    except InvalidInput as exc:
        return _page(request, access, unit, p, error=str(exc), status=422)
    unit.commit()
    flash(
        request,
        f"Horloge de formation au {date_fr(moved.after)} : "
        f"{moved.fired} minuteur(s) déclenché(s) en chemin.",
    )
    return see_other(f"/c/{access.tenant.siren}/admin/formation")


def _move(step: str, form: Any) -> ClockMove:
    if step in STEPS:
        return STEPS[step][1]
    raw_date = str(form.get("date") or "").strip()
    raw_time = str(form.get("heure") or DEFAULT_TIME).strip() or DEFAULT_TIME
    try:
        day = date.fromisoformat(raw_date)
        at = time.fromisoformat(raw_time)
    except ValueError as exc:
        raise InvalidInput("Indiquez une date (jj/mm/aaaa) et une heure valides.") from exc
    return ClockMove(to=datetime.combine(day, at, PARIS))
