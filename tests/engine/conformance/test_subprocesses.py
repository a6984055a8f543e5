"""Conformance: sub-processes (embedded, event sub-processes, transaction with cancel),
multi-instance (sequential or parallel, cardinality or collection, completion condition) and
standard loops, through the facade."""

from __future__ import annotations

import pytest

from tests.engine.conformance.cases import Case, check
from tests.engine.conformance.models import escalation, message, model, script, signal


def _inner(sp_id: str, body: str, *links: str, attrs: str = "", tag: str = "subProcess") -> str:
    flows = "".join(
        f'<sequenceFlow id="{sp_id}_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
        for a, b in (link.split(">") for link in links)
    )
    return f'<{tag} id="{sp_id}"{attrs}>{body}{flows}</{tag}>'


EMBEDDED = model(
    '<startEvent id="s"/>'
    + _inner(
        "sp",
        '<startEvent id="sp_s"/>' + script("calc", "total = a + b") + '<endEvent id="sp_e"/>',
        "sp_s>calc",
        "calc>sp_e",
    )
    + script("apres", "double = total * 2")
    + '<endEvent id="e"/>',
    "s>sp",
    "sp>apres",
    "apres>e",
)


def _event_subprocess(start: str, interrupting: bool, header: str) -> object:
    flag = "" if interrupting else ' isInterrupting="false"'
    handler = _inner(
        "esp",
        f'<startEvent id="esp_s"{flag}>{start}</startEvent>'
        + script("traiter", "traite = True")
        + '<endEvent id="esp_e"/>',
        "esp_s>traiter",
        "traiter>esp_e",
        attrs=' triggeredByEvent="true"',
    )
    return model(
        '<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>' + handler,
        "s>u",
        "u>e",
        header=header,
    )


MESSAGE_INTERRUPTING = _event_subprocess(
    '<messageEventDefinition messageRef="m_retrait"/>', True, message("retrait")
)
SIGNAL_NON_INTERRUPTING = _event_subprocess(
    '<signalEventDefinition signalRef="s_relance"/>', False, signal("relance")
)
TIMER_NON_INTERRUPTING = _event_subprocess(
    '<timerEventDefinition><timeDuration>"P7D"</timeDuration></timerEventDefinition>',
    False,
    "",
)
ESCALATION_THROW = model(
    '<startEvent id="s"/>'
    + _inner(
        "sp",
        '<startEvent id="sp_s"/><intermediateThrowEvent id="alerter">'
        '<escalationEventDefinition escalationRef="x_retard"/></intermediateThrowEvent>'
        + script("continuer", "suite = True")
        + '<endEvent id="sp_e"/>',
        "sp_s>alerter",
        "alerter>continuer",
        "continuer>sp_e",
    )
    + '<boundaryEvent id="b" attachedToRef="sp" cancelActivity="false">'
    '<escalationEventDefinition escalationRef="x_retard"/></boundaryEvent>'
    + script("prevenir", "prevenu = True")
    + '<endEvent id="e"/><endEvent id="e_b"/>',
    "s>sp",
    "sp>e",
    "b>prevenir",
    "prevenir>e_b",
    header=escalation("retard"),
)
TRANSACTION = model(
    '<startEvent id="s"/>'
    + _inner(
        "tx",
        '<startEvent id="tx_s"/><exclusiveGateway id="tx_g" default="tx_tx_g_tx_e"/>'
        '<endEvent id="tx_cancel"><cancelEventDefinition/></endEvent><endEvent id="tx_e"/>',
        "tx_s>tx_g",
        "tx_g>tx_e",
        tag="transaction",
    ).replace(
        '<sequenceFlow id="tx_tx_g_tx_e"',
        '<sequenceFlow id="tx_tx_g_tx_cancel" sourceRef="tx_g" targetRef="tx_cancel">'
        "<conditionExpression>annuler</conditionExpression></sequenceFlow>"
        '<sequenceFlow id="tx_tx_g_tx_e"',
    )
    + '<boundaryEvent id="annulee" attachedToRef="tx"><cancelEventDefinition/></boundaryEvent>'
    + script("noter", "statut = 'annulée'")
    + '<endEvent id="e"/><endEvent id="e_annulee"/>',
    "s>tx",
    "tx>e",
    "annulee>noter",
    "noter>e_annulee",
)


def _multi(loop: str, task: str = "userTask") -> object:
    body = f'<{task} id="mi"><multiInstanceLoopCharacteristics {loop}</multiInstanceLoopCharacteristics></{task}>'
    return model('<startEvent id="s"/>' + body + '<endEvent id="e"/>', "s>mi", "mi>e")


