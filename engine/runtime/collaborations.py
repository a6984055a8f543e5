"""The spec a case runs: one process, or the executable pools of a collaboration together."""

from __future__ import annotations

from typing import Any

from engine.domain.errors import ProcessDefinitionError
from engine.runtime.service_task import DematflowBpmnParser

__all__ = ["main_specs"]


def main_specs(parser: DematflowBpmnParser, main: str) -> tuple[Any, dict[str, Any]]:
    """The spec a case runs: `main` names a process, or a collaboration (several pools with
    message flows). A process taking part in a collaboration runs with the other executable
    pools of that collaboration, so that messages between pools stay inside the case; a pool
    whose start event waits for a message is started when that message comes."""
    collaboration = main if main in parser.collaborations else None
    if collaboration is None and parser.get_process_parser(main) is not None:
        collaboration = next(
            (name for name, pools in parser.collaborations.items() if main in pools), None
        )
    if collaboration is not None:
        pools = [
            pool
            for pool in parser.collaborations[collaboration]
            if (pool_parser := parser.get_process_parser(pool)) is not None
            and pool_parser.process_executable
        ]
        if len(pools) == 1:  # the other pools are black boxes: messages to them leave the case
            main = pools[0]
        else:
            spec, subprocess_specs = parser.get_collaboration(collaboration)
            if not spec.start.outputs:
                raise ProcessDefinitionError(
                    f"collaboration « {collaboration} » : chaque couloir exécutable attend un "
                    "message pour démarrer ; un couloir au moins doit commencer sans message"
                )
            for name in list(subprocess_specs):
                subprocess_specs.update(parser.get_subprocess_specs(name))
            return spec, subprocess_specs
    if parser.get_process_parser(main) is None:
        known = ", ".join(sorted(parser.process_parsers)) or "aucun (fichiers .bpmn absents ?)"
        collaborations = ", ".join(sorted(parser.collaborations))
        raise ProcessDefinitionError(
            f"procedure.yaml : main_process « {main} » ne nomme aucun processus ; "
            f"processus trouvés : {known}"
            + (f" ; collaborations trouvées : {collaborations}" if collaborations else "")
        )
    return parser.get_spec(main), parser.get_subprocess_specs(main)
