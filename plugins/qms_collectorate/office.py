"""What a district collectorate keeps under control, after the Bulandshahr collectorate's QMS
(../shared/DOMAIN.md): its desks (पटल), files (नस्ती) that move between them, the dak, the
public services of its citizen charter delivered within fixed time limits, and the record room
with a retention period for each class of record."""

from __future__ import annotations

from qms_engine.api import Custody, Desk, DocumentTypeSpec, OfficeType, RecordClass, Service

RECORD_FILES = (".docx", ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
REGISTERS = ("FILE", "DAK")
"""The registers every desk keeps."""

DESKS = (
    Desk("dak", "Central dak and receipt desk (केंद्रीय डाक पटल)", REGISTERS),
    Desk("dm", "District Magistrate's office (जिलाधिकारी कार्यालय)", REGISTERS),
    Desk("adm", "Additional District Magistrate (अपर जिलाधिकारी)", REGISTERS),
    Desk("city_magistrate", "City Magistrate (नगर मजिस्ट्रेट)", REGISTERS),
    Desk("local_bodies", "Local bodies (स्थानीय निकाय)", REGISTERS),
    Desk("revenue", "Revenue (राजस्व)", REGISTERS),
    Desk("stamp", "Stamp section (स्टाम्प अनुभाग)", REGISTERS),
    Desk("arms", "Arms licences (शस्त्र अनुभाग)", REGISTERS),
    Desk("grievance", "Public grievances (जन शिकायत)", REGISTERS),
)

SERVICES = (
    Service("CERTIFIED_COPY", "Certified copy of a record (नकल)", 7, "revenue"),
    Service("INCOME_CERT", "Income certificate (आय प्रमाण पत्र)", 15, "revenue"),
    Service("ARMS_RENEWAL", "Arms licence renewal (शस्त्र लाइसेंस नवीनीकरण)", 30, "arms"),
    Service("STAMP_REFUND", "Refund of spoilt stamps (स्टाम्प वापसी)", 45, "stamp"),
    Service("NOC_LOCAL_BODY", "No-objection certificate (अनापत्ति प्रमाण पत्र)", 15, "local_bodies"),
    Service("GRIEVANCE", "Public grievance (IGRS) (जन शिकायत)", 30, "grievance"),
)
"""The citizen charter: each service and the days within which it is delivered."""

RECORD_CLASSES = (
    RecordClass("A", "Permanent records (स्थायी अभिलेख)", None),
    RecordClass("B", "Records kept 30 years (तीस वर्ष)", 30),
    RecordClass("C", "Records kept 12 years (बारह वर्ष)", 12),
    RecordClass("D", "Records kept 3 years (तीन वर्ष)", 3),
    RecordClass("E", "Records kept 1 year (एक वर्ष)", 1),
)
"""The record room's retention schedule: a class's records are weeded, through an approved
disposal list, once their years after the file was closed have run out (class A never)."""

FILE_CUSTODY = Custody(
    home="dak",
    places=(*(desk.code for desk in DESKS), "record_room"),
    titles={desk.code: desk.title for desk in DESKS} | {"record_room": "Record room (अभिलेखागार)"},
)
"""A file starts at the dak desk and moves between desks, then to the record room.  Weeding
is no movement: it is the record room's disposal list (``qms record-room weed``)."""


def _register(code: str, title: str, numbering: str, custody: Custody | None) -> DocumentTypeSpec:
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
        append_only=True,
        inbox_folder=code,
        creator_roles=("clerk",),
        custody=custody,
    )


COLLECTORATE = OfficeType(
    code="collectorate",
    title="District collectorate (कलेक्ट्रेट)",
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
        _register("FILE", "File (नस्ती)", "{office}/FILE/{year}/{serial:05d}", FILE_CUSTODY),
        _register("DAK", "Dak (correspondence) entry", "{office}/DAK/{year}/{serial:05d}", None),
    ),
    required_sops=(  # "English / हिन्दी": an SOP titled by either side counts
        "Office procedure / कार्यालय प्रक्रिया",
        "Citizen charter / नागरिक अधिकार-पत्र",
        "File management / नस्ती प्रबंधन",
        "Dak (correspondence) handling / डाक (पत्राचार) प्रबंधन",
        "Record room and weeding / अभिलेखागार एवं अभिलेख विनष्टीकरण",
        "Public grievance (IGRS) handling / जन शिकायत (आईजीआरएस) निस्तारण",
        "Arms licences / शस्त्र लाइसेंस",
        "Stamp section / स्टाम्प पटल",
    ),
    desks=DESKS,
    services=SERVICES,
    record_classes=RECORD_CLASSES,
)
