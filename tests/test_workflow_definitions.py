"""Tests for the declarative workflow definitions and their loader/validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms_engine.rules.workflows import (
    WorkflowDefinition,
    WorkflowDefinitionError,
    load_workflow,
    load_workflows,
)

WORKFLOWS_DIR = Path(__file__).resolve().parents[1] / "workflows"
SOP_FILE = WORKFLOWS_DIR / "sop-revision.toml"
CAPA_FILE = WORKFLOWS_DIR / "capa.toml"
ROLES = {"author", "reviewer", "approver", "quality_coordinator", "clerk", "auditor", "admin"}


def variant(path: Path, old: str, new: str) -> str:
    """A shipped workflow with one exact piece of text replaced."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {path.name}"
    return text.replace(old, new)


def sop_variant(old: str, new: str) -> str:
    """The shipped SOP workflow with one exact piece of text replaced."""
    return variant(SOP_FILE, old, new)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shipped() -> dict[str, WorkflowDefinition]:
    return load_workflows([WORKFLOWS_DIR], ROLES)


def test_shipped_workflows_load(shipped: dict[str, WorkflowDefinition]) -> None:
    """The shipped workflow files pass validation and are keyed by their names."""
    assert sorted(shipped) == ["capa", "record-filing", "sop-revision"]
    assert shipped["sop-revision"].source == SOP_FILE
    assert shipped["capa"].source == CAPA_FILE


def test_sop_revision_structure(shipped: dict[str, WorkflowDefinition]) -> None:
    """The SOP workflow has the states, transitions and flags the engine relies on."""
    sop = shipped["sop-revision"]
    assert sop.initial == "draft"
    assert list(sop.states) == [
        "draft",
        "in_review",
        "approved",
        "effective",
        "superseded",
        "obsolete",
        "discarded",
        "archived",
    ]
    assert [t.name for t in sop.transitions_from("draft")] == ["submit", "discard"]
    assert [t.name for t in sop.transitions_from("in_review")] == ["approve", "reject"]
    assert [t.name for t in sop.transitions_from("approved")] == ["reject", "make_effective"]
    assert [t.name for t in sop.transitions_from("effective")] == ["confirm_review", "withdraw"]
    assert sop.transitions_from("archived") == []
    assert sop.open_states() == frozenset({"draft", "in_review", "approved"})
    assert sop.states["effective"].exclusive == "superseded"
    assert sop.states["effective"].starts_review_clock
    assert sop.in_force_state == "effective"
    assert sop.states["archived"].terminal
    assert sop.states["discarded"].terminal
    discard = sop.transition("discard")
    assert (discard.by, discard.not_by, discard.comment_required) == (("author",), (), True)
    approve = sop.transition("approve")
    assert approve.sources == ("in_review",)
    assert approve.target == "approved"
    assert approve.roles == ("approver",)
    assert approve.not_by == ("author", "submit")
    assert sop.transition("reject").comment_required
    confirm = sop.transition("confirm_review")
    assert (confirm.sources, confirm.target, confirm.meaning) == (
        ("effective",),
        "effective",
        "reviewed",
    )
    assert confirm.roles == ("quality_coordinator", "approver")
    assert (confirm.comment_required, confirm.by, confirm.not_by) == (True, (), ())
    assert sop.transition("submit").title == "Submit for review"
    assert all(s.title and s.description for s in sop.states.values())
    assert all(t.title and t.description for t in sop.transitions.values())


def test_record_filing_structure(shipped: dict[str, WorkflowDefinition]) -> None:
    """The register workflow is filed → verify → verified, and the filer cannot verify."""
    records = shipped["record-filing"]
    assert records.initial == "filed"
    assert records.in_force_state is None
    assert records.states["filed"].title == "Filed"
    assert records.states["verified"].terminal
    verify = records.transition("verify")
    assert (verify.sources, verify.target) == (("filed",), "verified")
    assert verify.roles == ("reviewer", "quality_coordinator")
    assert verify.meaning == "verified"
    assert verify.not_by == ("author",)
    assert records.open_states() == frozenset()


