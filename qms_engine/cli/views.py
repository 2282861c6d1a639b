"""How documents and audit events are laid out for people: the master list, one document,
and the audit log.  Shared by the commands that print them (``doc list``, ``doc show``,
``log``, ``demo``), so each is laid out once.

Times are shown in the office's zone; every table goes through
:func:`~qms_engine.cli.context.print_table`.  The engine is imported for types only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qms_engine.cli.context import bold, console, output_width, print_table, when
from qms_engine.cli.tables import Column, wrap
from qms_engine.i18n import _

if TYPE_CHECKING:
    from datetime import datetime

    from qms_engine.chain.unit_of_work import OfficeRef
    from qms_engine.documents.master_list import DocumentDetail, DocumentSummary, HistoryEntry
    from qms_engine.storage.models import Event


def day(moment: datetime | None, timezone: str) -> str:
    """The office's calendar day of a UTC instant, ``2026-11-24``, or blank."""
    from qms_engine.clock import as_utc, zone

    return as_utc(moment).astimezone(zone(timezone)).date().isoformat() if moment else ""


def print_master_list(
    documents: Sequence[DocumentSummary], zones: Mapping[str, str], *, title: str, empty: str
) -> None:
    """The master list: number, title, newest revision, the one in force and its review date
    (under it: one column less, so that a long office's numbers leave room for the title).

    ``zones``: each office's time zone, by office code (the day in force began there).
    """
    print_table(
        title,
        [_("Number"), Column(_("Title"), fold=True), _("Latest"), _("In force, review due")],
        [
            (
                d.number,
                d.title,
                f"{d.latest_revno} {d.latest_state}",
                "\n".join(
                    filter(
                        None,
                        (
                            _("{revno} since {day}").format(
                                revno=d.effective_revno,
                                day=day(d.effective_since, zones[d.office]),
                            )
                            if d.effective_revno is not None
                            else "",
                            _("review {day}").format(day=d.review_due) if d.review_due else "",
                        ),
                    )
                ),
            )
            for d in documents
        ],
        empty=empty,
    )


def act_name(action: str, transition: str) -> str:
    """What an event about a document did, in a word or two: the workflow transition it took
    (``submit``, ``reject`` …), else its action (``revision replaced``, ``created``), so that a
    submit and a file replaced, whose signatures both mean "authored", tell apart."""
    return transition or action.removeprefix("document.").replace(".", " ").replace("_", " ")


def _details(entry: HistoryEntry) -> str:
    """What a history line did, in words: state change, comment, reason, file, fields."""
    data: dict[str, Any] = entry.payload
    parts = []
    if data.get("from") and data.get("to"):
        parts.append(f"{data['from']} → {data['to']}")
    labels = (
        ("comment", _("comment")),
        ("reason", _("reason")),
        ("original_filename", _("file")),
        ("received_by", _("received by")),  # a custody hand-over (custody.moved)
        ("expected_back", _("due back")),
        ("order", _("order")),
        ("note", _("note")),
    )
    for key, label in labels:
        if data.get(key):
            parts.append(f"{label}: {data[key]}")
    if data.get("seal_intact") is not None:
        parts.append(_("seal intact") if data["seal_intact"] else _("seal broken"))
    parts.extend(f"{name}: {value}" for name, value in (data.get("fields") or {}).items())
    if data.get("by_revision") is not None:
        parts.append(_("by revision {revno}").format(revno=data["by_revision"]))
    return "; ".join(parts)


