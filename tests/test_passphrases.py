"""Passphrases: each person changes their own without a new key, by rules the help states, and
every message about a passphrase says which one it is (the actor's, a new user's, the admin's,
the office key's), where it was read and how to give it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlalchemy import select, update

from qms_engine.audit.checkpoints import unlock_office_key
from qms_engine.chain.reader import verify_chain
from qms_engine.chain.signing import MIN_PASSPHRASE, WrongPassphrase
from qms_engine.cli import cli
from qms_engine.demo import PEOPLE
from qms_engine.errors import PermissionDenied, QmsError
from qms_engine.people.keys import change_office_passphrase, change_passphrase, unlock
from qms_engine.storage.models import KEY_TABLE, USER_TABLE
from qms_engine.testing import OFFICE_CODE, TEST_PASSPHRASE, TestOffice
from tests.test_cli import sqlite_only

NEW = "मालखाना-कुंजी-२०२६"
"""A new passphrase in Hindi: 18 characters, as code points count."""
NO_PASSPHRASES: dict[str, str | None] = {
    name: None
    for name in (
        "QMS_PASSPHRASE",
        "QMS_PASSPHRASE_FILE",
        "QMS_NEW_PASSPHRASE",
        "QMS_ADMIN_PASSPHRASE",
        "QMS_OFFICE_PASSPHRASE",
    )
}


def qms(*args: str | Path, **env: str) -> tuple[int, str]:
    """Run ``qms ARGS`` in-process with only the passphrase variables in ``env``: the exit code
    ``qms`` gives (an engine error's own code) and what it says, hint included."""
    result = CliRunner().invoke(cli, [str(a) for a in args], env={**NO_PASSPHRASES, **env})
    error = result.exception
    if isinstance(error, QmsError):
        return error.exit_code, f"{error}\nHint: {error.hint}"
    return result.exit_code, result.output


def fingerprint_of(office: TestOffice, username: str) -> str:
    """The user's current key, as the key table holds it."""
    with office.runtime.engine.connect() as connection:
        return str(
            connection.execute(
                select(KEY_TABLE.c.fingerprint)
                .join(USER_TABLE, USER_TABLE.c.id == KEY_TABLE.c.user_id)
                .where(USER_TABLE.c.username == username, KEY_TABLE.c.valid_until.is_(None))
            ).scalar_one()
        )


def chain_length(office: TestOffice) -> int:
    """How many events the office's chain holds (after checking it)."""
    with office.runtime.engine.connect() as connection:
        return verify_chain(connection, office.office)


def test_a_user_changes_their_own_passphrase_and_keeps_their_key(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """`key passphrase` re-seals the same key: same fingerprint, no event, the old passphrase no
    longer opens it, and the new one (from a file of one's own) signs at once."""
    key, events = fingerprint_of(qms_office, "priya"), chain_length(qms_office)
    code, said = qms(
        "-w", qms_office.root, "key", "passphrase", "--as=priya",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 0, said
    assert said == f"priya's key {key[:16]}… now opens with the new passphrase.\n"
    assert (fingerprint_of(qms_office, "priya"), chain_length(qms_office)) == (key, events)
    with pytest.raises(WrongPassphrase):
        unlock(qms_office.runtime, "priya", TEST_PASSPHRASE)
    assert unlock(qms_office.runtime, "priya", NEW).fingerprint == key
    own = tmp_path / "priya.pass"
    own.write_text(NEW + "\n", encoding="utf-8")
    code, said = qms(
        "-w", qms_office.root, "audit", "checkpoint", "--as=priya", f"--passphrase-file={own}",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_OFFICE_PASSPHRASE=TEST_PASSPHRASE,
    )  # fmt: skip
    assert code == 0, said  # the file is priya's; $QMS_PASSPHRASE (someone else's) is not read
    assert chain_length(qms_office) == events + 1


def test_a_wrong_current_passphrase_names_whose_it_is_and_changes_nothing(
    qms_office: TestOffice,
) -> None:
    """A wrong current passphrase is refused (exit 4) naming the actor and where it was read."""
    code, said = qms(
        "-w", qms_office.root, "key", "passphrase", "--as=anita",
        QMS_PASSPHRASE="someone-elses-passphrase", QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 4
    assert said == (
        "wrong passphrase for anita's signing key: the actor's passphrase (anita), read from "
        "$QMS_PASSPHRASE\nHint: give it with --passphrase-file FILE or $QMS_PASSPHRASE; nothing "
        "was written"
    )
    assert unlock(qms_office.runtime, "anita", TEST_PASSPHRASE).username == "anita"


def test_a_key_an_admin_issued_cannot_be_made_ones_own_by_a_passphrase(
    qms_office: TestOffice,
) -> None:
    """The admin knows the passphrase of a key they issued: the user is sent to `key rotate`."""
    code, said = qms(
        "-w", qms_office.root, "user", "add", "naresh", "--name=HC Naresh", "--role=author",
        "--as=admin", QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_NEW_PASSPHRASE=TEST_PASSPHRASE,
    )  # fmt: skip
    assert code == 0, said
    code, said = qms(
        "-w", qms_office.root, "key", "passphrase", "--as=naresh",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 4
    assert "naresh's signing key was issued by an admin" in said
    assert "qms key rotate naresh --as naresh" in said
    assert unlock(qms_office.runtime, "naresh", TEST_PASSPHRASE).username == "naresh"


@sqlite_only
@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("kurz", f"your key is too short: it needs at least {MIN_PASSPHRASE} characters"),
        ("नमस्ते", f"your key is too short: it needs at least {MIN_PASSPHRASE} characters"),
        (" leading-space", "your key begins or ends with white space"),
        (TEST_PASSPHRASE, "the new passphrase is the same as the current one"),
    ],
)
def test_a_new_passphrase_that_breaks_the_rules_is_a_usage_error(
    qms_office: TestOffice, new: str, message: str
) -> None:
    """Too short (code points count: नमस्ते is 6), spaces at an end, or unchanged: exit 2."""
    code, said = qms(
        "-w", qms_office.root, "key", "passphrase", "--as=anita",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_NEW_PASSPHRASE=new,
    )  # fmt: skip
    assert code == 2
    assert message in said
    assert unlock(qms_office.runtime, "anita", TEST_PASSPHRASE).username == "anita"


def test_two_changes_at_once_leave_exactly_one_new_passphrase(qms_office: TestOffice) -> None:
    """Two changes racing: one wins, and the key opens with its new passphrase only — never a
    key that opens with neither."""
    outcomes: dict[str, str] = {}

    def change(new: str) -> None:
        try:
            change_passphrase(
                qms_office.runtime, username="sks", passphrase=TEST_PASSPHRASE, new_passphrase=new
            )
            outcomes[new] = "changed"
        except QmsError as exc:
            outcomes[new] = type(exc).__name__

    racers = [
        threading.Thread(target=change, args=(new,)) for new in ("first-new-1", "second-new-2")
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    (winner,) = [new for new, outcome in outcomes.items() if outcome == "changed"]
    (loser,) = set(outcomes) - {winner}
    assert outcomes[loser] in {"WrongPassphrase", "RuleViolation"}
    assert unlock(qms_office.runtime, "sks", winner).username == "sks"
    for other in (loser, TEST_PASSPHRASE):
        with pytest.raises(WrongPassphrase):
            unlock(qms_office.runtime, "sks", other)


@sqlite_only
def test_the_same_hindi_passphrase_typed_on_another_keyboard_opens_the_key(
    qms_office: TestOffice,
) -> None:
    """क़ as one code point or as क plus nukta is the same passphrase (compared in NFC)."""
    precomposed = "\u0958\u093e\u0928\u0942\u0928-\u0915\u0941\u0902\u091c\u0940"  # क़ानून-कुंजी
    decomposed = unicodedata.normalize("NFD", precomposed)
    assert precomposed != decomposed
    change_passphrase(
        qms_office.runtime,
        username="rakesh",
        passphrase=TEST_PASSPHRASE,
        new_passphrase=precomposed,
    )
    assert unlock(qms_office.runtime, "rakesh", decomposed).username == "rakesh"


@sqlite_only
def test_a_key_sealed_before_passphrases_were_normalised_still_opens(
    qms_office: TestOffice,
) -> None:
    """A key sealed (as the signing module's docstring describes) under a passphrase that is not
    in NFC, as keys were before, still opens with that passphrase as typed."""
    typed = "\u0958\u093e\u0928\u0942\u0928-\u0915\u0941\u0902\u091c\u0940"  # not NFC: U+0958
    assert unicodedata.normalize("NFC", typed) != typed
    signer = qms_office.signers["reviewer"]
    key = fingerprint_of(qms_office, "rakesh")
    salt, nonce = os.urandom(16), os.urandom(12)
    secret = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(typed.encode("utf-8"))
    pkcs8 = signer.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    envelope = {
        "format": "qms-key-1",
        "kdf": {
            "name": "scrypt",
            "n": 2**15,
            "r": 8,
            "p": 1,
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode()},
        "sealed": base64.b64encode(
            AESGCM(secret).encrypt(nonce, pkcs8, key.encode("ascii"))
        ).decode(),
    }
    with qms_office.runtime.engine.begin() as connection:
        connection.execute(
            update(KEY_TABLE)
            .where(KEY_TABLE.c.fingerprint == key)
            .values(envelope=json.dumps(envelope))
        )
    assert unlock(qms_office.runtime, "rakesh", typed).fingerprint == key


def test_every_missing_passphrase_says_which_one_and_how_to_give_it(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """Without a terminal to ask at, each command names the passphrase it lacks (exit 2)."""
    root, office = qms_office.root, qms_office.office.code
    cases = [
        (
            ("audit", "checkpoint", "--as=priya"),
            {"QMS_PASSPHRASE": TEST_PASSPHRASE},
            f"the office key's passphrase ({office}) is needed and none was given (no terminal "
            "to ask): use --office-passphrase-file FILE or $QMS_OFFICE_PASSPHRASE",
        ),
        (
            ("user", "add", "gita", "--name=Gita", "--role=clerk", "--as=admin"),
            {"QMS_PASSPHRASE": TEST_PASSPHRASE},
            "the new passphrase for the new user's key is needed and none was given (no "
            "terminal to ask): use --new-passphrase-file FILE or $QMS_NEW_PASSPHRASE",
        ),
        (
            ("key", "passphrase", "--as=anita"),
            {"QMS_NEW_PASSPHRASE": NEW},
            "the actor's passphrase (anita) is needed and none was given (no terminal to ask): "
            "use --passphrase-file FILE or $QMS_PASSPHRASE",
        ),
        (
            ("office", "add", "PS-NEU", "--type=police_station", "--name=थाना", "--as=admin"),
            {"QMS_PASSPHRASE": TEST_PASSPHRASE},
            "the new passphrase for the new office's key is needed and none was given (no "
            "terminal to ask): use --office-passphrase-file FILE or $QMS_OFFICE_PASSPHRASE",
        ),
    ]
    for args, env, message in cases:
        code, said = qms("-w", root, *args, **env)
        assert code == 2, said
        assert message in " ".join(said.split()), said
    code, said = qms(
        "init", tmp_path / "ws", "--office-type=police_station", "--office-code=PS-NEU",
        "--office-name=थाना", QMS_OFFICE_PASSPHRASE=TEST_PASSPHRASE,
    )  # fmt: skip
    assert code == 2
    assert "the new passphrase for the admin's key is needed" in " ".join(said.split())


def test_a_wrong_or_empty_passphrase_says_which_one(qms_office: TestOffice, tmp_path: Path) -> None:
    """The office key's wrong passphrase is told from the actor's; an empty file is named."""
    code, said = qms(
        "-w", qms_office.root, "audit", "checkpoint", "--as=priya",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_OFFICE_PASSPHRASE="not-the-office-one",
    )  # fmt: skip
    assert code == 4
    assert said.startswith(
        f"wrong passphrase for office {OFFICE_CODE}'s signing key: the office key's passphrase "
        f"({OFFICE_CODE}), read from $QMS_OFFICE_PASSPHRASE\nHint: give it with "
        "--office-passphrase-file FILE or $QMS_OFFICE_PASSPHRASE"
    )
    empty = tmp_path / "anita.pass"
    empty.write_text("\n", encoding="utf-8")
    code, said = qms(
        "-w", qms_office.root, "key", "passphrase", "--as=anita", f"--passphrase-file={empty}",
        QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 2
    assert said.startswith(f"the actor's passphrase (anita): the file {empty} is empty")


def test_an_admin_changes_the_office_passphrase_and_checkpoints_still_verify(
    qms_office: TestOffice, tmp_path: Path
) -> None:
    """`office passphrase` re-seals the same office key: no event, the old office passphrase
    no longer opens it, and a checkpoint taken with the new one verifies with the old ones."""
    office, root = qms_office.office, qms_office.root
    both = {"QMS_PASSPHRASE": TEST_PASSPHRASE, "QMS_OFFICE_PASSPHRASE": TEST_PASSPHRASE}
    code, said = qms("-w", root, "audit", "checkpoint", "--as=priya", **both)
    assert code == 0, said
    key = unlock_office_key(qms_office.runtime, office, TEST_PASSPHRASE).fingerprint
    events = chain_length(qms_office)
    new_file = tmp_path / "office.pass"
    new_file.write_text(NEW + "\n", encoding="utf-8")
    code, said = qms(
        "-w", root, "office", "passphrase", "--as=admin", f"--new-passphrase-file={new_file}",
        **both,
    )  # fmt: skip
    assert code == 0, said
    assert said == f"Office {office.code}'s key {key[:16]}… now opens with the new passphrase.\n"
    assert chain_length(qms_office) == events
    with pytest.raises(WrongPassphrase):
        unlock_office_key(qms_office.runtime, office, TEST_PASSPHRASE)
    code, said = qms("-w", root, "audit", "checkpoint", "--as=priya", **both)
    assert code == 4
    assert said.startswith(f"wrong passphrase for office {office.code}'s signing key")
    code, said = qms(
        "-w", root, "audit", "checkpoint", "--as=priya",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_OFFICE_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 0, said
    code, said = qms("-w", root, "audit", "verify")
    assert code == 0, said
    assert unlock_office_key(qms_office.runtime, office, NEW).fingerprint == key


def test_only_an_admin_changes_the_office_passphrase(qms_office: TestOffice) -> None:
    """A quality coordinator who knows the office passphrase is still refused (exit 4), by the
    engine as by the CLI, and the office key keeps its passphrase."""
    code, said = qms(
        "-w", qms_office.root, "office", "passphrase", "--as=priya",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_OFFICE_PASSPHRASE=TEST_PASSPHRASE,
        QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 4
    assert said.startswith(
        f"'priya' may not change the office key's passphrase in {OFFICE_CODE}: needs role admin"
    )
    with pytest.raises(PermissionDenied):
        change_office_passphrase(
            qms_office.runtime,
            qms_office.office,
            actor=qms_office.signers["quality_coordinator"],
            passphrase=TEST_PASSPHRASE,
            new_passphrase=NEW,
        )
    assert unlock_office_key(qms_office.runtime, qms_office.office, TEST_PASSPHRASE)


def test_a_wrong_office_passphrase_is_named_as_the_office_keys(qms_office: TestOffice) -> None:
    """The admin's own passphrase is right, the office key's is not: the message says it is
    the office key's, read from $QMS_OFFICE_PASSPHRASE, and nothing changes."""
    code, said = qms(
        "-w", qms_office.root, "office", "passphrase", "--as=admin",
        QMS_PASSPHRASE=TEST_PASSPHRASE, QMS_OFFICE_PASSPHRASE="not-the-office-one",
        QMS_NEW_PASSPHRASE=NEW,
    )  # fmt: skip
    assert code == 4
    assert said == (
        f"wrong passphrase for office {OFFICE_CODE}'s signing key: the office key's passphrase "
        f"({OFFICE_CODE}), read from $QMS_OFFICE_PASSPHRASE\nHint: give it with "
        "--office-passphrase-file FILE or $QMS_OFFICE_PASSPHRASE; nothing was written"
    )
    assert unlock_office_key(qms_office.runtime, qms_office.office, TEST_PASSPHRASE)


def test_the_rules_are_in_the_help() -> None:
    """`key passphrase --help` and every new-passphrase option state the rules."""
    shown = " ".join(qms("key", "passphrase", "--help")[1].split())
    assert f"at least {MIN_PASSPHRASE} characters" in shown
    assert "no space at either end, not the current one" in shown
    assert "--new-passphrase-file" in shown and "--passphrase-file" in shown
    for command in (
        ("user", "add"),
        ("key", "rotate"),
        ("office", "add"),
        ("office", "passphrase"),
        ("init",),
    ):
        shown = " ".join(qms(*command, "--help")[1].split())
        assert f"at least {MIN_PASSPHRASE} characters, no space at either end" in shown, command


def test_the_demo_says_the_passphrase_its_people_share(tmp_path: Path) -> None:
    """`qms demo` prints the shared passphrase, and with it a newcomer carries on the tour."""
    code, said = qms("demo", tmp_path / "demo")
    assert code == 0, said
    lines = said.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Every demo user"))
    everyone = ", ".join(["admin", *(username for username, _, _ in PEOPLE)])
    assert f"({everyone})" in " ".join(lines[at : at + 2])
    export = next(line for line in lines[at:] if line.startswith("  export "))
    exported = dict(pair.split("=") for pair in export.split()[1:])
    code, said = qms("-w", tmp_path / "demo", "audit", "checkpoint", "--as=pyadav", **exported)
    assert code == 0, said
    assert "Write this code in the register" in said
