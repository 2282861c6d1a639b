"""What a police station keeps under control: its SOPs and registers (General Diary, malkhana,
dak, arms, passport verification), as the project's domain notes describe them, and the
citizen feedback form whose QR code hangs in the station."""

from __future__ import annotations

from qms_engine.api import DEFAULT_PERSONAL, DocumentTypeSpec, FeedbackForm, OfficeType

RECORD_FILES = (".docx", ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")


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
}
FILE_NAME_PATTERNS = (
    r"(?P<register>[A-Za-z]+)[ _-](?P<entry_number>\d+)[ _-](?P<date>\d{4}-\d{2}-\d{2}).*",
)


def _register(
    code: str, title: str, numbering: str, inbox: str, retention_years: int | None
) -> DocumentTypeSpec:
    """A register whose records are filed once, numbered per calendar year, never revised."""
    return DocumentTypeSpec(
        code=code,
        title=title,
        workflow="record-filing",
        kind="register",
        numbering=numbering,
        serial_per_year=True,
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
        "behaviour": "Behaviour / व्यवहार",
        "action_taken": "Action taken / कार्यवाही",
        "timeliness": "Timeliness / समयबद्धता",
        "overall": "Overall satisfaction / संतुष्टि",
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

POLICE_STATION = OfficeType(
    code="police_station",
    title="Police station (thana)",
    document_types=(
        DocumentTypeSpec(
            code="SOP",
            title="Standard operating procedure",
            workflow="sop-revision",
            numbering="{office}/SOP/{serial:03d}",
            allowed_extensions=(".docx", ".pdf"),
            review_period_days=365,
            inbox_folder="SOP-DRAFTS",
        ),
        _register(
            "GD", "General Diary entry (roznamcha)", "{office}/GD/{year}/{serial:05d}", "GD", 2
        ),
        _register(
            "MALKHANA",
            "Malkhana (case property) entry",
            "{office}/MAL/{year}/{serial:04d}",
            "MALKHANA",
            None,
        ),
        _register(
            "DAK", "Dak (correspondence) entry", "{office}/DAK/{year}/{serial:05d}", "DAK", 3
        ),
        _register(
            "ARMS",
            "Arms and ammunition register page",
            "{office}/ARMS/{year}/{serial:04d}",
            "ARMS",
            10,
        ),
        _register(
            "PASSPORT",
            "Passport verification record",
            "{office}/PV/{year}/{serial:05d}",
            "PASSPORT",
            3,
        ),
    ),
    required_sops=(
        "Station office procedure",
        "General Diary (GD) upkeep",
        "Malkhana (case property) management",
        "Dak (correspondence) handling",
        "Arms and ammunition upkeep",
        "Passport verification",
        "CCTNS data entry",
        "IGRS grievance handling",
        "Cyber desk",
        "Women help desk",
        "Citizen charter",
    ),
    feedback=CITIZEN_FEEDBACK,
)
