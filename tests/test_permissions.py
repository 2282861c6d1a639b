"""Who may do what: roles, segregation of duties, and keys, all enforced in the engine.

Every refusal is checked to leave the audit chain and the document tables exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import pytest

from qms_engine.audit.verify import verify_office
from qms_engine.chain.reader import tail_events
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.documents.master_list import document_detail
from qms_engine.documents.revisions import create_document
from qms_engine.errors import PermissionDenied, QmsError, RuleViolation
from qms_engine.people.keys import revoke, rotate, unlock
from qms_engine.people.offices import add_office
from qms_engine.people.users import add_user, deactivate_user, grant_roles, revoke_roles
from qms_engine.runtime import Runtime
from qms_engine.storage.models import Event
from qms_engine.testing import TEST_PASSPHRASE, TestOffice, staff_member

if TYPE_CHECKING:
    from tests.conftest import Desk, Stored


@pytest.fixture
def refused(stored: Callable[[], Stored]) -> Callable[..., AbstractContextManager[None]]:
    """``with refused(PermissionDenied, "needs role"):`` — raises, and nothing was written."""

    @contextmanager
    def check(error: type[QmsError], match: str) -> Iterator[None]:
        before = stored()
        with pytest.raises(error, match=match):
            yield
        assert before == stored()

    return check


def state_of(office: TestOffice, number: str) -> str:
    """The state of the newest revision."""
    return document_detail(office.runtime, number).revisions[-1].state


def test_author_cannot_approve(
    desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """The author lacks the approver role: approving is PermissionDenied."""
    number = desk.new_sop()
    desk.act(number, "submit")
    with refused(PermissionDenied, "'anita' may not approve .* needs role approver"):
        desk.act(number, "approve", who="author")


def test_clerk_cannot_create_sop(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """Only authors create SOPs; a clerk is refused."""
    path = desk.docx()
    with refused(PermissionDenied, "may not create Standard operating procedure records"):
        create_document(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["clerk"],
            type_code="SOP",
            title="Clerk's SOP",
            path=path,
        )


def test_reviewer_can_reject_but_not_approve(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """A reviewer may send a revision back to draft, but may not approve it."""
    number = desk.new_sop()
    desk.act(number, "submit")
    with refused(PermissionDenied, "needs role approver"):
        desk.act(number, "approve", who="reviewer")
    desk.act(number, "reject", who="reviewer", comment="Section 3 is unclear")
    assert state_of(qms_office, number) == "draft"


def test_reject_without_comment_is_refused(
    desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """Rejecting needs a comment saying why."""
    number = desk.new_sop()
    desk.act(number, "submit")
    with refused(RuleViolation, "'reject' needs a comment"):
        desk.act(number, "reject", who="reviewer", comment="   ")


def test_approver_who_is_the_author_cannot_approve_own_revision(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """Holding the approver role does not let the author approve their own revision."""
    grant_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username=qms_office.username("author"),
        roles=["approver"],
    )
    number = desk.new_sop()
    desk.act(number, "submit")
    with refused(PermissionDenied, "'anita' wrote this revision and may not approve it"):
        desk.act(number, "approve", who="author")
    desk.act(number, "approve", who="approver")
    assert state_of(qms_office, number) == "approved"


def test_approver_who_submitted_cannot_approve(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """Whoever submitted a revision may not also approve it; another approver may."""
    grant_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username=qms_office.username("author2"),
        roles=["approver"],
    )
    number = desk.new_sop()  # written by anita ...
    desk.act(number, "submit", who="author2")  # ... submitted by mohan
    with refused(PermissionDenied, "'mohan' took 'submit' on this revision"):
        desk.act(number, "approve", who="author2")
    desk.act(number, "approve", who="approver2")
    assert state_of(qms_office, number) == "approved"


def test_deactivated_user_cannot_act(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """A deactivated approver's unlocked key no longer works."""
    number = desk.new_sop()
    desk.act(number, "submit")
    deactivate_user(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username=qms_office.username("approver"),
        reason="Transferred to Police Lines",
    )
    with refused(PermissionDenied, "'sks' is deactivated"):
        desk.act(number, "approve")


