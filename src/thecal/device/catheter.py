"""The dead volume (pump tubing + catheter) as plug flow: a first-in, first-out queue of parcels.

Fluid does not mix in the narrow pump tubing and catheter: what the pump pushes in at the
inlet comes out at the catheter tip one dead volume later. The queue holds parcels
``(volume_ml, concentration_mcg_per_ml)`` from the tip (index 0) to the inlet (last).
Pushing ``dv`` mL in at the inlet pushes ``dv`` mL out at the tip; the drug that leaves is the
sum of volume × concentration of what left. After an implant or a catheter revision the new
parts hold saline (concentration 0) until drug pushes it out; after a concentration change the
old drug still in the dead volume reaches the spinal fluid first (M-PRIME, B-DOSE).

The dead volume's size comes from the catalog: the pump's ``tubing_volume_ml`` plus the
catheter model's ``volume_ml_per_cm`` × the implanted length.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Parcel:
    """A slug of fluid in the dead volume."""

    volume_ml: float
    concentration_mcg_per_ml: float

    @property
    def drug_mcg(self) -> float:
        return self.volume_ml * self.concentration_mcg_per_ml


class DeadVolume:
    """The mutable FIFO used while replaying; parcels are ``[volume_ml, concentration]`` lists.

    The tubing part sits at the inlet end, the catheter part at the tip end; ``tubing_ml``
    remembers where the boundary is, so a catheter revision can replace only the catheter.
    """

    __slots__ = ("_q", "catheter_ml", "tubing_ml")

    def __init__(self, tubing_ml: float, catheter_ml: float) -> None:
        self.tubing_ml = tubing_ml
        self.catheter_ml = catheter_ml
        self._q: deque[list[float]] = deque()
        if tubing_ml + catheter_ml > 0:
            self._q.append([tubing_ml + catheter_ml, 0.0])  # saline

    def clone(self) -> DeadVolume:
        other = DeadVolume.__new__(DeadVolume)
        other.tubing_ml = self.tubing_ml
        other.catheter_ml = self.catheter_ml
        other._q = deque([p[0], p[1]] for p in self._q)
        return other

    @property
    def volume_ml(self) -> float:
        return self.tubing_ml + self.catheter_ml

    @property
    def drug_mcg(self) -> float:
        total = 0.0
        for v, c in self._q:
            total += v * c
        return total

    def uniform_at(self, concentration: float) -> bool:
        """Whether everything in the dead volume has ``concentration`` (or it is empty)."""
        return all(c == concentration for _, c in self._q)

    def parcels(self) -> tuple[Parcel, ...]:
        """The contents from the tip (first) to the inlet (last)."""
        return tuple(Parcel(v, c) for v, c in self._q)

    def tip(self) -> tuple[float, float] | None:
        """``(volume_ml, concentration)`` of the parcel at the tip, or None when there is none."""
        if not self._q:
            return None
        head = self._q[0]
        return head[0], head[1]

    def exit_boundary_ml(self, inlet_concentration: float) -> float:
        """Volume that can leave before the concentration at the tip changes (inf: never)."""
        q = self._q
        if not q:
            return math.inf
        conc = q[0][1]
        total = 0.0
        for v, c in q:
            if c != conc:
                return total
            total += v
        return math.inf if inlet_concentration == conc else total

    def flow(self, dv_ml: float, inlet_concentration: float) -> float:
        """Push ``dv_ml`` in at the inlet; return the drug (mcg) that left at the tip."""
        if dv_ml <= 0:
            return 0.0
        q = self._q
        if not q:  # no dead volume at all: what enters leaves
            return dv_ml * inlet_concentration
        if q[-1][1] == inlet_concentration:
            q[-1][0] += dv_ml
        else:
            q.append([dv_ml, inlet_concentration])
        out = dv_ml
        drug = 0.0
        while out > 0 and q:
            head = q[0]
            if head[0] <= out:
                drug += head[0] * head[1]
                out -= head[0]
                q.popleft()
            else:
                drug += out * head[1]
                head[0] -= out
                out = 0.0
        return drug

    def push_inlet(self, dv_ml: float, concentration: float) -> None:
        q = self._q
        if q and q[-1][1] == concentration:
            q[-1][0] += dv_ml
        else:
            q.append([dv_ml, concentration])

    def replace_catheter(self, catheter_ml: float) -> float:
        """Swap the catheter part for a new one full of saline; return the drug removed (mcg).

        The tubing part (the inlet-end ``tubing_ml``) keeps its contents.
        """
        kept: deque[list[float]] = deque()
        need = self.tubing_ml
        for v, c in reversed(self._q):  # from the inlet
            if need <= 0:
                break
            take = min(v, need)
            kept.appendleft([take, c])
            need -= take
        removed = self.drug_mcg - sum(v * c for v, c in kept)
        if catheter_ml > 0:
            kept.appendleft([catheter_ml, 0.0])
        self._q = kept
        self.catheter_ml = catheter_ml
        return removed

    def replace_tubing(self, tubing_ml: float) -> float:
        """Swap the pump (and so its tubing) for a new one full of saline; return drug removed."""
        kept: deque[list[float]] = deque()
        need = self.catheter_ml
        for v, c in self._q:  # from the tip
            if need <= 0:
                break
            take = min(v, need)
            kept.append([take, c])
            need -= take
        removed = self.drug_mcg - sum(v * c for v, c in kept)
        if tubing_ml > 0:
            kept.append([tubing_ml, 0.0])
        self._q = kept
        self.tubing_ml = tubing_ml
        return removed

    def empty(self) -> float:
        """Remove everything (explant); return the drug removed (mcg)."""
        removed = self.drug_mcg
        self._q = deque()
        self.tubing_ml = 0.0
        self.catheter_ml = 0.0
        return removed
