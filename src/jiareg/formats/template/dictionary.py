"""The import template: every table and column, with its type, unit, range and codes.

This is the data dictionary. Validation (`jiareg.ingest.validate`), the template writers
(CSV headers, the workbook's notes and drop-downs) and `docs/reference/template.md` are all
generated from it, so they cannot disagree. Names are the registry's (Contract 2).

Ranges are inclusive. jiareg choices where the SPEC is silent: weight 2-150 kg (a child),
height 40-220 cm, CRP 0-500 mg/L, morning stiffness 0-1440 min (a day), doses 0-5000 mg,
joint counts 0-71 (the JADAS-71 joint set), ESR 0-200 mm/h, AE grade 1-5 (CTCAE).
Clinical numbers carry at most 3 decimals (Contract 1); globals on the 0-3 and 0-100 scales
at most 2 (`jiareg.derive.coreset.SCALE_MAX_DECIMALS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from jiareg.derive.chaq import CHAQ_ITEMS
from jiareg.derive.coreset import CHAQ_MAX, SCALE_MAX_DECIMALS
from jiareg.vocab import (
    ILAR_CATEGORIES,
    SCALE_MAX,
    SCALES,
    SEXES,
    STEROID_ROUTES,
    STOP_REASONS,
    TREATMENT_ROUTES,
)

__all__ = [
    "DEFAULT_SCALE",
    "DRUG_PATTERN",
    "FLAG_VALUES",
    "SIDES",
    "TABLES",
    "Column",
    "Kind",
    "TemplateTable",
    "table",
]

Kind = Literal["text", "code", "date", "number", "count", "flag"]
"""text: free text; code: one of `codes`; date: ISO YYYY-MM-DD; number: decimal (float64);
count: whole number (int64); flag: yes/no (bool)."""

SIDES: Final = ("left", "right")
"""Joint side; an empty side is a midline joint (cervical spine), stored as ''."""
FLAG_VALUES: Final = ("yes", "no")
DEFAULT_SCALE: Final = "0-10"
"""The scale of a global whose scale cell is empty (INTERFACE.md)."""

DRUG_PATTERN: Final = r"^[a-z][a-z0-9_-]*$"
"""Drug names are lower-case generic names (tocilizumab, etanercept, ...)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One template column: what a cell must hold.

    `required` cells may not be empty. `minimum`/`maximum` bound numbers and counts
    (inclusive). `scale_of` names the global whose scale this column gives; `scaled_by` the
    scale column that bounds this global. `pattern` is a regular expression a text cell must
    match. `max_length` bounds text (the database column's size). `blank` is what an empty
    cell is stored as when it is not null (a key column that may be empty).
    """

    name: str
    kind: Kind
    description: str
    unit: str = ""
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 3
    scaled_by: str | None = None
    pattern: str | None = None
    pattern_hint: str = ""
    max_length: int = 64
    blank: str | None = None

    def expected(self) -> str:
        """What a valid cell looks like, in words (used in error messages and the docs).

        >>> table("visits").column("esr").expected()
        'a number from 0 to 200 mm/h with at most 3 decimals'
        """
        if self.kind == "code":
            return "one of " + ", ".join(self.codes)
        if self.kind == "flag":
            return "yes or no"
        if self.kind == "date":
            return "a real calendar date written YYYY-MM-DD"
        if self.kind == "text":
            return self.pattern_hint or f"text of at most {self.max_length} characters"
        what = "a whole number" if self.kind == "count" else "a number"
        if self.scaled_by:
            limits = ", ".join(f"0-{m} on scale {s}" for s, m in SCALE_MAX.items())
            return f"{what} within its scale ({limits})"
        if self.minimum is not None and self.maximum is not None:
            what += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            what += f" ≥ {self.minimum:g}"
        if self.unit:
            what += f" {self.unit}"
        if self.kind == "number":
            what += f" with at most {self.decimals} decimals"
        return what


@dataclass(frozen=True, slots=True)
class TemplateTable:
    """One template table (one CSV file, one workbook sheet, one registry table).

    `key` is the natural key (unique within a file and in the registry). `after_birth` lists
    the date columns that must not precede the patient's birth date; `ordered` lists
    (start, stop) pairs where stop must not precede start.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    optional: bool = False
    after_birth: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()

    @property
    def file(self) -> str:
        """The CSV file name, e.g. `visits.csv`."""
        return f"{self.name}.csv"

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in template order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called `name` (KeyError if there is none)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def _pid() -> Column:
    return Column("patient_id", "text", "Registry patient identifier (no names).", required=True)


def _flag(name: str, description: str) -> Column:
    return Column(name, "flag", description, codes=FLAG_VALUES)


def _date(name: str, description: str, *, required: bool = False) -> Column:
    return Column(name, "date", description, required=required)


def _drug(description: str, *, required: bool = True, name: str = "drug") -> Column:
    return Column(
        name,
        "text",
        description,
        required=required,
        pattern=DRUG_PATTERN,
        pattern_hint="a lower-case generic drug name (e.g. tocilizumab)",
    )


def _global(name: str, description: str) -> Column:
    scale = f"{name}_scale"
    return Column(name, "number", description, minimum=0, scaled_by=scale)


def _scale(name: str) -> Column:
    text = f"Scale of {name}; empty means {DEFAULT_SCALE}."
    return Column(f"{name}_scale", "code", text, codes=SCALES)


_WEIGHT = {"unit": "kg", "minimum": 2.0, "maximum": 150.0}

TABLES: Final[tuple[TemplateTable, ...]] = (
    TemplateTable(
        "patients",
        "One row per child.",
        (
            _pid(),
            Column("site", "text", "Clinic (site code) the patient belongs to.", required=True),
            Column("sex", "code", "Sex: F or M.", required=True, codes=SEXES),
            _date("birth_date", "Date of birth.", required=True),
            Column(
                "ilar_category", "code", "ILAR category (SPEC R-SJIA-1).", codes=ILAR_CATEGORIES
            ),
            _date("onset_date", "Date of disease onset."),
        ),
        key=("patient_id",),
        after_birth=("onset_date",),
    ),
    TemplateTable(
        "visits",
        "One row per clinic visit: core set, laboratory values and systemic features.",
        (
            _pid(),
            _date("visit_date", "Date of the visit.", required=True),
            Column("weight_kg", "number", "Body weight.", **_WEIGHT),  # type: ignore[arg-type]
            Column("height_cm", "number", "Height.", unit="cm", minimum=40, maximum=220),
            _global("phys_global", "Physician global assessment of disease activity."),
            _scale("phys_global"),
            _global("parent_global", "Parent/patient global assessment of well-being."),
            _scale("parent_global"),
            Column("chaq", "number", "CHAQ disability index.", minimum=0, maximum=CHAQ_MAX),
            Column(
                "active_joints", "count", "Joints with active arthritis.", minimum=0, maximum=71
            ),
            Column("lom_joints", "count", "Joints with limited motion.", minimum=0, maximum=71),
            Column("esr", "number", "ESR (Westergren).", unit="mm/h", minimum=0, maximum=200),
            Column("crp", "number", "C-reactive protein.", unit="mg/L", minimum=0, maximum=500),
            _flag("fever", "Fever attributable to sJIA."),
            _flag("rash", "Rash attributable to sJIA."),
            _flag("serositis", "Serositis."),
            _flag("hepatomegaly", "Enlarged liver."),
            _flag("splenomegaly", "Enlarged spleen (counts against inactive disease)."),
            _flag("lymphadenopathy", "Generalised lymph node enlargement."),
            _flag("uveitis_active", "Active uveitis."),
            Column(
                "morning_stiffness_min",
                "number",
                "Duration of morning stiffness.",
                unit="min",
                minimum=0,
                maximum=1440,
            ),
            Column(
                "esr_uln",
                "number",
                "The laboratory's upper limit of normal ESR; empty = the configured default.",
                unit="mm/h",
                minimum=0,
                maximum=200,
            ),
            Column(
                "crp_uln",
                "number",
                "The laboratory's upper limit of normal CRP; empty = the configured default.",
                unit="mg/L",
                minimum=0,
                maximum=500,
            ),
        ),
        key=("patient_id", "visit_date"),
        after_birth=("visit_date",),
    ),
    TemplateTable(
        "treatments",
        "One row per biologic course.",
        (
            _pid(),
            _drug("Biologic (lower-case generic name)."),
            Column("route", "code", "Route of administration.", codes=TREATMENT_ROUTES),
            _date("start_date", "First day of the course.", required=True),
            _date("stop_date", "Last day of the course; empty while ongoing."),
            Column("stop_reason", "code", "Why the course stopped.", codes=STOP_REASONS),
        ),
        key=("patient_id", "drug", "start_date"),
        after_birth=("start_date",),
        ordered=(("start_date", "stop_date"),),
    ),
    TemplateTable(
        "administrations",
        "One row per infusion or injection.",
        (
            _pid(),
            _drug("Biologic given."),
            _date("date", "Date given.", required=True),
            Column(
                "dose_mg",
                "number",
                "Dose given.",
                unit="mg",
                required=True,
                minimum=0,
                maximum=5000,
            ),
            Column("weight_kg", "number", "Weight used for the dose.", **_WEIGHT),  # type: ignore[arg-type]
        ),
        key=("patient_id", "drug", "date"),
        after_birth=("date",),
    ),
    TemplateTable(
        "steroids",
        "One row per period at a constant daily corticosteroid dose.",
        (
            _pid(),
            _drug("Corticosteroid (prednisone, methylprednisolone, ...)."),
            Column(
                "daily_dose_mg",
                "number",
                "Daily dose.",
                unit="mg/day",
                required=True,
                minimum=0,
                maximum=5000,
            ),
            _date("start_date", "First day at this dose.", required=True),
            _date("stop_date", "Last day at this dose; empty while ongoing."),
            Column(
                "route",
                "code",
                "Route: oral and other (daily systemic) count toward the daily prednisone "
                "equivalent, IV pulses and joint injections do not; empty = oral.",
                codes=STEROID_ROUTES,
            ),
        ),
        key=("patient_id", "drug", "start_date"),
        after_birth=("start_date",),
        ordered=(("start_date", "stop_date"),),
    ),
    TemplateTable(
        "adverse_events",
        "One row per adverse event.",
        (
            _pid(),
            _date("onset_date", "Date the event began.", required=True),
            Column(
                "term",
                "text",
                "What happened (e.g. infusion reaction).",
                required=True,
                max_length=200,
            ),
            Column("grade", "count", "CTCAE grade.", minimum=1, maximum=5),
            _flag("serious", "Serious adverse event (ICH E2A)."),
            _drug("Drug judged related, if any.", required=False, name="related_drug"),
            Column("outcome", "text", "Outcome (e.g. resolved).", max_length=200),
        ),
        key=("patient_id", "onset_date", "term"),
        after_birth=("onset_date",),
    ),
    TemplateTable(
        "joint_exams",
        "Optional: one row per joint examined at a visit.",
        (
            _pid(),
            _date("visit_date", "Date of the visit.", required=True),
            Column("joint", "text", "Joint examined (e.g. knee).", required=True),
            Column(
                "side",
                "code",
                "Side of the joint; empty for a midline joint.",
                codes=SIDES,
                blank="",
            ),
            _flag("swollen", "Swelling not due to bony enlargement."),
            _flag("tender", "Tender on palpation."),
            _flag("painful_motion", "Pain on motion."),
            _flag("limited_motion", "Limited range of motion."),
        ),
        key=("patient_id", "visit_date", "joint", "side"),
        optional=True,
        after_birth=("visit_date",),
    ),
    TemplateTable(
        "chaq_items",
        "Optional: one row per CHAQ item answered at a visit (SPEC R-CHAQ).",
        (
            _pid(),
            _date("visit_date", "Date of the visit.", required=True),
            Column("item", "code", "CHAQ item key.", required=True, codes=tuple(CHAQ_ITEMS)),
            Column("score", "count", "Item score; empty = not applicable.", minimum=0, maximum=3),
            _flag("aid", "Aids, devices or help used for this item's domain."),
        ),
        key=("patient_id", "visit_date", "item"),
        optional=True,
        after_birth=("visit_date",),
    ),
)
"""Every template table, patients first (load order)."""

_BY_NAME: Final = {t.name: t for t in TABLES}


def table(name: str) -> TemplateTable:
    """The template table called `name`.

    >>> table("visits").key
    ('patient_id', 'visit_date')
    """
    return _BY_NAME[name]


def scale_decimals(scale: str) -> int:
    """Most decimals a global may carry on `scale` (0-10: 3; 0-3 and 0-100: 2).

    >>> scale_decimals("0-100")
    2
    """
    return SCALE_MAX_DECIMALS[scale]  # type: ignore[index]
