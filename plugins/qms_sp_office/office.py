"""What an SP office (the district police office) keeps under control: its own SOPs, the SOPs
its stations adopt (``qms district sop adopt``), its dak, the complaints it receives and the
directions it sends to station in-charges after poor citizen feedback; and which offices it
oversees (police stations)."""

from __future__ import annotations

from qms_engine.api import N_, DocumentTypeSpec, OfficeType

RECORD_FILES = (".docx", ".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")


def _register(code: str, title: str, numbering: str, retention_years: int) -> DocumentTypeSpec:
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
        inbox_folder=code,
        creator_roles=("clerk",),
    )


SP_OFFICE = OfficeType(
    code="sp_office",
    title=N_("SP office (district police)"),
    document_types=(
        DocumentTypeSpec(
            code="SOP",
            title=N_("Standard operating procedure (district; stations adopt it)"),
            workflow="sop-revision",
            numbering="{office}/SOP/{serial:03d}",
            allowed_extensions=(".docx", ".pdf"),
            review_period_days=365,
            inbox_folder="SOP-DRAFTS",
        ),
        _register("DAK", N_("Dak (correspondence) entry"), "{office}/DAK/{year}/{serial:05d}", 3),
        _register(
            "COMPLAINT",
            N_("Public grievance (IGRS) received at the district"),
            "{office}/CMP/{year}/{serial:05d}",
            3,
        ),
        _register(
            "DIRECTION",
            N_("Direction to a station in-charge (after an inspection or poor feedback)"),
            "{office}/DIR/{year}/{serial:04d}",
            5,
        ),
    ),
    required_sops=(  # "English / हिन्दी": an SOP titled by either side counts
        N_("District office procedure / ज़िला कार्यालय प्रक्रिया"),
        N_("Supervision and inspection of police stations / थानों का पर्यवेक्षण एवं निरीक्षण"),
        N_("Citizen feedback monitoring / नागरिक प्रतिक्रिया (फ़ीडबैक) की निगरानी"),
        N_("Public grievance (IGRS) redressal / जन शिकायत (आईजीआरएस) निवारण"),
        N_("Dak (correspondence) handling / डाक (पत्राचार) प्रबंधन"),
        N_("Crime review meeting / अपराध समीक्षा गोष्ठी"),
    ),
    oversees=("police_station",),
)
"""The district over its police stations (Balaghat, Noida, Balodabazar in the domain notes)."""
