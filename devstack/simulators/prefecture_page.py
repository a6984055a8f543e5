"""The prefecture simulator's own web page: what a tester or a trainer clicks to make the
prefecture unavailable or reject every deposit until they restore normal service.

Outages last until lifted (unlike the counted faults of the ``/admin`` JSON endpoints, which
automated tests arm): a training session can show a transmission refused, the case waiting for
an operator, then the operator's retry once the prefecture works again.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from connectors.actes.status import TransactionStatus
from devstack.simulators.prefecture_store import Outage, SimulatorStore

__all__ = ["DEFAULT_REASON", "OUTAGE_KINDS", "outage_response", "page", "set_outage"]

OUTAGE_KINDS = {
    "normal": "Fonctionnement normal",
    "indisponible": "Indisponible : toute requête reçoit « HTTP 503, service en maintenance »",
    "rejet": "Rejet des dépôts : chaque acte déposé est refusé (réponse KO) avec le motif ci-dessous",
}
DEFAULT_REASON = "Dépôt refusé : le service de contrôle de légalité est fermé (panne simulée)."
MAX_REASON = 300
PARIS = ZoneInfo("Europe/Paris")
LISTED = 50
"""Transmissions shown on the page, the most recent first."""

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1e1e1e;line-height:1.5}
header{background:#6a1b9a;color:#fff;padding:.5rem 1rem}
main{max-width:60rem;margin:0 auto;padding:1rem}
fieldset{border:1px solid #777;padding:.5rem 1rem;margin:0 0 1rem}
label{display:block;margin:.3rem 0}
input[type=text]{width:100%;max-width:40rem;padding:.3rem;box-sizing:border-box}
button{padding:.4rem 1rem;font-size:1rem}
.state{padding:.5rem 1rem;border-left:.4rem solid #2e7d32;background:#eef6ee}
.state.down{border-color:#b71c1c;background:#fdecea}
table{border-collapse:collapse;width:100%;margin-top:.5rem}
th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;overflow-wrap:anywhere}
"""


def outage_response(store: SimulatorStore, *, deposit: bool) -> Response | None:
    """What the outage in force answers instead of the real work (None: no outage)."""
    outage = store.outage()
    if outage is None:
        return None
    if outage.kind == "indisponible":
        return PlainTextResponse("Service en maintenance (panne simulée)\n", 503)
    if outage.kind == "rejet" and deposit:
        return PlainTextResponse(f"KO\n{outage.reason}\n", headers={"X-Tdt-Error": "rejected"})
    return None


def _local(when: dt.datetime) -> str:
    return when.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def _state(outage: Outage | None) -> str:
    if outage is None:
        return '<p class="state" role="status">État actuel : fonctionnement normal.</p>'
    since = _local(outage.since)
    if outage.kind == "indisponible":
        text = f"État actuel : indisponible depuis le {since} (HTTP 503 à toute requête)."
    else:
        text = (
            f"État actuel : rejet des dépôts depuis le {since}, motif « {escape(outage.reason)} »."
        )
    return f'<p class="state down" role="status">{text}</p>'


def _choices(outage: Outage | None) -> str:
    current = outage.kind if outage is not None else "normal"
    rows = []
    for value, label in OUTAGE_KINDS.items():
        checked = " checked" if value == current else ""
        rows.append(
            f'<label><input type="radio" name="etat" value="{value}"{checked}> '
            f"{escape(label)}</label>"
        )
    return "\n".join(rows)


def _transmissions(store: SimulatorStore) -> str:
    received = store.all()[-LISTED:][::-1]
    if not received:
        return "<p>Aucune transmission reçue.</p>"
    rows = "".join(
        f"<tr><td>{t.id}</td><td>{escape(t.act_unique_id)}</td><td>{escape(t.siren)}</td>"
        f"<td>{escape(TransactionStatus(t.status).label)}</td><td>{_local(t.submitted_at)}</td></tr>"
        for t in received
    )
    return (
        "<table><caption>Les dernières transmissions, de la plus récente à la plus ancienne"
        '</caption><thead><tr><th scope="col">N°</th><th scope="col">Acte</th>'
        '<th scope="col">SIREN</th><th scope="col">État</th><th scope="col">Reçue le</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def page(store: SimulatorStore, *, notice: str = "", status_code: int = 200) -> HTMLResponse:
    outage = store.outage()
    reason = outage.reason if outage is not None and outage.kind == "rejet" else DEFAULT_REASON
    alert = f'<p role="alert">{escape(notice)}</p>' if notice else ""
    body = f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Simulateur de la préfecture (@ctes)</title><style>{_STYLE}</style></head>
<body><header><p>Simulateur de développement et de formation : aucun acte ne part vers une
préfecture réelle.</p></header>
<main>
<h1>Simulateur de la préfecture (@ctes)</h1>
{_state(outage)}
{alert}
<form method="post" action="/pannes">
<fieldset><legend>Comportement du simulateur</legend>
{_choices(outage)}
<label for="motif">Motif du rejet (réponse de la préfecture)</label>
<input type="text" id="motif" name="motif" maxlength="{MAX_REASON}" value="{escape(reason)}">
</fieldset>
<button type="submit">Appliquer</button>
</form>
<h2>Transmissions reçues</h2>
{_transmissions(store)}
</main></body></html>
"""
    return HTMLResponse(body, status_code)


def _same_origin(request: Request) -> bool:
    """A form posted from this page, not from another site the browser visits."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # a command-line client: the simulator listens on the loopback only
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def set_outage(store: SimulatorStore, request: Request) -> Response:
    if not _same_origin(request):
        return PlainTextResponse("Formulaire refusé : il ne vient pas de cette page.\n", 403)
    form = await request.form(max_files=0, max_fields=5, max_part_size=4096)
    state = str(form.get("etat") or "")
    reason = " ".join(str(form.get("motif") or "").split())
    if state not in OUTAGE_KINDS:
        return page(store, notice="Choisissez un comportement du simulateur.", status_code=422)
    if len(reason) > MAX_REASON:
        return page(
            store,
            notice=f"Le motif du rejet dépasse {MAX_REASON} caractères : raccourcissez-le.",
            status_code=422,
        )
    if state == "normal":
        store.lift_outage()
    else:
        store.set_outage(state, reason or DEFAULT_REASON)
    return RedirectResponse("/", status_code=303)
