"""What a district collectorate keeps under control, after the Bulandshahr collectorate's QMS
(../shared/DOMAIN.md): its desks (पटल), files (नस्ती) that move between them, the dak, the
public services of its citizen charter delivered within fixed time limits, and the record room
with a retention period for each class of record."""

from __future__ import annotations

from qms_engine.api import (
    N_,
    Custody,
    Desk,
    DocumentTypeSpec,
    OfficeType,
    RecordClass,
    Service,
)

RECORD_FILES = (".docx", ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
REGISTERS = ("FILE", "DAK")
"""The registers every desk keeps."""

DESKS = (
    Desk("dak", N_("Central dak and receipt desk (केंद्रीय डाक पटल)"), REGISTERS),
    Desk("dm", N_("District Magistrate's office (जिलाधिकारी कार्यालय)"), REGISTERS),
    Desk("adm", N_("Additional District Magistrate (अपर जिलाधिकारी)"), REGISTERS),
    Desk("city_magistrate", N_("City Magistrate (नगर मजिस्ट्रेट)"), REGISTERS),
    Desk("local_bodies", N_("Local bodies (स्थानीय निकाय)"), REGISTERS),
    Desk("revenue", N_("Revenue (राजस्व)"), REGISTERS),
    Desk("stamp", N_("Stamp section (स्टाम्प अनुभाग)"), REGISTERS),
    Desk("arms", N_("Arms licences (शस्त्र अनुभाग)"), REGISTERS),
    Desk("grievance", N_("Public grievances (जन शिकायत)"), REGISTERS),
)

SERVICES = (
    Service("CERTIFIED_COPY", N_("Certified copy of a record (नकल)"), 7, "revenue"),
    Service("INCOME_CERT", N_("Income certificate (आय प्रमाण पत्र)"), 15, "revenue"),
    Service("ARMS_RENEWAL", N_("Arms licence renewal (शस्त्र लाइसेंस नवीनीकरण)"), 30, "arms"),
    Service("STAMP_REFUND", N_("Refund of spoilt stamps (स्टाम्प वापसी)"), 45, "stamp"),
    Service(
        "NOC_LOCAL_BODY", N_("No-objection certificate (अनापत्ति प्रमाण पत्र)"), 15, "local_bodies"
    ),
    Service("GRIEVANCE", N_("Public grievance (IGRS) (जन शिकायत)"), 30, "grievance"),
)
"""The citizen charter: each service and the days within which it is delivered."""

RECORD_CLASSES = (
    RecordClass("A", N_("Permanent records (स्थायी अभिलेख)"), None),
    RecordClass("B", N_("Records kept 30 years (तीस वर्ष)"), 30),
    RecordClass("C", N_("Records kept 12 years (बारह वर्ष)"), 12),
    RecordClass("D", N_("Records kept 3 years (तीन वर्ष)"), 3),
    RecordClass("E", N_("Records kept 1 year (एक वर्ष)"), 1),
)
"""The record room's retention schedule: a class's records are weeded, through an approved
disposal list, once their years after the file was closed have run out (class A never)."""

FILE_CUSTODY = Custody(
    home="dak",
    places=(*(desk.code for desk in DESKS), "record_room"),
    titles={desk.code: desk.title for desk in DESKS}
    | {"record_room": N_("Record room (अभिलेखागार)")},
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
    title=N_("District collectorate (कलेक्ट्रेट)"),
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
        _register("FILE", N_("File (नस्ती)"), "{office}/FILE/{year}/{serial:05d}", FILE_CUSTODY),
        _register(
            "DAK", N_("Dak (correspondence) entry"), "{office}/DAK/{year}/{serial:05d}", None
        ),
    ),
    required_sops=(  # "English / हिन्दी": an SOP titled by either side counts
        N_("Office procedure / कार्यालय प्रक्रिया"),
        N_("Citizen charter / नागरिक अधिकार-पत्र"),
        N_("File management / नस्ती प्रबंधन"),
        N_("Dak (correspondence) handling / डाक (पत्राचार) प्रबंधन"),
        N_("Record room and weeding / अभिलेखागार एवं अभिलेख विनष्टीकरण"),
        N_("Public grievance (IGRS) handling / जन शिकायत (आईजीआरएस) निस्तारण"),
        N_("Arms licences / शस्त्र लाइसेंस"),
        N_("Stamp section / स्टाम्प पटल"),
    ),
    desks=DESKS,
    services=SERVICES,
    record_classes=RECORD_CLASSES,
)
