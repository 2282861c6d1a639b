"""`qms --lang hi audit verify` reports a tampered chain in Hindi, online and on a bundle.

The problems come from two places: the rules, followed in the command's own process, and the
hash and signature checks, done in worker processes (``--jobs``) that must speak the
command's language too.  The history and the insider's tampering are those of
tests/test_audit_attacks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qms_engine.audit.bundle import export_bundle
from qms_engine.cli import cli
from qms_engine.errors import IntegrityError
from tests import test_audit_attacks as attacks
from tests.test_audit_attacks import SOP1, SOP2, History

history_template = attacks.history_template  # the fixtures
hist = attacks.hist

# The insider edits the SQLite file directly, as in tests/test_audit_attacks.py.
pytestmark = pytest.mark.parametrize("qms_backend", ["sqlite"], indirect=True)


def _tamper(hist: History) -> tuple[int, int]:
    """A rejection re-signed in a role its signer lacks (a rule), then an approval
    re-attributed without re-signing (a hash): the event numbers of both."""
    with hist.db() as db:
        role_seq = db.seq_of("document.revision.rejected", f"{SOP2}#0")
        db.update(role_seq, signer_role="approver")
        db.reseal(role_seq)
        hash_seq = db.seq_of("document.revision.approved", f"{SOP1}#0")
        db.update(hash_seq, actor=hist.signers["approver2"].username)
    return hash_seq, role_seq


def test_verify_reports_tampering_in_hindi_online_and_on_a_bundle(
    hist: History, tmp_path: Path
) -> None:
    """Both problems, worded in the workers and in the rules, read in Hindi; none in English."""
    hash_seq, role_seq = _tamper(hist)
    hist.runtime.engine.dispose()
    bundle = tmp_path / "bundle"
    export_bundle(hist.runtime, hist.office, bundle, include_blobs=True)
    for args in (
        ["--lang", "hi", "-w", str(hist.root), "audit", "verify", "--jobs=2"],
        ["--lang", "hi", "audit", "verify", "--bundle", str(bundle), "--jobs=2"],
    ):
        result = CliRunner().invoke(cli, args)
        assert isinstance(result.exception, IntegrityError), result.output  # `qms` exits 6
        output = " ".join(result.output.split())
        assert f"घटना #{hash_seq}: सामग्री अपने हैश से मेल नहीं खाती" in output, output
        assert "लिखे जाने के बाद बदली गई" in output, output
        says = "'rakesh' ने वह भूमिका रखे बिना 'approver' के रूप में हस्ताक्षर किए"
        assert f"घटना #{role_seq}: {says}" in output, output
        assert "does not match" not in output and "signed as" not in output, output


def test_verify_still_speaks_english_by_default(hist: History) -> None:
    """Without --lang the same tampering reads as before, word for word."""
    hash_seq, _role_seq = _tamper(hist)
    hist.runtime.engine.dispose()
    result = CliRunner().invoke(cli, ["-w", str(hist.root), "audit", "verify", "--jobs=2"])
    assert isinstance(result.exception, IntegrityError), result.output
    output = " ".join(result.output.split())
    assert f"first: event #{hash_seq}: content does not match its hash" in output, output
