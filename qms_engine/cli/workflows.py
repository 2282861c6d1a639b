"""`qms wf …`: the declarative workflow definitions the engine has loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    bold,
    console,
    json_option,
    output_width,
    pass_app,
    print_json,
    print_table,
    signer_option,
)
from qms_engine.cli.tables import Column, wrap
from qms_engine.errors import NotFound

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer
    from qms_engine.rules.workflows import WorkflowDefinition


@click.group()
def wf() -> None:
    """Workflow definitions (from workflows/ and plugins)."""


@wf.command("list")
@json_option
def wf_list(as_json: bool) -> None:
    """List the loaded workflows."""
    from qms_engine.extension.manager import load_plugins

    workflows = load_plugins().workflows
    if as_json:
        print_json(
            [{"name": w.name, "title": w.title, "source": w.source} for w in workflows.values()]
        )
        return
    print_table(
        "Workflows",
        ["Name", Column("Title", fold=True), Column("Defined in", fold=True)],
        [(w.name, w.title, w.source) for w in workflows.values()],
    )


_ACTIONS = {
    "planned": "needs an action planned",
    "done": "needs every action done",
}
"""A nonconformity transition's ``actions`` condition, in words."""

_PARTIES = {
    ("revision", "author"): "whoever wrote the revision",
    ("nonconformity", "author"): "whoever raised the NC",
    ("nonconformity", "implementer"): "whoever did one of the NC's actions (marked it done, or "
    "wrote or made effective the revision it asked for)",
    ("nonconformity", "audited"): "the owner of the area whose internal audit finding raised "
    "the NC",
}
"""What a ``by`` / ``not_by`` entry that is not a transition means, by the workflow's subject
(any other entry: whoever took that transition)."""


def _legend(workflow: WorkflowDefinition) -> list[str]:
    """The parties the transitions' rules name, each with what it means."""
    named = dict.fromkeys(n for t in workflow.transitions.values() for n in (*t.by, *t.not_by))
    return [
        f"{name}: {_PARTIES[workflow.subject, name]}"
        for name in named
        if (workflow.subject, name) in _PARTIES
    ]


@wf.command("show")
@click.argument("name")
@json_option
@pass_app
def wf_show(app: AppContext, name: str, as_json: bool) -> None:
    """Show a workflow's states and transitions (who may take each)."""
    from qms_engine.extension.manager import load_plugins

    workflows = load_plugins().workflows
    if name not in workflows:
        raise NotFound(f"no workflow {name!r} (loaded: {', '.join(sorted(workflows))})")
    workflow = workflows[name]
    if as_json:
        print_json(workflow)
        return
    moves = "nonconformities (CAPA)" if workflow.subject == "nonconformity" else "revisions"
    console().print(
        bold(
            workflow.name,
            f" — {workflow.title}\nMoves: {moves}; initial state: {workflow.initial}",
        ),
        soft_wrap=True,
    )
    print_table(
        "States",
        ["State", "Title", "Notes"],
        [
            (
                s.name,
                s.title,
                ", ".join(
                    note
                    for flag, note in (
                        (s.open, "open"),
                        (s.terminal, "terminal"),
                        (bool(s.exclusive), f"one at a time (others → {s.exclusive})"),
                        (s.starts_review_clock, "review clock starts"),
                        (s.in_force, "in force"),
                        (s.accepts_actions, "accepts actions (added, marked done)"),
                    )
                    if flag
                ),
            )
            for s in workflow.states.values()
        ],
    )
    print_table(
        "Transitions",
        ["Transition", "From → to", "Roles", "Meaning", "Rules"],
        [
            (
                t.name,
                "\n".join((*t.sources, f"→ {t.target}")),  # one a line: no comma widens it
                "\n".join(t.roles),
                t.meaning,
                "; ".join(
                    filter(
                        None,
                        (
                            "comment required" if t.comment_required else "",
                            f"only by {', '.join(t.by)}" if t.by else "",
                            f"not by {', '.join(t.not_by)}" if t.not_by else "",
                            _ACTIONS.get(t.actions or "", ""),
                            "earlier actions no longer count" if t.resets_actions else "",
                            "restarts review clock"
                            if t.target in t.sources
                            and workflow.states[t.target].starts_review_clock
                            else "",
                        ),
                    )
                ),
            )
            for t in workflow.transitions.values()
        ],
    )
    for line in _legend(workflow):
        console().print("\n".join(wrap(line, output_width())), soft_wrap=True)


@wf.command("register")
@click.argument("names", nargs=-1)
@json_option
@signer_option
@pass_app
def wf_register(app: AppContext, names: tuple[str, ...], as_json: bool, signer: Signer) -> None:
    """Register the installed definitions of NAMES (default: every workflow the office uses)
    in the office's audit trail, where they differ from the ones in force (admin).

    The engine runs only definitions registered in the office's chain, and auditors verify
    every event against them: after installing a changed workflow or plugin, review it
    (`qms wf show NAME`), then register it with this command.
    """
    from qms_engine.people.workflow_registrations import register_workflows

    registered = register_workflows(app.runtime, app.office(), actor=signer, names=names)
    if as_json:
        print_json({"registered": registered})
        return
    console().print(
        f"Registered: {', '.join(registered)}"
        if registered
        else "Nothing to register: the installed definitions are the ones in force."
    )


COMMANDS = [wf]
