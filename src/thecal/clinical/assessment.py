"""Assessment vocabulary: the muscle groups graded with the Modified Ashworth Scale (MAS), and
how one overall grade and a plottable number come from the grades of several groups.

The overall grade of a visit is the highest (worst) group grade, so an improvement in one
group never hides a worse one elsewhere (thecal's choice, source ASSUMED). The grade ``1+``
sits between 1 and 2 and is plotted as 1.5 (:data:`thecal.clinical.screening.MAS_GRADES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from thecal.clinical.screening import MAS_GRADES
from thecal.errors import InputError

# Lower-limb groups first (the usual ITB assessment), then the upper limb.
MUSCLE_GROUPS: Final[tuple[str, ...]] = (
    "hip-flexors", "hip-adductors", "knee-flexors", "knee-extensors", "ankle-plantarflexors",
    "elbow-flexors", "wrist-flexors")
MUSCLE_GROUP_WORDS: Final[dict[str, str]] = {
    "hip-flexors": "hip flexors", "hip-adductors": "hip adductors",
    "knee-flexors": "knee flexors (hamstrings)", "knee-extensors": "knee extensors (quadriceps)",
    "ankle-plantarflexors": "ankle plantarflexors (calf)", "elbow-flexors": "elbow flexors",
    "wrist-flexors": "wrist flexors"}
OVERALL_RULE_SOURCE: Final = "ASSUMED"


def mas_value(grade: str) -> float:
    """The number a MAS grade is plotted at (``1+`` → 1.5); an unknown grade is refused."""
    try:
        return MAS_GRADES[str(grade).strip()]
    except KeyError:
        raise InputError(f"{grade!r} is not a Modified Ashworth grade",
                         fix="use one of: " + ", ".join(MAS_GRADES)) from None


def overall_mas(grades_by_group: Mapping[str, str]) -> str | None:
    """The visit's overall MAS grade: the highest group grade (None when nothing was graded)."""
    for group in grades_by_group:
        if group not in MUSCLE_GROUPS:
            raise InputError(f"unknown muscle group {group!r}", where=f"mas_by_group.{group}",
                             fix="use one of: " + ", ".join(MUSCLE_GROUPS))
    graded = [str(g).strip() for g in grades_by_group.values() if str(g).strip()]
    if not graded:
        return None
    return max(graded, key=mas_value)


def grades_in_words(grades_by_group: Mapping[str, str]) -> str:
    """``"MAS by group: hip flexors 2, knee extensors 1+"`` (kept in the assessment's notes)."""
    parts = [f"{MUSCLE_GROUP_WORDS.get(g, g)} {v}" for g, v in grades_by_group.items()
             if str(v).strip()]
    return "MAS by group: " + ", ".join(parts) if parts else ""
