"""Lifts SpiffWorkflow's task-iterator depth limit, which silently stalls long-looping cases.

`TaskIterator` stops descending at depth 1000 by default, and the engine itself finds READY
tasks through it: a loop of three flow nodes therefore stops advancing after ~333 iterations,
with the case "running" and nothing to do (measured with bench/procedures/boucle). Iteration
is not recursive (it keeps an explicit list), so a deeper limit costs nothing until reached.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

MAX_TASK_DEPTH = 1_000_000


def _lift(cls: type) -> None:
    init = cls.__init__  # type: ignore[misc]
    defaults = list(init.__defaults__ or ())
    names = init.__code__.co_varnames[1 : init.__code__.co_argcount]
    position = names.index("max_depth") - (len(names) - len(defaults))
    defaults[position] = MAX_TASK_DEPTH
    init.__defaults__ = tuple(defaults)


_lift(TaskIterator)
_lift(BpmnTaskIterator)