MI_COLLECTION_PARALLEL = _multi(
    'isSequential="false"><loopDataInputRef>elus</loopDataInputRef>'
    "<loopDataOutputRef>votes</loopDataOutputRef>"
    '<inputDataItem id="elu" name="elu"/><outputDataItem id="vote" name="vote"/>'
)
MI_CARDINALITY_SEQUENTIAL = model(
    '<startEvent id="s"/><scriptTask id="mi"><multiInstanceLoopCharacteristics isSequential="true">'
    "<loopCardinality>nombre</loopCardinality><loopDataOutputRef>carres</loopDataOutputRef>"
    '<outputDataItem id="carre" name="carre"/></multiInstanceLoopCharacteristics>'
    "<script>carre = 1</script></scriptTask>"
    '<endEvent id="e"/>',
    "s>mi",
    "mi>e",
)
MI_COMPLETION = _multi(
    'isSequential="true"><loopDataInputRef>elus</loopDataInputRef>'
    "<loopDataOutputRef>votes</loopDataOutputRef>"
    '<inputDataItem id="elu" name="elu"/><outputDataItem id="vote" name="vote"/>'
    # evaluated on the instance that just completed: its output item is `vote`
    "<completionCondition>vote == &quot;contre&quot;</completionCondition>"
)
LOOP = model(
    '<startEvent id="s"/>'
    '<scriptTask id="boucle"><standardLoopCharacteristics>'
    "<loopCondition>n &lt; 3</loopCondition></standardLoopCharacteristics>"
    "<script>n = n + 1</script></scriptTask>"
    '<endEvent id="e"/>',
    "s>boucle",
    "boucle>e",
)


def _votes(*votes: str) -> list[tuple[str, str, dict[str, str]]]:
    return [("complete", "mi", {"vote": vote}) for vote in votes]


CASES = [
    Case(
        "embedded sub-process",
        EMBEDDED,
        ["s", "sp_s", "calc", "sp_e", "sp", "apres", "e"],
        {"total": 5, "double": 10},
        {"a": 2, "b": 3},
    ),
    Case(
        "event sub-process, message, interrupting",
        MESSAGE_INTERRUPTING,
        ["s", "esp_s", "traiter", "esp_e", "esp"],
        {"traite": True},
        steps=[("message", "retrait", {})],
    ),
    Case(
        "event sub-process, signal, non-interrupting",
        SIGNAL_NON_INTERRUPTING,
        ["s", "esp_s", "traiter", "esp_e", "esp", "u", "e"],
        {"fin": 1},
        steps=[("signal", "relance"), ("complete", "u", {"fin": 1})],
    ),
    Case(
        "event sub-process, timer, non-interrupting",
        TIMER_NON_INTERRUPTING,
        ["s", "esp_s", "traiter", "esp_e", "esp"],
        completed=False,
        steps=[("timer", "esp_s")],
    ),
    Case(
        "intermediate escalation throw, non-interrupting boundary",
        ESCALATION_THROW,
        # SpiffWorkflow lets the boundary path start once the sub-process has ended
        ["s", "sp_s", "alerter", "continuer", "sp_e", "sp", "b", "e", "prevenir", "e_b"],
        {"prevenu": True, "suite": True},
    ),
    Case(
        "transaction completed",
        TRANSACTION,
        ["s", "tx_s", "tx_g", "tx_e", "tx", "e"],
        start={"annuler": False},
    ),
    Case(
        "transaction cancelled",
        TRANSACTION,
        ["s", "tx_s", "tx_g", "tx_cancel", "tx", "annulee", "noter", "e_annulee"],
        {"statut": "annulée"},
        {"annuler": True},
    ),
    Case(
        "multi-instance parallel over a collection",
        MI_COLLECTION_PARALLEL,
        ["s", "mi", "mi", "mi", "mi", "e"],
        {"votes": ["pour", "contre", "pour"]},
        {"elus": ["ana", "bruno", "chloe"]},
        _votes("pour", "contre", "pour"),
    ),
    Case(
        "multi-instance sequential by cardinality",
        MI_CARDINALITY_SEQUENTIAL,
        ["s", "mi", "mi", "mi", "mi", "e"],
        {"carres": [1, 1, 1]},
        {"nombre": 3},
    ),
    Case(
        "multi-instance completion condition",
        MI_COMPLETION,
        ["s", "mi", "mi", "mi", "e"],
        {"votes": ["pour", "contre"]},
        {"elus": ["ana", "bruno", "chloe"]},
        _votes("pour", "contre"),
    ),
    Case(
        "standard loop",
        LOOP,
        ["s", "boucle", "boucle", "boucle", "boucle", "e"],
        {"n": 3},
        {"n": 0},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_element(case: Case) -> None:
    check(case)
