"""The vocabulary of an ingestion step: what it is handed, and how it refuses or defers a file.

Plugins add steps through the ``qms_ingest_steps`` hook, importing these names from
:mod:`qms_engine.api`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from qms_engine.i18n import _

if TYPE_CHECKING:
    # Only annotations need these (dataclasses keep them as strings), so importing the plugin
    # API loads neither SQLAlchemy, cryptography nor python-docx (tests/test_startup.py).
    from document_store import StagedBlob
    from qms_engine.chain.signing import Signer
    from qms_engine.chain.unit_of_work import OfficeRef
    from qms_engine.files import FileFacts
    from qms_engine.ingest.extract import ReadAhead
    from qms_engine.ingest.inbox import Claim, Inbox
    from qms_engine.ingest.offices import Ended
    from qms_engine.registry.office_types import DocumentTypeSpec
    from qms_engine.runtime import Runtime


class StepFailed(Exception):
    """A step refused the file: it goes to quarantine with this explanation."""

    def __init__(self, step: str, problem: str, advice: str) -> None:
        super().__init__(f"{step}: {problem}")
        self.step, self.problem, self.advice = step, problem, advice


class Transient(Exception):
    """A passing trouble (busy file, full disk …): keep the claim and try again later."""


@dataclass
class Intake:
    """One claimed file on its way through the steps."""

    claim: Claim
    office: OfficeRef
    spec: DocumentTypeSpec
    facts: FileFacts | None = None
    staged: StagedBlob | None = None
    title: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    duplicate_of: str | None = None
    author: str | None = None
    """The human author a document draft names (its per-person folder, an ``author`` field in
    its sidecar or its .docx properties): they must sign for it before it goes further."""
    number: str | None = None
    event_seq: int | None = None
    done: bool = False  # a step settled the file (e.g. a duplicate): skip the rest


@dataclass(frozen=True)
class IngestContext:
    """What every step may use: the open workspace, who signs what is filed, and the offices
    whose inboxes this run serves (a file is filed in its own office: ``intake.office``)."""

    runtime: Runtime
    signer: Signer
    inbox: Inbox
    only: str | None = None
    """One office's code (``--office``): serve its inbox alone.  None: every office where the
    signer may file, and the files that lie outside every office's folder."""
    offices: dict[str, OfficeRef] = field(init=False)
    """The offices served, by code (looked up once for the whole run)."""
    not_served: dict[str, str] = field(init=False)
    """The other offices, by code, with why their inbox is left alone (told at start)."""
    covers: frozenset[str] = field(init=False)
    """Whose files this run takes: the offices served, and ``NO_OFFICE`` when it serves all
    (and still serves an office)."""
    ended: dict[str, Ended] = field(default_factory=dict, init=False)
    """Offices served at the start where the signer can no longer file (its key replaced or
    revoked meanwhile …), by code, with why: the run stops serving them (see
    :meth:`check_signer`) and leaves their files in the inbox."""
    home_zone: str = field(init=False)
    """The time zone of the workspace's office, in which a file of no office is told of."""
    read_ahead: dict[str, Future[ReadAhead]] = field(default_factory=dict, init=False)
    """Documents already being read in worker processes, by claim id (see the watcher)."""

    def __post_init__(self) -> None:
        from qms_engine.ingest.inbox import NO_OFFICE
        from qms_engine.ingest.offices import served_offices

        served, not_served = served_offices(self.runtime, self.signer, self.only)
        object.__setattr__(self, "offices", served)
        object.__setattr__(self, "not_served", not_served)
        strays = {NO_OFFICE} if self.only is None else set()
        object.__setattr__(self, "covers", frozenset(served) | strays)
        object.__setattr__(self, "home_zone", self.runtime.office().timezone)

    def check_signer(self) -> dict[str, Ended]:
        """Stop serving each office where the signer can no longer file, and return those
        (with why).  Its files are then neither claimed nor quarantined: they wait in the
        inbox for a run with a valid key.  A run left with no office takes no stray file
        either (the watcher stops)."""
        from qms_engine.ingest.inbox import NO_OFFICE
        from qms_engine.ingest.offices import ended_in

        ended = ended_in(self.runtime, self.signer, list(self.offices.values()))
        for code, why in ended.items():
            del self.offices[code]
            self.ended[code] = why
        if ended:
            keep = set(self.offices) | ({NO_OFFICE} if self.offices else set())
            object.__setattr__(self, "covers", self.covers & keep)
        return ended

    def added_later(self, name: str) -> bool:
        """Whether ``name`` (a folder in ``inbox/`` that was no office when the run started)
        is an office's code now: its files wait, untouched, for a run that serves it, and the
        reason joins :attr:`not_served` for the watcher to tell."""
        from qms_engine.ingest.offices import office_exists

        if name in self.inbox.offices or not office_exists(self.runtime, name):
            return False
        self.not_served.setdefault(
            name,
            _("{name} was added after this watcher started: restart it to serve {name} too").format(
                name=name
            ),
        )
        return True


class Step(Protocol):
    """A pipeline step: a name (shown in quarantine notes) and what it does."""

    @property
    def name(self) -> str:
        """What the step does, as a clerk would read it: "read the document"."""

    def run(self, intake: Intake, context: IngestContext) -> None:
        """Check or enrich ``intake``; raise StepFailed to refuse, Transient to retry."""


@dataclass(frozen=True)
class FunctionStep:
    """A step made from a plain function."""

    name: str
    function: Callable[[Intake, IngestContext], None]

    def run(self, intake: Intake, context: IngestContext) -> None:
        """Call the function."""
        self.function(intake, context)
