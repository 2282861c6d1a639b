"""Declarative workflow definitions: the states and transitions of a document's life, as data.

A workflow is a TOML file (see ``workflows/sop-revision.toml`` for the annotated format), so an
office can change who approves what without touching code, and an auditor can read the rules
that the engine enforces.  Every definition is checked completely when it is loaded: a typo in a
role, a state nobody can reach or a transition out of a terminal state is refused at start-up
with the file and key named, never discovered half-way through approving an SOP.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

__all__ = [
    "AUDITED",
    "AUTHOR",
    "DONE",
    "IMPLEMENTER",
    "NONCONFORMITY",
    "PLANNED",
    "REVISION",
    "State",
    "Transition",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "load_workflow",
    "load_workflows",
]

AUTHOR = "author"
"""The ``by`` / ``not_by`` entry meaning "the revision's author" (an NC's: whoever raised it), so
no transition may be named this."""
IMPLEMENTER = "implementer"
"""The ``by`` / ``not_by`` entry, in a nonconformity workflow, meaning whoever implemented one of
the NC's actions (marked it done, or wrote or made effective the revision a document action
asked for)."""
AUDITED = "audited"
"""The ``by`` / ``not_by`` entry, in a nonconformity workflow, meaning the owner of the area
audited: the ``area_owner`` of the internal audit's checklist item whose finding raised the NC
(nobody, for an NC raised otherwise).  Whoever the NC was raised against does not dispose of
it."""

REVISION = "revision"
NONCONFORMITY = "nonconformity"
SUBJECTS = (REVISION, NONCONFORMITY)
"""What a workflow moves: a document's revision (the default) or a nonconformity (CAPA)."""
PLANNED, DONE = "planned", "done"
"""A nonconformity transition's ``actions`` condition: at least one action / every action done."""
_PARTIES = {REVISION: (AUTHOR,), NONCONFORMITY: (AUTHOR, IMPLEMENTER, AUDITED)}
_NOT_FOR_NONCONFORMITIES = ("exclusive", "starts_review_clock", "in_force")
"""State keys about a document's revisions that mean nothing for a nonconformity."""

_WORKFLOW_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MEMBER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MAX_NAME = 64  # the database columns holding workflow, state and transition names

_TOP_KEYS = ("name", "title", "description", "subject", "initial", "states", "transitions")
_TOP_REQUIRED = ("name", "initial", "states", "transitions")
_STATE_KEYS = (
    "title",
    "description",
    "open",
    "terminal",
    "exclusive",
    "starts_review_clock",
    "in_force",
    "accepts_actions",
)
_TRANSITION_KEYS = (
    "title",
    "description",
    "from",
    "to",
    "roles",
    "meaning",
    "comment_required",
    "by",
    "not_by",
    "actions",
    "resets_actions",
)
_TRANSITION_REQUIRED = ("from", "to", "roles", "meaning")


@dataclass(frozen=True)
class State:
    """A place a revision can be in; the flags tell the engine which document-control rules apply.

    ``open``: a document may have at most one revision in an open state (one open draft).
    ``terminal``: nothing leaves this state.  ``exclusive``: entering this state moves the
    document's other revisions that are in it to the named state (a new effective revision
    supersedes the old one).  ``starts_review_clock``: the periodic-review due date counts from
    the moment a revision enters this state; a transition from it back into it (a periodic
    review that changed nothing) restarts the count.  ``in_force``: a revision in this state is the
    document's current, issued one (the master list shows it; ``qms doc get`` hands it out);
    at most one state of a workflow has it, and it must be ``exclusive`` (so one revision at a
    time is in force).
    """

    name: str
    title: str
    open: bool = False
    terminal: bool = False
    exclusive: str | None = None
    starts_review_clock: bool = False
    in_force: bool = False
    description: str = ""
    accepts_actions: bool = False
    """Nonconformity workflows: actions may be added to an NC in this state (and marked done)."""


