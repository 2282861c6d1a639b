"""District views, projected from each station's chain: the same code for a station of the
shared database and for one seen only through its imported bundles.

Each station's chain is read once (:class:`StationFacts`): its documents and their revisions'
states (by the workflow definitions the chain registered: which state is in force, which starts
the review clock, which is terminal), its nonconformities and their actions, and its citizens'
feedback.  Nothing is read from a station's tables, so what the district shows is what the
signed history says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from qms_engine.chain import events
from qms_engine.chain.encoding import ChainEvent
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import from_utc_text, local_today, zone
from qms_engine.district.imports import witnessed_of
from qms_engine.district.stations import Station, station_chain, stations_of
from qms_engine.district.verify import verify_station
from qms_engine.rules.workflows import (
    WorkflowDefinition,
    WorkflowDefinitionError,
    workflow_from_record,
)
from qms_engine.runtime import Runtime
from qms_engine.storage.database import read_snapshot


@dataclass
class _Revision:
    number: str
    revno: int
    title: str
    workflow: str
    state: str
    sha256: str
    clock: str = ""
    """When it last entered a state that starts the review clock (UTC text), if ever."""


@dataclass
class _Action:
    subject: str
    owner: str
    due: str
    document: str
    after_revno: int
    done: bool = False


@dataclass
class StationFacts:
    """What one pass over a station's chain tells the district."""

    station: str
    timezone: str
    last_seq: int = 0
    last_time: str = ""
    last_action: str = ""
    workflows: dict[str, WorkflowDefinition] = field(default_factory=dict)
    type_workflow: dict[str, str] = field(default_factory=dict)
    review_days: dict[str, int | None] = field(default_factory=dict)
    type_kind: dict[str, str] = field(default_factory=dict)
    document_type: dict[str, str] = field(default_factory=dict)
    revisions: dict[str, list[_Revision]] = field(default_factory=dict)
    ncs: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: list[_Action] = field(default_factory=list)
    responses: int = 0
    poor: int = 0
    ratings: dict[str, list[int]] = field(default_factory=dict)
    adopted: dict[str, tuple[int, str]] = field(default_factory=dict)
    """District SOP number → the revision this station adopted last, and its file's SHA-256."""

    def feed(self, stream: Iterable[ChainEvent]) -> StationFacts:
        """Take in the whole chain, in order."""
        for event in stream:
            body = event.body
            try:
                self._take(body)
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a malformed event: `qms district verify` reports it
        return self

    def _take(self, body: Mapping[str, Any]) -> None:
        action, subject, payload = body["action"], body["subject"], body["payload"]
        self.last_seq, self.last_time, self.last_action = body["seq"], body["time"], action
        if action == events.WORKFLOW_REGISTERED.action:
            with suppress(WorkflowDefinitionError):  # the verifier reports a bad one
                self.workflows[subject] = workflow_from_record(payload["definition"], subject)
        elif action == events.DOCUMENT_TYPE_ADDED.action:
            code = subject.rsplit("/", 1)[-1]
            self.type_workflow[code] = payload.get("workflow", "")
            self.review_days[code] = payload.get("review_period_days")
            self.type_kind[code] = payload.get("kind", "")
        elif action == events.DOCUMENT_CREATED.action:
            self.document_type[subject] = payload.get("type", "")
        elif action in (events.REVISION_CREATED.action, events.RECORD_FILED.action):
            number, _sep, revno = subject.partition("#")
            workflow = self.type_workflow.get(self.document_type.get(number, ""), "")
            revision = _Revision(
                number, int(revno), payload["title"], workflow, payload["state"], payload["sha256"]
            )
            self.revisions.setdefault(number, []).append(revision)
            self._entered(revision, payload["state"], body["time"])
        elif action == events.REVISION_REPLACED.action:
            replaced = self._revision(subject)
            if replaced is not None:
                replaced.sha256 = payload["sha256"]
        elif action == events.SOP_ADOPTED.action:
            self.adopted[subject] = (payload["revno"], payload["sha256"])
        elif action.startswith(events.TRANSITION_PREFIX) and "to" in payload:
            self._moved(subject, payload["to"], body["time"])
        elif action == events.NC_RAISED.action:
            self.ncs[subject] = {
                "title": payload["title"],
                "severity": payload["severity"],
                "state": payload["state"],
                "workflow": payload["workflow"],
                "raised_at": body["time"],
            }
        elif (
            action.startswith(events.NC_TRANSITION_PREFIX)
            and subject in self.ncs
            and "to" in payload
        ):
            self.ncs[subject]["state"] = payload["to"]
        self._capa(action, subject, payload)
        if action == events.FEEDBACK_RECEIVED.action:
            self._feedback(payload)

    def _capa(self, action: str, subject: str, payload: Mapping[str, Any]) -> None:
        if action == events.NC_ACTION_ADDED.action:
            self.actions.append(
                _Action(
                    subject,
                    payload["owner"],
                    payload["due"],
                    payload["document"],
                    payload["after_revno"],
                )
            )
        elif action == events.NC_ACTION_DONE.action:
            for item in self.actions:
                if item.subject == subject:
                    item.done = True
        elif action == events.NC_ACTION_REASSIGNED.action:
            for item in self.actions:
                if item.subject == subject:
                    item.owner = payload["owner"]

    def _feedback(self, payload: Mapping[str, Any]) -> None:
        poor = payload["poor"]
        for response in payload["responses"]:
            self.responses += 1
            ratings = response["ratings"]
            if ratings.get(poor["rating"], 5) <= poor["at_most"]:
                self.poor += 1
            for name, value in ratings.items():
                self.ratings.setdefault(name, []).append(value)

    def _revision(self, subject: str) -> _Revision | None:
        number, _sep, revno = subject.partition("#")
        for revision in self.revisions.get(number, []):
            if str(revision.revno) == revno:
                return revision
        return None

    def _moved(self, subject: str, state: str, time: str) -> None:
        revision = self._revision(subject)
        if revision is not None:
            revision.state = state
            self._entered(revision, state, time)
            if self._in_force(revision):
                for item in self.actions:  # a document action is done by its revision
                    if item.document == revision.number and revision.revno > item.after_revno:
                        item.done = True

    def _entered(self, revision: _Revision, state: str, time: str) -> None:
        workflow = self.workflows.get(revision.workflow)
        spec = workflow.states.get(state) if workflow else None
        if spec is not None and spec.starts_review_clock:
            revision.clock = time

    def _in_force(self, revision: _Revision) -> bool:
        workflow = self.workflows.get(revision.workflow)
        spec = workflow.states.get(revision.state) if workflow else None
        return bool(spec and spec.in_force)

    def _terminal(self, workflow: str, state: str) -> bool:
        definition = self.workflows.get(workflow)
        spec = definition.states.get(state) if definition else None
        return bool(spec and spec.terminal)

    def local_day(self, time: str) -> date:
        """A UTC time of the chain as the station's calendar day."""
        return from_utc_text(time).astimezone(zone(self.timezone)).date()

    def review_due(self, revision: _Revision) -> date | None:
        """When the revision's periodic review falls due (None: no review period)."""
        days = self.review_days.get(self.document_type.get(revision.number, ""))
        if not revision.clock or not days or not self._in_force(revision):
            return None
        return self.local_day(revision.clock) + timedelta(days=days)

    def documents(self, kind: str | None = "document") -> list[MasterEntry]:
        """The station's master list: each document's revision in force, else its latest; of
        the types of ``kind`` only (``document``, ``register``; None: both)."""
        entries = []
        for number, revisions in sorted(self.revisions.items()):
            if kind is not None and self._kind(number) != kind:
                continue
            shown = next((r for r in reversed(revisions) if self._in_force(r)), revisions[-1])
            entries.append(
                MasterEntry(
                    self.station,
                    number,
                    self.document_type.get(number, ""),
                    shown.title,
                    shown.revno,
                    shown.state,
                    self.review_due(shown),
                )
            )
        return entries

    def _kind(self, number: str) -> str:
        """The kind (``document``, ``register``) of the type of document ``number``."""
        return self.type_kind.get(self.document_type.get(number, ""), "")

    def in_force(self, kind: str = "document") -> dict[str, _Revision]:
        """Each controlled document's (``kind``) revision in force, by number."""
        found = {}
        for number, revisions in self.revisions.items():
            if self._kind(number) != kind:
                continue
            current = next((r for r in reversed(revisions) if self._in_force(r)), None)
            if current is not None:
                found[number] = current
        return found

    def open_ncs(self, today: date) -> list[OpenNc]:
        """The station's NCs not in a terminal state, each with its overdue actions."""
        found = []
        for number, nc in sorted(self.ncs.items()):
            if self._terminal(nc["workflow"], nc["state"]):
                continue
            overdue = [
                OverdueAction(a.subject, a.owner, date.fromisoformat(a.due))
                for a in self.actions
                if a.subject.startswith(f"{number}#")
                and not a.done
                and date.fromisoformat(a.due) < today
            ]
            found.append(
                OpenNc(
                    self.station,
                    number,
                    nc["title"],
                    nc["severity"],
                    nc["state"],
                    self.local_day(nc["raised_at"]),
                    overdue,
                )
            )
        return found