def test_capa_structure(shipped: dict[str, WorkflowDefinition]) -> None:
    """The CAPA workflow moves nonconformities: actions are planned while analysed or planned,
    the plan needs an action, implementing and closing need every action done, nobody who
    implemented an action verifies it, the owner of the area audited neither verifies, closes
    nor cancels the NC raised against it, and a reopening resets the actions."""
    capa = shipped["capa"]
    assert (capa.subject, capa.initial, capa.in_force_state) == ("nonconformity", "raised", None)
    assert list(capa.states) == [
        "raised",
        "contained",
        "analysed",
        "planned",
        "implemented",
        "verified",
        "closed",
        "cancelled",
    ]
    assert [name for name, s in capa.states.items() if s.accepts_actions] == ["analysed", "planned"]
    assert {name: t.actions for name, t in capa.transitions.items() if t.actions} == {
        "plan": "planned",
        "implement": "done",
        "close": "done",
    }
    verify = capa.transition("verify")
    assert (verify.sources, verify.target, verify.not_by) == (
        ("implemented",),
        "verified",
        ("implementer", "audited"),
    )
    assert {name for name, t in capa.transitions.items() if "audited" in t.not_by} == {
        "verify",
        "close",
        "cancel",
    }
    assert capa.transition("reopen").sources == ("implemented", "verified")
    assert [name for name, t in capa.transitions.items() if t.resets_actions] == ["reopen"]
    assert capa.transition("contain").meaning == "contained"
    assert {s for s in capa.states if capa.states[s].terminal} == {"closed", "cancelled"}


def test_new_keys_are_recorded_only_when_used(shipped: dict[str, WorkflowDefinition]) -> None:
    """subject, accepts_actions and actions appear in the recorded definition of a CAPA
    workflow, and not at all in a revision workflow's, whose digest so stays what it was."""
    capa, sop = shipped["capa"].record(), shipped["sop-revision"].record()
    assert capa["subject"] == "nonconformity"
    assert capa["states"]["planned"]["accepts_actions"] is True
    assert "accepts_actions" not in capa["states"]["raised"]
    assert capa["transitions"]["close"]["actions"] == "done"
    assert "actions" not in capa["transitions"]["contain"]
    assert capa["transitions"]["reopen"]["resets_actions"] is True
    assert "resets_actions" not in capa["transitions"]["close"]
    assert not any("resets_actions" in step for step in sop["transitions"].values())
    assert "subject" not in sop
    assert not any("accepts_actions" in state for state in sop["states"].values())
    assert not any("actions" in step for step in sop["transitions"].values())


