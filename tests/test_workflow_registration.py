"""Workflow definitions are part of the record: registered, signed, in each office's chain.

The verifier holds every event to the definition the chain registered, never to the files
installed where it runs; the engine refuses to run an installed definition that differs from the
registered one until an admin registers it (a signed, visible change of the rules).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner
from sqlalchemy import delete

from qms_engine.api import hookimpl
from qms_engine.audit.verify import verify_office
from qms_engine.capa.nonconformities import raise_nc
from qms_engine.chain import events
from qms_engine.chain.canonical import canonical_sha256
from qms_engine.chain.reader import tail_events
from qms_engine.chain.unit_of_work import unit_of_work
from qms_engine.cli import cli
from qms_engine.documents.transitions import take_transition
from qms_engine.errors import PermissionDenied, RuleViolation
from qms_engine.extension.manager import get_plugin_manager, load_plugins
from qms_engine.people.permissions import load_actor
from qms_engine.people.workflow_registrations import register_workflow, register_workflows
from qms_engine.runtime import Runtime
from qms_engine.storage.models import WORKFLOW_TABLE
from qms_engine.testing import TEST_PASSPHRASE, TestOffice

if TYPE_CHECKING:
    from tests.conftest import Desk

SOP_WORKFLOW = Path(__file__).resolve().parents[1] / "workflows" / "sop-revision.toml"


def registrations(office: TestOffice) -> list[tuple[int, str, str]]:
    """The office's workflow registrations in chain order: (seq, workflow, sha256)."""
    with office.runtime.engine.connect() as connection:
        events = tail_events(connection, office.office.id, 10_000)
    return [
        (e.seq, e.subject, json.loads(e.payload)["sha256"])
        for e in events
        if e.action == "workflow.registered"
    ]


