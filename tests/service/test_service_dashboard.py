"""The population dashboard's open emergency cases and second signatures waiting: counts,
the lines, the change against a week before, the CSV, and whose patients they are."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from thecal import service
from thecal.service import advice, therapy
from thecal.service.cases import acknowledge_case, close_case
from thecal.service.dashboard import PERIOD, Dashboard, DashboardList, dashboard, dashboard_csv
from thecal.service.testing import PASSWORD, World, build_world

WITHDRAWAL_WITH_FEVER = ["itching", "increased-spasticity", "high-fever"]


def _list(board: Dashboard, code: str) -> DashboardList:
    (found,) = [lst for lst in board.lists if lst.code == code]
    return found


def _concentration_change(world: World) -> int:
    """The nurse refills patient A at 1000 mcg/mL (was 500): recorded, its confirmation open."""
    nurse = world.actor("nurse")
    probe = therapy.propose_refill(world.clinic, nurse, world.patient_a, withdrawn="0 mL",
                                   added="1 mL", concentration="1000 mcg/mL")
    version = service.get_patient(world.clinic, nurse, world.patient_a).version
    outcome = therapy.record_refill(
        world.clinic, nurse, world.patient_a, withdrawn=f"{probe.expected_residual_ml:.1f} mL",
        added="20 mL", concentration="1000 mcg/mL", expected_version=int(version),
        password=PASSWORD, reason="residual as expected",
        drug=therapy.DrugDetails(lot="LOT-D1", expiry="2030-12-31"))
    assert outcome.status == "awaiting-confirmation" and outcome.pending_id is not None
    return outcome.pending_id


def test_open_emergency_cases_and_second_signatures_with_their_change(
        clinic: service.Clinic, clock: service.FrozenClock) -> None:
    world = build_world(clinic, clock, second_clinician=True)
    clinician = world.actor("clinician")
    patient = world.actor("patient")
    # a week ago nothing was open; now: an emergency, a milder report, a concentration change
    grave = advice.report_symptoms(clinic, patient, world.patient_a, WITHDRAWAL_WITH_FEVER,
                                   note="I itch all over and I have 39.5 °C")
    assert grave.triage.urgency.value == "emergency" and grave.case_id is not None
    mild = advice.report_symptoms(clinic, patient, world.patient_a, ["pump-alarm-single-tone"])
    assert mild.triage.urgency.value != "emergency"
    pending_id = _concentration_change(world)

    board = dashboard(clinic, clinician)
    cases = _list(board, "emergency-cases")
    assert (cases.count, cases.previous, cases.change) == (1, 0, 1)  # the milder one is no emergency
    (line,) = cases.patients
    assert (line.patient_id, line.case_id, line.mrn) == (world.patient_a, grave.case_id, "A-001")
    assert "not acknowledged" in line.detail and "I itch all over" in line.detail
    waiting = _list(board, "pending-confirmations")
    assert (waiting.count, waiting.previous) == (1, 0)
    (line,) = waiting.patients
    assert line.pending_id == pending_id and line.patient_id == world.patient_a
    assert "500 mcg/mL → 1000 mcg/mL" in line.detail
    assert "waiting for a second clinician" in line.detail and "entered by Nurse" in line.detail

    # 20 minutes later the confirmation is escalated and the case acknowledged: still listed
    clock.advance(timedelta(minutes=20))
    acknowledge_case(clinic, world.actor("nurse"), grave.case_id)
    board = dashboard(clinic, clinician)
    assert "acknowledged by nurse" in _list(board, "emergency-cases").patients[0].detail
    assert "second confirmation overdue by 5 min (escalated)" in _list(
        board, "pending-confirmations").patients[0].detail

    # the CSV carries both lists, with the case and the confirmation they are about
    rows = list(csv.DictReader(io.StringIO(dashboard_csv(board))))
    by_list = {r["list"]: r for r in rows}
    assert by_list["emergency-cases"]["case_id"] == str(grave.case_id)
    assert by_list["pending-confirmations"]["pending_id"] == str(pending_id)
    assert by_list["pending-confirmations"]["mrn"] == "A-001"

    # another site's clinician sees neither
    other = dashboard(clinic, world.actor("clinician_b"))
    assert _list(other, "emergency-cases").count == 0
    assert _list(other, "pending-confirmations").count == 0

    # closed and confirmed (20 min after they were opened): none now; a week and 10 min after
    # they were opened none now, and one each a week before (10 min after, both still open)
    close_case(clinic, world.actor("nurse"), grave.case_id, "sent-to-emergency")
    therapy.confirm_pending(clinic, clinician, pending_id, PASSWORD)
    board = dashboard(clinic, clinician)
    assert _list(board, "emergency-cases").count == 0
    assert _list(board, "pending-confirmations").count == 0
    clock.advance(PERIOD - timedelta(minutes=10))
    board = dashboard(clinic, clinician)
    for code in ("emergency-cases", "pending-confirmations"):
        lst = _list(board, code)
        assert (lst.count, lst.previous, lst.change) == (0, 1, -1), code
