"""The demo's citizen feedback: a week of poor ratings from the station's QR-code form raises a
nonconformity, which is contained, analysed, acted on (a staff briefing, and a revision of the
front-desk SOP), verified effective by the internal auditor and closed, each step signed."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from qms_engine.capa.actions import add_action, complete_action
from qms_engine.capa.nonconformities import take_nc_transition
from qms_engine.capa.records import nc_history
from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import local_today, utc_now, zone
from qms_engine.demo.documents import draft_sop, step, write_sop
from qms_engine.documents.revisions import revise_document
from qms_engine.feedback.responses import import_feedback
from qms_engine.runtime import Runtime

FRONT_DESK_TITLE = "स्वागत कक्ष पर आगंतुक (Receiving visitors at the front desk)"
FRONT_DESK_RULES = (
    "हर आगंतुक का नाम और आने का समय स्वागत रजिस्टर में लिखा जाए।",
    "Every visitor's name and time of arrival is written in the front-desk register.",
)
HEADERS = (
    "Timestamp",
    "Police station / थाना",
    "Name / नाम",  # personal: dropped unread on import
    "Mobile number / मोबाइल नंबर",  # personal: dropped unread on import
    "Behaviour / व्यवहार",
    "Action taken / कार्यवाही",
    "Timeliness / समयबद्धता",
    "Overall satisfaction / संतुष्टि",
    "Comments / सुझाव",
)
RESPONSES = (  # behaviour, action taken, timeliness, overall, comment
    (5, 4, 4, 5, "रिपोर्ट तुरंत लिखी गई, धन्यवाद।"),
    (2, 1, 2, 1, "मुंशी जी ने ठीक से बात नहीं की, दो घंटे बैठाए रखा।"),
    (4, 4, 3, 4, "Helpful staff."),
    (1, 2, 2, 2, "शिकायत की पावती नहीं मिली। मेरा नंबर 98765 43210 है, कोई फ़ोन नहीं आया।"),
    (3, 3, 3, 3, ""),
    (2, 2, 1, 1, "Nobody at the front desk; waited an hour."),
)


@dataclass(frozen=True)
class FeedbackScene:
    """What the feedback scene left: the import's file, the NC and the SOP it revised."""

    csv_file: Path
    nc: str
    front_desk_sop: str


def citizen_feedback(
    runtime: Runtime,
    office: OfficeRef,
    say: Callable[[str], None],
    signers: Mapping[str, Signer],
    folder: Path,
) -> FeedbackScene:
    """Import a form export with poor ratings, then take the NC it raises to closure."""
    folder.mkdir()
    sop = draft_sop(
        runtime,
        office,
        say,
        signers["asharma"],
        folder / "front-desk.docx",
        FRONT_DESK_TITLE,
        FRONT_DESK_RULES,
    )
    for name, who in (("submit", "asharma"), ("approve", "sksingh"), ("make_effective", "pyadav")):
        step(runtime, say, sop.number, name, signers[who])

    export = _form_export(folder / "feedback-responses.csv", office)
    imported = import_feedback(runtime, path=export, actor=signers["pyadav"])
    (station,) = imported.stations
    (number,) = station.raised or station.linked
    say(
        f"{export.name}: {imported.imported} citizen responses imported by pyadav (names and "
        f"phone numbers dropped), {station.poor} poor: {number} raised"
    )
    again = import_feedback(runtime, path=export, actor=signers["pyadav"])
    say(f"{export.name} imported again: {again.imported} new, {again.already} already there")

    def act(transition: str, who: str, comment: str = "") -> None:
        done = take_nc_transition(
            runtime, number=number, transition=transition, actor=signers[who], comment=comment
        )
        said = f"{number}: {transition} by {who} ({done.from_state} → {done.to_state})"
        say(f"{said} — “{comment}”" if comment else said)

    act("contain", "pyadav", "थाना प्रभारी ने स्वागत कक्ष पर एक अधिकारी की ड्यूटी लगाई")
    act("analyse", "sksingh", "No front-desk duty roster; visitors were not given receipts")
    today = local_today(office.timezone)
    briefing = add_action(
        runtime,
        number=number,
        actor=signers["pyadav"],
        type="corrective",
        description="सभी स्टाफ़ को आगंतुकों से शिष्ट व्यवहार पर ब्रीफ़िंग (brief all staff)",
        owner="rverma",
        due=today + timedelta(days=14),
    )
    revision = add_action(
        runtime,
        number=number,
        actor=signers["pyadav"],
        type="corrective",
        description="Front-desk SOP: a duty roster, and a receipt for every visitor",
        owner="asharma",
        due=today + timedelta(days=30),
        document=sop.number,
    )
    say(f"{briefing.subject} (owner rverma) and {revision.subject} (a revision of {sop.number})")
    act("plan", "pyadav")
    complete_action(
        runtime,
        action=briefing.subject,
        actor=signers["rverma"],
        comment="Briefing held for 14 staff; attendance sheet signed",
    )
    say(f"{briefing.subject} done by rverma")
    revised = revise_document(
        runtime,
        actor=signers["asharma"],
        number=sop.number,
        reason=f"Corrective action {revision.subject}",
        path=write_sop(
            folder / "front-desk-v2.docx",
            FRONT_DESK_TITLE,
            [
                *FRONT_DESK_RULES,
                "एक अधिकारी हर पाली में स्वागत कक्ष पर रहे; हर आगंतुक को पावती मिले।",
            ],
        ),
    )
    say(f"{sop.number} rev {revised.revno} drafted by asharma for {revision.subject}")
    for name, who in (("submit", "asharma"), ("approve", "sksingh"), ("make_effective", "pyadav")):
        step(runtime, say, sop.number, name, signers[who])
    say(f"{revision.subject} done: {sop.number} rev {revised.revno} is effective")
    act("implement", "pyadav")
    act("verify", "kverma", "Front-desk register and 20 visitor receipts checked: followed")
    act("close", "pyadav")
    with runtime.engine.connect() as connection:
        history = nc_history(connection, office, number)
    say(f"{number}: {len(history)} signed events in its history (qms nc show {number})")
    return FeedbackScene(export, number, sop.number)


def _form_export(path: Path, office: OfficeRef) -> Path:
    """A Google Forms export of this morning's responses, as a district's sheet writes it."""
    now = utc_now().astimezone(zone(office.timezone))
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for n, (behaviour, action, timely, overall, comment) in enumerate(RESPONSES):
            when = now - timedelta(minutes=10 * (len(RESPONSES) - n))
            writer.writerow(
                (
                    when.strftime("%d/%m/%Y %H:%M:%S"),
                    office.name,
                    "नागरिक",
                    f"98{n:08d}",
                    behaviour,
                    action,
                    timely,
                    overall,
                    comment,
                )
            )
    return path
