"""What plugins contribute: office types with their document and register types, and roles.

Plugins do not return loose values; they call methods on a :class:`TypeRegistry`, which checks
each contribution in one place and names the plugin in any error.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from qms_engine.errors import NotFound, PluginError
from qms_engine.files import MEDIA_TYPES
from qms_engine.registry.attribution import running_plugin
from qms_engine.registry.charter import Desk, RecordClass, Service, charter_problems
from qms_engine.registry.custody import Custody
from qms_engine.registry.feedback_forms import FeedbackForm
from qms_engine.rules import roles
from qms_engine.rules.roles import BUILTIN_ROLES

_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NUMBER_FIELDS = {"office", "type", "serial", "year", "day"}
SERIAL_PERIODS = ("year", "day")
"""What a register's serial may restart with: each calendar year, or each day (office time)."""


def _check_tuple(where: str, name: str, value: object, items: type, what: str) -> None:
    """A field declared as a tuple must be one, of ``items``: a plain string would otherwise be
    taken one character at a time (``filename_patterns="GD_(?P<n>\\d+)"``)."""
    if not isinstance(value, tuple) or not all(isinstance(item, items) for item in value):
        shown = f"{type(value).__name__} {value!r}"
        one = f" (for one, write ({value!r},))" if isinstance(value, str) else ""
        raise TypeError(f"{where}: {name} must be a tuple of {what}, got {shown}{one}")


@dataclass(frozen=True)
class DayBook:
    """A register kept as a day book (the General Diary): each day's first entry opens it,
    giving :attr:`opening_field` (persons in custody, which may say none), and its last
    closes it, giving :attr:`closing_field` (the cash balance); nothing follows a closing,
    and a day opens only once the last day with entries is closed."""

    opening_field: str = "custody"
    closing_field: str = "cash_balance"

    def __post_init__(self) -> None:
        for name in ("opening_field", "closing_field"):
            if not isinstance(getattr(self, name), str) or not _NAME.match(getattr(self, name)):
                raise TypeError(
                    f"DayBook: {name} must be a field name (lowercase letters, digits, _), "
                    f"got {getattr(self, name)!r}"
                )


@dataclass(frozen=True)
class DocumentTypeSpec:
    """A kind of controlled document (SOP) or register record (GD entry) an office keeps."""

    code: str
    title: str
    workflow: str
    kind: Literal["document", "register"] = "document"
    numbering: str = "{office}/{type}/{serial:03d}"
    serial_period: Literal["year", "day"] | None = None
    """When the serial restarts at 1: each calendar year, each day, or never (None)."""
    serial_per_year: bool = False
    """The older spelling of ``serial_period="year"`` (kept so existing plugins still load)."""
    allowed_extensions: tuple[str, ...] = (".docx", ".pdf")
    review_period_days: int | None = 365
    retention_years: int | None = None
    append_only: bool = False
    inbox_folder: str | None = None
    creator_roles: tuple[str, ...] = (roles.AUTHOR,)
    field_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels in dropped files (table cells, "Label: value" lines) → field names."""
    filename_patterns: tuple[str, ...] = ()
    """Regular expressions with named groups, matched against a dropped file's name (stem)."""
    # --- issue 13: register rules (registers) ---
    day_book: DayBook | None = None
    """Kept as a day book (opened and closed each day), or not."""
    corrections: bool = False
    """An entry may correct an earlier entry of the same register (never an edit)."""
    required_fields: Mapping[str, str] = field(default_factory=dict)
    """Fields every record must give, each with what it is (case number, seal number …)."""
    # --- issue 13: custody (custody) ---
    custody: Custody | None = None
    """Where its items may be and how they move (a malkhana's case property, a file between
    desks): every movement is a signed ``custody.moved`` event (:mod:`qms_engine.custody`)."""
    # --- issue 13: desks and record classes (collectorate) ---
    compiled_patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    """:attr:`filename_patterns`, compiled once when the plugin declares the type."""

    def __post_init__(self) -> None:
        where = f"document type {self.code!r}"
        if self.serial_per_year and self.serial_period is None:
            object.__setattr__(self, "serial_period", "year")
        for name in ("allowed_extensions", "creator_roles", "filename_patterns"):
            _check_tuple(where, name, getattr(self, name), str, "strings")
        if self.day_book is not None and not isinstance(self.day_book, DayBook):
            raise TypeError(f"{where}: day_book must be a DayBook or None")
        required = self.required_fields
        if not isinstance(required, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in required.items()
        ):
            raise TypeError(
                f"{where}: required_fields must map field names (str) to what they are (str), "
                f"got {type(required).__name__} {required!r}"
            )
        labels = self.field_labels
        if not isinstance(labels, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in labels.items()
        ):
            raise TypeError(
                f"{where}: field_labels must map labels (str) to field names (str), got "
                f"{type(labels).__name__} {labels!r}"
            )
        compiled = []
        for pattern in self.filename_patterns:
            try:
                compiled.append(re.compile(pattern))
            except re.error as exc:
                raise ValueError(
                    f"document type {self.code!r}: invalid file-name pattern {pattern!r}: {exc}"
                ) from None
        object.__setattr__(self, "compiled_patterns", tuple(compiled))

    def format_number(self, office_code: str, serial: int, year: int, day: str = "") -> str:
        """The document number, e.g. ``PS-KOT39/SOP/001``, ``PS-KOT39/FIR/2026/0042`` or
        ``PS-KOT39/GD/2026-11-29/007`` (``day``: the office-local date, for day numbering)."""
        return self.numbering.format(
            office=office_code, type=self.code, serial=serial, year=year, day=day
        )

    @property
    def register_rules(self) -> bool:
        """Whether its records carry register facts (period, day-book entry, correction)."""
        return self.serial_period is not None or self.day_book is not None or self.corrections


