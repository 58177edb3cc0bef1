"""A component as a CP-SAT model: one boolean per (patient, candidate session).

Constraints: each patient at most once (``booked``), locked bookings stay; a session's booked
slots never exceed its slots; and for every due time that falls inside a session, the visits due
by then fit in the slots before it. That last rule is written as one unconditional ("prefix")
capacity per distinct due time rather than one conditional constraint per patient: the two are
equivalent (the latest booked due time in a prefix implies the prefix), but the unconditional
form has no enforcement literal, so the linear relaxation stays tight — for one-slot visits the
patient rows and the nested prefixes are two laminar families, a totally unimodular system.

Home rounds whose candidates come from several areas get one ``visited`` boolean per area
(implied by any visit of that area), each costing :data:`W_AREA` in the comfort objective.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from thecal.scheduling.calendar import PhaseReport
from thecal.scheduling.problem import W_AREA, Component

if TYPE_CHECKING:
    from ortools.sat.python import cp_model


class CpSatModel:
    def __init__(self, component: Component) -> None:
        from ortools.sat.python import cp_model  # loaded when a plan is asked for (seconds of import)

        self.component = c = component
        self.model = model = cp_model.CpModel()
        self.choice: dict[tuple[str, str], cp_model.IntVar] = {}
        self.booked: dict[str, cp_model.IntVar] = {}
        self.visited: dict[tuple[str, str], cp_model.IntVar] = {}
        comfort: list[cp_model.LinearExprT] = []
        for pid, options in c.candidates.items():
            xs = []
            for s in options:
                x = model.new_bool_var(f"x[{pid},{s.id}]")
                self.choice[(pid, s.id)] = x
                xs.append(x)
                if c.costs[(pid, s.id)]:
                    comfort.append(c.costs[(pid, s.id)] * x)
            b = model.new_bool_var(f"booked[{pid}]")
            model.add(sum(xs) == b)
            if pid in c.locked:
                model.add(b == 1)
            self.booked[pid] = b
        for sid, pids in c.by_session.items():
            s = c.sessions[sid]

            def need(p: str, session: Any = s) -> int:
                return int(session.slots_for(c.requests[p].visit_minutes))

            model.add(sum(need(p) * self.choice[(p, sid)] for p in pids) <= s.slots)
            for _due, room, ahead in c.prefixes(sid):
                model.add(sum(need(p) * self.choice[(p, sid)] for p in ahead) <= room)
            for p in pids:
                key = (sid, c.requests[p].area)
                if key in c.grouped:
                    if key not in self.visited:
                        self.visited[key] = model.new_bool_var(f"area[{sid},{key[1]}]")
                        comfort.append(W_AREA * self.visited[key])
                    model.add_implication(self.choice[(p, sid)], self.visited[key])
        self.comfort = sum(comfort)

    def hint(self, plan: dict[str, str]) -> None:
        self.model.clear_hints()
        for (pid, sid), x in self.choice.items():
            self.model.add_hint(x, plan.get(pid) == sid)
        for pid, b in self.booked.items():
            self.model.add_hint(b, pid in plan)
        used = {(sid, self.component.requests[pid].area) for pid, sid in plan.items()}
        for key, v in self.visited.items():
            self.model.add_hint(v, key in used)

    def solve(self, name: str, *, time_limit_s: float, workers: int, seed: int
              ) -> tuple[dict[str, str] | None, PhaseReport]:
        """Solve for the objective set last; the plan (None when none was found) and the report."""
        from ortools.sat.python import cp_model

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = max(1, workers)
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = max(time_limit_s, 1e-9)
        began = time.perf_counter()
        code = solver.solve(self.model)
        wall = time.perf_counter() - began
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            nan = float("nan")
            return None, PhaseReport(name, solver.status_name(code), nan, nan, wall)
        plan = {pid: sid for (pid, sid), x in self.choice.items() if solver.boolean_value(x)}
        return plan, PhaseReport(name, solver.status_name(code), solver.objective_value,
                                 solver.best_objective_bound, wall)