CAPA_INVALID_CASES = [
    pytest.param(
        CAPA_FILE,
        'subject = "nonconformity"\ninitial',
        'subject = "complaint"\ninitial',
        "subject",
        "unknown subject 'complaint' (one of: revision, nonconformity)",
        id="unknown-subject",
    ),
    pytest.param(
        CAPA_FILE,
        'meaning = "plan started"\nactions = "planned"',
        'meaning = "plan started"\nactions = "some"',
        "transitions.plan.actions",
        "expected 'planned' or 'done', got string 'some'",
        id="actions-unknown-value",
    ),
    pytest.param(
        CAPA_FILE,
        'not_by = ["implementer", "audited"]',
        'not_by = ["implementor", "audited"]',
        "transitions.verify.not_by",
        "unknown transition 'implementor' (use 'author' or 'implementer' or 'audited' or a",
        id="not-by-implementer-misspelt",
    ),
    pytest.param(
        CAPA_FILE,
        "[transitions.reopen]",
        "[transitions.implementer]",
        "transitions.implementer",
        "'implementer' is reserved",
        id="transition-named-implementer",
    ),
    pytest.param(
        CAPA_FILE,
        "[transitions.reopen]",
        "[transitions.audited]",
        "transitions.audited",
        "'audited' is reserved",
        id="transition-named-audited",
    ),
    pytest.param(
        CAPA_FILE,
        'title = "Closed"\n',
        'title = "Closed"\nexclusive = "cancelled"\n',
        "states.closed.exclusive",
        "exclusive is about a document's revisions; a workflow with subject = "
        '"nonconformity" may not use it',
        id="exclusive-in-a-nonconformity-workflow",
    ),
    pytest.param(
        CAPA_FILE,
        'title = "Effective"\n',
        'title = "Effective"\nstarts_review_clock = true\n',
        "states.verified.starts_review_clock",
        "starts_review_clock is about a document's revisions",
        id="review-clock-in-a-nonconformity-workflow",
    ),
    pytest.param(
        CAPA_FILE,
        'title = "Effective"\n',
        'title = "Effective"\nin_force = true\n',
        "states.verified.in_force",
        "in_force is about a document's revisions",
        id="in-force-in-a-nonconformity-workflow",
    ),
    pytest.param(
        CAPA_FILE,
        'title = "Cancelled"\n',
        'title = "Cancelled"\naccepts_actions = true\n',
        "states.cancelled.accepts_actions",
        "'cancelled' is terminal: nothing is done on a closed nonconformity",
        id="accepts-actions-on-a-terminal-state",
    ),
    pytest.param(
        CAPA_FILE,
        'meaning = "contained"\n',
        'meaning = "contained"\nactions = "planned"\n',
        "transitions.contain.actions",
        'actions = "planned", but none of its from states (raised) accepts actions',
        id="planned-where-no-action-can-be-added",
    ),
    pytest.param(
        CAPA_FILE,
        "resets_actions = true   #",
        'resets_actions = "yes"   #',
        "transitions.reopen.resets_actions",
        "expected true or false, got string 'yes'",
        id="resets-actions-not-a-bool",
    ),
    pytest.param(
        SOP_FILE,
        'meaning = "archived"\n',
        'meaning = "archived"\nresets_actions = true\n',
        "transitions.archive.resets_actions",
        'only a workflow with subject = "nonconformity" has actions to reset',
        id="resets-actions-in-a-revision-workflow",
    ),
    pytest.param(
        CAPA_FILE,
        'description = "The root cause is recorded (clause 10.2.1 b); actions are being planned."'
        "\nopen = true\naccepts_actions = true",
        'description = "The root cause is recorded (clause 10.2.1 b); actions are being planned."'
        '\nopen = true\naccepts_actions = "yes"',
        "states.analysed.accepts_actions",
        "expected true or false, got string 'yes'",
        id="accepts-actions-not-a-bool",
    ),
    pytest.param(
        SOP_FILE,
        'meaning = "archived"\n',
        'meaning = "archived"\nactions = "done"\n',
        "transitions.archive.actions",
        'only a workflow with subject = "nonconformity" has actions',
        id="actions-in-a-revision-workflow",
    ),
    pytest.param(
        SOP_FILE,
        'description = "Withdrawn from use without a replacement."',
        'description = "Withdrawn from use without a replacement."\naccepts_actions = true',
        "states.obsolete.accepts_actions",
        'only a workflow with subject = "nonconformity" has actions',
        id="accepts-actions-in-a-revision-workflow",
    ),
    pytest.param(
        SOP_FILE,
        '\nby = ["author"]',
        '\nby = ["implementer"]',
        "transitions.discard.by",
        "unknown transition 'implementer' (use 'author' or a transition of this workflow:",
        id="implementer-in-a-revision-workflow",
    ),
]


@pytest.mark.parametrize(("path", "old", "new", "key", "message"), CAPA_INVALID_CASES)
def test_invalid_capa_keys_are_refused_naming_the_key(
    tmp_path: Path, path: Path, old: str, new: str, key: str, message: str
) -> None:
    """The nonconformity keys (subject, accepts_actions, actions, implementer) are checked
    like every other: a bad value, or one in a revision workflow, names the key."""
    broken = write(tmp_path, "broken.toml", variant(path, old, new))
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow(broken, ROLES)
    assert (caught.value.path, caught.value.key) == (broken, key)
    assert message in caught.value.problem


def test_lookups_name_the_known_choices(shipped: dict[str, WorkflowDefinition]) -> None:
    """Asking for an unknown transition or state raises LookupError listing what exists."""
    sop = shipped["sop-revision"]
    with pytest.raises(LookupError, match=r"no transition 'publish' \(transitions: submit, "):
        sop.transition("publish")
    with pytest.raises(LookupError, match=r"no state 'live' \(states: draft, "):
        sop.transitions_from("live")


