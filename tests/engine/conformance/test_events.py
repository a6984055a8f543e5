"""Conformance: start and end events (none, message, signal, timer, error, escalation,
terminate), intermediate catch and throw events and boundary events, through the facade."""

from __future__ import annotations

import pytest

from tests.engine.conformance.cases import Case, check
from tests.engine.conformance.models import error, escalation, message, model, script, signal


def _catch(
    node_id: str, definition: str, tag: str = "intermediateCatchEvent", attrs: str = ""
) -> str:
    return f'<{tag} id="{node_id}"{attrs}>{definition}</{tag}>'


def _message(name: str, variable: str = "") -> str:
    inner = (
        f"<extensionElements><spiffworkflow:messageVariable>{variable}"
        "</spiffworkflow:messageVariable></extensionElements>"
        if variable
        else ""
    )
    return f'<messageEventDefinition messageRef="m_{name}">{inner}</messageEventDefinition>'


def _throw_message(name: str, payload: str) -> str:
    return (
        f'<messageEventDefinition messageRef="m_{name}"><extensionElements>'
        f"<spiffworkflow:messagePayload>{payload}</spiffworkflow:messagePayload>"
        "</extensionElements></messageEventDefinition>"
    )


def _signal(name: str) -> str:
    return f'<signalEventDefinition signalRef="s_{name}" />'


def _timer(duration: str) -> str:
    return f"<timerEventDefinition><timeDuration>{duration}</timeDuration></timerEventDefinition>"


MESSAGE_START = model(
    _catch("s", _message("depot", "depot"), "startEvent")
    + script("lire", "ref = depot.reference")
    + '<endEvent id="e"/>',
    "s>lire",
    "lire>e",
    header=message("depot"),
)
SIGNAL_START = model(
    _catch("s", _signal("ouverture"), "startEvent") + '<endEvent id="e"/>',
    "s>e",
    header=signal("ouverture"),
)
TIMER_START = model(_catch("s", _timer('"PT1H"'), "startEvent") + '<endEvent id="e"/>', "s>e")
TERMINATE = model(
    '<startEvent id="s"/><parallelGateway id="g"/><userTask id="attente"/>'
    + script("vite", "fini = True")
    + '<endEvent id="stop"><terminateEventDefinition/></endEvent><endEvent id="e"/>',
    "s>g",
    "g>attente",
    "g>vite",
    "vite>stop",
    "attente>e",
)
INTERMEDIATE_MESSAGE = model(
    '<startEvent id="s"/><parallelGateway id="g"/>'
    + _catch("envoyer", _throw_message("avis", '{"sens": "favorable"}'), "intermediateThrowEvent")
    + _catch("recevoir", _message("avis", "avis"))
    + '<parallelGateway id="j"/><endEvent id="e"/>',
    "s>g",
    "g>recevoir",
    "g>envoyer",
    "envoyer>j",
    "recevoir>j",
    "j>e",
    header=message("avis"),
)
INTERMEDIATE_SIGNAL = model(
    '<startEvent id="s"/><parallelGateway id="g"/>'
    + _catch("emettre", _signal("feu_vert"), "intermediateThrowEvent")
    + _catch("attendre", _signal("feu_vert"))
    + '<parallelGateway id="j"/><endEvent id="e"/>',
    "s>g",
    "g>attendre",
    "g>emettre",
    "emettre>j",
    "attendre>j",
    "j>e",
    header=signal("feu_vert"),
)
EXTERNAL = model(
    '<startEvent id="s"/>'
    + _catch("message", _message("accuse", "accuse"))
    + _catch("signal", _signal("reprise"))
    + _catch("minuteur", _timer('"P2D"'))
    + '<endEvent id="e"/>',
    "s>message",
    "message>signal",
    "signal>minuteur",
    "minuteur>e",
    header=message("accuse") + signal("reprise"),
)


def _boundary(node_id: str, definition: str, interrupting: bool = True) -> str:
    flag = "" if interrupting else ' cancelActivity="false"'
    return f'<boundaryEvent id="{node_id}" attachedToRef="u"{flag}>{definition}</boundaryEvent>'


def _on_user_task(boundary: str, header: str = "") -> object:
    return model(
        '<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>'
        + boundary
        + script("reagir", "reaction = True")
        + '<endEvent id="e_b"/>',
        "s>u",
        "u>e",
        f"{boundary.split(chr(34))[1]}>reagir",
        "reagir>e_b",
        header=header,
    )


TIMER_INTERRUPTING = _on_user_task(_boundary("b", _timer('"P1D"')))
TIMER_NON_INTERRUPTING = _on_user_task(_boundary("b", _timer('"P1D"'), interrupting=False))
MESSAGE_BOUNDARY = _on_user_task(_boundary("b", _message("rejet", "rejet")), message("rejet"))
SIGNAL_BOUNDARY = _on_user_task(_boundary("b", _signal("annulation")), signal("annulation"))
SERVICE_ERROR = model(
    """<startEvent id="s"/>
    <serviceTask id="signer"><extensionElements>
      <spiffworkflow:serviceTaskOperator id="signatures.seal" resultVariable="scelle">
        <spiffworkflow:parameters>
          <spiffworkflow:parameter id="document" type="any" value="document" />
        </spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator></extensionElements></serviceTask>
    <boundaryEvent id="refus" attachedToRef="signer"><errorEventDefinition errorRef="e_refusee"/>
    </boundaryEvent>"""
    + script("noter", "statut = 'refusé'")
    + '<endEvent id="e"/><endEvent id="e_refus"/>',
    "s>signer",
    "signer>e",
    "refus>noter",
    "noter>e_refus",
    header=error("refusee"),
)