@dataclass(frozen=True)
class OfficeType:
    """A kind of office (police station, SP office, collectorate …) and what it keeps."""

    code: str
    title: str
    document_types: tuple[DocumentTypeSpec, ...]
    required_sops: tuple[str, ...] = ()
    timezone: str = "Asia/Kolkata"
    nc_workflow: str = "capa"
    """The workflow (``subject = "nonconformity"``) the office's nonconformities follow."""
    nc_numbering: str = "{office}/NC/{year}/{serial:03d}"
    """Nonconformity numbers; the serial counts per office per calendar year."""
    audit_numbering: str = "{office}/IA/{year}/{serial:02d}"
    """Internal audit numbers; the serial counts per office per calendar year."""
    feedback: FeedbackForm | None = None
    """The citizen feedback form its stations use (``qms feedback import``), if any."""
    # --- issue 13: services, desks, record classes (collectorate) ---
    desks: tuple[Desk, ...] = ()
    """Its desks (पटल), each with the registers it keeps."""
    services: tuple[Service, ...] = ()
    """The public services of its citizen charter, each with its time limit and desk."""
    record_classes: tuple[RecordClass, ...] = ()
    """The record classes of its record room, each with its retention period."""
    # --- issue 13: the offices a district oversees (district) ---
    oversees: tuple[str, ...] = ()
    """The office types a district office of this type oversees (``("police_station",)``):
    their stations join it (``qms office add … --district``) or send it their audit bundles."""

    def __post_init__(self) -> None:
        where = f"office type {self.code!r}"
        _check_tuple(
            where, "document_types", self.document_types, DocumentTypeSpec, "DocumentTypeSpec"
        )
        _check_tuple(where, "required_sops", self.required_sops, str, "strings (SOP titles)")
        _check_tuple(where, "desks", self.desks, Desk, "Desk")
        _check_tuple(where, "services", self.services, Service, "Service")
        _check_tuple(where, "record_classes", self.record_classes, RecordClass, "RecordClass")
        _check_tuple(where, "oversees", self.oversees, str, "strings (office type codes)")
        if self.feedback is not None and not isinstance(self.feedback, FeedbackForm):
            raise TypeError(
                f"{where}: feedback must be a FeedbackForm or None, got "
                f"{type(self.feedback).__name__}"
            )

    @property
    def inbox_folders(self) -> tuple[str, ...]:
        """The folder of each register that takes files from the inbox (``GD``, ``MALKHANA`` …)."""
        return tuple(t.inbox_folder for t in self.document_types if t.inbox_folder)

    def document_type(self, code: str) -> DocumentTypeSpec:
        """The document type ``code``, or an error listing the ones this office type has."""
        for spec in self.document_types:
            if spec.code == code:
                return spec
        known = ", ".join(spec.code for spec in self.document_types)
        raise NotFound(f"office type {self.code!r} has no document type {code!r} (known: {known})")


