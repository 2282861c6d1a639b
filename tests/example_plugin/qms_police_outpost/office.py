"""What a police outpost keeps under control: its SOPs, a dak register and a complaint
register.  Titles carry English and Hindi, as the staff read both."""

from __future__ import annotations

from qms_engine.api import Custody, DocumentTypeSpec, OfficeType

MUNSHI = "munshi"
"""The outpost's writer (मुंशी), who keeps its registers: a role this plugin adds."""

SCANS = (".pdf", ".jpg", ".jpeg", ".png")
"""A register page is filed as a scan or a photograph."""

POLICE_OUTPOST = OfficeType(
    code="police_outpost",
    title="Police outpost (chowki) / पुलिस चौकी",
    document_types=(
        DocumentTypeSpec(
            code="SOP",
            title="Standard operating procedure / मानक संचालन प्रक्रिया",
            workflow="sop-revision",  # a built-in workflow
            numbering="{office}/SOP/{serial:02d}",
            allowed_extensions=(".docx", ".pdf"),
            review_period_days=365,  # reviewed every year
            inbox_folder="SOP-DRAFTS",
        ),
        DocumentTypeSpec(
            code="DAK",
            title="Dak (correspondence) entry / डाक",
            workflow="record-filing",  # a built-in workflow
            kind="register",
            numbering="{office}/DAK/{year}/{serial:04d}",
            serial_period="year",  # 0001 again every 1 January (office time)
            allowed_extensions=SCANS,
            review_period_days=None,  # a record is not reviewed
            retention_years=3,
            append_only=True,
            inbox_folder="DAK",
            creator_roles=(MUNSHI,),
        ),
        DocumentTypeSpec(
            code="COMPLAINT",
            title="Complaint received / प्राप्त शिकायत",
            workflow="complaint-enquiry",  # this plugin's own, in workflows/
            kind="register",
            numbering="{office}/CMP/{year}/{serial:04d}",
            serial_period="year",
            allowed_extensions=(".docx", *SCANS),
            review_period_days=None,
            retention_years=5,
            append_only=True,
            inbox_folder="COMPLAINTS",
            creator_roles=(MUNSHI,),
            # Every complaint must give these (the engine refuses one that does not, and
            # `qms audit verify` checks them in the chain); rules.py checks the date's form.
            required_fields={
                "complainant": "the person who made the complaint",
                "received_on": "the day it was received, as YYYY-MM-DD",
            },
            # How a dropped file's table rows name those fields.
            field_labels={
                "Complainant": "complainant",
                "शिकायतकर्ता": "complainant",
                "Received on": "received_on",
                "प्राप्ति दिनांक": "received_on",
            },
            # The complaint's papers stay at the outpost until they are handed over to the
            # police station, for good: each hand-over is a signed event (who handed over,
            # who received, seal intact or not).
            custody=Custody(
                home="outpost",
                places=("outpost", "thana"),
                final=("thana",),
                titles={"outpost": "Outpost / चौकी", "thana": "Police station / थाना"},
            ),
        ),
    ),
    required_sops=(
        "Outpost office procedure",
        "Complaint receipt and forwarding",
        "Beat patrolling",
    ),
)
