"""`qms doc …`: controlled documents — create, revise, move through the workflow, read."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qms_engine.cli.context import (
    AppContext,
    console,
    filters_given,
    json_option,
    output_options,
    pass_app,
    print_json,
    print_table,
    say_written,
    signer_option,
    when,
    write_output,
)
from qms_engine.cli.tables import Column
from qms_engine.cli.views import act_name, print_document, print_master_list
from qms_engine.errors import InvalidInput
from qms_engine.i18n import _

if TYPE_CHECKING:
    from qms_engine.chain.signing import Signer

FILE = click.Path(dir_okay=True, path_type=Path)


def _fields(values: tuple[str, ...]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                _("--field {value} must look like NAME=VALUE, e.g. case_number=12/2026").format(
                    value=repr(value)
                )
            )
        fields[key.strip()] = text.strip()
    return fields


@click.group()
def doc() -> None:
    """Controlled documents (SOPs) and register records."""


@doc.command("new")
@click.argument("file", type=FILE)
@click.option("--type", "type_code", required=True, help="Document type code, e.g. SOP or GD.")
@click.option("--title", required=True, help="Title (Hindi is fine).")
@click.option("--reason", default="Initial issue", show_default=True, help="Why it is issued.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="A record field, e.g. case_number=12/2026 (repeatable).",
)
@click.option(
    "--allow-duplicate",
    is_flag=True,
    help="File it even if the same content is already filed under this type.",
)
@signer_option
@json_option
@pass_app
def doc_new(
    app: AppContext,
    file: Path,
    type_code: str,
    title: str,
    reason: str,
    fields: tuple[str, ...],
    allow_duplicate: bool,
    signer: Signer,
    as_json: bool,
) -> None:
    """Create a document from FILE: numbered by the office's scheme, revision 0, draft.

    A file whose content is already filed under the same type in this office is refused,
    naming the record it repeats, unless --allow-duplicate.
    """
    from qms_engine.documents.revisions import create_document

    revision = create_document(
        app.runtime,
        app.office(),
        actor=signer,
        type_code=type_code,
        title=title,
        path=file,
        reason=reason,
        fields=_fields(fields),
        allow_duplicate=allow_duplicate,
    )
    if as_json:
        print_json(revision)
    else:
        console().print(
            _("{number} revision {revno} created ({state}), sha256 {sha256}").format(
                number=revision.number,
                revno=revision.revno,
                state=revision.state,
                sha256=revision.sha256,
            )
        )


@doc.command("revise")
@click.argument("number")
@click.argument("file", type=FILE)
@click.option("--reason", required=True, help="What changed and why (kept with the revision).")
@click.option("--title", help="New title (default: keep the current one).")
@signer_option
@json_option
@pass_app
def doc_revise(
    app: AppContext,
    number: str,
    file: Path,
    reason: str,
    title: str | None,
    signer: Signer,
    as_json: bool,
) -> None:
    """Start a new draft revision of NUMBER from FILE (one open draft at a time)."""
    from qms_engine.documents.revisions import revise_document

    revision = revise_document(
        app.runtime, actor=signer, number=number, path=file, reason=reason, title=title
    )
    if as_json:
        print_json(revision)
    else:
        console().print(
            _("{number} revision {revno} created ({state})").format(
                number=revision.number, revno=revision.revno, state=revision.state
            )
        )


@doc.command("replace")
@click.argument("number")
@click.argument("file", type=FILE)
@click.option("--reason", required=True, help="What was corrected (kept in the history).")
@click.option("--rev", "revno", type=int, help="Revision (default: the one in draft).")
@signer_option
@json_option
@pass_app
def doc_replace(
    app: AppContext,
    number: str,
    file: Path,
    reason: str,
    revno: int | None,
    signer: Signer,
    as_json: bool,
) -> None:
    """Put a corrected FILE in place of the draft revision of NUMBER (its author only).

    For a draft returned with a reason (reject): the same revision gets the corrected file,
    then is submitted again.  The old file stays in the store and in `qms doc show`.  Register
    records are never replaced.
    """
    from qms_engine.documents.revisions import replace_revision_file

    revision = replace_revision_file(
        app.runtime, actor=signer, number=number, path=file, reason=reason, revno=revno
    )
    if as_json:
        print_json(revision)
    else:
        console().print(
            _("{number} revision {revno} ({state}): file replaced, sha256 {sha256}").format(
                number=revision.number,
                revno=revision.revno,
                state=revision.state,
                sha256=revision.sha256,
            )
        )


@doc.command("act")
@click.argument("number")
@click.argument("transition")
@click.option("--comment", default="", help="Comment (required for e.g. reject, withdraw).")
@click.option("--rev", "revno", type=int, help="Revision, when more than one could take it.")
@signer_option
@json_option
@pass_app
def doc_act(
    app: AppContext,
    number: str,
    transition: str,
    comment: str,
    revno: int | None,
    signer: Signer,
    as_json: bool,
) -> None:
    """Take TRANSITION (submit, approve, reject, make_effective, discard …) on NUMBER.

    `qms wf show WORKFLOW` lists a workflow's transitions and who may take each; e.g. an
    author discards their own draft with `discard --comment WHY`, and a periodic review that
    finds an SOP still adequate ends with `confirm_review --comment FINDING` (the next review
    falls due one review period from today).
    """
    from qms_engine.documents.transitions import take_transition

    result = take_transition(
        app.runtime,
        number=number,
        transition=transition,
        actor=signer,
        comment=comment,
        revno=revno,
    )
    if as_json:
        print_json(result)
        return
    console().print(
        _("{number} revision {revno}: {before} → {after} (event #{seq})").format(
            number=result.number,
            revno=result.revno,
            before=result.from_state,
            after=result.to_state,
            seq=result.event_seq,
        )
    )
    for old in result.superseded:
        console().print(
            _("{number} revision {revno}: superseded").format(number=result.number, revno=old)
        )
    if result.review_due is not None:
        console().print(
            _("next periodic review due {day}").format(day=result.review_due.isoformat())
        )


@doc.command("adopt")
@click.argument("number")
@signer_option
@json_option
@pass_app
def doc_adopt(app: AppContext, number: str, signer: Signer, as_json: bool) -> None:
    """Sign, as its author, a draft of NUMBER that the inbox filed naming you.

    A draft dropped into the inbox is filed by the inbox service; it names its human author (a
    per-person folder, a sidecar, or the .docx author) and cannot be submitted until that
    person has signed for it here.  Segregation of duties then holds them as its author.
    """
    from qms_engine.documents.revisions import adopt_revision

    revision = adopt_revision(app.runtime, number=number, actor=signer)
    if as_json:
        print_json(revision)
        return
    console().print(
        _("{number} revision {revno}: authored by {username}").format(
            number=revision.number, revno=revision.revno, username=signer.username
        )
    )


@doc.command("show")
@click.argument("number")
@json_option
@pass_app
def doc_show(app: AppContext, number: str, as_json: bool) -> None:
    """Show NUMBER: its register fields, its revisions, the files of a draft corrected in place
    (`qms doc get --file` hands out an earlier one) and its history (times in the office's
    zone; --json gives fields and event payloads as JSON objects)."""
    from qms_engine.documents.master_list import document_detail

    detail = document_detail(app.runtime, number)
    if as_json:
        print_json(detail)
        return
    print_document(detail)


@doc.command("history")
@click.argument("number")
@json_option
@pass_app
def doc_history(app: AppContext, number: str, as_json: bool) -> None:
    """Signature manifestation of NUMBER: who signed what (the transition taken: submit, a file
    replaced …), when, as what, and is it valid."""
    from qms_engine.documents.master_list import signed_history

    timezone, entries = signed_history(app.runtime, number)
    if as_json:
        print_json(entries)
        return
    print_table(
        _("Signed history of {number} (times in {timezone}; UTC under --json)").format(
            number=number, timezone=timezone
        ),
        [
            "#",
            _("Rev"),
            _("When"),
            Column(_("Action"), fold=True),
            Column(_("Signed by, as"), fold=True),
            Column(_("Meaning"), fold=True),
            _("Signature, key"),
        ],
        [
            (
                e.seq,
                e.subject.partition("#")[2] or "–",
                when(e.recorded_at, timezone),
                act_name(e.action, e.transition),
                _("{signer} ({username}) as {role}").format(
                    signer=e.signer, username=e.username, role=e.role
                ),
                e.meaning,
                (_("verified {key}") if e.signature_valid else _("INVALID {key}")).format(
                    key=e.key_fingerprint[:12]
                ),
            )
            for e in entries
        ],
    )


@doc.command("list")
@click.option(
    "--type",
    "type_code",
    help="Only this document type (one the office's plugins define; any letter case).",
)
@click.option(
    "--state",
    help="Only documents whose latest revision is in this state, or, for the in-force state of "
    "their workflow (e.g. effective), that have a revision in force. A state no workflow in "
    "use has is refused, listing those it has.",
)
@click.option(
    "--kind",
    type=click.Choice(["document", "register"], case_sensitive=False),
    help="Documents or records.",
)
@click.option("--all-offices", is_flag=True, help="Every office in the deployment.")
@json_option
@pass_app
def doc_list(
    app: AppContext,
    type_code: str | None,
    state: str | None,
    kind: str | None,
    all_offices: bool,
    as_json: bool,
) -> None:
    """The master list: every document, its current revision, status and review date."""
    from qms_engine.documents.master_list import list_documents
    from qms_engine.people.offices import list_offices

    office = None if all_offices else app.office()
    documents = list_documents(
        app.runtime, office=office, type_code=type_code, state=state, kind=kind
    )
    if as_json:
        print_json(documents)
        return
    given = filters_given(type=type_code, state=state, kind=kind)
    where = _("in {office}").format(office=office.code) if office else _("in any office")
    print_master_list(
        documents,
        {o.code: o.timezone for o in list_offices(app.runtime)},
        title=_("Master list of documents {where}").format(where=where),
        empty=_("No documents {where} match {filters}.").format(where=where, filters=given)
        if given
        else _("No documents {where} yet.").format(where=where),
    )


@doc.command("get")
@click.argument("number")
@click.option(
    "--rev",
    "revno",
    type=int,
    help="Revision, in any state (default: the one in force; a register record's own).",
)
@click.option(
    "--file",
    "file_prefix",
    metavar="SHA256",
    help="That file of the revision, by the start of its SHA-256 (at least 6 hex digits): an "
    "earlier file its author replaced, e.g. the one a reviewer rejected (`qms doc show` "
    "lists them).",
)
@output_options
@json_option
@pass_app
def doc_get(
    app: AppContext,
    number: str,
    revno: int | None,
    file_prefix: str | None,
    output: Path,
    force: bool,
    as_json: bool,
) -> None:
    """Write a revision's exact bytes to a file (hash verified), and say which one it is.

    By default the revision in force (effective): a document with none in force (only a draft,
    or withdrawn) is refused, listing its revisions; --rev N hands out any revision, saying
    when it is not the one in force, and --file SHA256 an earlier file of it.  A register
    record's revision is handed out as filed.  The folder must exist (none is made), and an
    existing file is replaced only with --force.  With -o - the bytes go to standard output
    (once verified) and what they are to standard error.
    """
    from qms_engine.documents.revisions import export_revision, stream_revision

    revision = write_output(
        output,
        as_json,
        to_file=lambda path: export_revision(
            app.runtime, number=number, destination=path, revno=revno, file=file_prefix, force=force
        ),
        to_stream=lambda out: stream_revision(
            app.runtime, number=number, out=out, revno=revno, file=file_prefix
        ),
    )
    if as_json:
        print_json({**asdict(revision), "path": str(output)})
        return
    notes = [revision.state]
    if not revision.current:
        notes.append(_("NOT the revision in force"))
    if revision.replaced:
        notes.append(
            _("its earlier file {sha256}, replaced since").format(sha256=revision.sha256[:12])
        )
    say_written(
        output,
        _("{number} revision {revno} ({notes}), sha256 verified").format(
            number=revision.number, revno=revision.revno, notes=", ".join(notes)
        ),
    )


@doc.command("due")
@click.option(
    "--within",
    "within_days",
    default=30,
    show_default=True,
    help="Show reviews due within this many days.",
)
@json_option
@pass_app
def doc_due(app: AppContext, within_days: int, as_json: bool) -> None:
    """Periodic reviews overdue or falling due soon."""
    from qms_engine.documents.master_list import due_reviews

    due = due_reviews(app.runtime, app.office(), within_days=within_days)
    if as_json:
        print_json(
            [
                {
                    "number": d.summary.number,
                    "title": d.summary.title,
                    "review_due": d.summary.review_due,
                    "days_left": d.days_left,
                    "overdue": d.overdue,
                }
                for d in due
            ]
        )
        return
    print_table(
        _("Reviews due within {days} days").format(days=within_days),
        [_("Number"), _("Title"), _("Due"), _("Status")],
        [
            (
                d.summary.number,
                d.summary.title,
                d.summary.review_due,
                _("OVERDUE by {days} days").format(days=-d.days_left)
                if d.overdue
                else _("in {days} days").format(days=d.days_left),
            )
            for d in due
        ],
    )


COMMANDS = [doc]
