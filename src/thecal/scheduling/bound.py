"""A proven lower bound on phase 2 from its linear relaxation (OR-Tools GLOP).

Area grouping is a fixed charge (a home round pays :data:`W_AREA` once for each area it visits),
which no flow can express. Its disaggregated form — ``visited[round, area] >= x[patient, round]``
for every patient of the area — has a strong linear relaxation, but CP-SAT keeps those two-variable
rows as clauses, outside its LP, and its own bound then stays near the flow bound without areas. So
the relaxation is solved once here, and its optimum (rounded down, the costs being integers) is
handed to CP-SAT as a proven bound: ``comfort >= bound``.
"""

from __future__ import annotations

import math

from thecal.scheduling.problem import W_AREA, Component

# GLOP's tolerances make its optimum exact to far better than this; the margin keeps the bound
# below the true optimum of the relaxation (costs are integers, so only the floor matters).
_MARGIN = 1e-4


def relaxation_bound(component: Component, booked: int, *, time_limit_s: float) -> int:
    """The linear relaxation's optimum of phase 2 with at least ``booked`` patients booked,
    rounded down; 0 when it is not solved in time (0 is always a bound: costs are not negative)."""
    from ortools.linear_solver import pywraplp

    lp = pywraplp.Solver.CreateSolver("GLOP")
    if lp is None:  # pragma: no cover - GLOP ships with OR-Tools
        return 0
    lp.SetTimeLimit(max(1, int(time_limit_s * 1000)))
    lp.SetSolverSpecificParametersAsString("use_dual_simplex: true")  # 7x faster here than primal
    c = component
    x = {key: lp.NumVar(0.0, 1.0, "") for key in c.costs}
    visited = {key: lp.NumVar(0.0, 1.0, "") for key in c.grouped}
    for pid, options in c.candidates.items():
        lp.Add(sum(x[(pid, s.id)] for s in options) <= 1)
    for pid in c.locked:
        lp.Add(sum(x[(pid, s.id)] for s in c.candidates[pid]) == 1)
    lp.Add(sum(x.values()) >= booked)
    for sid, pids in c.by_session.items():
        s = c.sessions[sid]
        need = {p: s.slots_for(c.requests[p].visit_minutes) for p in pids}
        lp.Add(sum(need[p] * x[(p, sid)] for p in pids) <= s.slots)
        for _due, room, ahead in c.prefixes(sid):
            lp.Add(sum(need[p] * x[(p, sid)] for p in ahead) <= room)
        for p in pids:
            key = (sid, c.requests[p].area)
            if key in visited:
                lp.Add(x[(p, sid)] <= visited[key])
    lp.Minimize(sum(cost * x[key] for key, cost in c.costs.items()) + W_AREA * sum(visited.values()))
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return 0
    value = lp.Objective().Value()
    return max(0, math.floor(value - _MARGIN * max(1.0, abs(value))))