def test_definitions_are_read_only(shipped: dict[str, WorkflowDefinition]) -> None:
    """A loaded definition cannot be altered by the code that uses it."""
    sop = shipped["sop-revision"]
    with pytest.raises(TypeError):
        sop.states["draft"] = sop.states["effective"]  # type: ignore[index]


INVALID_CASES = [
    pytest.param(
        'to = "approved"',
        'to = "aproved"',
        "transitions.approve.to",
        "unknown state 'aproved' (states: draft, in_review,",
        id="unknown-state-in-to",
    ),
    pytest.param(
        'from = ["draft"]\nto = "in_review"',
        'from = ["drafts"]\nto = "in_review"',
        "transitions.submit.from",
        "unknown state 'drafts'",
        id="unknown-state-in-from",
    ),
    pytest.param(
        "[transitions.submit]",
        '[states.limbo]\ntitle = "Limbo"\n\n[transitions.submit]',
        "states.limbo",
        "state 'limbo' is unreachable from the initial state 'draft'",
        id="unreachable-state",
    ),
    pytest.param(
        'meaning = "archived"\n',
        'meaning = "archived"\n\n[transitions.restore]\nfrom = ["archived"]\nto = "draft"\n'
        'roles = ["admin"]\nmeaning = "restored"\n',
        "transitions.restore.from",
        "'archived' is a terminal state; no transition may leave it",
        id="transition-out-of-terminal",
    ),
    pytest.param(
        'roles = ["approver"]',
        'roles = ["aprover"]',
        "transitions.approve.roles",
        "unknown role 'aprover' (known roles: admin, approver, auditor, author, clerk,",
        id="unknown-role",
    ),
    pytest.param(
        'comment_required = true\nmeaning = "rejected"',
        'comment_requried = true\nmeaning = "rejected"',
        "transitions.reject.comment_requried",
        "unknown key 'comment_requried'; did you mean 'comment_required'? (allowed keys: ",
        id="unknown-key-typo",
    ),
    pytest.param(
        'meaning = "archived"\n',
        "",
        "transitions.archive.meaning",
        "missing required key 'meaning' in [transitions.archive]",
        id="missing-meaning",
    ),
    pytest.param(
        'initial = "draft"',
        'initial = "drafting"',
        "initial",
        "unknown state 'drafting'",
        id="bad-initial",
    ),
    pytest.param(
        'not_by = ["author", "submit"]',
        'not_by = ["author", "submitt"]',
        "transitions.approve.not_by",
        "unknown transition 'submitt'",
        id="not-by-unknown-transition",
    ),
    pytest.param(
        '\nby = ["author"]',
        '\nby = ["authr"]',
        "transitions.discard.by",
        "unknown transition 'authr' (use 'author' or a transition of this workflow:",
        id="by-unknown-transition",
    ),
    pytest.param(
        '\nby = ["author"]',
        '\nby = ["author"]\nnot_by = ["author"]',
        "transitions.discard.by",
        "'author' is in both by and not_by: nobody could take this transition",
        id="by-and-not-by-exclude-everyone",
    ),
    pytest.param(
        'exclusive = "superseded"',
        "",
        "states.superseded",
        "state 'superseded' is unreachable",
        id="superseded-reachable-only-through-exclusive",
    ),
    pytest.param(
        'exclusive = "superseded"',
        'exclusive = "effective"',
        "states.effective.exclusive",
        "cannot be its own exclusive target",
        id="exclusive-names-itself",
    ),
    pytest.param(
        'exclusive = "superseded"',
        'exclusive = "replaced"',
        "states.effective.exclusive",
        "unknown state 'replaced'",
        id="exclusive-unknown-state",
    ),
    pytest.param(
        "open = true            #",
        'open = "yes"            #',
        "states.draft.open",
        "expected true or false, got string 'yes'",
        id="open-not-a-bool",
    ),
    pytest.param(
        'from = ["draft"]\nto = "in_review"',
        'from = "draft"\nto = "in_review"',
        "transitions.submit.from",
        "expected a list of strings",
        id="from-not-a-list",
    ),
    pytest.param(
        'roles = ["quality_coordinator"]',
        "roles = []",
        "transitions.archive.roles",
        "no roles given",
        id="empty-roles",
    ),
    pytest.param(
        'description = "Withdrawn from use without a replacement."',
        'description = "Withdrawn from use without a replacement."\nin_force = true',
        "states.obsolete.in_force",
        "only one state may be in force; 'effective' already is",
        id="two-states-in-force",
    ),
    pytest.param(
        "in_force = true              # the master list shows this revision; `qms doc get` "
        "hands it out\n\n[states.superseded]\n",
        "\n[states.superseded]\nin_force = true\n",
        "states.superseded.in_force",
        "a state in force must also be `exclusive`",
        id="in-force-without-exclusive",
    ),
    pytest.param(
        "in_force = true              #",
        'in_force = "yes"              #',
        "states.effective.in_force",
        "expected true or false",
        id="in-force-not-a-bool",
    ),
    pytest.param(
        'name = "sop-revision"',
        'name = "SOP_Revision"',
        "name",
        "invalid workflow name 'SOP_Revision': use lowercase letters, digits and single hyphens",
        id="bad-workflow-name",
    ),
]


