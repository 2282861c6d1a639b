"""What a police station keeps under control: its SOPs and registers (General Diary, FIR,
malkhana, dak, arms, passport verification, cyber complaints, women help desk, visitors), as
the project's domain notes describe them, and the citizen feedback form whose QR code hangs in
the station.

The General Diary is a day book (opened each day with the persons in custody, closed with the
cash balance), corrected only by later entries; whether its entries are numbered per day or per
year differs between state police rules, so it is a setting (:mod:`.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping

from qms_engine.api import (
    DEFAULT_PERSONAL,
    N_,
    Custody,
    DayBook,
    DocumentTypeSpec,
    FeedbackForm,
    OfficeType,
)
from qms_police_station.settings import Settings

RECORD_FILES = (".docx", ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".txt")
MALKHANA_REQUIRED = {
    "case_number": N_("the case/FIR number the property belongs to"),
    "items": N_("what is deposited (item description)"),
    "seal_number": N_("the number of the seal the property was deposited under"),
    "depositing_officer": N_("the officer who deposited it"),
}
"""A malkhana entry is worthless in court without the case it belongs to, what was deposited,
the seal it was deposited under and who deposited it."""
MALKHANA_CUSTODY = Custody(
    home="malkhana",
    places=("malkhana", "court", "fsl", "disposed"),
    returns=("court", "fsl"),
    final=("disposed",),
    order_needed=("disposed",),
    titles={
        "malkhana": N_("Malkhana (मालखाना)"),
        "court": N_("Court (न्यायालय)"),
        "fsl": N_("Forensic science laboratory (FSL)"),
        "disposed": N_("Disposed of by order (निस्तारित)"),
    },
)
"""Case property stays in the malkhana but when a court or the forensic lab has it (each due
back on a stated day), until a court's order disposes of it (`qms malkhana move`)."""


COMMON_LABELS = {
    "Entry number": "entry_number",
    "Entry No.": "entry_number",
    "प्रविष्टि संख्या": "entry_number",
    "Date": "date",
    "दिनांक": "date",
    "तारीख": "date",
    "Time": "time",
    "समय": "time",
    "Officer": "officer",
    "अधिकारी": "officer",
    "Case number": "case_number",
    "Case No.": "case_number",
    "FIR number": "case_number",
    "FIR No.": "case_number",
    "मुकदमा संख्या": "case_number",
    "मु.अ.सं.": "case_number",
    "Seal number": "seal_number",
    "Seal No.": "seal_number",
    "सील संख्या": "seal_number",
    "Items": "items",
    "Item list": "items",
    "माल का विवरण": "items",
    "Depositing officer": "depositing_officer",
    "Deposited by": "depositing_officer",
    "जमाकर्ता अधिकारी": "depositing_officer",
    "जमा करने वाला अधिकारी": "depositing_officer",
}
FILE_NAME_PATTERNS = (
    r"(?P<register>[A-Za-z]+)[ _-](?P<entry_number>\d+)[ _-](?P<date>\d{4}-\d{2}-\d{2}).*",
)


def _register(
    code: str,
    title: str,
    numbering: str,
    inbox: str | None,
    retention_years: int | None,
    *,
    serial_period: str = "year",
    day_book: DayBook | None = None,
    corrections: bool = False,
    required_fields: Mapping[str, str] | None = None,
    custody: Custody | None = None,
) -> DocumentTypeSpec:
    """A register whose records are filed once, numbered without gaps (per calendar year
    unless said otherwise), never revised."""
    return DocumentTypeSpec(
        code=code,
        title=title,
        workflow="record-filing",
        kind="register",
        numbering=numbering,
        serial_period="day" if serial_period == "day" else "year",
        day_book=day_book,
        corrections=corrections,
        required_fields=required_fields or {},
        custody=custody,
        allowed_extensions=RECORD_FILES,
        review_period_days=None,
        retention_years=retention_years,
        append_only=True,
        inbox_folder=inbox,
        creator_roles=("clerk",),
        field_labels=COMMON_LABELS,
        filename_patterns=FILE_NAME_PATTERNS,
    )


CITIZEN_FEEDBACK = FeedbackForm(
    # The headers of a district's Google Form (as Balodabazar's QR-code form asks, in English
    # and Hindi), each as the sheet may spell it.  Name and mobile number are dropped unread.
    columns={
        "time": ("Timestamp", "टाइमस्टैम्प", "समय"),
        "station": (
            "Police station / थाना",
            "Police station",
            "Name of police station",
            "थाना",
            "थाने का नाम",
        ),
        "behaviour": (
            "Behaviour of police staff / पुलिस कर्मियों का व्यवहार",
            "Behaviour / व्यवहार",
            "Behaviour",
            "Behavior",
            "व्यवहार",
        ),
        "action_taken": (
            "Action taken on your complaint / शिकायत पर कार्यवाही",
            "Action taken / कार्यवाही",
            "Action taken",
            "कार्यवाही",
            "कार्रवाई",
        ),
        "timeliness": (
            "Was your work done in time? / समयबद्धता",
            "Timeliness / समयबद्धता",
            "Timeliness",
            "समयबद्धता",
        ),
        "overall": (
            "Overall satisfaction / संतुष्टि",
            "Overall satisfaction",
            "संतुष्टि",
            "कुल संतुष्टि",
        ),
        "comment": ("Comments / सुझाव", "Comments", "Suggestions", "सुझाव", "टिप्पणी"),
    },
    labels={
        "behaviour": N_("Behaviour / व्यवहार"),
        "action_taken": N_("Action taken / कार्यवाही"),
        "timeliness": N_("Timeliness / समयबद्धता"),
        "overall": N_("Overall satisfaction / संतुष्टि"),
    },
    personal=(*DEFAULT_PERSONAL, "Name / नाम", "Mobile number / मोबाइल नंबर", "Address / पता"),
    # An Indian sheet writes the day first; the form's own CSV download writes the year first.
    time_formats=(
        "%d/%m/%Y %H:%M:%S",
        "%Y/%m/%d %I:%M:%S %p",
        "%Y-%m-%d %H:%M:%S",
        "%m/%d/%Y %H:%M:%S",
    ),
    # A file whose every time reads both ways (01/11/2026) is an Indian sheet's: day first.
    # A district whose sheets write the month first sets [feedback] day_first = false.
    day_first=True,
    poor_at_most=2,
    poor_rating="overall",
    group="week",
    severity="minor",
    keep_days=730,
)
"""Poor overall satisfaction (1 or 2 of 5) opens one nonconformity per station and ISO week;
comments are kept two years (730 days), then `qms feedback erase` blanks them."""


