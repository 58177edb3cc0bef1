"""A decision aid for people considering a baclofen pump: benefits, risks and questions.

In the project's own words, each point with its source. It informs a conversation with the
team; it is not advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from thecal.sources import check_source

Kind = Literal["benefit", "risk-surgical", "risk-drug", "risk-device", "commitment", "question"]


@dataclass(frozen=True)
class AidPoint:
    kind: Kind
    text: str
    source: str
    verified: bool = True

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "text": self.text, "source": self.source,
                "verified": self.verified}


DECISION_AID: Final[tuple[AidPoint, ...]] = (
    AidPoint("benefit", "The medicine goes straight to the spinal fluid, so a dose about a "
             "hundred times smaller than tablets can work, with less drowsiness.", "DRUGLIB"),
    AidPoint("benefit", "Most people respond to the test dose: over 9 in 10 with spasticity "
             "of spinal origin and about 9 in 10 of cerebral origin.", "LIO-SCR"),
    AidPoint("benefit", "You try it first: a test dose in hospital shows whether it helps "
             "before any surgery.", "B-SCREEN"),
    AidPoint("benefit", "The dose can be adjusted, and in programmable pumps changed through "
             "the day.", "M-UK-PROG"),
    AidPoint("benefit", "In one large registry most people were still using the therapy 10 "
             "years later (87 % of adults, 76 % of children).", "SCHIESS"),
    AidPoint("risk-surgical", "Surgery risks: infection of the wounds, the pump pocket or "
             "around the spine, and spinal fluid leaks (these were common in one series of "
             "children with cerebral palsy).", "CP-PMC"),
    AidPoint("risk-surgical", "Problems with the catheter (the thin tube) are the most common "
             "complication and can need another operation.", "STET10"),
    AidPoint("risk-drug", "If the medicine stops suddenly (empty pump, broken tube, pump "
             "failure), withdrawal can follow within hours to days and can be life-threatening.",
             "FDA-LAB"),
    AidPoint("risk-drug", "Too much medicine (a programming error, or a refill that goes "
             "under the skin) causes drowsiness, slow breathing and can cause coma.", "PILL",
             verified=False),
    AidPoint("risk-drug", "About 1 in 5 people on a pump have some side effect of the drug, "
             "such as sleepiness, nausea or muscles that are too loose.", "STATPEARLS",
             verified=False),
    AidPoint("risk-device", "The pump battery lasts about 5–7 years; then the pump is replaced "
             "in a smaller operation.", "M-REPL"),
    AidPoint("risk-device", "An MRI scan stops the pump motor for a while; the pump must be "
             "checked before and after every MRI.", "M-MRI"),
    AidPoint("commitment", "Refills every 1–3 months for life; a missed refill can cause "
             "withdrawal.", "MEDSCAPE2", verified=False),
    AidPoint("commitment", "The first weeks after implant include dose adjustments and 6–8 "
             "weeks of activity restrictions.", "GIL", verified=False),
    AidPoint("question", "What do I want the pump to change: walking, sitting, care, pain, "
             "sleep?", "B-SCREEN", verified=False),
    AidPoint("question", "How far is the nearest clinic that can refill the pump, and who do "
             "I call at night?", "B-DOSE", verified=False),
    AidPoint("question", "Which pump would I get, and what does it mean for MRI scans?",
             "M-MRI"),
    AidPoint("question", "What happens to my tablets after the implant?", "B-DOSE"),
    AidPoint("question", "Who watches for withdrawal signs if I cannot easily tell people how "
             "I feel?", "FDA-LAB"),
)


def decision_aid(kind: Kind | None = None) -> tuple[AidPoint, ...]:
    """All points, or those of one kind."""
    return tuple(p for p in DECISION_AID if kind is None or p.kind == kind)
