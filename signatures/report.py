"""Render a validation report as JSON and as a readable French HTML page."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from jinja2 import Environment, select_autoescape

from signatures.verdicts import ValidationReport

__all__ = ["report_to_dict", "report_to_html", "report_to_json"]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def report_to_dict(report: ValidationReport) -> dict[str, Any]:
    """The report as plain JSON-ready data, with the bottom lines added."""
    data: dict[str, Any] = _plain(report)
    data["valid"] = report.valid
    data["summary"] = report.summary
    for entry, signature in zip(data["signatures"], report.signatures, strict=True):
        entry["valid"] = signature.valid
        entry["summary"] = signature.summary
    return data


def report_to_json(report: ValidationReport) -> str:
    """The report as indented UTF-8 JSON."""
    return json.dumps(report_to_dict(report), ensure_ascii=False, indent=2)


_TEMPLATE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Rapport de validation des signatures</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
.ok{color:#0a6b2d}.ko{color:#a4001d}
section{border:1px solid #999;border-radius:4px;padding:1rem;margin:1rem 0}
th{text-align:left;padding-right:1rem;vertical-align:top}
</style>
</head>
<body>
<h1>Rapport de validation des signatures</h1>
<p class="{{ 'ok' if r.valid else 'ko' }}"><strong>{{ r.summary }}</strong></p>
<table>
<tr><th scope="row">Empreinte SHA-256</th><td><code>{{ r.sha256 }}</code></td></tr>
<tr><th scope="row">Taille</th><td>{{ r.size }} octets</td></tr>
<tr><th scope="row">Validé le</th><td>{{ d(r.validated_at) }}</td></tr>
<tr><th scope="row">Révocation en ligne</th><td>{{ 'autorisée' if r.online_revocation else 'non (données du document uniquement)' }}</td></tr>
</table>
{% if r.problems %}<h2>Problèmes du document</h2><ul>{% for p in r.problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}
{% for s in r.signatures %}
<section aria-labelledby="sig{{ loop.index }}">
<h2 id="sig{{ loop.index }}">Signature {{ loop.index }} : {{ s.signer or 'signataire inconnu' }}</h2>
<p class="{{ 'ok' if s.valid else 'ko' }}"><strong>{{ s.summary }}</strong></p>
<table>
<tr><th scope="row">Champ</th><td>{{ s.field_name }}</td></tr>
<tr><th scope="row">Niveau PAdES atteint</th><td>{{ s.pades_level or 'aucun (signature non PAdES)' }}</td></tr>
<tr><th scope="row">Date déclarée</th><td>{{ d(s.claimed_signing_time) }}</td></tr>
<tr><th scope="row">Autorité de confiance</th><td>{{ s.trust_anchor or 'aucune' }}</td></tr>
<tr><th scope="row">Chaîne</th><td>{% for c in s.chain %}{{ c.subject }} (n° {{ c.serial }}, valide du {{ d(c.not_before) }} au {{ d(c.not_after) }})<br>{% else %}non établie{% endfor %}</td></tr>
<tr><th scope="row">Révocation</th><td>{{ s.revocation_status }}{% if s.revocation_checked_at %}, données du {{ d(s.revocation_checked_at) }}{% endif %}</td></tr>
<tr><th scope="row">Horodatage</th><td>{% for t in s.timestamps %}{{ d(t.time) }} par {{ t.authority }} ({{ 'valide' if t.valid else 'non valide' }})<br>{% else %}aucun{% endfor %}</td></tr>
<tr><th scope="row">Modifications ultérieures</th><td>{{ s.modification }}</td></tr>
</table>
{% if s.problems %}<h3>Problèmes</h3><ul>{% for p in s.problems %}<li>{{ p }}</li>{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
{% if r.document_timestamps %}<h2>Horodatages de document</h2><ul>
{% for t in r.document_timestamps %}<li>{{ d(t.time) }} par {{ t.authority }} : {{ 'valide' if t.valid else 'non valide — ' ~ t.problem }}</li>{% endfor %}
</ul>{% endif %}
</body>
</html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def _date(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M:%S %Z") if value else "inconnue"


def report_to_html(report: ValidationReport) -> str:
    """A standalone, escaped, French HTML page describing the report."""
    return _ENV.from_string(_TEMPLATE).render(r=report, d=_date)