def test_revoked_role_stops_working_at_once(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """An approver whose role is revoked is refused on the very next action."""
    number = desk.new_sop()
    desk.act(number, "submit")
    revoke_roles(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username=qms_office.username("approver"),
        roles=["approver"],
    )
    with refused(PermissionDenied, r"needs role approver \(has: none\)"):
        desk.act(number, "approve")


def test_revoked_key_cannot_act(
    qms_office: TestOffice, desk: Desk, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """A key revoked by an admin signs nothing more, even though it is still unlocked."""
    number = desk.new_sop()
    desk.act(number, "submit")
    revoke(
        qms_office.runtime,
        qms_office.office,
        actor=qms_office.signers["admin"],
        username=qms_office.username("approver"),
        reason="Phone with the key file lost",
    )
    with refused(PermissionDenied, r"was revoked \(Phone with the key file lost\)"):
        desk.act(number, "approve")
    with pytest.raises(PermissionDenied, match="no valid signing key"):
        unlock(qms_office.runtime, qms_office.username("approver"), TEST_PASSPHRASE)


def test_wrong_passphrase_is_refused(qms_office: TestOffice) -> None:
    """Unlocking a key with the wrong passphrase is PermissionDenied."""
    with pytest.raises(PermissionDenied, match="wrong passphrase for sks's signing key"):
        unlock(qms_office.runtime, "sks", "not-the-passphrase")


def test_non_admin_cannot_add_users(
    qms_office: TestOffice, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """Only an admin enrolls users; an approver is refused."""
    with refused(PermissionDenied, "'sks' may not add users .* needs role admin"):
        add_user(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["approver"],
            username="intruder",
            full_name="Someone",
            roles=["approver"],
            passphrase=TEST_PASSPHRASE,
        )


def test_non_admin_cannot_grant_roles(
    qms_office: TestOffice, refused: Callable[..., AbstractContextManager[None]]
) -> None:
    """An author cannot grant themself the approver role."""
    with refused(PermissionDenied, "may not grant roles"):
        grant_roles(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["author"],
            username=qms_office.username("author"),
            roles=["approver"],
        )


@pytest.fixture
def other_office_admin(qms_office: TestOffice) -> Signer:
    """A second office, PS-TEST2, whose own admin holds no role in PS-TEST1."""
    runtime, admin = qms_office.runtime, qms_office.signers["admin"]
    second = add_office(
        runtime,
        actor=admin,
        from_office=qms_office.office,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    return staff_member(runtime, second, admin, "badmin", "PS-B Admin", ["admin"])


@pytest.mark.parametrize("act", ["rotate", "revoke", "deactivate"])
def test_admin_of_another_office_cannot_touch_a_users_key_or_account(
    qms_office: TestOffice,
    other_office_admin: Signer,
    refused: Callable[..., AbstractContextManager[None]],
    act: str,
) -> None:
    """An admin acts only where they hold admin: PS-TEST2's admin cannot rotate or revoke the
    key of, or deactivate, a user who works in PS-TEST1 (which would write into PS-TEST1's
    chain without authority there); nothing is written and PS-TEST1 still verifies."""
    runtime = qms_office.runtime
    second = runtime.office("PS-TEST2")
    anita = qms_office.username("author")
    with refused(PermissionDenied, "'badmin'.* (not registered in|may not .* in) PS-TEST1"):
        if act == "rotate":
            rotate(
                runtime, second, actor=other_office_admin, username=anita, new_passphrase="x" * 12
            )
        elif act == "revoke":
            revoke(runtime, second, actor=other_office_admin, username=anita, reason="lost")
        else:
            deactivate_user(
                runtime, second, actor=other_office_admin, username=anita, reason="transferred"
            )
    assert verify_office(runtime, qms_office.office).ok


def tail(runtime: Runtime, office: OfficeRef) -> list[Event]:
    """The office's last 50 events."""
    with runtime.engine.connect() as connection:
        return tail_events(connection, office.id, 50)


def test_deactivation_is_recorded_in_every_office_of_the_user(qms_office: TestOffice) -> None:
    """A user who works in two offices, deactivated by an admin of both: each office's chain
    records it (each verifies on its own), and the user can act in neither."""
    runtime, admin = qms_office.runtime, qms_office.signers["admin"]
    second = add_office(
        runtime,
        actor=admin,
        from_office=qms_office.office,
        code="PS-TEST2",
        name="थाना दूसरा",
        office_type="police_station",
        office_passphrase=TEST_PASSPHRASE,
    )
    anita = qms_office.username("author")
    grant_roles(runtime, second, actor=admin, username=anita, roles=["author"])
    deactivate_user(runtime, qms_office.office, actor=admin, username=anita, reason="retired")
    for office in (qms_office.office, second):
        detail = [e for e in tail(runtime, office) if e.action == "user.deactivated"]
        assert [(e.subject, e.actor) for e in detail] == [(anita, "admin")]
        assert verify_office(runtime, office).ok
