"""Recovery after implant: a dated checklist from the implant date.

Mostly from the Gillette Children's discharge information (GIL); the dose facts are from the
best-practice dosing paper (B-DOSE). Words are the project's own. Items whose exact figure is
not in the reference material are marked unverified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from thecal.errors import InputError
from thecal.sources import check_source

RESTRICTION_WEEKS: Final = (6, 8)  # GIL: activity restrictions for 6–8 weeks


@dataclass(frozen=True)
class RecoveryItem:
    code: str
    starts: date
    ends: date | None
    patient: str
    clinician: str
    source: str
    verified: bool = True
    call_at_once: bool = False

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "starts": self.starts, "ends": self.ends,
                "patient": self.patient, "clinician": self.clinician, "source": self.source,
                "verified": self.verified, "call_at_once": self.call_at_once}


def recovery_checklist(implant_date: date) -> tuple[RecoveryItem, ...]:
    """The recovery checklist for an implant on ``implant_date``, in date order."""
    if not isinstance(implant_date, date):
        raise InputError(f"{implant_date!r} is not a date", fix="write it as 2026-01-05")
    d0 = implant_date
    six, eight = (d0 + timedelta(weeks=w) for w in RESTRICTION_WEEKS)
    items = (
        RecoveryItem("call-at-once", d0, eight,
                     "Call the team at once for: fever; redness, swelling or warmth at a wound "
                     "or over the pump; fluid leaking from a wound; a bad headache that is "
                     "worse when sitting or standing; a stiff neck; new weakness or numbness; "
                     "or the return of stiffness with itching (the medicine may not be "
                     "reaching the spine).",
                     "Red flags after implant: infection (wound, pocket, meningitis), CSF leak, "
                     "new neurological deficit, early withdrawal.", "GIL", verified=False,
                     call_at_once=True),
        RecoveryItem("activity-restrictions", d0, eight,
                     f"For 6–8 weeks (until about {six.isoformat()} – {eight.isoformat()}): no "
                     "bending or twisting at the waist, no heavy lifting, no reaching high "
                     "above the head, no contact sports, so the tube and pump can settle.",
                     "Activity restrictions 6–8 weeks to protect the catheter and pocket.", "GIL",
                     verified=False),
        RecoveryItem("incision-care", d0, d0 + timedelta(weeks=2),
                     "Keep the wounds clean and dry. Follow the team's instructions about "
                     "dressings and bathing; no baths or swimming until the wounds have healed.",
                     "Incision care until wound review.", "GIL", verified=False),
        RecoveryItem("pain-medicine", d0, d0 + timedelta(weeks=2),
                     "Take pain medicine as prescribed. Pain that gets worse instead of better "
                     "is a reason to call.",
                     "Post-operative analgesia as prescribed; escalating pain → review.", "GIL",
                     verified=False),
        RecoveryItem("antibiotics", d0, d0 + timedelta(days=7),
                     "If antibiotics were prescribed, take every dose until the course is "
                     "finished.", "Complete any prescribed antibiotic course.", "GIL",
                     verified=False),
        RecoveryItem("oral-baclofen-plan", d0, eight,
                     "Do not stop baclofen tablets or other muscle relaxants on your own: the "
                     "team lowers them one at a time, in steps.",
                     "Wean oral antispasmodics one at a time, 25–50 % per step; assess within "
                     "24 h of every change.", "B-DOSE"),
        RecoveryItem("dose-adjustments", d0, eight,
                     "The pump dose is raised in small steps, at most once a day at first; "
                     "each change takes 6–8 hours to be felt and 1–2 days for the full effect.",
                     "Titration 10–30 % (spinal) or 5–15 % (cerebral, children) per 24 h.",
                     "B-DOSE"),
        RecoveryItem("wound-check", d0 + timedelta(days=10), d0 + timedelta(days=14),
                     "Wound check with the team about 10–14 days after surgery.",
                     "Wound review at 10–14 days.", "ASSUMED", verified=False),
        RecoveryItem("refill-dates", d0, None,
                     "Write down the next refill date and the date the low-reservoir alarm is "
                     "due, and keep them where your carers can see them.",
                     "Give the patient the refill and low-reservoir alarm dates.", "B-DOSE"),
        RecoveryItem("implant-card", d0, None,
                     "Carry the pump card at all times and show it before any scan, surgery or "
                     "emergency treatment.", "Implant card; MRI and procedure precautions.",
                     "M-MRI"),
        RecoveryItem("restrictions-end", eight, None,
                     "After 6–8 weeks most activities can start again once the team agrees.",
                     "Review restrictions at 6–8 weeks.", "GIL"),
    )
    return tuple(sorted(items, key=lambda i: (i.starts, i.code)))
