"""The one rule of who may act on a task (engine.domain.task_access), as a table."""

from __future__ import annotations

import pytest

from engine.domain.task_access import TaskAccess, refusal, task_access, task_kind

CASES = [
    # lane, assignee, login, roles, deputy_for -> allowed, acting_for
    ("elu", "chef", "chef", {"agent"}, (), True, None),  # the assigned agent, whatever the lane
    ("elu", "chef", "suppleant", {"archiviste"}, ("chef",), True, "chef"),  # their deputy
    ("elu", "chef", "maire", {"elu"}, (), False, None),  # the lane's role is not enough
    ("elu", "chef", "admin", {"admin", "agent"}, (), False, None),  # nor administration
    ("elu", "chef", "autre", {"agent"}, ("dgs",), False, None),  # deputy of someone else
    ("elu", "chef", None, {"system"}, (), False, None),  # the platform acts in nobody's name
    ("agent", None, "agent", {"agent"}, (), True, None),  # unassigned: the lane's role
    ("agent", None, "elu", {"elu"}, (), False, None),
    ("agent", None, "suppleant", {"archiviste"}, ("agent",), False, None),  # no role by proxy
    ("agent", None, None, {"system"}, (), True, None),
    (None, None, "quiconque", set(), (), True, None),
]


@pytest.mark.parametrize(("lane", "assignee", "login", "roles", "deputy_for", "ok", "for_"), CASES)
def test_who_may_act(
    lane: str | None,
    assignee: str | None,
    login: str | None,
    roles: set[str],
    deputy_for: tuple[str, ...],
    ok: bool,
    for_: str | None,
) -> None:
    verdict = task_access(
        lane=lane, assignee=assignee, login=login, roles=roles, deputy_for=deputy_for
    )
    assert (verdict.allowed, verdict.acting_for) == (ok, for_)


def test_refusals_are_french_and_name_the_person_or_the_role() -> None:
    assert refusal(TaskAccess(False, reserved_to="chef"), "Sophie Bernard") == (
        "Cette tâche est réservée à Sophie Bernard (ou à son délégataire)."
    )
    assert refusal(TaskAccess(False, lane="elu")) == "Cette tâche revient au rôle « Élu »."


def test_visas_and_signatures_are_named_so() -> None:
    assert task_kind("viser", "elu", "chef") == "Visa"
    assert task_kind("signer", "elu", "maire") == "Signature"
    assert task_kind("rediger_projet", "agent", None) is None