@dataclass(frozen=True)
class MasterEntry:
    """One document of a station's master list, as the district sees it."""

    station: str
    number: str
    type: str
    title: str
    revno: int
    state: str
    review_due: date | None


@dataclass(frozen=True)
class OverdueAction:
    """An action of an open NC past its due date."""

    action: str
    owner: str
    due: date


@dataclass(frozen=True)
class OpenNc:
    """An open nonconformity of a station."""

    station: str
    number: str
    title: str
    severity: str
    state: str
    raised_on: date
    overdue_actions: list[OverdueAction]


@dataclass(frozen=True)
class FeedbackFigures:
    """A station's citizen feedback in its chain: responses, poor ones, average ratings."""

    station: str
    responses: int
    poor: int
    averages: dict[str, float]


@dataclass(frozen=True)
class StationStatus:
    """One line of ``qms district status``."""

    station: str
    name: str
    shared: bool
    events: int
    last_time: str
    last_action: str
    witnessed: int
    """The event number of the latest witnessed checkpoint (0: none)."""
    verified: bool
    problem: str
    """The first problem when the station does not verify."""


def station_facts(runtime: Runtime, district: OfficeRef) -> list[StationFacts]:
    """Every station of the district, its chain read once."""
    with read_snapshot(runtime.engine) as connection:
        return [
            StationFacts(s.code, s.timezone).feed(station_chain(connection, s))
            for s in stations_of(connection, district)
        ]


