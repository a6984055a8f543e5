"""Conformance models: one tiny BPMN model per element SpiffWorkflow supports, each run through
the facade (`engine.runtime.facade`) with save/restore at every step, with its expected path
(completed flow nodes in order) and final data.

Covered: user, manual, script, service (our operations), business rule (DMN) tasks and call
activities; exclusive, inclusive, parallel and event-based gateways; none, message, signal and
timer start events; none, terminate, error and escalation end events; intermediate message,
signal, timer and escalation events; interrupting and non-interrupting boundary timers,
boundary message, signal, error (an operation's failure, an error end event) and escalation
events; embedded, event (message interrupting, signal and timer non-interrupting) and
transaction sub-processes with cancel; multi-instance (parallel over a collection, sequential by
cardinality, completion condition); standard loops. Link events are not covered: SpiffWorkflow
3.2 does not parse them.
"""
