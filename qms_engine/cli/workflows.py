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
from qms_engine.i18n import N_, _

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
        _("Workflows"),
        [_("Name"), Column(_("Title"), fold=True), Column(_("Defined in"), fold=True)],
        [(w.name, w.title, w.source) for w in workflows.values()],
    )


_ACTIONS = {
    "planned": N_("needs an action planned"),
    "done": N_("needs every action done"),
}
"""A nonconformity transition's ``actions`` condition, in words."""

_PARTIES = {
    ("revision", "author"): N_("whoever wrote the revision"),
    ("nonconformity", "author"): N_("whoever raised the NC"),
    ("nonconformity", "implementer"): N_(
        "whoever did one of the NC's actions (marked it done, or wrote or made effective the "
        "revision it asked for)"
    ),
    ("nonconformity", "audited"): N_(
        "the owner of the area whose internal audit finding raised the NC"
    ),
}
"""What a ``by`` / ``not_by`` entry that is not a transition means, by the workflow's subject
(any other entry: whoever took that transition)."""


def _legend(workflow: WorkflowDefinition) -> list[str]:
    """The parties the transitions' rules name, each with what it means."""
    named = dict.fromkeys(n for t in workflow.transitions.values() for n in (*t.by, *t.not_by))
    return [
        f"{name}: {_(_PARTIES[workflow.subject, name])}"
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
        raise NotFound(
            _("no workflow {name} (loaded: {loaded})").format(
                name=repr(name), loaded=", ".join(sorted(workflows))
            )
        )
    workflow = workflows[name]
    if as_json:
        print_json(workflow)
        return
    moves = _("nonconformities (CAPA)") if workflow.subject == "nonconformity" else _("revisions")
    console().print(
        bold(
            workflow.name,
            _(" — {title}\nMoves: {moves}; initial state: {initial}").format(
                title=workflow.title, moves=moves, initial=workflow.initial
            ),
        ),
        soft_wrap=True,
    )
    print_table(
        _("States"),
        [_("State"), _("Title"), _("Notes")],
        [
            (
                s.name,
                s.title,
                ", ".join(
                    note
                    for flag, note in (
                        (s.open, _("open")),
                        (s.terminal, _("terminal")),
                        (
                            bool(s.exclusive),
                            _("one at a time (others → {state})").format(state=s.exclusive),
                        ),
                        (s.starts_review_clock, _("review clock starts")),
                        (s.in_force, _("in force")),
                        (s.accepts_actions, _("accepts actions (added, marked done)")),
                    )
                    if flag
                ),
            )
            for s in workflow.states.values()
        ],
    )
    print_table(
        _("Transitions"),
        [_("Transition"), _("From → to"), _("Roles"), _("Meaning"), _("Rules")],
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
                            _("comment required") if t.comment_required else "",
                            _("only by {parties}").format(parties=", ".join(t.by)) if t.by else "",
                            _("not by {parties}").format(parties=", ".join(t.not_by))
                            if t.not_by
                            else "",
                            _(_ACTIONS[t.actions]) if t.actions in _ACTIONS else "",
                            _("earlier actions no longer count") if t.resets_actions else "",
                            _("restarts review clock")
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
        _("Registered: {names}").format(names=", ".join(registered))
        if registered
        else _("Nothing to register: the installed definitions are the ones in force.")
    )


COMMANDS = [wf]