@dataclass(frozen=True)
class Transition:
    """An action that moves a revision from one of ``sources`` to ``target``.

    Only users holding one of ``roles`` may take it; ``meaning`` is what their signature means
    (ISO 9001 7.5.2: "approved", "reviewed" …).  ``not_by`` enforces segregation of duties: each
    entry is ``"author"`` (the revision's author) or the name of another transition (whoever took
    that transition on this revision), and such a person may not take this one.  ``by`` is the
    opposite: when given, only such a person may take it (an author discards their own draft).
    ``actions`` (nonconformity workflows): ``"planned"``, the NC needs an action; ``"done"``,
    it needs one and every action of it done (no closing with open actions).
    ``resets_actions`` (nonconformity workflows): the actions added before this transition no
    longer count for ``actions`` (a reopened NC needs a new action, done).
    """

    name: str
    title: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    meaning: str
    comment_required: bool = False
    not_by: tuple[str, ...] = ()
    description: str = ""
    by: tuple[str, ...] = ()
    actions: str | None = None
    resets_actions: bool = False


@dataclass(frozen=True)
class WorkflowDefinition:
    """A validated workflow, read from ``source``; the engine never runs an unvalidated one."""

    name: str
    title: str
    initial: str
    states: Mapping[str, State]
    transitions: Mapping[str, Transition]
    source: Path
    description: str = ""
    subject: str = REVISION

    def transitions_from(self, state: str) -> list[Transition]:
        """The transitions that may leave ``state``, in file order (the order menus show them).

        Raises :class:`LookupError` for a state this workflow does not have, because a revision
        recorded in such a state means stored data and definition disagree.
        """
        if state not in self.states:
            raise LookupError(
                f"workflow {self.name!r} has no state {state!r} (states: {', '.join(self.states)})"
            )
        return [t for t in self.transitions.values() if state in t.sources]

    def transition(self, name: str) -> Transition:
        """The transition called ``name``; :class:`LookupError` (naming the known ones) if none."""
        try:
            return self.transitions[name]
        except KeyError:
            known = ", ".join(self.transitions) or "none"
            raise LookupError(
                f"workflow {self.name!r} has no transition {name!r} (transitions: {known})"
            ) from None

    @property
    def in_force_state(self) -> str | None:
        """The state whose revision is the document's current, issued one (if any)."""
        return next((name for name, state in self.states.items() if state.in_force), None)

    def record(self) -> dict[str, Any]:
        """The definition as JSON data, in the shape of its TOML file, every default spelled
        out (``by`` only when given, so definitions written before it existed keep their
        digest): what the audit chain records (``workflow.registered``) and
        :func:`workflow_from_record` reads back."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            **({"subject": self.subject} if self.subject != REVISION else {}),
            "initial": self.initial,
            "states": {
                name: {
                    "title": state.title,
                    "description": state.description,
                    "open": state.open,
                    "terminal": state.terminal,
                    **({"exclusive": state.exclusive} if state.exclusive is not None else {}),
                    "starts_review_clock": state.starts_review_clock,
                    "in_force": state.in_force,
                    **({"accepts_actions": True} if state.accepts_actions else {}),
                }
                for name, state in self.states.items()
            },
            "transitions": {
                name: {
                    "title": step.title,
                    "description": step.description,
                    "from": list(step.sources),
                    "to": step.target,
                    "roles": list(step.roles),
                    "meaning": step.meaning,
                    "comment_required": step.comment_required,
                    **({"by": list(step.by)} if step.by else {}),
                    "not_by": list(step.not_by),
                    **({"actions": step.actions} if step.actions is not None else {}),
                    **({"resets_actions": True} if step.resets_actions else {}),
                }
                for name, step in self.transitions.items()
            },
        }

    def open_states(self) -> frozenset[str]:
        """The states counted by the "one open revision per document" rule."""
        return frozenset(name for name, state in self.states.items() if state.open)


class WorkflowDefinitionError(Exception):
    """A workflow file is unusable; ``str()`` is ``"<file>: <key path>: <problem>"``.

    ``key`` is the dotted TOML key path (``transitions.approve.roles``), or empty when the
    problem is the file as a whole (unreadable, bad TOML syntax, empty).
    """

    def __init__(self, path: Path, key: str, problem: str) -> None:
        self.path = path
        self.key = key
        self.problem = problem
        super().__init__(f"{path}: {key}: {problem}" if key else f"{path}: {problem}")


def load_workflow(path: Path, known_roles: Collection[str]) -> WorkflowDefinition:
    """Read and fully validate one workflow file; roles must be among ``known_roles``."""
    loader = _Loader(path, known_roles)
    return loader.build(loader.parse())


def workflow_from_record(record: Mapping[str, Any], where: str) -> WorkflowDefinition:
    """A definition as recorded in an audit chain (:meth:`WorkflowDefinition.record`), checked
    exactly like a file; ``where`` names the record in errors (``"PS-KOT39 event #7"``).

    Role names are not checked against an installation: the chain itself says who holds them.
    """
    return _Loader(Path(where), None).build(dict(record))


def load_workflows(
    dirs: Iterable[Path], known_roles: Collection[str]
) -> dict[str, WorkflowDefinition]:
    """Load every ``*.toml`` in each folder (sorted by file name), keyed by workflow name.

    Two files defining the same workflow name is an error naming both files: silently letting
    one plugin's workflow replace another's would change who may approve documents.
    """
    workflows: dict[str, WorkflowDefinition] = {}
    seen_dirs: set[Path] = set()
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise WorkflowDefinitionError(folder, "", "workflow folder does not exist")
        resolved = folder.resolve()
        if resolved in seen_dirs:  # the same folder offered twice is not a duplicate definition
            continue
        seen_dirs.add(resolved)
        files = sorted(
            p for p in folder.glob("*.toml") if p.is_file() and not p.name.startswith(".")
        )
        for file in files:
            definition = load_workflow(file, known_roles)
            earlier = workflows.get(definition.name)
            if earlier is not None:
                raise WorkflowDefinitionError(
                    file,
                    "name",
                    f"workflow {definition.name!r} is already defined in {earlier.source}",
                )
            workflows[definition.name] = definition
    return workflows


# --- validation -----------------------------------------------------------------------------


def _describe(value: object) -> str:
    """A TOML user's name for a value's type, with the value when short."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"{type(value).__name__} {value}"


