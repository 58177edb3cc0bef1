"""The etiology vocabulary of DESIGN.md and the origin (spinal or cerebral) of each.

The origin decides the titration step limits (B-DOSE, clinical-facts 3.6) and the typical
maintenance range (MEDSCAPE2, GAB-SUM, clinical-facts 3.8).
"""

from __future__ import annotations

from typing import Final, Literal

from thecal.errors import InputError

Origin = Literal["spinal", "cerebral"]

ETIOLOGIES: Final[tuple[str, ...]] = (
    "cerebral-palsy",
    "multiple-sclerosis",
    "stroke",
    "brain-injury",
    "spinal-cord-injury",
    "other-spinal",
    "other-cerebral",
)

# Multiple sclerosis is grouped with spinal origin, as in the best-practice dosing paper's
# spinal/cerebral split (B-DOSE); a clinic may decide otherwise for a cerebral-predominant MS.
SPINAL_ETIOLOGIES: Final[frozenset[str]] = frozenset(
    {"spinal-cord-injury", "multiple-sclerosis", "other-spinal"}
)


def check_etiology(etiology: str) -> str:
    """Return ``etiology`` if it is a known code, else raise :class:`InputError`."""
    if etiology not in ETIOLOGIES:
        raise InputError(f"unknown etiology {etiology!r}",
                         fix="use one of: " + ", ".join(ETIOLOGIES))
    return etiology


def origin(etiology: str) -> Origin:
    """``"spinal"`` for spinal-cord-injury, multiple-sclerosis, other-spinal, else ``"cerebral"``.

    An unknown etiology raises :class:`InputError` listing the known ones.
    """
    return "spinal" if check_etiology(etiology) in SPINAL_ETIOLOGIES else "cerebral"