def district_status(runtime: Runtime, district: OfficeRef) -> list[StationStatus]:
    """Per station: how it is seen, its last event, its latest witness, whether it verifies."""
    with read_snapshot(runtime.engine) as connection:
        stations: list[tuple[Station, int]] = [
            (s, max(witnessed_of(connection, district, s.code), default=0))
            for s in stations_of(connection, district)
        ]
        facts = {
            s.code: StationFacts(s.code, s.timezone).feed(station_chain(connection, s))
            for s, _w in stations
        }
    rows = []
    for station, witnessed in stations:
        result = verify_station(runtime, district, station.code)
        seen = facts[station.code]
        rows.append(
            StationStatus(
                station.code,
                station.name,
                station.shared,
                seen.last_seq,
                seen.last_time,
                seen.last_action,
                witnessed,
                result.ok,
                result.problems[0] if result.problems else "",
            )
        )
    return rows


def master_list(
    runtime: Runtime, district: OfficeRef, kind: str | None = "document"
) -> list[MasterEntry]:
    """The consolidated master list of every station: its controlled documents (``kind``
    ``document``), its register records (``register``) or both (None).  A station files
    thousands of GD entries a year: a list of documents leaves them out unless asked."""
    return [entry for facts in station_facts(runtime, district) for entry in facts.documents(kind)]


def open_ncs(runtime: Runtime, district: OfficeRef, today: date | None = None) -> list[OpenNc]:
    """Every station's open NCs, with the actions past due (by the district's calendar)."""
    today = today or local_today(district.timezone)
    return [nc for facts in station_facts(runtime, district) for nc in facts.open_ncs(today)]


def overdue_reviews(
    runtime: Runtime, district: OfficeRef, today: date | None = None
) -> list[MasterEntry]:
    """Every station's documents in force whose periodic review is past due."""
    today = today or local_today(district.timezone)
    return [
        entry
        for entry in master_list(runtime, district)
        if entry.review_due is not None and entry.review_due < today
    ]


def feedback_figures(runtime: Runtime, district: OfficeRef) -> list[FeedbackFigures]:
    """Every station's citizen feedback figures (responses, poor ones, average ratings)."""
    return [
        FeedbackFigures(
            facts.station,
            facts.responses,
            facts.poor,
            {name: round(sum(v) / len(v), 2) for name, v in sorted(facts.ratings.items())},
        )
        for facts in station_facts(runtime, district)
    ]