class _Loader:
    """Reads one file; each check raises at the first problem, naming the key."""

    def __init__(self, path: Path, known_roles: Collection[str] | None) -> None:
        self.path = path
        self.known_roles = None if known_roles is None else frozenset(known_roles)

    def fail(self, key: str, problem: str) -> NoReturn:
        raise WorkflowDefinitionError(self.path, key, problem)

    # --- file and structure -------------------------------------------------------------------

    def build(self, data: dict[str, Any]) -> WorkflowDefinition:
        self.check_keys(data, "", _TOP_KEYS, _TOP_REQUIRED)
        name = self.string(data, "name", "name")
        if len(name) > _MAX_NAME or not _WORKFLOW_NAME.fullmatch(name):
            self.fail(
                "name",
                f"invalid workflow name {name!r}: use lowercase letters, digits and single "
                f"hyphens, at most {_MAX_NAME} characters (e.g. 'sop-revision')",
            )
        title = self.string(data, "title", "title", default=name)
        description = self.string(data, "description", "description", default="", empty_ok=True)
        initial = self.string(data, "initial", "initial")
        subject = self.string(data, "subject", "subject", default=REVISION)
        if subject not in SUBJECTS:
            self.fail("subject", f"unknown subject {subject!r} (one of: {', '.join(SUBJECTS)})")

        states_table = self.table(data["states"], "states")
        states = {
            state_name: self.state(state_name, value) for state_name, value in states_table.items()
        }
        if not states:
            self.fail("states", "a workflow needs at least one state")
        transitions_table = self.table(data["transitions"], "transitions")
        transitions = {
            t_name: self.transition(t_name, value) for t_name, value in transitions_table.items()
        }

        self.check_references(initial, states, transitions, subject)
        self.check_subject(subject, states, transitions)
        self.check_reachable(initial, states, transitions)
        self.check_in_force(states)
        return WorkflowDefinition(
            name=name,
            title=title,
            initial=initial,
            states=MappingProxyType(states),
            transitions=MappingProxyType(transitions),
            source=self.path,
            description=description,
            subject=subject,
        )

    def parse(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.fail("", f"cannot read the file: {exc.strerror or exc}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.fail("", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.fail("", f"invalid TOML: {exc}")
        except RecursionError:
            self.fail("", "nested too deeply to be a workflow definition")
        if not data:
            self.fail(
                "",
                "the file defines nothing; a workflow needs name, initial, states and transitions",
            )
        return data

    def check_keys(
        self,
        table: Mapping[str, Any],
        prefix: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
    ) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.fail(
                    _join(prefix, key),
                    f"unknown key {key!r}; {hint}(allowed keys: {', '.join(sorted(allowed))})",
                )
        for key in required:
            if key not in table:
                where = f"[{prefix}]" if prefix else "the top level"
                self.fail(_join(prefix, key), f"missing required key {key!r} in {where}")

    def state(self, name: str, value: object) -> State:
        prefix = f"states.{name}"
        self.member_name(prefix, "state", name)
        table = self.table(value, prefix)
        self.check_keys(table, prefix, _STATE_KEYS, ())
        exclusive = table.get("exclusive")
        if exclusive is not None:
            exclusive = self.string(table, "exclusive", f"{prefix}.exclusive")
        return State(
            name=name,
            title=self.string(table, "title", f"{prefix}.title", default=_humanise(name)),
            open=self.boolean(table, "open", f"{prefix}.open"),
            terminal=self.boolean(table, "terminal", f"{prefix}.terminal"),
            exclusive=exclusive,
            starts_review_clock=self.boolean(
                table, "starts_review_clock", f"{prefix}.starts_review_clock"
            ),
            in_force=self.boolean(table, "in_force", f"{prefix}.in_force"),
            accepts_actions=self.boolean(table, "accepts_actions", f"{prefix}.accepts_actions"),
            description=self.string(
                table, "description", f"{prefix}.description", default="", empty_ok=True
            ),
        )

    def transition(self, name: str, value: object) -> Transition:
        prefix = f"transitions.{name}"
        self.member_name(prefix, "transition", name)
        if name in (AUTHOR, IMPLEMENTER, AUDITED):
            self.fail(prefix, f"{name!r} is reserved (in by and not_by it names a person)")
        table = self.table(value, prefix)
        self.check_keys(table, prefix, _TRANSITION_KEYS, _TRANSITION_REQUIRED)
        roles = self.string_list(table, "roles", f"{prefix}.roles")
        if not roles:
            self.fail(f"{prefix}.roles", "no roles given; nobody could take this transition")
        for role in roles:
            if self.known_roles is not None and role not in self.known_roles:
                known = ", ".join(sorted(self.known_roles)) or "none"
                self.fail(f"{prefix}.roles", f"unknown role {role!r} (known roles: {known})")
        sources = self.string_list(table, "from", f"{prefix}.from")
        if not sources:
            self.fail(f"{prefix}.from", "empty; list the state(s) this transition leaves")
        return Transition(
            name=name,
            title=self.string(table, "title", f"{prefix}.title", default=_humanise(name)),
            sources=sources,
            target=self.string(table, "to", f"{prefix}.to"),
            roles=roles,
            meaning=self.string(table, "meaning", f"{prefix}.meaning"),
            comment_required=self.boolean(table, "comment_required", f"{prefix}.comment_required"),
            not_by=self.string_list(table, "not_by", f"{prefix}.not_by", default=()),
            description=self.string(
                table, "description", f"{prefix}.description", default="", empty_ok=True
            ),
            by=self.string_list(table, "by", f"{prefix}.by", default=()),
            actions=self.actions(table, f"{prefix}.actions"),
            resets_actions=self.boolean(table, "resets_actions", f"{prefix}.resets_actions"),
        )

    # --- cross-references ---------------------------------------------------------------------

    def check_references(
        self,
        initial: str,
        states: Mapping[str, State],
        transitions: Mapping[str, Transition],
        subject: str,
    ) -> None:
        known_states = ", ".join(states)
        if initial not in states:
            self.fail("initial", f"unknown state {initial!r} (states: {known_states})")
        in_force = [state.name for state in states.values() if state.in_force]
        if len(in_force) > 1:
            self.fail(
                f"states.{in_force[1]}.in_force",
                f"only one state may be in force; {in_force[0]!r} already is",
            )
        for state in states.values():
            if state.exclusive is None:
                continue
            key = f"states.{state.name}.exclusive"
            if state.exclusive == state.name:
                self.fail(key, f"a state cannot be its own exclusive target ({state.name!r})")
            if state.exclusive not in states:
                self.fail(key, f"unknown state {state.exclusive!r} (states: {known_states})")
        for t in transitions.values():
            prefix = f"transitions.{t.name}"
            for source in t.sources:
                if source not in states:
                    self.fail(
                        f"{prefix}.from", f"unknown state {source!r} (states: {known_states})"
                    )
                if states[source].terminal:
                    self.fail(
                        f"{prefix}.from",
                        f"{source!r} is a terminal state; no transition may leave it",
                    )
            if t.target not in states:
                self.fail(f"{prefix}.to", f"unknown state {t.target!r} (states: {known_states})")
            parties = _PARTIES[subject]
            for key, entries in (("by", t.by), ("not_by", t.not_by)):
                for entry in entries:
                    if entry not in parties and entry not in transitions:
                        choices = ", ".join(transitions)
                        self.fail(
                            f"{prefix}.{key}",
                            f"unknown transition {entry!r} (use {' or '.join(map(repr, parties))}"
                            f" or a transition of this workflow: {choices})",
                        )
            both = [entry for entry in t.by if entry in t.not_by]
            if both:
                self.fail(
                    f"{prefix}.by",
                    f"{both[0]!r} is in both by and not_by: nobody could take this transition",
                )

    def check_reachable(
        self, initial: str, states: Mapping[str, State], transitions: Mapping[str, Transition]
    ) -> None:
        reached = {initial}
        pending = [initial]
        while pending:
            here = pending.pop()
            nexts = [t.target for t in transitions.values() if here in t.sources]
            exclusive = states[here].exclusive
            if exclusive is not None:  # other revisions are moved there when one enters `here`
                nexts.append(exclusive)
            for there in nexts:
                if there not in reached:
                    reached.add(there)
                    pending.append(there)
        for name in states:
            if name not in reached:
                self.fail(
                    f"states.{name}",
                    f"state {name!r} is unreachable from the initial state {initial!r}: no "
                    "transition from a reachable state leads to it, and no reachable state "
                    "names it as its `exclusive` target",
                )

    def check_in_force(self, states: Mapping[str, State]) -> None:
        """The in-force state must be exclusive: else a second revision entering it would not
        move the first out, and two revisions of one document would be in force at once."""
        for state in states.values():
            if state.in_force and state.exclusive is None:
                self.fail(
                    f"states.{state.name}.in_force",
                    "a state in force must also be `exclusive` (name the state the previous "
                    'in-force revision moves to, e.g. exclusive = "superseded"); without it two '
                    "revisions of one document could be in force at once",
                )

    def check_subject(
        self, subject: str, states: Mapping[str, State], transitions: Mapping[str, Transition]
    ) -> None:
        """Actions belong to nonconformities; a revision's workflow may not use them, and a
        nonconformity's may not use what only a document's revisions have."""
        if subject == NONCONFORMITY:
            self.check_nonconformity(states, transitions)
            return
        for state in states.values():
            if state.accepts_actions:
                self.fail(
                    f"states.{state.name}.accepts_actions",
                    f'only a workflow with subject = "{NONCONFORMITY}" has actions',
                )
        for step in transitions.values():
            if step.actions is not None:
                self.fail(
                    f"transitions.{step.name}.actions",
                    f'only a workflow with subject = "{NONCONFORMITY}" has actions',
                )
            if step.resets_actions:
                self.fail(
                    f"transitions.{step.name}.resets_actions",
                    f'only a workflow with subject = "{NONCONFORMITY}" has actions to reset',
                )

    def check_nonconformity(
        self, states: Mapping[str, State], transitions: Mapping[str, Transition]
    ) -> None:
        """A nonconformity has no in-force revision nor review clock; no action is taken in a
        terminal state; a transition that needs an action planned leaves a state where one
        can be added."""
        for state in states.values():
            given = {
                "exclusive": state.exclusive is not None,
                "starts_review_clock": state.starts_review_clock,
                "in_force": state.in_force,
            }
            for key in _NOT_FOR_NONCONFORMITIES:
                if given[key]:
                    self.fail(
                        f"states.{state.name}.{key}",
                        f"{key} is about a document's revisions; a workflow with subject = "
                        f'"{NONCONFORMITY}" may not use it (remove the key)',
                    )
            if state.accepts_actions and state.terminal:
                self.fail(
                    f"states.{state.name}.accepts_actions",
                    f"{state.name!r} is terminal: nothing is done on a closed nonconformity, so "
                    "it accepts no actions (remove accepts_actions, or terminal)",
                )
        for step in transitions.values():
            if step.actions == PLANNED and not any(
                states[source].accepts_actions for source in step.sources
            ):
                self.fail(
                    f"transitions.{step.name}.actions",
                    f'actions = "{PLANNED}", but none of its from states '
                    f"({', '.join(step.sources)}) accepts actions, so no action could be "
                    "planned before it (set accepts_actions = true on one of them)",
                )

    # --- typed getters ------------------------------------------------------------------------

    def member_name(self, key: str, kind: str, name: str) -> None:
        if len(name) > _MAX_NAME or not _MEMBER_NAME.fullmatch(name):
            self.fail(
                key,
                f"invalid {kind} name {name!r}: use lowercase letters, digits and underscores, "
                f"starting with a letter, at most {_MAX_NAME} characters",
            )

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {_describe(value)}")
        return value

    def string(
        self,
        table: Mapping[str, Any],
        name: str,
        key: str,
        *,
        default: str | None = None,
        empty_ok: bool = False,
    ) -> str:
        if name not in table and default is not None:
            return default
        value = table[name]
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {_describe(value)}")
        if not empty_ok and not value.strip():
            self.fail(key, "must not be empty")
        return value

    def actions(self, table: Mapping[str, Any], key: str) -> str | None:
        if "actions" not in table:
            return None
        value = self.string(table, "actions", key)
        if value not in (PLANNED, DONE):
            self.fail(key, f"expected {PLANNED!r} or {DONE!r}, got {_describe(value)}")
        return value

    def boolean(self, table: Mapping[str, Any], name: str, key: str) -> bool:
        value = table.get(name, False)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_describe(value)}")
        return value

    def string_list(
        self,
        table: Mapping[str, Any],
        name: str,
        key: str,
        *,
        default: tuple[str, ...] | None = None,
    ) -> tuple[str, ...]:
        if name not in table and default is not None:
            return default
        value = table[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f'expected a list of strings (e.g. ["a", "b"]), got {_describe(value)}')
        for i, item in enumerate(value):
            if item in value[:i]:
                self.fail(key, f"{item!r} is listed twice")
        return tuple(value)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _humanise(name: str) -> str:
    """A default title: ``in_review`` → ``In review``."""
    return name.replace("_", " ").capitalize()
