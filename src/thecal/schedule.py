"""Piecewise-constant schedules: the common currency between the twin and the simulator.

A :class:`Schedule` is a step function of time in hours: ``values[i]`` holds on
``[edges[i], edges[i+1])``. The twin produces them (pump flow, drug mass reaching the spinal
fluid); the simulator consumes them and propagates its linear model exactly across each step.
Before ``edges[0]`` and from ``edges[-1]`` on the value is zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Schedule:
    """A step function: ``values[i]`` on ``[edges[i], edges[i+1])``; zero outside."""

    edges: FloatArray  # shape (n+1,), strictly increasing, hours
    values: FloatArray  # shape (n,)

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        values = np.asarray(self.values, dtype=float)
        if edges.ndim != 1 or values.ndim != 1 or edges.size != values.size + 1:
            raise ValueError("a schedule needs n+1 edges for n values")
        if edges.size > 1 and not np.all(np.diff(edges) > 0):
            raise ValueError("schedule edges must be strictly increasing")
        if not (np.all(np.isfinite(edges)) and np.all(np.isfinite(values))):
            raise ValueError("schedule edges and values must be finite")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "values", values)

    @classmethod
    def empty(cls) -> Schedule:
        return cls(np.zeros(1), np.zeros(0))

    @classmethod
    def from_segments(cls, segments: Iterable[tuple[float, float, float]]) -> Schedule:
        """Build from ``(start_h, end_h, value)`` triples that touch end to start.

        Gaps are filled with zero; zero-length segments are dropped; equal neighbours merge.
        """
        edges: list[float] = []
        values: list[float] = []
        for start, end, value in segments:
            if end < start:
                raise ValueError(f"segment ends before it starts: {start} > {end}")
            if end == start:
                continue
            if edges and start < edges[-1] - 1e-12:
                raise ValueError("segments must be in time order without overlap")
            if edges and start > edges[-1]:
                edges.append(start)
                values.append(0.0)
            if not edges:
                edges.append(start)
            if values and values[-1] == value:
                edges[-1] = end
            else:
                values.append(value)
                edges.append(end)
        if not edges:
            return cls.empty()
        return cls(np.array(edges), np.array(values))

    @property
    def start_h(self) -> float:
        return float(self.edges[0])

    @property
    def end_h(self) -> float:
        return float(self.edges[-1])

    def segments(self) -> list[tuple[float, float, float]]:
        return [(float(a), float(b), float(v))
                for a, b, v in zip(self.edges[:-1], self.edges[1:], self.values, strict=True)]

    def value_at(self, t_h: float | Sequence[float] | FloatArray) -> FloatArray:
        """The value holding at each time (right-continuous)."""
        t = np.atleast_1d(np.asarray(t_h, dtype=float))
        idx = np.searchsorted(self.edges, t, side="right") - 1
        inside = (idx >= 0) & (idx < self.values.size)
        out = np.zeros_like(t)
        out[inside] = self.values[idx[inside]]
        return out

    def integral(self, start_h: float, end_h: float) -> float:
        """∫ value dt from ``start_h`` to ``end_h`` (exact)."""
        if end_h < start_h:
            raise ValueError("integral bounds reversed")
        lo = np.clip(self.edges[:-1], start_h, end_h)
        hi = np.clip(self.edges[1:], start_h, end_h)
        return float(np.sum(self.values * (hi - lo)))

    def cumulative(self) -> FloatArray:
        """∫ value dt from ``edges[0]`` to each edge (length n+1)."""
        return np.concatenate(([0.0], np.cumsum(self.values * np.diff(self.edges))))

    def restricted(self, start_h: float, end_h: float) -> Schedule:
        """The part of the schedule inside ``[start_h, end_h)``, zero-filled to both ends."""
        cuts = np.unique(np.concatenate(([start_h, end_h],
                                         self.edges[(self.edges > start_h) & (self.edges < end_h)])))
        if cuts.size < 2:
            return Schedule.empty()
        return Schedule(cuts, self.value_at(cuts[:-1]))
