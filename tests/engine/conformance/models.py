"""Compact BPMN models for the conformance tests: one tiny process per element.

`model(body, flows)` wraps flow nodes written in BPMN's default namespace (`<userTask id="u"/>`)
into a definitions document, and writes the sequence flows from a short notation:
`"a>b"` (id `f_a_b`), `"gw>b ? x > 1"` (a condition). A gateway's default flow is named in
its `default` attribute by that id (`default="f_gw_b"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"\n'
    ' id="conformance" targetNamespace="https://dematflow.fr/tests/conformance">\n'
)
_IDS = re.compile(
    r"<(?!sequenceFlow|process|definitions|message |signal |error |escalation )"
    r'(\w+)[^>]*\bid="([^"]+)"'
)


@dataclass(frozen=True)
class Model:
    """One procedure bundle (BPMN, optional DMN) and the ids of its flow nodes."""

    files: dict[str, bytes]
    nodes: frozenset[str] = field(default_factory=frozenset)


def flows(*specs: str) -> str:
    lines = []
    for spec in specs:
        link, _, condition = spec.partition("?")
        source, target = (part.strip() for part in link.split(">"))
        flow = f'<sequenceFlow id="f_{source}_{target}" sourceRef="{source}" targetRef="{target}"'
        if condition.strip():
            flow += f"><conditionExpression>{escape(condition.strip())}</conditionExpression>"
            flow += "</sequenceFlow>"
        else:
            flow += " />"
        lines.append(flow)
    return "\n".join(lines)


def process(pid: str, body: str, *links: str, executable: bool = True) -> str:
    flag = "true" if executable else "false"
    return f'<process id="{pid}" isExecutable="{flag}">\n{body}\n{flows(*links)}\n</process>\n'


def model(body: str, *links: str, header: str = "", extra: str = "", dmn: str = "") -> Model:
    """A process `p` of `body` and `links`; `header` adds messages, signals, errors at the top,
    `extra` further processes (called ones)."""
    xml = HEAD + header + process("p", body, *links) + extra + "</definitions>\n"
    files = {
        "procedure.yaml": b"id: conformite\ntitle: Conformite\nmain_process: p\n",
        "p.bpmn": xml.encode(),
    }
    if dmn:
        files["d.dmn"] = dmn.encode()
    nodes = {
        node_id
        for tag, node_id in _IDS.findall(xml)
        if tag not in {"outputDataItem", "inputDataItem", "collaboration", "participant"}
    }
    return Model(files, frozenset(nodes))


def message(name: str) -> str:
    return f'<message id="m_{name}" name="{name}" />\n'


def signal(name: str) -> str:
    return f'<signal id="s_{name}" name="{name}" />\n'


def error(code: str) -> str:
    return f'<error id="e_{code}" name="{code}" errorCode="{code}" />\n'


def escalation(code: str) -> str:
    return f'<escalation id="x_{code}" name="{code}" escalationCode="{code}" />\n'


def script(node_id: str, text: str) -> str:
    return f'<scriptTask id="{node_id}"><script>{escape(text)}</script></scriptTask>'