@pytest.mark.parametrize(("old", "new", "key", "message"), INVALID_CASES)
def test_invalid_definition_is_refused(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    """Each broken definition is refused with the file, the key path and the problem named."""
    path = write(tmp_path, "broken.toml", sop_variant(old, new))
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow(path, ROLES)
    error = caught.value
    assert error.path == path
    assert error.key == key
    assert message in error.problem
    assert str(error) == f"{path}: {key}: {error.problem}"


def test_toml_syntax_error_keeps_line_number(tmp_path: Path) -> None:
    """A TOML syntax error is reported with the file and tomllib's line and column."""
    text = sop_variant('to = "approved"', "to = approved")
    line = text.splitlines().index("to = approved") + 1
    path = write(tmp_path, "broken.toml", text)
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow(path, ROLES)
    error = caught.value
    assert (error.path, error.key) == (path, "")
    assert str(error).startswith(f"{path}: invalid TOML: ")
    assert f"line {line}, column" in str(error)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    """A file with nothing but comments is an error, not a silently missing workflow."""
    path = write(tmp_path, "empty.toml", "# nothing here yet\n")
    with pytest.raises(WorkflowDefinitionError, match="the file defines nothing") as caught:
        load_workflow(path, ROLES)
    assert (caught.value.path, caught.value.key) == (path, "")


def test_duplicate_workflow_name_names_both_files(tmp_path: Path) -> None:
    """Two files defining the same workflow name are refused, naming both files."""
    first_dir, second_dir = tmp_path / "plugin_a", tmp_path / "plugin_b"
    first_dir.mkdir()
    second_dir.mkdir()
    text = SOP_FILE.read_text(encoding="utf-8")
    first = write(first_dir, "sop.toml", text)
    second = write(second_dir, "sop-copy.toml", text)
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflows([first_dir, second_dir], ROLES)
    error = caught.value
    assert (error.path, error.key) == (second, "name")
    assert f"workflow 'sop-revision' is already defined in {first}" in str(error)
    assert str(error).startswith(f"{second}: name: ")


def test_load_workflows_reads_toml_files_in_name_order(tmp_path: Path) -> None:
    """Only *.toml files are read, in sorted order, and the same folder twice is no duplicate."""
    write(tmp_path, "b.toml", SOP_FILE.read_text(encoding="utf-8"))
    write(tmp_path, "a.toml", (WORKFLOWS_DIR / "record-filing.toml").read_text(encoding="utf-8"))
    write(tmp_path, "notes.txt", "not a workflow")
    workflows = load_workflows([tmp_path, tmp_path], ROLES)
    assert list(workflows) == ["record-filing", "sop-revision"]
    assert workflows["sop-revision"].source == tmp_path / "b.toml"


def test_deeply_nested_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A workflow file nested 100,000 levels deep is refused with the file named, no crash."""
    path = write(tmp_path, "deep.toml", "name = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow(path, ROLES)
    assert caught.value.path == path
    assert "nested too deeply" in caught.value.problem
