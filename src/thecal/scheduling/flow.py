"""The two phases as network flows, exact when every possible booking takes one slot.

For one-slot visits the hard rules of a component are a network: the source sends one unit to
each patient; a patient passes it to one candidate session, entering the session's chain at its
due time (or at the session's end when it is due later); along the chain each link carries the
patients due by that time and holds no more than the slots before it, and the last link into the
sink holds the session's slots. A flow is a set of bookings that keeps every hard rule, so:

* phase 1 (book everyone who can be booked) is a **maximum flow**, solved exactly;
* phase 2 without the area-grouping term is a **minimum-cost flow** of that size: exact when the
  component has no home round with two areas among its candidates (every clinic), and otherwise
  a proven lower bound on phase 2 and the plan CP-SAT starts its search for grouping from.

Both are OR-Tools graph solvers (integral for integral capacities, deterministic).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from thecal.scheduling.problem import Component


@dataclass(frozen=True)
class _Arc:
    tail: int
    head: int
    capacity: int
    cost: int


class Network:
    """The component's bookings as a flow network (see the module docstring)."""

    SOURCE = 0
    SINK = 1

    def __init__(self, component: Component) -> None:
        if not component.one_slot:
            raise ValueError("a flow network models one-slot visits only")
        self.component = component
        nodes: dict[object, int] = {"source": self.SOURCE, "sink": self.SINK}

        def node(key: object) -> int:
            return nodes.setdefault(key, len(nodes))

        arcs: list[_Arc] = []
        self.booking_arc: dict[tuple[str, str], int] = {}
        for pid, options in component.candidates.items():
            r = component.requests[pid]
            arcs.append(_Arc(self.SOURCE, node(("patient", pid)), 1, 0))
            for s in options:
                entry = r.refill_due_by if r.refill_due_by < s.end else s.end
                self.booking_arc[(pid, s.id)] = len(arcs)
                arcs.append(_Arc(node(("patient", pid)), node((s.id, entry)), 1, component.costs[(pid, s.id)]))
        for sid, s in component.sessions.items():
            levels = [(due, room) for due, room, _ in component.prefixes(sid)] + [(s.end, s.slots)]
            for (due, room), (after, _) in itertools.pairwise(levels):
                arcs.append(_Arc(node((sid, due)), node((sid, after)), room, 0))
            arcs.append(_Arc(node((sid, s.end)), self.SINK, s.slots, 0))
        self.arcs = arcs

    def max_booked(self) -> int:
        """Phase 1: the most patients that can be booked (exact)."""
        from ortools.graph.python import max_flow

        solver = max_flow.SimpleMaxFlow()
        for a in self.arcs:
            solver.add_arc_with_capacity(a.tail, a.head, a.capacity)
        if solver.solve(self.SOURCE, self.SINK) != solver.OPTIMAL:  # pragma: no cover - finite capacities
            raise RuntimeError("maximum flow failed")
        return int(solver.optimal_flow())

    def cheapest(self, booked: int) -> tuple[dict[str, str], int]:
        """Phase 2 without area grouping: the plan booking ``booked`` patients at least comfort
        cost, and that cost (exact for this relaxation, so a lower bound on phase 2)."""
        from ortools.graph.python import min_cost_flow

        solver = min_cost_flow.SimpleMinCostFlow()
        for a in self.arcs:
            solver.add_arc_with_capacity_and_unit_cost(a.tail, a.head, a.capacity, a.cost)
        solver.set_node_supply(self.SOURCE, booked)
        solver.set_node_supply(self.SINK, -booked)
        if solver.solve() != solver.OPTIMAL:  # pragma: no cover - ``booked`` is a feasible flow value
            raise RuntimeError("minimum-cost flow failed")
        plan = {pid: sid for (pid, sid), arc in self.booking_arc.items() if solver.flow(arc)}
        return plan, int(solver.optimal_cost())
