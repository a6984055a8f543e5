"""A BPMN process `essai` around one flow node `site` (start → site → end), for the tests of
validation sites and of errors while a case advances."""

from __future__ import annotations

MANIFEST = b"id: essai\ntitle: Essai\nmain_process: essai\n"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
    ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"\n'
    ' id="d" targetNamespace="https://dematflow.fr/tests">\n'
    '<bpmn:process id="essai" isExecutable="true">\n'
    '<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>\n'
)
TAIL = (
    '<bpmn:endEvent id="fin"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>\n'
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="site" />\n'
    '<bpmn:sequenceFlow id="f2" sourceRef="site" targetRef="fin" />\n'
    "</bpmn:process></bpmn:definitions>\n"
)
