"""A demo police-station workspace built end to end through the engine's public functions.

It is what `qms demo` runs, and doubles as a worked example of the API: every step is a call a
real deployment makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qms_engine.demo.capa import FeedbackScene, citizen_feedback
from qms_engine.demo.documents import draft_sop, step, write_sop
from qms_engine.demo.registers import StationDay, station_day
from qms_engine.documents.revisions import replace_revision_file, revise_document
from qms_engine.extension.manager import load_plugins
from qms_engine.people.bootstrap import init_workspace
from qms_engine.people.keys import rotate, unlock
from qms_engine.people.users import add_user
from qms_engine.rules import roles
from qms_engine.runtime import Runtime

DEMO_PASSPHRASE = "demo-passphrase"  # every demo key uses it: a demo, not a deployment
OFFICE_CODE = "PS-KOT39"
OFFICE_NAME = "कोतवाली सेक्टर 39"
PEOPLE = (
    ("asharma", "ASI Anita Sharma", (roles.AUTHOR,)),
    ("rverma", "SI Rakesh Verma", (roles.REVIEWER,)),
    ("sksingh", "Inspector S. K. Singh (SHO)", (roles.APPROVER,)),
    ("pyadav", "HC Priya Yadav (quality coordinator)", (roles.QUALITY_COORDINATOR,)),
    ("ramesh", "Constable Ramesh Kumar (malkhana clerk)", (roles.CLERK,)),
    ("kverma", "SI Kavita Verma (internal auditor)", (roles.AUDITOR,)),
)
GD_TITLE = "General Diary (GD) upkeep"
GD_RULES = (  # the GD SOP's first issue; each later file adds to these
    "Open the GD at 00:01 daily; the first entry lists persons in custody.",
    "Never tear out a page; strike through mistakes and sign the correction.",
)


@dataclass(frozen=True)
class DemoResult:
    """The workspace folder, the numbers of the SOPs and of the register entries it wrote."""

    root: Path
    gd_sop: str
    malkhana_sop: str
    waiting_sop: str  # submitted, waiting for review and approval
    books: StationDay  # a day of the General Diary, an FIR, case property sent to the FSL
    feedback: FeedbackScene  # poor citizen feedback, its NC taken to closure


def build_demo(
    root: Path, say: Callable[[str], None], *, database_url: str | None = None
) -> DemoResult:
    """Create the workspace at ``root`` (on ``database_url``, else SQLite inside it), take SOPs
    through their lifecycle, write a day of the station's registers, then take poor citizen
    feedback through its nonconformity to closure."""
    result = init_workspace(
        root,
        plugins=load_plugins(),
        office_type="police_station",
        office_code=OFFICE_CODE,
        office_name=OFFICE_NAME,
        admin="admin",
        admin_name="Station admin",
        admin_passphrase=DEMO_PASSPHRASE,
        office_passphrase=DEMO_PASSPHRASE,
        database_url=database_url,
    )
    say(f"Created workspace {root} for {OFFICE_CODE} ({OFFICE_NAME})")
    runtime = Runtime.open(result.workspace, load_plugins())
    try:
        office = runtime.office()
        admin = unlock(runtime, "admin", DEMO_PASSPHRASE)
        for username, full_name, granted in PEOPLE:
            add_user(
                runtime,
                office,
                actor=admin,
                username=username,
                full_name=full_name,
                roles=granted,
                passphrase=DEMO_PASSPHRASE,
            )
            # The key the admin issued is temporary: each officer first chooses their own.
            issued = unlock(runtime, username, DEMO_PASSPHRASE)
            rotate(runtime, office, actor=issued, username=username, new_passphrase=DEMO_PASSPHRASE)
            say(f"Added user {username} — {full_name} — roles: {', '.join(granted)}")
        signers = {name: unlock(runtime, name, DEMO_PASSPHRASE) for name, _, _ in PEOPLE}
        drafts = root / "drafts"
        drafts.mkdir()
        gd = draft_sop(
            runtime,
            office,
            say,
            signers["asharma"],
            drafts / "SOP GD upkeep.docx",
            GD_TITLE,
            GD_RULES,
        )
        malkhana = draft_sop(
            runtime,
            office,
            say,
            signers["asharma"],
            drafts / "मालखाना-प्रबंधन.docx",
            "मालखाना प्रबंधन / Malkhana (case property) management",
            [
                "प्रत्येक प्रविष्टि में मुकदमा संख्या और सील संख्या लिखी जाए।",
                "न्यायालय या विधि-विज्ञान प्रयोगशाला भेजी गई हर वस्तु का संचलन दर्ज हो।",
            ],
        )
        for number in (gd.number, malkhana.number):
            step(runtime, say, number, "submit", signers["asharma"])
            step(runtime, say, number, "approve", signers["sksingh"])
            step(runtime, say, number, "make_effective", signers["pyadav"])

        revision = revise_document(
            runtime,
            actor=signers["asharma"],
            number=gd.number,
            reason="Add the daily cash-balance entry",
            path=write_sop(
                drafts / "SOP GD upkeep v2.docx",
                GD_TITLE,
                [*GD_RULES, "The last entry of the day gives the cash balance."],
            ),
        )
        say(f"{gd.number} rev {revision.revno} drafted by asharma: {revision.title}")
        step(runtime, say, gd.number, "submit", signers["asharma"])
        step(
            runtime,
            say,
            gd.number,
            "reject",
            signers["rverma"],
            "धारा 3 में नकद शेष लिखने का समय भी लिखें (state the time of the cash entry)",
        )
        corrected = replace_revision_file(
            runtime,
            actor=signers["asharma"],
            number=gd.number,
            reason="Time of the cash-balance entry added",
            path=write_sop(
                drafts / "SOP GD upkeep v2 corrected.docx",
                GD_TITLE,
                [*GD_RULES, "The last entry of the day, at 23:59, gives the cash balance."],
            ),
        )
        say(f"{gd.number} rev {corrected.revno}: corrected file put in place by asharma")
        step(runtime, say, gd.number, "submit", signers["asharma"])
        step(runtime, say, gd.number, "approve", signers["sksingh"])
        step(runtime, say, gd.number, "make_effective", signers["pyadav"])

        # Work left waiting, so that `qms tasks` has something to show each person.
        complaints = draft_sop(
            runtime,
            office,
            say,
            signers["asharma"],
            drafts / "शिकायत-पंजीकरण.docx",
            "शिकायत निवारण / Complaint redress",
            [
                "हर शिकायत उसी दिन रजिस्टर में दर्ज हो और शिकायतकर्ता को पावती दी जाए।",
                "Every complaint is entered the day it is made and the citizen gets a receipt.",
            ],
        )
        step(runtime, say, complaints.number, "submit", signers["asharma"])
        books = station_day(runtime, office, say, signers)
        feedback = citizen_feedback(runtime, office, say, signers, root / "feedback")
    finally:
        runtime.close()
    return DemoResult(root, gd.number, malkhana.number, complaints.number, books, feedback)
