"""The demo's day in the station's books: the General Diary opened, written, corrected and
closed, an FIR registered, and case property deposited in the malkhana and sent to the
forensic laboratory — each entry and each hand-over a signed event."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from qms_engine.chain.signing import Signer
from qms_engine.chain.unit_of_work import OfficeRef
from qms_engine.clock import local_today
from qms_engine.custody import move
from qms_engine.documents.register_entries import CLOSING, ENTRY, OPENING
from qms_engine.registers.entries import write_entry
from qms_engine.runtime import Runtime

FSL_DAYS = 10
"""The case property is due back from the laboratory this many days after it went."""


@dataclass(frozen=True)
class StationDay:
    """The numbers the scene wrote: GD entries in order, the FIR, the malkhana entry."""

    gd: tuple[str, ...]
    corrected: str
    correction: str
    fir: str
    malkhana: str


def station_day(
    runtime: Runtime,
    office: OfficeRef,
    say: Callable[[str], None],
    signers: Mapping[str, Signer],
) -> StationDay:
    """Write one day of the station's registers as the duty officer and malkhana clerk do."""
    clerk = signers["ramesh"]
    gd_type = runtime.plugins.registry.office_type(office.office_type).document_type("GD")
    opening_kind, closing_kind = (OPENING, CLOSING) if gd_type.day_book else (ENTRY, ENTRY)
    # A diary kept on paper (QMS_GD_DAY_BOOK=off) has no typed opening or closing.

    def gd(
        text: str,
        kind: str = ENTRY,
        fields: Mapping[str, str] | None = None,
        corrects: str | None = None,
    ) -> str:
        entry = write_entry(
            runtime,
            office,
            actor=clerk,
            type_code="GD",
            text=text,
            fields=fields,
            kind=kind,
            corrects=corrects,
        )
        say(f"{entry.number} ({entry.entry}) written by {clerk.username}: {entry.title}")
        return entry.number

    opening = gd(
        "रोज़नामचा खुला। हवालात में कोई व्यक्ति नहीं (no one in custody).",
        kind=opening_kind,
        fields={"custody": "कोई नहीं (none)"},
    )
    patrol = gd("गश्त रवाना: HC 112 व Ct 245, सेक्टर 39 बाज़ार, वाहन UP16 AB 0099.")
    correction = gd(
        "शुद्धि: गश्त वाहन UP16 AB 0098 था, 0099 नहीं (the patrol vehicle was 0098).",
        corrects=patrol,
    )
    fir = write_entry(
        runtime,
        office,
        actor=clerk,
        type_code="FIR",
        text="मु.अ.सं. 112/2026 धारा 303(2) BNS: मोटरसाइकिल चोरी, वादी श्री अ. कुमार.",
        fields={"case_number": "112/2026"},
    )
    say(f"{fir.number} registered by {clerk.username}: {fir.title}")
    malkhana = write_entry(
        runtime,
        office,
        actor=clerk,
        type_code="MALKHANA",
        text="जब्त मोटरसाइकिल UP16 AB 1234, मु.अ.सं. 112/2026, सील संख्या S-0457.",
        fields={
            "case_number": "112/2026",
            "items": "मोटरसाइकिल UP16 AB 1234 (seized motorcycle)",
            "seal_number": "S-0457",
            "depositing_officer": "SI Rakesh Verma",
        },
    )
    say(f"{malkhana.number} deposited (case 112/2026, seal S-0457)")
    moved = move(
        runtime,
        number=malkhana.number,
        actor=clerk,
        to="fsl",
        received_by="FSL courier HC Mohan Lal",
        seal_intact=True,
        expected_back=local_today(office.timezone) + timedelta(days=FSL_DAYS),
        note="chassis number examination",
    )
    say(f"{malkhana.number} handed to the FSL, seal intact, due back {moved.expected_back}")
    closing = gd(
        "रोज़नामचा बंद। नकद शेष ₹ 1,250 (cash balance).",
        kind=closing_kind,
        fields={"cash_balance": "₹ 1,250"},
    )
    return StationDay(
        gd=(opening, patrol, correction, closing),
        corrected=patrol,
        correction=correction,
        fir=fir.number,
        malkhana=malkhana.number,
    )
