"""Every mail a procedure sends renders with the context its BPMN passes (walked, not listed).

The BPMN files are read for their `connectors.send_mail` steps and the template (`modele`)
each names, literally or through a variable its scripts set; every procedure scenario is then
run and each mail step's evaluated parameters are rendered exactly as the operation does. A
template named in a model but missing from the mailer, or a context that lacks a variable the
template reads, fails here rather than in a citizen's case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from connectors import NotificationKind
from connectors.mail.rendering import RenderedMail, render_notification
from engine.operations.mail import MODELES, mail_context
from engine.rendering.formatting import MAIL_FILTERS
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import parse_bundle, read_procedure_dir
from tests.support.scenarios import load_scenarios, run_scenario

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
MAIL = "connectors.send_mail"
TENANT = "Commune de Saint-Exemple"


def _procedures() -> list[Path]:
    return sorted(p for p in PROCESSES.iterdir() if (p / "procedure.yaml").is_file())


def named_templates() -> dict[str, set[str]]:
    """Template name → the BPMN files whose mail steps name it."""
    found: dict[str, set[str]] = {}
    for bpmn in sorted(PROCESSES.rglob("*.bpmn")):
        tree = etree.parse(str(bpmn))
        scripts = " ".join(tree.xpath("//bpmn:script/text()", namespaces=NS))
        for operator in tree.xpath(
            f"//spiffworkflow:serviceTaskOperator[@id='{MAIL}']", namespaces=NS
        ):
            (value,) = operator.xpath(
                "spiffworkflow:parameters/spiffworkflow:parameter[@id='modele']/@value",
                namespaces=NS,
            )
            literal = re.fullmatch(r'\s*"([^"]+)"\s*', value)
            if literal:
                names = [literal.group(1)]
            else:  # a variable: the literals the model's scripts assign to it
                names = re.findall(rf'\b{re.escape(value.strip())}\s*=\s*"([^"]+)"', scripts)
                assert names, f"{bpmn.name}: modèle « {value} » sans valeur littérale"
            for name in names:
                found.setdefault(name, set()).add(str(bpmn.relative_to(PROCESSES)))
    return found


def render_as_the_operation_does(params: dict[str, Any]) -> RenderedMail:
    """What `connectors.send_mail` renders for these evaluated parameters."""
    kind = MODELES[str(params["modele"])]
    context = mail_context(kind, TENANT, dict(params.get("contexte") or {}))
    context.setdefault("reference", "5b1c0e7e-0000-4000-8000-000000000000")
    context["attachments"] = context["attachments"] or [
        p["nom"] for p in params.get("pieces") or []
    ]
    return render_notification(kind, {"sender_name": TENANT, **context}, filters=MAIL_FILTERS)


def _scenario_mails(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, Any]]]:
    """(scenario, parameters) of every mail step reached by every procedure's scenarios."""
    seen: list[dict[str, Any]] = []
    original = CaseRuntime.service_calls

    def recording(self: CaseRuntime) -> Any:
        calls = original(self)
        seen.extend(dict(c.params) for c in calls if c.operation == MAIL)
        return calls

    monkeypatch.setattr(CaseRuntime, "service_calls", recording)
    for directory in _procedures():
        parsed = parse_bundle(read_procedure_dir(directory))
        for name, scenario in load_scenarios(directory):
            seen.clear()
            run_scenario(parsed, name, scenario)
            for params in seen:
                yield f"{directory.name}/{name}", params


def test_every_template_a_model_names_exists_and_renders_with_its_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named = named_templates()
    unknown = {name: files for name, files in named.items() if name not in MODELES}
    assert not unknown, f"modèles de courriel inconnus du connecteur : {unknown}"
    rendered: dict[str, int] = {}
    for where, params in _scenario_mails(monkeypatch):
        try:
            mail = render_as_the_operation_does(params)
        except ValueError as exc:
            raise AssertionError(f"{where} : {params['modele']} : {exc}") from exc
        assert mail.subject and "{{" not in mail.text + mail.html, where
        assert "{'" not in mail.text, f"{where} : un objet brut est affiché : {mail.text}"
        rendered[str(params["modele"])] = rendered.get(str(params["modele"]), 0) + 1
    never = sorted(set(named) - set(rendered))
    assert not never, f"modèles nommés mais jamais rendus par un scénario : {never}"
    for name in ("procedure_sans_suite", "rejet_offre", "notification_marche", "demande_pieces"):
        assert name in rendered


def test_every_notification_kind_has_three_parts() -> None:
    templates = Path(render_notification.__code__.co_filename).parent / "templates"
    for kind in NotificationKind:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert (templates / f"{kind.value}{suffix}").is_file(), f"{kind.value}{suffix}"
    platform_only = {NotificationKind.ACCOUNT_RESET}
    assert set(MODELES.values()) == set(NotificationKind) - platform_only