def police_station(settings: Settings) -> OfficeType:
    """The police station office type, its General Diary as ``settings`` say."""
    gd_numbering = (
        "{office}/GD/{day}/{serial:03d}"
        if settings.gd_numbering == "day"
        else "{office}/GD/{year}/{serial:05d}"
    )
    return OfficeType(
        code="police_station",
        title=N_("Police station (thana)"),
        document_types=(
            DocumentTypeSpec(
                code="SOP",
                title=N_("Standard operating procedure"),
                workflow="sop-revision",
                numbering="{office}/SOP/{serial:03d}",
                allowed_extensions=(".docx", ".pdf"),
                review_period_days=365,
                inbox_folder="SOP-DRAFTS",
            ),
            _register(
                "GD",
                N_("General Diary entry (roznamcha)"),
                gd_numbering,
                "GD",
                2,
                serial_period=settings.gd_numbering,
                day_book=DayBook(opening_field="custody", closing_field="cash_balance")
                if settings.gd_day_book
                else None,
                corrections=True,
            ),
            _register(
                "MALKHANA",
                N_("Malkhana (case property) entry"),
                "{office}/MAL/{year}/{serial:04d}",
                "MALKHANA",
                None,
                required_fields=MALKHANA_REQUIRED,
                custody=MALKHANA_CUSTODY,
            ),
            _register(
                "DAK",
                N_("Dak (correspondence) entry"),
                "{office}/DAK/{year}/{serial:05d}",
                "DAK",
                3,
            ),
            _register(
                "ARMS",
                N_("Arms and ammunition register page"),
                "{office}/ARMS/{year}/{serial:04d}",
                "ARMS",
                10,
            ),
            _register(
                "PASSPORT",
                N_("Passport verification record"),
                "{office}/PV/{year}/{serial:05d}",
                "PASSPORT",
                3,
            ),
            *_NEW_REGISTERS,
        ),
        required_sops=REQUIRED_SOPS,
        feedback=CITIZEN_FEEDBACK,
    )


_NEW_REGISTERS = (
    _register(
        "FIR", N_("First information report (FIR)"), "{office}/FIR/{year}/{serial:04d}", None, None
    ),
    _register(
        "CYBER",
        N_("Cyber complaint"),
        "{office}/CYB/{year}/{serial:04d}",
        None,
        5,
        corrections=True,
    ),
    _register(
        "WOMEN_DESK",
        N_("Women help desk entry"),
        "{office}/WHD/{year}/{serial:04d}",
        None,
        5,
        corrections=True,
    ),
    _register(
        "VISITORS", N_("Visitors' register entry"), "{office}/VIS/{year}/{serial:05d}", None, 1
    ),
)
"""Registers kept as typed entries (``qms register write``): no inbox folder of their own."""

REQUIRED_SOPS = (  # "English / हिन्दी": an SOP titled by either side counts
    N_("Station office procedure / थाना कार्यालय प्रक्रिया"),
    N_("General Diary (GD) upkeep / सामान्य दैनिकी (रोज़नामचा) का रखरखाव"),
    N_("FIR registration / प्रथम सूचना रिपोर्ट (एफ़आईआर) का पंजीकरण"),
    N_("Investigation procedure / विवेचना प्रक्रिया"),
    N_("Complaint redress / शिकायत निवारण"),
    N_("Records management / अभिलेख प्रबंधन"),
    N_("Malkhana (case property) management / मालखाना प्रबंधन"),
    N_("Dak (correspondence) handling / डाक (पत्राचार) प्रबंधन"),
    N_("Arms and ammunition upkeep / शस्त्र एवं गोला-बारूद का रखरखाव"),
    N_("Passport verification / पासपोर्ट सत्यापन"),
    N_("CCTNS data entry / सीसीटीएनएस डेटा प्रविष्टि"),
    N_("IGRS grievance handling / आईजीआरएस शिकायत निस्तारण"),
    N_("Cyber desk / साइबर डेस्क"),
    N_("Women help desk / महिला हेल्प डेस्क"),
    N_("Citizen charter / नागरिक अधिकार-पत्र"),
    N_("Staff conduct / कर्मचारी आचरण"),
    N_("Emergency response / आपातकालीन कार्रवाई"),
)
"""The SOPs an ISO 9001 audit of a station looks for: the sections the Noida SOP covered, and
the processes Balaghat's stations standardised (investigation, complaint redress, records
management, staff conduct) — see the project's domain notes."""
