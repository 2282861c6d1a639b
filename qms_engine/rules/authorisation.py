"""Who may take a workflow transition: the role and segregation-of-duties rules, written once.

The write path (:mod:`qms_engine.documents.transitions`) refuses with the first problem these
functions find; the verifier (:mod:`qms_engine.chain.verifier`) reports the same problem at the
event that broke the rule.  One text, so a rule cannot be enforced one way and checked another.
"""

from __future__ import annotations

from collections.abc import Callable

from qms_engine.rules.workflows import AUTHOR, Transition


def role_problem(transition: Transition, role: str) -> str | None:
    """Why ``role`` may not take ``transition`` (None: it may)."""
    if role in transition.roles:
        return None
    return f"{transition.name!r} needs role {' or '.join(transition.roles)}, not {role!r}"


def segregation_problem(
    transition: Transition, actor: str, *, is_author: bool, took: Callable[[str], bool]
) -> str | None:
    """Why ``actor`` may not take ``transition`` on a revision under its ``not_by`` rules (None:
    they may).  ``is_author``: the actor wrote the revision; ``took(name)``: the actor took the
    transition ``name`` on this revision before."""
    for rule in transition.not_by:
        if rule == AUTHOR:
            if is_author:
                return (
                    f"{actor!r} wrote this revision and may not {transition.name} it: "
                    "segregation of duties needs another person"
                )
        elif took(rule):
            return (
                f"{actor!r} took {rule!r} on this revision and may not also {transition.name} "
                "it: segregation of duties needs another person"
            )
    return None