def _subprocess_raising(definition: str, boundary: str, header: str) -> object:
    return model(
        '<startEvent id="s"/><subProcess id="sp"><startEvent id="sp_s"/>'
        + script("sp_t", "dans_sp = True")
        + f'<endEvent id="sp_e">{definition}</endEvent>'
        + '<sequenceFlow id="sp1" sourceRef="sp_s" targetRef="sp_t"/>'
        + '<sequenceFlow id="sp2" sourceRef="sp_t" targetRef="sp_e"/></subProcess>'
        + boundary.replace('attachedToRef="u"', 'attachedToRef="sp"')
        + script("reagir", "reaction = True")
        + '<endEvent id="e"/><endEvent id="e_b"/>',
        "s>sp",
        "sp>e",
        "b>reagir",
        "reagir>e_b",
        header=header,
    )


ERROR_END = _subprocess_raising(
    '<errorEventDefinition errorRef="e_incomplet"/>',
    _boundary("b", '<errorEventDefinition errorRef="e_incomplet"/>'),
    error("incomplet"),
)
ESCALATION_END = _subprocess_raising(
    '<escalationEventDefinition escalationRef="x_urgent"/>',
    _boundary("b", '<escalationEventDefinition escalationRef="x_urgent"/>', interrupting=False),
    escalation("urgent"),
)

CASES = [
    Case(
        "message start",
        MESSAGE_START,
        ["s", "lire", "e"],
        {"ref": "DEM-1"},
        steps=[("message", "depot", {"reference": "DEM-1"})],
    ),
    Case("message start waits", MESSAGE_START, [], completed=False),
    Case("signal start", SIGNAL_START, ["s", "e"], steps=[("signal", "ouverture")]),
    Case("timer start", TIMER_START, ["s", "e"], steps=[("timer", "s")]),
    Case("terminate end", TERMINATE, ["s", "g", "vite", "stop"], {"fini": True}),
    Case(
        "intermediate message throw and catch",
        INTERMEDIATE_MESSAGE,
        ["s", "g", "envoyer", "recevoir", "j", "e"],
        {"avis": {"sens": "favorable"}},
    ),
    Case(
        "intermediate signal throw and catch",
        INTERMEDIATE_SIGNAL,
        ["s", "g", "emettre", "attendre", "j", "e"],
    ),
    Case(
        "intermediate catch from outside",
        EXTERNAL,
        ["s", "message", "signal", "minuteur", "e"],
        {"accuse": {"id": "AR-1"}},
        steps=[("message", "accuse", {"id": "AR-1"}), ("signal", "reprise"), ("timer", "minuteur")],
    ),
    Case(
        "boundary timer interrupting",
        TIMER_INTERRUPTING,
        ["s", "b", "reagir", "e_b"],
        {"reaction": True},
        steps=[("timer", "b")],
    ),
    Case(
        "boundary timer non-interrupting",
        TIMER_NON_INTERRUPTING,
        ["s", "b", "reagir", "e_b", "u", "e"],
        {"reaction": True, "ok": 1},
        steps=[("timer", "b"), ("complete", "u", {"ok": 1})],
    ),
    Case(
        "boundary message",
        MESSAGE_BOUNDARY,
        ["s", "b", "reagir", "e_b"],
        {"rejet": {"motif": "incomplet"}},
        steps=[("message", "rejet", {"motif": "incomplet"})],
    ),
    Case(
        "boundary signal",
        SIGNAL_BOUNDARY,
        ["s", "b", "reagir", "e_b"],
        {"reaction": True},
        steps=[("signal", "annulation")],
    ),
    Case("boundary not triggered", SIGNAL_BOUNDARY, ["s", "u", "e"], steps=[("complete", "u")]),
    Case(
        "boundary error on an operation failure",
        SERVICE_ERROR,
        ["s", "refus", "noter", "e_refus"],
        {"statut": "refusé"},
        {"document": {"id": "d"}},
        steps=[("fail", "signer", "refusee")],
    ),
    # SpiffWorkflow records the sub-process as completed before its boundary event takes
    # over; the interrupting error leaves the normal flow (`e`) untaken.
    Case(
        "error end event caught by a boundary",
        ERROR_END,
        ["s", "sp_s", "sp_t", "sp_e", "sp", "b", "reagir", "e_b"],
        {"reaction": True},
    ),
    Case(
        "escalation end event, non-interrupting boundary",
        ESCALATION_END,
        ["s", "sp_s", "sp_t", "sp_e", "sp", "b", "e", "reagir", "e_b"],
        {"reaction": True},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_element(case: Case) -> None:
    check(case)