def print_document(detail: DocumentDetail) -> None:
    """One document: what it is, its register fields, its revisions and its history."""
    summary, tz = detail.summary, detail.timezone
    # Wrapped here, as a terminal counts cells (rich gives a Hindi vowel sign none).
    heading = "\n".join(wrap(f"{summary.number} — {summary.title}", output_width(), fold=True))
    console().print(bold(summary.number, heading.removeprefix(summary.number)), soft_wrap=True)
    in_force = (
        _("revision {revno} in force since {moment}").format(
            revno=summary.effective_revno, moment=when(summary.effective_since, tz)
        )
        if summary.effective_revno is not None
        else _("no revision in force")
    )
    review = _(", review due {day}").format(day=summary.review_due) if summary.review_due else ""
    console().print(
        _(
            "{type} {kind} of {office}; latest revision {revno} ({state}); {in_force}{review}. "
            "Times in {timezone}."
        ).format(
            type=summary.type_code,
            kind=summary.kind,
            office=summary.office,
            revno=summary.latest_revno,
            state=summary.latest_state,
            in_force=in_force,
            review=review,
            timezone=tz,
        )
    )
    fields = [(r.revno, name, value) for r in detail.revisions for name, value in r.fields.items()]
    if fields:
        print_table(_("Fields"), [_("Rev"), _("Field"), Column(_("Value"), fold=True)], fields)
    print_table(
        _("Revisions"),
        [
            _("Rev"),
            _("State"),
            Column(_("Title"), fold=True),
            _("Author"),
            _("Created"),
            _("Review due"),
            "SHA-256",
        ],
        [
            (
                r.revno,
                r.state,
                r.title,
                r.author,
                when(r.created_at, tz),
                r.review_due if r.revno == summary.effective_revno else None,  # the one in force
                r.sha256[:12],
            )
            for r in detail.revisions
        ],
    )
    corrected = [r for r in detail.revisions if len(r.files) > 1]
    if corrected:
        print_table(
            _("Files of drafts corrected in place"),
            [
                _("Rev"),
                "SHA-256",
                _("When"),
                _("Who"),
                Column(_("File"), fold=True),
                Column(_("Reason"), fold=True),
            ],
            [
                (
                    r.revno,
                    f.sha256[:12] + ("" if f.sha256 == r.sha256 else "\n" + _("(replaced)")),
                    when(f.recorded_at, tz),
                    f.by,
                    f.original_filename,
                    f.reason,
                )
                for r in corrected
                for f in r.files
            ],
        )
    print_table(
        _("History"),
        [
            _("Rev"),
            "#",
            _("When"),
            _("Who"),
            Column(_("What"), fold=True),
            Column(_("Details"), fold=True),
        ],
        [
            (
                "–" if e.revno is None else e.revno,
                e.seq,
                when(e.recorded_at, tz),
                e.actor,
                act_name(e.action, str(e.payload.get("transition", ""))),
                _details(e),
            )
            for e in detail.history
        ],
    )


def print_log(events: Sequence[Event], office: OfficeRef, *, title: str, empty: str) -> None:
    """Audit events as people read them: when (office's zone), who as what, did what to what."""
    from qms_engine.clock import from_utc_text

    print_table(
        title,
        [
            "#",
            _("When"),
            Column(_("Who, as"), fold=True),
            Column(_("What"), fold=True),
            _("Subject"),
        ],
        [
            (
                e.seq,
                when(from_utc_text(e.recorded_at), office.timezone),
                f"{e.actor}\n{e.signer_role}",  # one column: a long office's subjects need room
                e.action,
                e.subject,
            )
            for e in events
        ],
        empty=empty,
    )


LOG_CSV_HEADER = (
    "seq",
    "time",
    "user",
    "name",
    "role",
    "meaning",
    "action",
    "subject",
    "payload",
    "hash",
)


def _spreadsheet_safe(text: str) -> str:
    """User text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` first) is
    prefixed with ``'`` so it is shown, not run (OWASP "CSV injection")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_log_csv(events: Sequence[Event], office: OfficeRef) -> None:
    """Events as CSV for a spreadsheet: a header row, UTF-8 with a byte-order mark (so Excel
    reads Hindi as Hindi), times in the office's zone with their offset, payload as JSON."""
    import codecs
    import csv
    import io
    import sys

    from qms_engine.clock import from_utc_text, zone

    tz = zone(office.timezone)
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(LOG_CSV_HEADER)
    for e in events:
        moment = from_utc_text(e.recorded_at).astimezone(tz)
        writer.writerow(
            [
                e.seq,
                moment.isoformat(sep=" ", timespec="seconds"),
                *map(
                    _spreadsheet_safe,
                    (e.actor, e.signer_name, e.signer_role, e.meaning, e.action, e.subject),
                ),
                e.payload,
                e.hash,
            ]
        )
    sys.stdout.flush()
    sys.stdout.buffer.write(codecs.BOM_UTF8 + text.getvalue().encode("utf-8"))
    sys.stdout.buffer.flush()
