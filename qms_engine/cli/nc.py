"""`qms nc …`: nonconformities (ISO 9001 10.2) and their corrective actions, each step signed.

Raise an NC, move it through the CAPA workflow (``workflows/capa.toml``), plan its actions and
mark them done, read one with its signed history, get its evidence files back exactly, and
list the actions past due in every office for the SP office's review.  The rules (roles,
segregation of duties, due dates, open actions) are the engine's (:mod:`qms_engine.capa`);
this module parses and formats.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qms_engine.cli.context import (
    AppContext,
    bold,
    console,
    day_only,
    filters_given,
    json_option,
    output_options,
    output_width,
    pass_app,
    print_json,
    print_table,
    say_written,
    signer_option,
    when,
    write_output,
)
from qms_engine.cli.tables import Column, shell_lines, wrap
from qms_engine.cli.views import act_name
from qms_engine.clock import local_today
from qms_engine.i18n import _
from qms_engine.rules.capa_terms import ACTION_TYPES, NC_SOURCES, SEVERITIES, spoken

if TYPE_CHECKING:
    from qms_engine.capa.records import ActionRow, NcEvent, NcRow, StoredFile
    from qms_engine.chain.signing import Signer
    from qms_engine.chain.unit_of_work import OfficeRef

FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def nc() -> None:
    """Nonconformities (NCs) and corrective actions (ISO 9001 10.2), every step signed.

    An NC is raised, contained, its cause analysed, actions planned (each with a type, an owner
    and a due date) and done, their effectiveness verified by someone who did none of them,
    then closed (`qms wf show capa`).  For example:

    \b
      qms nc raise --title "Malkhana register not signed" --description "…" \\
          --source internal_audit --severity minor --clause 7.5.3 --as priya
      qms nc act PS-KOT39/NC/2026/001 contain --comment "Signed now" --as priya
      qms nc action add PS-KOT39/NC/2026/001 --type corrective --description "…" \\
          --owner anita --due 2026-12-15 --as priya
      qms nc action done PS-KOT39/NC/2026/001#A1 --comment "…" \\
          --evidence roster.pdf --as anita
      qms nc show PS-KOT39/NC/2026/001
      qms nc evidence PS-KOT39/NC/2026/001 A1 -o roster.pdf
    """


# --- writing ---------------------------------------------------------------------------------


@nc.command("raise")
@click.option("--title", required=True, help="What went wrong, in a line (Hindi is fine).")
@click.option(
    "--description", required=True, help="What was found, where and when, as seen (Hindi too)."
)
@click.option("--source", required=True, help=f"Where it was found: {spoken(NC_SOURCES)}.")
@click.option("--severity", required=True, help=f"How serious: {spoken(SEVERITIES)}.")
@click.option("--clause", default="", help="The ISO 9001 clause or SOP concerned, e.g. 7.5.3.")
@click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="NUMBER",
    help="A controlled document of the office it is about, e.g. PS-KOT39/SOP/001 (repeatable).",
)
@click.option(
    "--record",
    "records",
    multiple=True,
    metavar="NUMBER",
    help="A register record of the office it is about, e.g. PS-KOT39/GD/2026/0112 (repeatable).",
)
@click.option(
    "--evidence",
    multiple=True,
    type=FILE,
    metavar="FILE",
    help="A photograph, scan, PDF or .docx showing it, kept in the blob store (repeatable; the "
    "same content given twice is kept once; `qms nc evidence` hands it back).",
)
@signer_option
@json_option
@pass_app
def nc_raise(
    app: AppContext,
    title: str,
    description: str,
    source: str,
    severity: str,
    clause: str,
    documents: tuple[str, ...],
    records: tuple[str, ...],
    evidence: tuple[Path, ...],
    signer: Signer,
    as_json: bool,
) -> None:
    """Record a nonconformity in the office, signed.

    It is numbered OFFICE/NC/YEAR/NNN and starts as raised.  Anyone holding a
    role in the office may raise one, naming the documents and records it is about and the
    evidence.  Example:

    \b
      qms nc raise --title "मालखाना रजिस्टर पर हस्ताक्षर नहीं" \\
          --description "Entries 41-57 of the malkhana register are unsigned" \\
          --source internal_audit --severity minor --clause 7.5.3 \\
          --record PS-KOT39/MALKHANA/2026/0041 --evidence register-page.jpg --as priya
    """
    from qms_engine.capa.nonconformities import raise_nc

    raised = raise_nc(
        app.runtime,
        office=app.office().code,
        actor=signer,
        title=title,
        description=description,
        source=source,
        severity=severity,
        clause=clause,
        documents=documents,
        records=records,
        evidence=evidence,
    )
    if as_json:
        print_json(raised)
        return
    console().print(
        _("{number} raised ({state}), event #{seq}").format(
            number=raised.number, state=raised.state, seq=raised.event_seq
        )
    )


@nc.command("act")
@click.argument("number")
@click.argument("transition")
@click.option(
    "--comment",
    default="",
    help="What was done or found: required for contain (the correction), analyse (the root "
    "cause), verify (how it was checked), reopen and cancel (why).",
)
@signer_option
@json_option
@pass_app
def nc_act(
    app: AppContext, number: str, transition: str, comment: str, signer: Signer, as_json: bool
) -> None:
    """Move a nonconformity along its CAPA workflow, signed.

    TRANSITION is one of its workflow's: contain, analyse, plan, implement, verify, reopen,
    close or cancel in the capa workflow.  plan needs an action, implement and close need
    every action done, and nobody who implemented an action verifies the NC.  `qms wf show
    capa` says who may take each and what it needs; `qms tasks` lists those you may take
    now.  Example:

    \b
      qms nc act PS-KOT39/NC/2026/001 analyse \\
          --comment "No one was assigned to sign the register daily" --as priya
    """
    from qms_engine.capa.nonconformities import take_nc_transition

    step = take_nc_transition(
        app.runtime, number=number, transition=transition, actor=signer, comment=comment
    )
    if as_json:
        print_json(step)
        return
    console().print(
        _("{number}: {before} → {after} ({transition}), event #{seq}").format(
            number=step.number,
            before=step.from_state,
            after=step.to_state,
            transition=step.transition,
            seq=step.event_seq,
        )
    )


@nc.group("action")
def nc_action() -> None:
    """Plan an NC's actions, mark yours done, or hand one to another owner.

    An action has a type, an owner and a due date; one that asks for a document's revision is
    done when that revision becomes effective."""


def _action_result(app: AppContext, subject: str, event_seq: int) -> dict[str, Any]:
    """An action just added or marked done (by event ``event_seq``), for scripts: whose it
    is, what, whose to do and when due, as ``qms nc show --json`` names them."""
    from qms_engine.capa.actions import parse_action
    from qms_engine.capa.records import actions_of, load_nc

    number, n = parse_action(subject)
    with app.runtime.engine.connect() as connection:
        (action,) = [a for a in actions_of(connection, load_nc(connection, number)) if a.n == n]
    return {
        "office": action.office,
        "nc": action.nc,
        "subject": action.subject,
        "n": action.n,
        "type": action.type,
        "owner": action.owner,
        "due": action.due,
        "document": action.document,
        "event_seq": event_seq,
    }


@nc_action.command("add")
@click.argument("number")
@click.option(
    "--type", "action_type", required=True, help=f"The action's type: {spoken(ACTION_TYPES)}."
)
@click.option("--description", required=True, help="What is to be done (Hindi is fine).")
@click.option("--owner", required=True, metavar="USER", help="Who does it (enrolled here).")
@click.option(
    "--due",
    required=True,
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="When it is due: today or later, in the office's calendar.",
)
@click.option(
    "--document",
    default="",
    metavar="NUMBER",
    help="A controlled document to revise: the action is done when a new revision of it "
    "becomes effective (nobody marks it done by hand).",
)
@signer_option
@json_option
@pass_app
def nc_action_add(
    app: AppContext,
    number: str,
    action_type: str,
    description: str,
    owner: str,
    due: date,
    document: str,
    signer: Signer,
    as_json: bool,
) -> None:
    """Add an action to the plan of the nonconformity NUMBER.

    Actions are numbered NUMBER#A1, #A2 ….  While the NC's cause is analysed or its plan is
    under way, a quality coordinator or an
    approver plans actions.  Examples:

    \b
      qms nc action add PS-KOT39/NC/2026/001 --type corrective \\
          --description "Assign the duty officer to sign the register daily" \\
          --owner anita --due 2026-12-15 --as priya
      qms nc action add PS-KOT39/NC/2026/001 --type preventive \\
          --description "Add the daily signature to the malkhana SOP" \\
          --owner anita --due 2026-12-31 --document PS-KOT39/SOP/001 --as priya
    """
    from qms_engine.capa.actions import add_action

    added = add_action(
        app.runtime,
        number=number,
        actor=signer,
        type=action_type,
        description=description,
        owner=owner,
        due=due,
        document=document,
    )
    if as_json:
        print_json(_action_result(app, added.subject, added.event_seq))
        return
    target = (
        _(", done once a new revision of {document} is effective").format(document=document)
        if document
        else ""
    )
    console().print(
        _("{subject} planned: {type}, owner {owner}, due {due}{target} (event #{seq})").format(
            subject=added.subject,
            type=action_type,
            owner=owner,
            due=due.isoformat(),
            target=target,
            seq=added.event_seq,
        )
    )


@nc_action.command("done")
@click.argument("action")
@click.option("--comment", required=True, help="What was done (required; Hindi is fine).")
@click.option(
    "--evidence",
    multiple=True,
    type=FILE,
    metavar="FILE",
    help="A photograph, scan, PDF or .docx showing it done (repeatable; the same content given "
    "twice is kept once).",
)
@signer_option
@json_option
@pass_app
def nc_action_done(
    app: AppContext,
    action: str,
    comment: str,
    evidence: tuple[Path, ...],
    signer: Signer,
    as_json: bool,
) -> None:
    """Mark ACTION (NC#A1) done, as its owner.

    Say what was done, with evidence files if there are any.  An action that asks for a
    document's revision is done when that revision becomes
    effective instead.  Example:

    \b
      qms nc action done PS-KOT39/NC/2026/001#A1 \\
          --comment "Duty roster amended" --evidence roster.pdf --as anita
    """
    from qms_engine.capa.actions import complete_action

    done = complete_action(
        app.runtime, action=action, actor=signer, comment=comment, evidence=evidence
    )
    if as_json:
        print_json(_action_result(app, done.subject, done.event_seq))
        return
    console().print(
        _("{subject} done (event #{seq})").format(subject=done.subject, seq=done.event_seq)
    )


@nc_action.command("reassign")
@click.argument("action")
@click.option(
    "--owner", required=True, metavar="USER", help="The new owner (a person enrolled here)."
)
@click.option("--comment", required=True, help="Why it changes hands (required; Hindi is fine).")
@signer_option
@json_option
@pass_app
def nc_action_reassign(
    app: AppContext, action: str, owner: str, comment: str, signer: Signer, as_json: bool
) -> None:
    """Hand ACTION (NC#A1), not yet done, to another owner.

    For an owner who was transferred, deactivated or lost their role (`qms tasks` shows such
    actions to quality coordinators and approvers, who may reassign them while the NC's plan is
    under way).  From then on only the new owner marks it done.  Example:

    \b
      qms nc action reassign PS-KOT39/NC/2026/001#A1 --owner anita \\
          --comment "Rakesh transferred to PS-CIV1" --as priya
    """
    from qms_engine.capa.actions import reassign_action

    moved = reassign_action(app.runtime, action=action, actor=signer, owner=owner, comment=comment)
    if as_json:
        print_json(moved)
        return
    console().print(
        _("{subject} now owned by {owner} (event #{seq})").format(
            subject=moved.subject, owner=owner, seq=moved.event_seq
        )
    )


# --- reading ---------------------------------------------------------------------------------


def _nc_json(row: NcRow) -> dict[str, Any]:
    """An NC for scripts: what it is, its links and where it stands (times UTC)."""
    return {
        "number": row.number,
        "office": row.office.code,
        "title": row.title,
        "description": row.description,
        "source": row.source,
        "severity": row.severity,
        "clause": row.clause,
        "documents": list(row.documents),
        "records": list(row.records),
        "evidence": [file.as_payload() for file in row.evidence],
        "responses": list(row.responses),
        "finding": row.finding,
        "workflow": row.workflow,
        "state": row.state,
        "raised_by": row.raised_by,
        "raised_at": row.raised_at,
        "state_entered_at": row.state_entered_at,
        "closed_at": row.closed_at,
        "event_seq": row.event_seq,
    }


def _action_json(action: ActionRow) -> dict[str, Any]:
    """An action for scripts: what, who, when due, and whether (how, by whom) it was done."""
    return {
        "subject": action.subject,
        "nc": action.nc,
        "office": action.office,
        "n": action.n,
        "type": action.type,
        "description": action.description,
        "owner": action.owner,
        "due": action.due,
        "document": action.document,
        "after_revno": action.after_revno,
        "added_by": action.added_by,
        "added_at": action.added_at,
        "added_seq": action.added_seq,
        "done": action.done,
        "done_at": action.done_at,
        "done_by": action.done_by,
        "done_comment": action.done_comment,
        "done_seq": action.done_seq,
        "evidence": [file.as_payload() for file in action.evidence],
        "fulfilled_by": action.fulfilled_by,
        "implementers": list(action.implementers),
    }


def _list_states(app: AppContext, office: OfficeRef, states: Sequence[str]) -> list[str]:
    """The states to list: ``states`` as given (each one of the office's CAPA workflow), or,
    when none was, the open ones (every state but the terminal ones)."""
    from qms_engine.errors import known_value

    runtime = app.runtime
    name = runtime.plugins.registry.office_type(office.office_type).nc_workflow
    workflow = runtime.plugins.workflows[name]
    if states:
        where = _("the workflow {name}").format(name=name)
        return [known_value("state", state, workflow.states, where) for state in states]
    return [state for state, spec in workflow.states.items() if not spec.terminal]


@nc.command("list")
@click.option(
    "--state",
    "states",
    multiple=True,
    help="Only NCs in this state of the CAPA workflow (repeatable), e.g. planned.",
)
@click.option("--source", help=f"Only NCs from this source: {spoken(NC_SOURCES)}.")
@click.option("--severity", help=f"Only NCs of this severity: {spoken(SEVERITIES)}.")
@click.option("--all-states", is_flag=True, help="Closed and cancelled NCs too.")
@json_option
@pass_app
def nc_list(
    app: AppContext,
    states: tuple[str, ...],
    source: str | None,
    severity: str | None,
    all_states: bool,
    as_json: bool,
) -> None:
    """The office's nonconformities (open ones by default).

    Oldest first; --state or --all-states shows closed and cancelled ones too.  Examples: `qms
    nc list --severity major`, `qms --office PS-KOT39 nc list --all-states`.
    """
    from qms_engine.capa.records import list_ncs
    from qms_engine.errors import known_value

    if all_states and states:
        raise click.UsageError(_("give --state or --all-states, not both"))
    if source is not None:
        source = known_value("source", source, NC_SOURCES, "nonconformity sources")
    if severity is not None:
        severity = known_value("severity", severity, SEVERITIES, "nonconformity severities")
    office = app.office()
    wanted = None if all_states else _list_states(app, office, states)
    with app.runtime.engine.connect() as connection:
        rows = list_ncs(connection, office, states=wanted, source=source, severity=severity)
    if as_json:
        print_json([_nc_json(row) for row in rows])
        return
    given = filters_given(state=" --state ".join(states) or None, source=source, severity=severity)
    only_open = not (all_states or states)
    if only_open:
        title = _("Open nonconformities of {code}")
        empty = _("No open nonconformities in {code} match {filters}.")
        none = _("No open nonconformities in {code}.")
    else:
        title = _("Nonconformities of {code}")
        empty = _("No nonconformities in {code} match {filters}.")
        none = _("No nonconformities in {code}.")
    print_table(
        title.format(code=office.code),
        [_("Number"), Column(_("Title"), fold=True), _("State, severity"), _("Raised")],
        [
            (
                row.number,
                row.title,
                f"{row.state}\n{row.severity}",
                _("{moment}\nby {user}").format(
                    moment=when(row.raised_at, office.timezone), user=row.raised_by
                ),
            )
            for row in rows
        ],
        empty=empty.format(code=office.code, filters=given)
        if given
        else none.format(code=office.code),
    )


def evidence_command(owner: str, file: StoredFile, files: Sequence[StoredFile]) -> str:
    """The command that hands out ``file``, evidence of ``owner`` (an NC, or its action
    ``NC#A1``) beside ``files``: named when there are several (by its SHA-256 when another
    has its name)."""
    number, _hash, action = owner.partition("#")
    names = [f.original_filename for f in files]
    name = file.original_filename if names.count(file.original_filename) == 1 else file.sha256[:12]
    which = ("--name", name) if len(files) > 1 else ()
    return shlex.join(
        ("qms", "nc", "evidence", number, *((action,) if action else ()), *which, "-o",
         file.original_filename)
    )  # fmt: skip


def _links(row: NcRow) -> list[tuple[str, str, str]]:
    """What the NC names: documents, records, evidence files (with the command that hands
    each out), feedback and the audit finding that raised it."""
    links = [(_("Document"), number, "") for number in row.documents]
    links += [(_("Record"), number, "") for number in row.records]
    links += [
        (
            _("Evidence"),
            _("{name}\n{size} bytes, sha256 {sha256}").format(
                name=file.original_filename, size=f"{file.size:,}", sha256=file.sha256[:12]
            ),
            evidence_command(row.number, file, row.evidence),
        )
        for file in row.evidence
    ]
    if row.responses:
        links.append((_("Feedback"), " ".join(row.responses), ""))
    if row.finding:
        links.append((_("Finding"), row.finding, ""))
    return links


def _action_state(action: ActionRow, nc: NcRow, today: date) -> str:
    """Done (when, by whom, which event; a document action: the revision that did it), or
    never done (the NC was closed or cancelled), open, or overdue."""
    if action.done_at is not None:
        how = (
            _("{revision} effective").format(revision=action.fulfilled_by)
            if action.fulfilled_by
            else _("done")
        )
        at = when(action.done_at, nc.office.timezone)
        return _("{how} {moment} by {user} (#{seq})").format(
            how=how, moment=at, user=action.done_by, seq=action.done_seq
        )
    if nc.closed_at is not None:
        return _("not done: NC {state}").format(state=nc.state)
    if action.due < today:
        return _("OVERDUE by {days} days").format(days=(today - action.due).days)
    return _("open")


def _action_what(action: ActionRow) -> str:
    """The action's description, the document it asks to revise, what its owner said."""
    lines = [action.description]
    if action.document:
        after = (
            _("after revision {revno}").format(revno=action.after_revno)
            if action.after_revno >= 0
            else _("any")
        )
        lines.append(
            _("revise {document} ({after}, made effective)").format(
                document=action.document, after=after
            )
        )
    if action.done_comment:
        lines.append(_("done: {comment}").format(comment=action.done_comment))
    lines += [
        _("evidence: {names}").format(names=file.original_filename) for file in action.evidence
    ]
    return "\n".join(lines)


def _event_what(event: NcEvent, number: str) -> str:
    """What an event did, in words: for the NC itself its signed meaning; for an action, that
    and the action (``planned action A1``); for a revision that fulfilled a document action,
    the transition it took and the revision (``make_effective PS-KOT39/SOP/001#1``); for the
    audit finding that raised it, that and the item (``recorded finding …/IA/2026/01#3``)."""
    if event.subject == number:
        return event.meaning
    if event.subject.startswith(f"{number}#"):
        return f"{event.meaning} {event.subject.removeprefix(f'{number}#')}"
    if not event.action.startswith("document."):
        return f"{event.meaning} {event.subject}"
    return f"{act_name(event.action, str(event.payload.get('transition', '')))} {event.subject}"


def _event_details(event: NcEvent) -> str:
    """An event's payload in words: the state change, the action planned, the finding, the
    comment, the evidence and feedback it names."""
    data: dict[str, Any] = event.payload
    parts = []
    if "result" in data:
        parts.append(f"{data['result']}: {data['note']}" if data.get("note") else data["result"])
    if "severity" in data and "source" in data:
        parts.append(
            _("{severity}, from {source}").format(severity=data["severity"], source=data["source"])
        )
    if data.get("from") and data.get("to"):
        parts.append(f"{data['from']} → {data['to']}")
    if "owner" in data and "due" in data:
        parts.append(
            _("{type}: {description}; owner {owner}, due {due}").format(
                type=data["type"],
                description=data["description"],
                owner=data["owner"],
                due=data["due"],
            )
        )
        if data.get("document"):
            parts.append(_("revise {document}").format(document=data["document"]))
    elif "owner" in data:
        parts.append(_("new owner {owner}").format(owner=data["owner"]))
    if data.get("comment"):
        parts.append(_("comment: {comment}").format(comment=data["comment"]))
    files = data.get("evidence") or []
    if files:
        names = ", ".join(str(f["original_filename"]) for f in files)
        parts.append(_("evidence: {names}").format(names=names))
    if data.get("responses"):
        responses = " ".join(map(str, data["responses"]))
        parts.append(_("feedback: {responses}").format(responses=responses))
    return "; ".join(parts)


def print_nc(row: NcRow, actions: Sequence[ActionRow], history: Sequence[NcEvent]) -> None:
    """One NC for people, as `qms nc show` (and `qms demo`) prints it: what it is, its links,
    its actions and its signed history."""
    tz = row.office.timezone
    width = output_width()
    heading = "\n".join(wrap(f"{row.number} — {row.title}", width, fold=True))
    console().print(bold(row.number, heading.removeprefix(row.number)), soft_wrap=True)
    clause = _(", clause {clause}").format(clause=row.clause) if row.clause else ""
    status = _("{state} since {moment}").format(
        state=row.state, moment=when(row.state_entered_at, tz)
    )
    facts = _(
        "{severity} nonconformity of {office} from {source}{clause}; raised by {user} on "
        "{moment}; {status}. Times in {timezone}."
    ).format(
        severity=row.severity,
        office=row.office.code,
        source=row.source,
        clause=clause,
        user=row.raised_by,
        moment=when(row.raised_at, tz),
        status=status,
        timezone=tz,
    )
    console().print("\n".join(wrap(facts, width)), soft_wrap=True)
    console().print("\n".join(wrap(row.description, width, fold=True)), soft_wrap=True)
    links = _links(row)
    if links:
        print_table(
            _("Links"),
            [_("Kind"), Column(_("What"), fold=True)],
            [(link[0], link[1]) for link in links],
            below=[shell_lines(link[2], width) if link[2] else [] for link in links],
        )
    today = local_today(tz)
    print_table(
        _("Actions"),
        [
            _("Action"),
            _("Type"),
            _("Owner"),
            _("Due"),
            Column(_("Done"), fold=True),
            Column(_("What"), fold=True),
        ],
        [
            (
                f"A{a.n}",
                a.type,
                a.owner,
                a.due.isoformat(),
                _action_state(a, row, today),
                _action_what(a),
            )
            for a in actions
        ],
        empty=_("Actions: none.")
        if row.closed_at is not None
        else _("Actions: none yet (qms nc action add {number} …).").format(number=row.number),
        below=[
            [
                line
                for file in a.evidence
                for line in shell_lines(evidence_command(a.subject, file, a.evidence), width)
            ]
            for a in actions
        ],
    )
    print_table(
        _("Signed history"),
        [
            "#",
            _("When"),
            _("Who, as"),
            Column(_("What"), fold=True),
            Column(_("Details"), fold=True),
        ],
        [
            (
                e.seq,
                when(e.recorded_at, tz),
                f"{e.actor}\n{e.signer_role}",
                _event_what(e, row.number),
                _event_details(e),
            )
            for e in history
        ],
    )


@nc.command("show")
@click.argument("number")
@json_option
@pass_app
def nc_show(app: AppContext, number: str, as_json: bool) -> None:
    """One nonconformity: links, actions, signed history.

    What NUMBER is, the documents, records and evidence it names, its actions (owner, due date,
    done or not: a document action names the revision that did
    it) and its signed history (each step: when, in the office's zone, who, in what role, its
    meaning, comment and event number).  --json gives times in UTC and payloads as objects."""
    from qms_engine.capa.records import actions_of, load_nc, nc_history

    with app.runtime.engine.connect() as connection:
        row = load_nc(connection, number)
        actions = actions_of(connection, row)
        history = nc_history(connection, row.office, row.number)
    if as_json:
        print_json(
            {
                **_nc_json(row),
                "timezone": row.office.timezone,
                "actions": [_action_json(action) for action in actions],
                "history": history,
            }
        )
        return
    print_nc(row, actions, history)


@nc.command("evidence")
@click.argument("number")
@click.argument("action", required=False)
@click.option(
    "--name",
    metavar="FILE_NAME",
    help="Which file, when there are several: its name as `qms nc show` lists it, or the start "
    "of its SHA-256 (at least 6 hex digits).",
)
@output_options
@json_option
@pass_app
def nc_evidence(
    app: AppContext,
    number: str,
    action: str | None,
    name: str | None,
    output: Path,
    force: bool,
    as_json: bool,
) -> None:
    """Write an evidence file of nonconformity NUMBER, or of its ACTION (A1), exactly as it
    was given (SHA-256 verified on the way out).

    `qms nc show NUMBER` lists each file with the command that gets it.  The folder must exist
    (none is made), and an existing file is replaced only with --force.  With -o - the bytes
    go to standard output (once verified) and what they are to standard error.  Examples:

    \b
      qms nc evidence PS-KOT39/NC/2026/001 -o register-page.jpg
      qms nc evidence PS-KOT39/NC/2026/001 A1 --name roster.pdf -o roster.pdf
    """
    from qms_engine.capa.actions import parse_action
    from qms_engine.capa.evidence import export_evidence, stream_evidence

    given = f"{number}#{action.removeprefix('#')}" if action else number
    number, n = parse_action(given) if "#" in given else (number, None)
    handed = write_output(
        output,
        as_json,
        to_file=lambda path: export_evidence(
            app.runtime, number=number, action=n, name=name, destination=path, force=force
        ),
        to_stream=lambda out: stream_evidence(
            app.runtime, number=number, action=n, name=name, out=out
        ),
    )
    if as_json:
        print_json({"of": handed.owner, **handed.file.as_payload(), "path": str(output)})
        return
    say_written(
        output,
        _("{name}, evidence of {owner} ({size} bytes), sha256 verified").format(
            name=handed.file.original_filename,
            owner=handed.owner,
            size=f"{handed.file.size:,}",
        ),
    )


@nc.command("overdue")
@click.option(
    "--office",
    "office_codes",
    multiple=True,
    metavar="CODE",
    help="Only this office (repeatable); default: `qms --office CODE`'s, else every office "
    "in the database.",
)
@click.option(
    "--on",
    "on_day",
    callback=day_only,
    metavar="YYYY-MM-DD",
    help="Count as of this day (e.g. the day of the review meeting) instead of each office's "
    "today.",
)
@json_option
@pass_app
def nc_overdue(
    app: AppContext, office_codes: tuple[str, ...], on_day: date | None, as_json: bool
) -> None:
    """Actions past due, per office: the SP office's review.

    Most overdue first.  Each office counts days in its own calendar; actions of closed or
    cancelled NCs are left
    out.  Examples: `qms nc overdue`, `qms nc overdue --office PS-KOT39 --office PS-CIV1`,
    `qms nc overdue --on 2026-12-05 --json`.
    """
    from qms_engine.capa.records import overdue_actions
    from qms_engine.people.offices import list_offices

    runtime = app.runtime
    codes = list(dict.fromkeys(office_codes)) or (
        [app.office().code] if app.office_code else [o.code for o in list_offices(runtime)]
    )
    offices = [runtime.office(code) for code in codes]
    report = []
    with runtime.engine.connect() as connection:
        for office in offices:
            today = on_day or local_today(office.timezone)
            late = overdue_actions(connection, offices=[office.code], today=today)
            report.append((office, today, late))
    if as_json:
        print_json(
            [
                {
                    "office": office.code,
                    "name": office.name,
                    "today": today,
                    "actions": [
                        {**_action_json(a), "days_overdue": (today - a.due).days} for a in late
                    ],
                }
                for office, today, late in report
            ]
        )
        return
    for office, today, late in report:
        if late:
            print_table(
                _("Overdue actions of {code} ({name}) on {day}").format(
                    code=office.code, name=office.name, day=today.isoformat()
                ),
                [_("Action"), _("Days"), _("Due"), _("Owner"), Column(_("What"), fold=True)],
                [
                    (a.subject, (today - a.due).days, a.due.isoformat(), a.owner, a.description)
                    for a in late
                ],
            )
    clear = [office.code for office, _day, late in report if not late]
    if clear:
        console().print(
            _("Nothing overdue in {offices}.").format(offices=", ".join(clear)), soft_wrap=True
        )


COMMANDS = [nc]