class WeakenedWorkflows:
    """A plugin shipping an installed ``sop-revision`` whose approval has no segregation."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @hookimpl
    def qms_workflow_dirs(self) -> list[Path]:
        """The folder with the weakened copy."""
        return [self.folder]


def weakened_runtime(office: TestOffice, tmp_path: Path) -> Runtime:
    """The office opened with a weakened ``sop-revision`` installed in place of the real one."""
    folder = tmp_path / "weak"
    folder.mkdir()
    for source in SOP_WORKFLOW.parent.glob("*.toml"):
        shutil.copy(source, folder / source.name)
    text = (folder / "sop-revision.toml").read_text(encoding="utf-8")
    (folder / "sop-revision.toml").write_text(
        text.replace('not_by = ["author", "submit"]', "not_by = []"), encoding="utf-8"
    )
    manager = get_plugin_manager()
    manager.unregister(name="default_workflows")
    manager.register(WeakenedWorkflows(folder), name="weak_workflows")
    return Runtime.open(office.runtime.workspace, load_plugins(manager))


def test_a_new_office_registers_its_workflows_before_its_document_types(
    qms_office: TestOffice,
) -> None:
    """Founding an office records each workflow its types and its nonconformities use, with
    the installed digest, before the first document type names it."""
    found = registrations(qms_office)
    plugins = qms_office.runtime.plugins
    assert sorted((name, sha) for _, name, sha in found) == [
        (name, plugins.workflow_digest(name)) for name in ("capa", "record-filing", "sop-revision")
    ]
    with qms_office.runtime.engine.connect() as connection:
        first_type = next(
            e.seq
            for e in tail_events(connection, qms_office.office.id, 10_000)
            if e.action == "office.document_type.added"
        )
    assert max(seq for seq, _, _ in found) < first_type


def test_recorded_definition_is_the_installed_one(qms_office: TestOffice) -> None:
    """The registered definition reads back as the installed one, byte for byte."""
    plugins = qms_office.runtime.plugins
    with qms_office.runtime.engine.connect() as connection:
        event = next(
            e
            for e in tail_events(connection, qms_office.office.id, 10_000)
            if e.action == "workflow.registered" and e.subject == "sop-revision"
        )
    payload = json.loads(event.payload)
    assert payload["definition"] == plugins.workflows["sop-revision"].record()
    assert payload["sha256"] == canonical_sha256(payload["definition"])


def test_changed_installed_workflow_is_refused_until_an_admin_registers_it(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """An installed definition that differs from the registered one (here: segregation of
    duties removed) cannot be used; once an admin registers it, the change is a signed event
    in the chain, and work under it verifies."""
    number = desk.new_sop()
    take_transition(
        qms_office.runtime, number=number, transition="submit", actor=qms_office.signers["author"]
    )
    runtime = weakened_runtime(qms_office, tmp_path)
    try:
        with pytest.raises(RuleViolation, match="differs from the one registered"):
            take_transition(
                runtime, number=number, transition="approve", actor=qms_office.signers["approver"]
            )
        with pytest.raises(PermissionDenied, match="needs role admin"):
            register_workflows(runtime, qms_office.office, actor=qms_office.signers["author"])
        assert register_workflows(
            runtime, qms_office.office, actor=qms_office.signers["admin"]
        ) == ["sop-revision"]
        assert (
            register_workflows(runtime, qms_office.office, actor=qms_office.signers["admin"]) == []
        )
        take_transition(
            runtime, number=number, transition="approve", actor=qms_office.signers["approver"]
        )
        assert verify_office(runtime, qms_office.office).ok
    finally:
        runtime.close()
    assert [name for _, name, _ in registrations(qms_office)][-1] == "sop-revision"


def test_verifier_applies_the_registered_definition_not_the_installed_one(
    qms_office: TestOffice, desk: Desk, tmp_path: Path
) -> None:
    """A self-approval forbidden by the registered workflow fails verification even where a
    weakened copy of the workflow is installed: the record, not the installation, decides."""
    runtime = qms_office.runtime
    anita = qms_office.signers["author"]
    number = desk.new_sop()
    take_transition(runtime, number=number, transition="submit", actor=anita)
    # An insider with the database writes the self-approval through the write path's own
    # unit of work, skipping only the engine's checks (as a patched engine would).
    with unit_of_work(runtime.engine) as work:
        work.lock(qms_office.office)
        actor = load_actor(work.connection, anita, qms_office.office)
        approving = type(actor)(
            actor.id, actor.username, actor.full_name, actor.kind, frozenset({"author"}), anita
        )
        seq = work.append(
            qms_office.office,
            approving,
            events.revision_transition("approved"),
            f"{number}#0",
            {"transition": "approve", "from": "in_review", "to": "approved", "comment": ""},
            role="author",
        ).seq
    weak = weakened_runtime(qms_office, tmp_path)
    try:
        for where in (runtime, weak):
            result = verify_office(where, qms_office.office)
            assert any(
                p.startswith(f"event #{seq}: ") and "wrote this revision" in p
                for p in result.problems
            ), result.problems
    finally:
        weak.close()


def test_forged_registration_by_a_non_admin_fails(qms_office: TestOffice) -> None:
    """A workflow registration signed by anyone but an admin breaks the registration rule."""
    runtime = qms_office.runtime
    plugins = runtime.plugins
    with unit_of_work(runtime.engine) as work:
        author = load_actor(work.connection, qms_office.signers["author"], qms_office.office)
        with pytest.raises(PermissionDenied, match="rule 'workflow registration'"):
            register_workflow(
                work,
                qms_office.office,
                plugins.workflows["record-filing"],
                "0" * 64,
                by=author,
            )


def test_an_office_without_the_capa_workflow_registers_it(qms_office: TestOffice) -> None:
    """An office founded before nonconformities existed has no ``capa`` registered: raising an
    NC there is refused, naming the command; ``qms wf register`` (with no names, or naming it)
    registers it, signed, and the chain verifies."""
    with unit_of_work(qms_office.runtime.engine) as work:  # what an older office looks like
        work.connection.execute(
            delete(WORKFLOW_TABLE).where(
                WORKFLOW_TABLE.c.office_id == qms_office.office.id, WORKFLOW_TABLE.c.name == "capa"
            )
        )
    nc = {
        "office": qms_office.office.code,
        "actor": qms_office.signers["quality_coordinator"],
        "title": "GD not closed",
        "description": "Not closed at midnight",
        "source": "complaint",
        "severity": "minor",
    }
    with pytest.raises(RuleViolation, match="'capa' is not registered") as refused:
        raise_nc(qms_office.runtime, **nc)  # type: ignore[arg-type]
    assert (
        refused.value.hint == "an admin reviews and registers it: qms wf register capa --as ADMIN"
    )
    result = CliRunner().invoke(
        cli,
        ["-w", str(qms_office.root), "wf", "register", "capa", "--as=admin", "--json"],
        env={"QMS_PASSPHRASE": TEST_PASSPHRASE},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"registered": ["capa"]}
    assert (
        register_workflows(qms_office.runtime, qms_office.office, actor=qms_office.signers["admin"])
        == []
    )
    assert raise_nc(qms_office.runtime, **nc).state == "raised"  # type: ignore[arg-type]
    assert verify_office(qms_office.runtime, qms_office.office).ok
