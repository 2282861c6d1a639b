"""Checkpoint codes copied by hand (docs/audit-bundle.md §8): a check character, any letter case,
spaces and hyphens between groups ignored.  A mistyped code is refused as mistyped, a usage error
(exit 2), before the chain is looked at: it is never reported as a rewritten chain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qms_engine.audit.checkpoints import (
    ALPHABET,
    EXAMPLE,
    codes_by_office,
    parse_code,
    short_code,
)
from qms_engine.errors import InvalidInput
from qms_engine.testing import TestOffice
from tests.test_cli import invoke, run

OFFICES = st.from_regex(r"[A-Z0-9][A-Z0-9-]{1,31}", fullmatch=True)
SEQS = st.integers(min_value=1, max_value=10**9)
HASHES = st.text("0123456789abcdef", min_size=64, max_size=64)
SYMBOLS = ALPHABET + "-#:"
"""What a hand can put in a code's place: the code's characters and its separators."""


def compact(code: str) -> str:
    """The code without the hyphens that only group its last part."""
    where, _, body = code.partition(":")
    return f"{where}:{body.replace('-', '')}"


def refused(text: str, office: str) -> bool:
    """Is ``text`` refused as a code for ``office`` before any chain is compared?"""
    try:
        codes_by_office([text], [office])
    except InvalidInput:
        return True
    return False


@given(office=OFFICES, seq=SEQS, head=HASHES)
def test_every_single_wrong_character_is_caught(office: str, seq: int, head: str) -> None:
    """Any one character of a code replaced by any other is refused (malformed, mistyped or for
    another office), wherever it is."""
    code = compact(short_code(office, seq, head))
    assert not refused(code, office)
    missed = [
        (i, other)
        for i, original in enumerate(code)
        for other in SYMBOLS
        if other != original and not refused(code[:i] + other + code[i + 1 :], office)
    ]
    assert missed == []


@given(office=OFFICES, seq=SEQS, head=HASHES)
def test_every_swap_of_neighbours_is_caught(office: str, seq: int, head: str) -> None:
    """Any two different neighbouring characters swapped are refused, wherever they are."""
    code = compact(short_code(office, seq, head))
    assert not refused(code, office)
    missed = [
        i
        for i in range(len(code) - 1)
        if code[i] != code[i + 1]
        and not refused(code[:i] + code[i + 1] + code[i] + code[i + 2 :], office)
    ]
    assert missed == []


@given(
    office=OFFICES,
    seq=SEQS,
    head=HASHES,
    lower=st.lists(st.booleans(), min_size=40, max_size=40),
    gap=st.sampled_from(["", " ", "-", " - ", "  "]),
)
def test_any_letter_case_and_grouping_read_the_same(
    office: str, seq: int, head: str, lower: list[bool], gap: str
) -> None:
    """Letter case, spaces and the hyphens between groups do not change what a code says."""
    code = short_code(office, seq, head)
    where, _, body = code.partition(":")
    body = body.replace("-", "")
    written = f" {where} : " + gap.join(body[i : i + 3] for i in range(0, len(body), 3)) + " "
    written = "".join(c.lower() if lower[i % 40] else c for i, c in enumerate(written))
    read = parse_code(written)
    assert (read.office, read.seq, read.legacy) == (office, seq, False)
    assert read.matches(head)


def test_misreadable_letters_are_read_as_the_digits_they_look_like() -> None:
    """O is read as 0, and I and L as 1, in the event number and the code proper."""
    code = short_code("PS-KOT39", 101, "0" * 64)
    assert code == "PS-KOT39#101:00000-00000-000P"
    assert parse_code("ps-kot39#1o1:ooooo-ooooo-ooop").matches("0" * 64)
    assert parse_code("PS-KOT39#I0L:00000-00000-000P").seq == 101
    with pytest.raises(InvalidInput, match="mistyped"):  # issued without leading zeros
        parse_code("PS-KOT39#0101:00000-00000-000P")


def test_the_documented_example_is_the_code_of_the_documented_statement() -> None:
    """The §8 example code belongs to the §8 example head, and is what `--help` shows."""
    head = "e7e023d90215ac3ccd3d5fbd5fa7dc87e3cca6f35115991f9833d192e9651533"
    assert short_code("PS-KOT39", 40, head) == EXAMPLE == "PS-KOT39#40:WZG27-P822P-P3ST"
    assert EXAMPLE in "".join(invoke("audit", "verify", "--help").split())  # however wrapped


def test_a_code_from_before_check_characters_is_still_read() -> None:
    """An old code (16 hex digits, no check character) is read, in any case, and says so."""
    head = "e7e023d90215ac3ccd3d5fbd5fa7dc87e3cca6f35115991f9833d192e9651533"
    old = parse_code("PS-KOT39#40:E7E0-23d9-0215-AC3C")
    assert (old.office, old.seq, old.legacy) == ("PS-KOT39", 40, True)
    assert old.matches(head)
    assert not old.matches("f" + head[1:])


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("garbage", "it needs OFFICE#NUMBER:CODE"),
        ("PS-KOT39#0:00000-00000-0000", "the event number '0' is not a number from 1 up"),
        ("PS-KOT39#4x:WZG27-P822P-P3ST", "the event number '4X' is not a number from 1 up"),
        ("PS-KOT39#40:WZG27-P822P-P3SU", "'U' cannot appear after ':'"),
        ("PS-KOT39#40:WZG27-P822P-P3S", "it has 13 characters after ':', not 14"),
        ("पुलिस#40:WZG27-P822P-P3ST", "it needs OFFICE#NUMBER:CODE"),
    ],
)
def test_a_malformed_code_says_what_a_code_looks_like(text: str, why: str) -> None:
    """A malformed code is a usage error naming what is wrong and what a code looks like."""
    with pytest.raises(InvalidInput) as caught:
        parse_code(text)
    assert str(caught.value).startswith(f"{text!r} is not a checkpoint code ({why}); ")
    assert f"looks like {EXAMPLE}" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_mistyped_code_says_mistyped() -> None:
    """Two neighbours swapped: refused as mistyped, saying nothing was compared with the chain."""
    with pytest.raises(InvalidInput, match="is mistyped: its check character") as caught:
        parse_code("PS-KOT39#40:WZG27-P822P-P393")
    assert (
        caught.value.hint == "copy it again from the register; nothing was compared with the chain"
    )


# --------------------------------------------------------------------------- through the CLI


def take_checkpoint(root: Path, *office: str) -> dict[str, object]:
    """``qms audit checkpoint --json`` as the admin (in ``office``, if one is given)."""
    where = ("--office", office[0]) if office else ()
    return dict(
        json.loads(invoke("-w", root, *where, "audit", "checkpoint", "--as=admin", "--json"))
    )


def test_a_code_copied_in_any_case_and_grouping_verifies(qms_office: TestOffice) -> None:
    """The code `audit checkpoint` prints verifies however it was copied back."""
    checkpoint = take_checkpoint(qms_office.root)
    code = str(checkpoint["code"])
    assert code == short_code(
        qms_office.office.code, int(str(checkpoint["seq"])), str(checkpoint["head_hash"])
    )
    copied = code.lower().replace("-", " ").replace(" ", "-", 1)  # the office's own hyphen kept
    shown = invoke("-w", qms_office.root, "audit", "verify", "--jobs=1", f"--code={copied}")
    assert f"{qms_office.office.code}: OK" in shown
    assert "1 codes" in shown


def test_a_mistyped_code_exits_2_and_is_not_called_a_rewrite(qms_office: TestOffice) -> None:
    """A code with two neighbours swapped is a usage error saying "mistyped", not exit 6."""
    code = str(take_checkpoint(qms_office.root)["code"])
    at = next(
        i
        for i in range(len(code) - 2, 0, -1)
        if code[i] != code[i + 1] and code[i].isalnum() and code[i + 1].isalnum()
    )
    mistyped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    result = run("-w", qms_office.root, "audit", "verify", "--jobs=1", f"--code={mistyped}")
    assert result.returncode == 2, result.stderr
    assert "is mistyped: its check character does not match" in result.stderr
    assert "rewritten" not in result.stderr


def test_an_old_code_verifies_and_a_wrong_one_is_not_blamed_on_the_chain_alone(
    qms_office: TestOffice,
) -> None:
    """A code written before check characters still verifies; when one no longer matches, the
    verdict says it may have been mistyped, since such a code cannot tell."""
    checkpoint = take_checkpoint(qms_office.root)
    head = str(checkpoint["head_hash"])
    where = f"{qms_office.office.code}#{checkpoint['seq']}:"
    old = where + "-".join(head[i : i + 4] for i in range(0, 16, 4))
    shown = invoke("-w", qms_office.root, "audit", "verify", "--jobs=1", f"--code={old}")
    assert "OK" in shown
    wrong = old[:-1] + ("1" if old.endswith("0") else "0")
    result = run("-w", qms_office.root, "audit", "verify", "--jobs=1", f"--code={wrong}")
    assert result.returncode == 6, result.stderr
    assert "the chain was rewritten (or the code, written before codes had a check" in result.stdout


def test_codes_of_several_offices_are_each_checked_against_their_own(
    qms_office: TestOffice,
) -> None:
    """With --all-offices every code is compared with the chain of the office it names; a code
    naming an office that is not verified is a usage error."""
    root = qms_office.root
    invoke(
        "-w",
        root,
        "office",
        "add",
        "PS-ZWEI",
        "--type=police_station",
        "--name=थाना दो",
        "--as=admin",
    )
    first, second = take_checkpoint(root), take_checkpoint(root, "PS-ZWEI")
    codes = [f"--code={first['code']}", f"--code={second['code']}"]
    shown = invoke("-w", root, "audit", "verify", "--jobs=1", "--all-offices", *codes)
    assert f"{qms_office.office.code}: OK" in shown and "PS-ZWEI: OK" in shown
    alone = run("-w", root, "audit", "verify", "--jobs=1", *codes)
    assert alone.returncode == 2, alone.stderr
    assert f"is for office PS-ZWEI, not {qms_office.office.code}" in alone.stderr
    assert "qms --office PS-ZWEI audit verify" in alone.stderr


def test_a_digit_added_to_the_event_number_is_mistyped() -> None:
    """The check covers how many digits SEQ has: where SEQ's own digits check to 0 (#12, #24 …),
    a 0 added (#120) or the number written twice (#1212) would otherwise pass as valid codes."""
    head = "e7e023d90215ac3ccd3d5fbd5fa7dc87e3cca6f35115991f9833d192e9651533"
    for seq in (12, 24, 36, 48, 104):
        body = short_code("PS-KOT39", seq, head).partition(":")[2]
        for written in (f"{seq}0", f"{seq}{seq}"):
            with pytest.raises(InvalidInput, match="mistyped"):
                parse_code(f"PS-KOT39#{written}:{body}")
