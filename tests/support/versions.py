"""Second versions of the shipped procedures, made from the files of the first, for migration
tests: one with changed form labels and an added optional field, one with a user task removed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from engine.runtime.clock import frozen_now
from engine.runtime.facade import CaseRuntime
from engine.runtime.specs import ParsedProcess, ProcessBundle, bundle_from_files
from tests.support import scenarios as harness

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ADDED_FIELD = "remarque_v2"

REMOVABLE = {
    "arrete": "relancer_elu",
    "commande-publique": "preparer_marche",
    "deliberation": "repondre_courrier",
    "demande-usager": "instruire",
    "seance-conseil": "constater_presences",
}
"""A user task of each procedure, with one flow in and one out, that v2 removes."""


def relabelled(bundle: ProcessBundle) -> ProcessBundle:
    """v2: every form's first field gets a new label, and an optional field is added."""
    files = dict(bundle.files)
    for name, content in bundle.files.items():
        if not name.startswith("forms/"):
            continue
        form = json.loads(content)
        properties = form.setdefault("properties", {})
        for spec in properties.values():
            if isinstance(spec, dict):
                spec["title"] = f"{spec.get('title', '')} (v2)"
                break
        properties[ADDED_FIELD] = {"type": "string", "title": "Remarque (v2)", "maxLength": 200}
        files[name] = json.dumps(form, ensure_ascii=False).encode("utf-8")
    return bundle_from_files(files)


def without_task(bundle: ProcessBundle, element: str) -> ProcessBundle:
    """v2: the user task `element` is removed and its incoming flow goes where it went."""
    files: dict[str, bytes] = dict(bundle.files)
    for name, content in bundle.files.items():
        if name.endswith(".bpmn") and f'id="{element}"'.encode() in content:
            files[name] = _cut(content, element)
            return bundle_from_files(files)
    raise AssertionError(f"{element} introuvable")


def _cut(content: bytes, element: str) -> bytes:
    root = etree.fromstring(content)
    ns = {"b": BPMN}
    (task,) = root.xpath("//b:*[@id=$id]", namespaces=ns, id=element)
    (incoming,) = root.xpath("//b:sequenceFlow[@targetRef=$id]", namespaces=ns, id=element)
    (outgoing,) = root.xpath("//b:sequenceFlow[@sourceRef=$id]", namespaces=ns, id=element)
    target = outgoing.get("targetRef")
    incoming.set("targetRef", target)
    (target_node,) = root.xpath("//b:*[@id=$id]", namespaces=ns, id=target)
    for ref in target_node.xpath("b:incoming", namespaces=ns):
        if ref.text == outgoing.get("id"):
            ref.text = incoming.get("id")
    for node in (task, outgoing):
        node.getparent().remove(node)
    for ref in root.xpath("//b:flowNodeRef[text()=$id]", namespaces=ns, id=element):
        ref.getparent().remove(ref)
    for shape in root.xpath(
        "//*[@bpmnElement=$a or @bpmnElement=$b]", a=element, b=outgoing.get("id")
    ):
        shape.getparent().remove(shape)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def pauses(parsed: ParsedProcess, scenario: dict[str, Any], name: str) -> list[tuple[Any, Any]]:
    """The stored state and the scenario clock at each pause: before each step, and at the end."""
    now = harness._parse_start(scenario.get("start_at"))
    with frozen_now(now):
        runtime = CaseRuntime.start(parsed, dict(scenario.get("start") or {}))
    paused = [(runtime.dump(), now)]
    for index, step in enumerate(scenario.get("steps") or [], start=1):
        runtime = harness._round_trip(runtime)
        with frozen_now(now):
            now = harness._apply_step(runtime, step, now, f"{name}, étape {index}")
        paused.append((runtime.dump(), now))
    return paused


def form_files(bundle: ProcessBundle) -> Mapping[str, bytes]:
    return {n: c for n, c in bundle.files.items() if n.startswith("forms/")}
