"""Refill-clinic pages on the demo clinic: the visit report as HTML and PDF (read back with pdftotext),
the population dashboard and the CSV exports."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import signed_in

from thecal.service import Clinic


def test_visit_report_pdf_has_its_key_fields(client: TestClient, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is missing: bash scripts/setup installs it")
    signed_in(client, "demo-nurse")
    html = client.get("/clinic/patients/2/visit-report")
    assert html.status_code == 200 and "DEMO-002" in html.text and "<svg" in html.text
    pdf = client.get("/clinic/patients/2/visit-report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "r.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    for field in ("ITB visit report", "DEMO-002", "Pump", "Catheter", "Drug", "lot:", "Reservoir before",
                  "Reservoir after", "Discrepancy", "Bridge bolus", "Daily dose:", "Assessments",
                  "Next refill due by", "Booked appointment", "Clinician: name, signature, date"):
        assert field in text, field
    assert "SynchroMed" in text or "Prometra" in text


def test_dashboard_and_csv_exports(client: TestClient) -> None:
    assert client.get("/clinic/dashboard", follow_redirects=False).status_code == 303
    signed_in(client, "demo-nurse")
    page = client.get("/clinic/dashboard")
    assert page.status_code == 200
    assert 'data-testid="count-overdue">1<' in page.text  # the demo has one overdue patient
    # the demo's open emergency case and its escalated second signature, linked to each
    assert 'data-testid="count-emergency-cases">1<' in page.text
    assert 'data-testid="count-pending-confirmations">1<' in page.text
    assert "Not shown yet" not in page.text
    assert 'href="/clinic/cases/' in page.text and "/pending/" in page.text
    assert 'data-testid="count-accuracy-drift">1<' in page.text  # the demo's drifting pump (twin finding)
    assert 'data-testid="dash-dose-creep"' in page.text
    rows = list(csv.DictReader(io.StringIO(client.get("/clinic/dashboard.csv").text)))
    assert {"overdue", "due-not-booked", "emergency-cases",
            "pending-confirmations"} <= {r["list"] for r in rows}
    assert all(r["case_id"] for r in rows if r["list"] == "emergency-cases")
    assert all(r["pending_id"] for r in rows if r["list"] == "pending-confirmations")
    worklist = list(csv.DictReader(io.StringIO(client.get("/clinic/worklist.csv").text)))
    assert len(worklist) == 40 and int(worklist[0]["priority"]) >= int(worklist[-1]["priority"])
    schedule = client.get("/clinic/schedule.csv")
    assert schedule.text.startswith("appointment_id,patient_id,mrn")


def test_patient_appointment_page(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    page = client.get("/my/1/appointment")
    assert page.status_code == 200 and "My refill appointment" in page.text
    # patient 1 is overdue: no slot is left in the window, so the page says the clinic will call
    assert "the clinic will call you" in page.text
    assert client.get("/my/3/appointment").status_code == 403


def test_visit_report_shows_the_grades_per_muscle_group(client: TestClient, clinic: Clinic,
                                                        tmp_path: Path) -> None:
    """The report carries the per-muscle grades of the last assessments (issue 11
    walk-through: they were words in the notes, and the report showed the overall grade only)."""
    import re

    from thecal import service
    from thecal.service.actors import SYSTEM

    version = service.projection(clinic, SYSTEM, 2).version
    service.record_assessment(clinic, SYSTEM, 2, {
        "mas_by_muscle": {"hip-adductors-left": "3", "hip-adductors-right": "1+"}}, version)
    signed_in(client, "demo-nurse")
    html = client.get("/clinic/patients/2/visit-report").text
    grid = html.split('data-testid="muscle-grades"')[1].split("</table>")[0]
    assert re.search(r"hip adductors, left</th>.*?<td>3</td></tr>", grid, re.S)
    assert re.search(r"hip adductors, right</th>.*?<td>1\+</td></tr>", grid, re.S)
    assert re.search(r"Overall \(highest\)</th>.*?<td>3</td></tr>", grid, re.S)
    if shutil.which("pdftotext") is None:
        return
    (tmp_path / "r.pdf").write_bytes(client.get("/clinic/patients/2/visit-report.pdf").content)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "hip adductors, left" in text and "by muscle group" in text
