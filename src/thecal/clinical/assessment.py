"""Assessment vocabulary: the muscle groups graded with the Modified Ashworth Scale (MAS), one
overall grade from the grades of several groups, and the grades of the last assessments side by
side.

The groups are the timeline's (:data:`thecal.timeline.MAS_MUSCLE_GROUPS`: each muscle of
:data:`thecal.timeline.MAS_MUSCLES` on the left and on the right), the one vocabulary the web
form, the API, the stored event, FHIR, the chart and the visit report use. MAS is graded per
muscle group (clinical-facts 5.7, MAS-Y, MAS-G); the list of groups is thecal's choice (ASSUMED,
the reference names none).

The overall grade of a visit is the highest (worst) group grade, so an improvement in one group
never hides a worse one elsewhere (thecal's choice, source ASSUMED). The grade ``1+`` sits
between 1 and 2 and is plotted as 1.5 (:data:`thecal.clinical.screening.MAS_GRADES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from thecal.clinical.screening import MAS_GRADES
from thecal.errors import InputError
from thecal.timeline import MAS_MUSCLE_GROUPS, MAS_MUSCLES, Assessment

SIDES: Final = ("left", "right")
# The muscles in words, for people (the codes are the timeline's).
MUSCLE_WORDS: Final[dict[str, str]] = {
    "shoulder-adductors": "shoulder adductors", "elbow-flexors": "elbow flexors",
    "elbow-extensors": "elbow extensors", "wrist-flexors": "wrist flexors",
    "finger-flexors": "finger flexors", "hip-flexors": "hip flexors",
    "hip-extensors": "hip extensors", "hip-adductors": "hip adductors",
    "knee-flexors": "knee flexors (hamstrings)", "knee-extensors": "knee extensors (quadriceps)",
    "ankle-plantarflexors": "ankle plantarflexors (calf)"}
OVERALL_RULE_SOURCE: Final = "ASSUMED"
GRID_ASSESSMENTS: Final = 3  # how many of the last assessments a chart or report sets side by side


def group_words(code: str) -> str:
    """A muscle group in words: ``hip-adductors-left`` → ``hip adductors, left``."""
    muscle, _, side = code.rpartition("-")
    return f"{MUSCLE_WORDS.get(muscle, muscle.replace('-', ' '))}, {side}"


def mas_value(grade: str) -> float:
    """The number a MAS grade is plotted at (``1+`` → 1.5); an unknown grade is refused."""
    try:
        return MAS_GRADES[str(grade).strip()]
    except KeyError:
        raise InputError(f"{grade!r} is not a Modified Ashworth grade",
                         fix="use one of: " + ", ".join(MAS_GRADES)) from None


def overall_mas(grades_by_muscle: Mapping[str, str]) -> str | None:
    """The visit's overall MAS grade: the highest group grade (None when nothing was graded).

    >>> overall_mas({"hip-adductors-left": "1+", "knee-extensors-right": "2"})
    '2'
    """
    for group, grade in grades_by_muscle.items():
        if group not in MAS_MUSCLE_GROUPS:
            raise InputError(f"unknown muscle group {group!r}", where=f"mas_by_muscle.{group}",
                             fix="use one of: " + ", ".join(MAS_MUSCLE_GROUPS))
        try:
            mas_value(grade)
        except InputError as exc:
            raise exc.located(f"mas_by_muscle.{group}") from None
    graded = [str(g).strip() for g in grades_by_muscle.values()]
    return max(graded, key=mas_value) if graded else None


@dataclass(frozen=True)
class MuscleGradeRow:
    """One muscle group and its grade at each assessment of the grid (None: not examined)."""

    group: str
    words: str
    grades: tuple[str | None, ...]


@dataclass(frozen=True)
class MuscleGrades:
    """The per-muscle grades of the last assessments that graded muscles, oldest first: one
    column per assessment (``at``, its overall ``mas``), one row per group examined in any of
    them, in the vocabulary's order."""

    at: tuple[datetime, ...]
    mas: tuple[str | None, ...]
    rows: tuple[MuscleGradeRow, ...]


def muscle_grades(assessments: Sequence[Assessment], last: int = GRID_ASSESSMENTS
                  ) -> MuscleGrades:
    """The grid of the ``last`` assessments (in time order) that carry ``mas_by_muscle``."""
    graded = sorted((a for a in assessments if a.mas_by_muscle), key=lambda a: a.at)[-last:]
    by = [dict(a.mas_by_muscle or ()) for a in graded]
    rows = tuple(MuscleGradeRow(g, group_words(g), tuple(grades.get(g) for grades in by))
                 for g in MAS_MUSCLE_GROUPS if any(g in grades for grades in by))
    return MuscleGrades(tuple(a.at for a in graded), tuple(a.mas for a in graded), rows)


__all__ = ["GRID_ASSESSMENTS", "MAS_MUSCLES", "MUSCLE_WORDS", "SIDES", "MuscleGradeRow",
           "MuscleGrades", "group_words", "mas_value", "muscle_grades",
           "overall_mas"]