@dataclass
class TypeRegistry:
    """Collects and checks what every plugin registers."""

    office_types: dict[str, OfficeType] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=lambda: dict(BUILTIN_ROLES))
    _owners: dict[str, str] = field(default_factory=dict)

    @property
    def current_plugin(self) -> str:
        """The plugin whose ``qms_register_types`` is calling the registry now (set while it
        runs, see :mod:`.attribution`), or ``"<core>"`` outside any plugin."""
        return running_plugin() or "<core>"

    def add_role(self, name: str, description: str) -> None:
        """Make a role available to workflows and users."""
        if not _NAME.match(name):
            self._fail(f"role name {name!r} must be lowercase letters, digits and underscores")
        self.roles.setdefault(name, description)

    def add_office_type(self, office_type: OfficeType) -> None:
        """Register an office type; its code must be new and its document types well formed."""
        if not _NAME.match(office_type.code):
            self._fail(f"office type code {office_type.code!r} must be lowercase, e.g. 'sp_office'")
        if office_type.code in self.office_types:
            owner = self._owners[office_type.code]
            self._fail(f"office type {office_type.code!r} is already registered by {owner!r}")
        seen: set[str] = set()
        for spec in office_type.document_types:
            self._check_document_type(office_type.code, spec)
            if spec.code in seen:
                self._fail(f"{office_type.code}: document type {spec.code!r} is listed twice")
            seen.add(spec.code)
        for sop in office_type.required_sops:
            if not sop.strip():
                self._fail(f"{office_type.code}: a required SOP title is empty")
        for problem in charter_problems(
            office_type.desks, office_type.services, office_type.record_classes, frozenset(seen)
        ):
            self._fail(f"{office_type.code}: {problem}")
        for name in ("nc_numbering", "audit_numbering"):
            numbering = getattr(office_type, name)
            fields = {part for _, part, _, _ in string.Formatter().parse(numbering) if part}
            if not {"serial", "year"} <= fields <= _NUMBER_FIELDS - {"type", "day"}:
                self._fail(
                    f"{office_type.code}: {name} {numbering!r} must use {{office}}, {{year}} "
                    "and {serial} (serials count per calendar year), and nothing else"
                )
        self.office_types[office_type.code] = office_type
        self._owners[office_type.code] = self.current_plugin

    def office_type(self, code: str) -> OfficeType:
        """The office type ``code``, or an error listing the installed ones."""
        try:
            return self.office_types[code]
        except KeyError:
            known = ", ".join(sorted(self.office_types)) or "none"
            raise NotFound(
                f"unknown office type {code!r} (installed: {known})",
                hint="install the plugin that provides it, then check `qms plugins`",
            ) from None

    def owner(self, office_type_code: str) -> str:
        """The plugin that registered an office type."""
        return self._owners[office_type_code]

    def __iter__(self) -> Iterator[OfficeType]:
        return iter(self.office_types.values())

    def _check_document_type(self, office_type: str, spec: DocumentTypeSpec) -> None:
        where = f"{office_type}: document type {spec.code!r}"
        if not _CODE.match(spec.code):
            self._fail(f"{where}: code must be upper case letters, digits, '-' or '_'")
        fields = {name for _, name, _, _ in string.Formatter().parse(spec.numbering) if name}
        if "serial" not in fields or not fields <= _NUMBER_FIELDS:
            self._fail(
                f"{where}: numbering {spec.numbering!r} must use {{serial}} and only "
                f"{sorted(_NUMBER_FIELDS)}"
            )
        if spec.serial_period not in (None, *SERIAL_PERIODS):
            self._fail(
                f"{where}: serial_period {spec.serial_period!r} must be 'year', 'day' or None"
            )
        if spec.serial_period is not None and spec.serial_period not in fields:
            self._fail(
                f"{where}: serial_period {spec.serial_period!r} needs "
                f"{{{spec.serial_period}}} in the numbering"
            )
        if "day" in fields and spec.serial_period != "day":
            self._fail(f"{where}: {{day}} in the numbering needs serial_period 'day'")
        if (spec.day_book or spec.corrections or spec.required_fields) and spec.kind != "register":
            self._fail(f"{where}: day_book, corrections and required_fields are for registers")
        for extension in spec.allowed_extensions:
            if extension not in MEDIA_TYPES:
                self._fail(
                    f"{where}: extension {extension!r} is not one the engine can check and file "
                    f"(known: {', '.join(sorted(MEDIA_TYPES))})"
                )
        unknown = [role for role in spec.creator_roles if role not in self.roles]
        if unknown or not spec.creator_roles:
            self._fail(f"{where}: creator_roles {list(spec.creator_roles)} must name known roles")
        if spec.review_period_days is not None and spec.review_period_days <= 0:
            self._fail(f"{where}: review_period_days must be positive")

    def _fail(self, message: str) -> None:
        raise PluginError(f"plugin {self.current_plugin!r}: {message}")
