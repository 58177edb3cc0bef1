"""The visit report as HTML and as PDF, both from ``templates/report/visit_report.html``.

The page reads :class:`thecal.service.visit_report.VisitReport`; the PDF is WeasyPrint's
rendering of the same HTML (nothing is fetched: the template has no external resources). The
assessments chart is a small SVG drawn here (MAS grade and Penn frequency over time).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from thecal.cookies import get_clinic
from thecal.service.actors import Actor
from thecal.service.visit_report import VisitReport, visit_report
from thecal.web.rendering import display_zone, fmt_date, templates
from thecal.web.security import PageRoute, require_clinician

router = APIRouter(route_class=PageRoute, include_in_schema=False)
_MAS = {"0": 0.0, "1": 1.0, "1+": 1.5, "2": 2.0, "3": 3.0, "4": 4.0}  # "1+" drawn half-way (ASSUMED)


def assessment_chart(report: VisitReport, zone: tzinfo, width: int = 600, height: int = 120) -> str:
    """MAS (line) and Penn frequency (dots), both on 0–4, against time (days in ``zone``)."""
    points = report.assessments
    if not points:
        return ""
    t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()
    span = max(t1 - t0, 1.0)

    def x(at: datetime) -> float:
        return 30 + (width - 40) * (at.timestamp() - t0) / span

    def y(v: float) -> float:
        return height - 15 - (height - 25) * v / 4

    mas = [(x(p.at), y(_MAS[p.mas])) for p in points if p.mas is not None]
    penn = [(x(p.at), y(p.penn_frequency)) for p in points if p.penn_frequency is not None]
    line = " ".join(f"{a:.1f},{b:.1f}" for a, b in mas)
    dots = "".join(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="#b35900"/>' for a, b in penn)
    axis = "".join(f'<text x="2" y="{y(v) + 3:.1f}" font-size="8">{v}</text>' for v in range(5))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="Assessments over time">{axis}<polyline points="{line}" fill="none" stroke="#1f4e9c" '
            f'stroke-width="1.5"/>{dots}<text x="30" y="{height - 2}" font-size="8">'
            f'{fmt_date(points[0].at, zone)} … {fmt_date(points[-1].at, zone)} — line: MAS; dots: Penn '
            'frequency</text></svg>')


def render_html(report: VisitReport, zone: tzinfo) -> str:
    """The report page; its times in ``zone`` through the site's own ``when``/``day`` filters."""
    return templates.env.get_template("report/visit_report.html").render(
        r=report, chart=assessment_chart(report, zone), display_zone=zone)


def render_pdf(report: VisitReport, zone: tzinfo) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=render_html(report, zone)).write_pdf())


def _actor(request: Request) -> Actor:
    return require_clinician(request).actor  # or the sign-in page


@router.get("/clinic/patients/{patient_id}/visit-report", response_class=HTMLResponse)
def visit_report_page(request: Request, patient_id: int) -> HTMLResponse:
    report = visit_report(get_clinic(request), _actor(request), patient_id)
    return HTMLResponse(render_html(report, display_zone(request)))


@router.get("/clinic/patients/{patient_id}/visit-report.pdf")
def visit_report_pdf(request: Request, patient_id: int) -> Response:
    report = visit_report(get_clinic(request), _actor(request), patient_id)
    return Response(render_pdf(report, display_zone(request)), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="visit-report-{report.mrn}.pdf"'})
