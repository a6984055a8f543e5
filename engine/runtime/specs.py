"""Process definitions: read a procedure folder, hash it, parse and validate it for deployment.

A deployed definition is immutable and content-addressed: its hash is the SHA-256 over the
sorted names and digests of the files that define behaviour (BPMN, DMN, forms, manifest).
Cases record that hash, so deploying a changed procedure never changes a running case.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jsonschema
import yaml
from lxml import etree  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.dmn.specs.business_rule_task_mixin import BusinessRuleTaskMixin
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from engine.domain.errors import ProcessDefinitionError
from engine.domain.personal_data import PersonalDataDeclaration, parse_personal_data
from engine.runtime.collaborations import main_specs
from engine.runtime.evaluator import EvaluationError, check_expression, check_script
from engine.runtime.evaluator_check import parse_python
from engine.runtime.multi_instance import wire_loop_instances
from engine.runtime.personal_data_check import check_personal_data
from engine.runtime.service_task import AsyncServiceTask, DematflowBpmnParser
from engine.runtime.signal_rules import SignalRule, caught_signals, signal_rules
from engine.runtime.spiff_events import (
    interrupting_event_subprocesses,
    wire_triggered_subprocesses,
)

MAX_FILE_BYTES = 2 * 1024 * 1024
BPMN_SUFFIXES = (".bpmn", ".bpmn20.xml")
DEFINITION_SUFFIXES = (*BPMN_SUFFIXES, ".dmn", ".json", ".yaml")
SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=False
)


class OperationCatalog(Protocol):
    """The operations a platform runs, as deployment checks service tasks against them."""

    def check_service_task(self, operation: str, params: Mapping[str, str]) -> None:
        """Raise ProcessDefinitionError (French) for an unknown operation or wrong parameters
        (`params`: parameter name → expression source, as written in the BPMN)."""


@dataclass(frozen=True)
class ProcessBundle:
    """The files of one procedure version, as deployed."""

    procedure: str
    title: str
    main_process: str
    files: Mapping[str, bytes]
    hash: str
    description: str = ""
    roles: Mapping[str, str] = field(default_factory=dict)
    messages: Mapping[str, MessageRule] = field(default_factory=dict)
    """Messages people may deliver (`messages:` of procedure.yaml); the others: connector only."""
    signals: Mapping[str, SignalRule] = field(default_factory=dict)
    """Signals that may be sent to a case from outside (`signals:`); no other can."""
    personal_data: PersonalDataDeclaration | None = None
    """Personal data the cases hold, why, and how long outside the archive (`personal_data:`)."""


CONNECTOR = "connector"
OPERATOR = "operator"


@dataclass(frozen=True)
class MessageRule:
    """Who may deliver one message of a procedure, and the JSON Schema of its payload."""

    name: str
    senders: frozenset[str]
    """`connector`, `operator` (with a reason) and/or roles of the procedure (`agent`, …)."""
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ParsedProcess:
    """A bundle parsed by SpiffWorkflow, ready to start or restore cases. Shared, never mutated."""

    bundle: ProcessBundle
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: Mapping[str, dict[str, Any]]


def bundle_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(files[name]).hexdigest().encode("ascii") + b"\n")
    return digest.hexdigest()


SHARED_CIRCUITS = Path(__file__).resolve().parents[2] / "processes" / "_circuits"
"""Reusable processes (signature circuits) a procedure may copy in with `uses:`."""
_CIRCUIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,80}$")
_FORM_PROPERTY = "formJsonSchemaFilename"


def read_procedure_dir(directory: Path, *, circuits: Path | None = None) -> ProcessBundle:
    """Read `processes/<procedure>/`: procedure.yaml, *.bpmn, *.dmn and forms/*.json.

    `uses: [name, ...]` in procedure.yaml copies `<circuits>/<name>.bpmn` and the forms it
    names into the bundle, so a deployed bundle stays self-contained and content-addressed.
    `circuits` defaults to a `_circuits` folder beside the procedure, else the shared one.
    """
    manifest_path = directory / "procedure.yaml"
    if not manifest_path.is_file():
        raise ProcessDefinitionError(f"{directory}: procedure.yaml manquant")
    files: dict[str, bytes] = {}
    candidates = [manifest_path, *directory.glob("*.bpmn"), *directory.glob("*.dmn")]
    candidates += list(directory.glob("*.bpmn20.xml"))  # Camunda / Activiti exports
    candidates += list((directory / "forms").glob("*.json"))
    candidates += list((directory / "messages").glob("*.json"))
    for path in candidates:
        files[path.relative_to(directory).as_posix()] = _read_limited(path)
    uses = _uses(files["procedure.yaml"])
    if uses:
        if circuits is None:
            sibling = directory.parent / "_circuits"
            circuits = sibling if sibling.is_dir() else SHARED_CIRCUITS
        for name in uses:
            _copy_circuit(files, circuits, name)
    return bundle_from_files(files)


def _read_limited(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ProcessDefinitionError(f"{path}: fichier trop volumineux")
    return path.read_bytes()


def _uses(manifest: bytes) -> list[str]:
    try:
        loaded = yaml.safe_load(manifest)
    except yaml.YAMLError as exc:
        raise ProcessDefinitionError(f"procedure.yaml illisible : {exc}") from exc
    uses = loaded.get("uses") if isinstance(loaded, dict) else None
    if uses is None:
        return []
    if not isinstance(uses, list) or not all(
        isinstance(n, str) and _CIRCUIT_NAME.match(n) for n in uses
    ):
        raise ProcessDefinitionError("procedure.yaml : `uses` doit lister des noms de circuits")
    return list(uses)


def _copy_circuit(files: dict[str, bytes], circuits: Path, name: str) -> None:
    """Copy a shared circuit and its forms; a name clash with the procedure's files is an error."""
    source = circuits / f"{name}.bpmn"
    if not source.is_file():
        raise ProcessDefinitionError(f"circuit « {name} » introuvable dans {circuits}")
    content = _read_limited(source)
    wanted = {f"{name}.bpmn": content}
    try:
        root = etree.fromstring(content, SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise ProcessDefinitionError(f"{source}: XML invalide: {exc}") from exc
    for form in root.xpath("//*[local-name()='property'][@name=$n]/@value", n=_FORM_PROPERTY):
        form_path = circuits / "forms" / str(form)
        if not form_path.is_file() or form_path.parent != circuits / "forms":
            raise ProcessDefinitionError(f"circuit « {name} » : formulaire {form} introuvable")
        wanted[f"forms/{form}"] = _read_limited(form_path)
    for key, value in wanted.items():
        if key in files and files[key] != value:
            raise ProcessDefinitionError(
                f"circuit « {name} » : {key} existe déjà dans la procédure"
            )
        files[key] = value


def bundle_from_files(files: Mapping[str, bytes]) -> ProcessBundle:
    try:
        manifest = yaml.safe_load(files["procedure.yaml"])
    except (KeyError, yaml.YAMLError) as exc:
        raise ProcessDefinitionError(f"procedure.yaml illisible : {exc}") from exc
    if not isinstance(manifest, dict) or not {"id", "title", "main_process"} <= manifest.keys():
        raise ProcessDefinitionError("procedure.yaml doit définir id, title et main_process")
    roles = {str(k): str(v) for k, v in (manifest.get("roles") or {}).items()}
    return ProcessBundle(
        procedure=str(manifest["id"]),
        title=str(manifest["title"]),
        main_process=str(manifest["main_process"]),
        description=str(manifest.get("description", "")),
        roles=roles,
        messages=_message_rules(manifest.get("messages"), roles, files),
        signals=signal_rules(manifest.get("signals"), {CONNECTOR, OPERATOR, *roles}),
        personal_data=parse_personal_data(manifest.get("personal_data")),
        files=dict(files),
        hash=bundle_hash(files),
    )


def _message_rules(
    declared: Any, roles: Mapping[str, str], files: Mapping[str, bytes]
) -> dict[str, MessageRule]:
    """`messages: {name: {from: [connector|operator|role, ...], schema: messages/x.json}}`."""
    if declared is None:
        return {}
    if not isinstance(declared, dict):
        raise ProcessDefinitionError("procedure.yaml : `messages` doit associer un nom à sa règle")
    rules: dict[str, MessageRule] = {}
    allowed = {CONNECTOR, OPERATOR, *roles}
    for name, rule in declared.items():
        where = f"procedure.yaml, message « {name} »"
        senders = rule.get("from") if isinstance(rule, dict) else None
        if (
            not isinstance(senders, list)
            or not senders
            or not all(isinstance(s, str) for s in senders)
        ):
            raise ProcessDefinitionError(f"{where} : `from` doit lister qui peut le remettre")
        unknown = sorted(set(senders) - allowed)
        if unknown:
            raise ProcessDefinitionError(
                f"{where} : expéditeur inconnu {', '.join(unknown)} "
                f"(connector, operator ou un rôle de la procédure)"
            )
        schema_file = rule.get("schema")
        schema: dict[str, Any] | None = None
        if schema_file is not None:
            if not isinstance(schema_file, str) or schema_file not in files:
                raise ProcessDefinitionError(f"{where} : schéma {schema_file} introuvable")
            try:
                schema = json.loads(files[schema_file])
                jsonschema.Draft202012Validator.check_schema(schema)
            except (ValueError, jsonschema.SchemaError) as exc:
                raise ProcessDefinitionError(
                    f"{schema_file}: schéma de message invalide: {exc}"
                ) from exc
        if schema is None and set(senders) - {CONNECTOR}:
            raise ProcessDefinitionError(f"{where} : un message remis par une personne a un schéma")
        rules[str(name)] = MessageRule(str(name), frozenset(senders), schema)
    return rules


def caught_messages(parsed: ParsedProcess) -> set[str]:
    """Names of the messages the process and its subprocesses wait for."""
    names: set[str] = set()
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(task_spec, CatchingEvent) and isinstance(
                definition, MessageEventDefinition
            ):
                names.add(definition.name)
    return names


def parse_bundle(
    bundle: ProcessBundle, *, operations: OperationCatalog | None = None
) -> ParsedProcess:
    """Parse and validate a bundle; raise ProcessDefinitionError naming file, element and line."""
    parser = DematflowBpmnParser()
    for name, content in sorted(bundle.files.items()):
        try:
            if name.endswith(BPMN_SUFFIXES):
                parser.add_bpmn_xml(etree.fromstring(content, SAFE_XML), filename=name)
            elif name.endswith(".dmn"):
                parser.add_dmn_xml(etree.fromstring(content, SAFE_XML), filename=name)
        except etree.XMLSyntaxError as exc:
            raise ProcessDefinitionError(f"{name}: XML invalide: {exc}") from exc
        except ValidationException as exc:
            raise ProcessDefinitionError(_describe_validation(exc, bundle.files)) from exc
    try:
        spec, subprocess_specs = main_specs(parser, bundle.main_process)
    except ValidationException as exc:
        raise ProcessDefinitionError(_describe_validation(exc, bundle.files)) from exc
    forms = _load_forms(bundle)
    if bundle.personal_data is not None:
        check_personal_data(bundle.personal_data, bundle.files, forms)
    interrupting = interrupting_event_subprocesses(
        [
            etree.fromstring(c, SAFE_XML)
            for n, c in bundle.files.items()
            if n.endswith(BPMN_SUFFIXES)
        ]
    )
    for process_spec in [spec, *subprocess_specs.values()]:
        _check_process_spec(process_spec, forms, operations, bundle.files)
        wire_triggered_subprocesses(process_spec, interrupting)
        wire_loop_instances(process_spec)
    uncaught = sorted(set(bundle.signals) - caught_signals([spec, *subprocess_specs.values()]))
    if uncaught:
        raise ProcessDefinitionError(
            f"procedure.yaml : signal déclaré mais attendu par aucun événement : {', '.join(uncaught)}"
        )
    return ParsedProcess(bundle=bundle, spec=spec, subprocess_specs=subprocess_specs, forms=forms)


_PARSED: dict[str, ParsedProcess] = {}
"""Parsed definitions by content hash: immutable, so shared by every case of the process."""


def cached_process(digest: str) -> ParsedProcess | None:
    return _PARSED.get(digest)


def parsed_from_files(digest: str, files: Mapping[str, bytes]) -> ParsedProcess:
    """Parse a stored definition once per process; its content must match its hash."""
    parsed = _PARSED.get(digest)
    if parsed is None:
        bundle = bundle_from_files(files)
        if bundle.hash != digest:
            raise ProcessDefinitionError(f"définition {digest[:12]} altérée (empreinte différente)")
        parsed = parse_bundle(bundle)
        _PARSED[digest] = parsed
    return parsed


def _describe_validation(exc: ValidationException, files: Mapping[str, bytes]) -> str:
    file_name = getattr(exc, "file_name", None) or ""
    element = getattr(exc, "id", None)
    line = getattr(exc, "line_number", None) or _line_of(files.get(file_name), element)
    where = ", ".join(
        part
        for part in (
            file_name or None,
            f"élément {element}" if element else None,
            f"ligne {line}" if line else None,
        )
        if part
    )
    message = exc.args[0] if exc.args else str(exc)
    if 'with id "None"' in message:
        message += (
            " ; la règle métier ne nomme pas sa table de décision : écrivez "
            "<spiffworkflow:calledDecisionId>id_de_la_decision</spiffworkflow:calledDecisionId> "
            "dans ses extensionElements (camunda:decisionRef n'est pas lu)"
        )
    return f"{where}: {message}"


def _line_of(content: bytes | None, element: str | None) -> int | None:
    """Source line of the element with this id, for messages SpiffWorkflow leaves without one."""
    if not content or not element:
        return None
    root = etree.fromstring(content, SAFE_XML)
    found = root.xpath("//*[@id=$id]", id=element)
    return found[0].sourceline if found else None


def _load_forms(bundle: ProcessBundle) -> dict[str, dict[str, Any]]:
    forms: dict[str, dict[str, Any]] = {}
    for name, content in bundle.files.items():
        if not name.startswith("forms/"):
            continue
        try:
            schema = json.loads(content)
            jsonschema.Draft202012Validator.check_schema(schema)
        except (ValueError, jsonschema.SchemaError) as exc:
            raise ProcessDefinitionError(f"{name}: schéma de formulaire invalide: {exc}") from exc
        forms[name.removeprefix("forms/")] = schema
    return forms


def flow_nodes(parsed: ParsedProcess) -> set[str]:
    """Every BPMN flow node id of the process and its subprocesses (for path coverage)."""
    nodes: set[str] = set()
    for spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for task_spec in spec.task_specs.values():
            if task_spec.bpmn_id and task_spec.bpmn_id != spec.name:
                nodes.add(task_spec.bpmn_id)
    return nodes


def task_properties(task_spec: Any) -> dict[str, str]:
    """The `spiffworkflow:properties` of a flow node (empty for engine-internal specs)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    return dict(extensions.get("properties") or {})


def form_name(task_spec: Any) -> str | None:
    value = task_properties(task_spec).get("formJsonSchemaFilename")
    return str(value) if value else None


def _check_process_spec(
    process_spec: Any,
    forms: Mapping[str, Any],
    operations: OperationCatalog | None,
    files: Mapping[str, bytes] | None = None,
) -> None:
    for task_spec in process_spec.task_specs.values():
        where = _where(process_spec, task_spec, files or {})
        try:
            _check_task_spec(task_spec, forms, operations)
        except ProcessDefinitionError as exc:
            raise ProcessDefinitionError(f"{where}: {exc}") from exc


def _where(process_spec: Any, task_spec: Any, files: Mapping[str, bytes]) -> str:
    """`file, élément id « name », ligne n` for messages about one flow node."""
    element = task_spec.bpmn_id or task_spec.name
    where = f"{process_spec.file}, élément {element}"
    name = element_name(task_spec)
    if name:
        where += f" « {name} »"
    try:
        line = _line_of(files.get(process_spec.file), task_spec.bpmn_id)
    except etree.XMLSyntaxError:
        line = None
    return f"{where}, ligne {line}" if line else where


def element_name(task_spec: Any) -> str | None:
    """The BPMN name of a flow node; loops and multi-instances keep it on their inner spec."""
    if task_spec.bpmn_name:
        return str(task_spec.bpmn_name)
    for other in task_spec._wf_spec.task_specs.values():
        if other.bpmn_id == task_spec.bpmn_id and other.bpmn_name:
            return str(other.bpmn_name)
    return None


def _check_task_spec(
    task_spec: Any, forms: Mapping[str, Any], operations: OperationCatalog | None
) -> None:
    name = form_name(task_spec)
    if name is not None and name not in forms:
        raise ProcessDefinitionError(f"formulaire forms/{name} introuvable")
    if isinstance(task_spec, AsyncServiceTask) and operations is not None:
        operations.check_service_task(
            str(task_spec.operation_name),
            {str(k): str(p["value"]) for k, p in task_spec.operation_params.items()},
        )
    for site, mode, source in expression_sites(task_spec):
        try:
            if mode == "exec":
                check_script(source)
            else:
                check_expression(source)
        except EvaluationError as exc:
            raise ProcessDefinitionError(f"expression refusée ({site}) : {exc}") from exc
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(task_spec, CatchingEvent) and isinstance(definition, TimerEventDefinition):
        _refuse_naive_literal(definition.expression)


def expression_sites(task_spec: Any) -> Iterator[tuple[str, str, str]]:
    """Every expression or script the engine may evaluate for this flow node, as
    (what it is, "eval" or "exec", source): what runs must be what validation checked."""
    assignee = task_properties(task_spec).get("assignee")
    if assignee:
        yield "expression du destinataire (assignee)", "eval", assignee
    subject = task_properties(task_spec).get("subject")
    if subject:
        yield "expression du sujet de la tâche (subject)", "eval", subject
    correlation = task_properties(task_spec).get("correlation")
    if correlation and isinstance(task_spec, CatchingEvent):
        yield "expression de corrélation", "eval", correlation
    if isinstance(task_spec, ScriptTask):
        yield "script", "exec", task_spec.script or ""
    for label, attribute in (("pré-script", "prescript"), ("post-script", "postscript")):
        script = getattr(task_spec, attribute, None)
        if script:
            yield label, "exec", script
    if isinstance(task_spec, MultiChoice):
        for condition, _target in task_spec.cond_task_specs:
            if condition is not None:
                yield "condition de flux", "eval", condition.args[0]
    if isinstance(task_spec, AsyncServiceTask):
        for key, param in task_spec.operation_params.items():
            yield f"paramètre « {key} »", "eval", param["value"]
    if isinstance(task_spec, StandardLoopTask) and task_spec.condition:
        yield "condition de boucle", "eval", task_spec.condition
    if isinstance(task_spec, MultiInstanceTask):
        if task_spec.cardinality:
            yield "cardinalité d'instances multiples", "eval", task_spec.cardinality
        if task_spec.condition:
            yield "condition de fin d'instances multiples", "eval", task_spec.condition
    yield from _event_sites(getattr(task_spec, "event_definition", None))
    if isinstance(task_spec, BusinessRuleTaskMixin):
        yield from _dmn_sites(task_spec.dmnEngine.decision_table)


def _event_sites(definition: Any) -> Iterator[tuple[str, str, str]]:
    if definition is None:
        return
    if isinstance(definition, TimerEventDefinition):
        yield "expression de minuteur", "eval", definition.expression
    if isinstance(definition, ConditionalEventDefinition):
        yield "condition d'événement", "eval", definition.expression
    payload = getattr(definition, "expression", None)
    if (
        isinstance(payload, str)
        and payload
        and not isinstance(definition, TimerEventDefinition | ConditionalEventDefinition)
    ):
        yield "contenu du message ou du signal", "eval", payload
    for prop in getattr(definition, "correlation_properties", None) or []:
        if prop.retrieval_expression:
            yield f"corrélation « {prop.name} »", "eval", prop.retrieval_expression
    for inner in getattr(definition, "event_definitions", None) or []:  # multiple events
        yield from _event_sites(inner)


_DMN_INPUT = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def _dmn_sites(table: Any) -> Iterator[tuple[str, str, str]]:
    """The expressions SpiffWorkflow's DMN engine builds from each cell (see DMNEngine.evaluate)."""
    for rule in table.rules:
        row = f"table {table.id}, règle {rule.row_number}"
        for entry in rule.inputEntries:
            source = entry.input.expression or entry.input.label or ""
            for match in entry.lhs:
                if match is None:
                    continue
                cell = f"cellule d'entrée DMN ({row})"
                if _DMN_INPUT.search(match):
                    yield cell, "eval", source
                    yield cell, "eval", _DMN_INPUT.sub("dmninputexpr", match)
                    continue
                try:
                    parse_python(match.strip(), mode="eval")
                except (SyntaxError, ValueError):
                    yield cell, "eval", f"{source} {match}"
                else:
                    yield cell, "eval", f"({source}) == ({match})"
        for output in rule.outputEntries:
            if output.text:
                yield f"cellule de sortie DMN ({row})", "eval", output.text


def _refuse_naive_literal(expression: str) -> None:
    """A literal date-time in a timer must carry its offset: the engine runs in UTC."""
    literal = expression.strip()
    if len(literal) >= 2 and literal[0] == literal[-1] and literal[0] in "\"'":
        value = literal[1:-1]
        for part in value.split("/"):
            if part.startswith(("P", "R")) or "T" not in part:
                continue
            if not (part.endswith("Z") or "+" in part[10:] or "-" in part[10:]):
                raise ProcessDefinitionError(
                    f"date-heure sans fuseau « {value} » : ajoutez Z ou un décalage (+01:00)"
                )
