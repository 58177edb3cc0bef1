"""The clinician's pages: worklist, patient chart, refill workflow, program change,
assessment, triage inbox, screening and eligibility checklists, care team.

Each handler reads the form, asks the port (the service) and renders the answer. The order of
the refill steps is the one a pump programmer walks; which steps apply (the discrepancy
explanation, the bridge bolus) is decided by the service's proposal, never here.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from thecal import service
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.service import authz, pages
from thecal.service.pages import MUSCLE_WORDS, SIDES
from thecal.service.results import Chart, RefillInput, RefillProposal
from thecal.web import printout, stale
from thecal.web.charts import HLine, VLine, line_chart
from thecal.web.rendering import display_zone, in_zone, render
from thecal.web.security import PageRoute, check_csrf, clinic_of, require_clinician

router = APIRouter(prefix="/clinic", route_class=PageRoute, include_in_schema=False)

Text = Annotated[str, Form()]


# --- worklist -------------------------------------------------------------------------------

@router.get("")
def worklist(request: Request) -> Response:
    user = require_clinician(request)
    rows = service.worklist(clinic_of(request), user.actor)
    template = "clinic/worklist_rows.html" if request.headers.get("HX-Request") else \
        "clinic/worklist.html"
    return render(request, template, {"title": "Worklist", "rows": rows})


# --- chart ----------------------------------------------------------------------------------

def chart_figures(chart: Chart, zone: tzinfo | None = None) -> dict[str, object]:
    """The SVG pictures of a chart's series (drawing only; the figures come from the service).

    ``zone`` is the page's display zone (day labels on the time axes).
    """
    header = chart.header
    hlines = [HLine(header.low_reservoir_alarm_ml, f"low-reservoir alarm {header.low_reservoir_alarm_ml:g} mL")] \
        if header.low_reservoir_alarm_ml is not None else []
    vlines: list[VLine] = []
    if header.low_reservoir_alarm_at is not None:
        vlines.append(VLine(header.low_reservoir_alarm_at, "alarm", "threshold"))
    if header.refill_due_by is not None and chart.reservoir and chart.reservoir.points:
        due = header.refill_due_by
        vlines.append(VLine(due, f"refill due {in_zone(due, zone) if zone else due:%-d %b}"))
    return {
        "reservoir_svg": line_chart([chart.reservoir], title="Reservoir volume projection",
                                    hlines=hlines, vlines=vlines, zone=zone),
        "dose_svg": line_chart([chart.dose_history], title="Daily dose history", steps=True,
                               zone=zone),
        "mas_svg": line_chart([chart.mas], title="Modified Ashworth (MAS)", y_max=4.0,
                              zone=zone),
        "penn_svg": line_chart([chart.penn], title="Penn spasm frequency", y_max=4.0,
                               zone=zone),
        "csf_svg": line_chart([chart.csf_level], title="Expected spinal-fluid baclofen level",
                              zone=zone),
        # the virtual patient's tone on the same Modified Ashworth 0–4 scale as the recorded
        # grades, so the two charts read alike
        "tone_svg": line_chart([chart.tone], title="Expected muscle tone (Modified Ashworth, MAS)",
                               y_min=0.0, y_max=4.0, zone=zone),
    }


@router.get("/patients/{patient_id}")
def chart_page(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    chart = pages.chart(clinic_of(request), user, patient_id, with_series=True)
    figures = chart_figures(chart, display_zone(request))
    return render(request, "clinic/chart.html", {"title": chart.header.name, "chart": chart,
                                                 "h": chart.header, **figures})


# --- refill workflow ------------------------------------------------------------------------

REFILL_STEPS = (
    ("residual", "Residual withdrawn"),
    ("discrepancy", "Discrepancy check"),
    ("drug", "Drug added"),
    ("bridge", "Bridge bolus"),
    ("program", "Program"),
    ("confirm", "Confirm"),
)
_STEP_FIELDS = {
    "residual": ("withdrawn", "pump_reading_before"),
    "discrepancy": ("reason",),
    "drug": ("concentration", "added", "lot", "expiry", "pharmacy", "compounded_strength"),
    "bridge": ("bridge_bolus_confirmed",),
    "program": ("daily_dose", "override_reason"),
    "confirm": ("password", "pump_reading_after", "performed_at"),
}


def applicable_steps(proposal: RefillProposal | None) -> list[str]:
    """The steps this refill needs: the discrepancy and bridge steps only when the service says."""
    steps = []
    for key, _ in REFILL_STEPS:
        if key == "discrepancy" and not (proposal and proposal.discrepancy):
            continue
        if key == "bridge" and not (proposal and proposal.concentration_change):
            continue
        steps.append(key)
    return steps


def _missing(step: str, entry: RefillInput, proposal: RefillProposal) -> dict[str, str]:
    """Fields a person must fill before leaving a step (form completeness, not a rule)."""
    errors: dict[str, str] = {}
    if step == "residual" and not entry.withdrawn.strip():
        errors["withdrawn"] = "Enter the volume withdrawn with its unit, e.g. 11.8 mL."
    if step == "discrepancy" and not entry.reason.strip():
        errors["reason"] = ("Explain the discrepancy before going on "
                                             "(for example: pocket fill ruled out, how).")
    if step == "drug":
        if entry.compounded and not entry.compounded_strength:
            errors["compounded_strength"] = ("Enter the compounded preparation's strength, "
                                             "e.g. 1500 mcg/mL.")
        elif entry.compounded and not entry.pharmacy:
            errors["pharmacy"] = "Name the pharmacy that compounded it."
        elif not entry.compounded and not entry.concentration.strip():
            errors["concentration"] = "Choose the concentration from the formulary."
        if not entry.lot:
            errors["lot"] = "Copy the lot number from the label."
        if not entry.expiry:
            errors["expiry"] = "Enter the expiry date from the label."
        if not entry.added.strip():
            errors["added"] = "Enter the volume added with its unit, e.g. 20 mL."
    if step == "bridge" and not (entry.bridge_bolus_confirmed or entry.bridge_bolus_declined):
        errors["bridge_bolus_confirmed"] = ("Say whether you program this bridge bolus with the "
                                            "refill.")
    if step == "program":
        if not entry.daily_dose.strip():
            errors["daily_dose"] = "Enter the daily dose with its unit, e.g. 300 mcg/day."
        elif proposal.needs_override_reason and not entry.override_reason.strip():
            errors["override_reason"] = ("This dose is outside the recommended bounds: write the "
                                         "reason to go on.")
        elif not proposal.allowed:
            errors["daily_dose"] = "This dose is beyond the absolute bounds and cannot be sent."
    return errors


def _aware(value: str, zone: tzinfo) -> str:
    """A datetime-local value ("2026-12-01T09:30") in the page's zone, as aware ISO text."""
    text = value.strip()
    if not text:
        return ""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return text  # the service names the mistake
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).isoformat()


def _entry_from_form(form: dict[str, str], zone: tzinfo) -> RefillInput:
    """What the refill steps carry, from the posted form (checkboxes are "yes")."""
    text = {f.name: form.get(f.name, "").strip() for f in dataclasses.fields(RefillInput)
            if f.type == "str"}
    return RefillInput(**{**text, "performed_at": _aware(text["performed_at"], zone)},
                       compounded=form.get("compounded") == "yes",
                       bridge_bolus_confirmed=form.get("bridge_bolus_confirmed") == "yes",
                       bridge_bolus_declined=form.get("bridge_bolus_confirmed") == "no",
                       shown_version=stale.shown_version(form.get("shown_version", "")))


def _render_refill(request: Request, patient_id: str, step: str, entry: RefillInput,
                   proposal: RefillProposal | None, errors: dict[str, str],
                   status_code: int = 200) -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    chart = pages.chart(clinic, user, patient_id)
    steps = applicable_steps(proposal)
    labels = dict(REFILL_STEPS)
    return render(request, "clinic/refill.html", {
        "title": f"Refill · {chart.header.name}", "h": chart.header, "step": step,
        "steps": [(key, labels[key]) for key in steps], "done": steps[:steps.index(step)]
        if step in steps else [], "entry": entry, "p": proposal, "errors": errors,
        "formulary": service.formulary(clinic, user.actor),
        "shown_version": entry.shown_version}, status_code=status_code)


@router.get("/patients/{patient_id}/refill")
def refill_start(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    header = pages.chart(clinic_of(request), user, patient_id).header
    entry = RefillInput(daily_dose=f"{header.daily_dose_mcg:g} mcg/day"
                        if header.daily_dose_mcg is not None else "",
                        shown_version=header.version)
    proposal = pages.propose_refill(clinic_of(request), user, patient_id, entry)
    return _render_refill(request, patient_id, "residual", entry, proposal, {})


async def _posted(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in (await request.form()).items()}


@router.post("/patients/{patient_id}/refill")
def refill_step(request: Request, patient_id: str,
                form: Annotated[dict[str, str], Depends(_posted)]) -> Response:
    user = require_clinician(request)
    check_csrf(request, form.get("csrf_token", ""))
    clinic = clinic_of(request)
    step, goto, password = form.get("step", "residual"), form.get("goto", ""), \
        form.get("password", "")
    entry = _entry_from_form(form, display_zone(request))
    try:
        proposal = pages.propose_refill(clinic, user, patient_id, entry)
    except InputError as exc:
        field = (exc.where or "withdrawn").split(".")[-1]
        return _render_refill(request, patient_id, _step_of_field(field), entry, None,
                              {field: exc.one_line()}, status_code=422)
    steps = applicable_steps(proposal)
    if goto in steps and steps.index(goto) <= steps.index(step if step in steps else "confirm"):
        return _render_refill(request, patient_id, goto, entry, proposal, {})
    if step not in steps:
        step = steps[0]
    # a field the service refused, on this step or an earlier one, sends the person back there
    for key in steps[:steps.index(step) + 1]:
        bad = {f: m for f, m in proposal.errors.items() if f in _STEP_FIELDS[key]}
        if not bad and key != "confirm":
            bad = _missing(key, entry, proposal)
        if bad:
            return _render_refill(request, patient_id, key, entry, proposal, bad,
                                  status_code=422 if key == step else 200)
    if step != "confirm":
        return _render_refill(request, patient_id, steps[steps.index(step) + 1], entry,
                              proposal, {})
    if not password:
        return _render_refill(request, patient_id, "confirm", entry, proposal,
                              {"password": "Enter your password to sign this refill."},
                              status_code=422)
    # a bridge bolus is recorded only for the concentration change the steps showed (the
    # answer of a bridge step left behind by going back to the drug step does not count)
    entry = dataclasses.replace(entry, bridge_bolus_confirmed=entry.bridge_bolus_confirmed
                                and proposal.concentration_change)
    try:
        stale.check(request, patient_id, entry.shown_version)
        outcome = pages.record_refill(clinic, user, patient_id, entry, password)
    except ConflictError:
        return stale.conflict_page(request, patient_id, entry.shown_version, "refill",
                                   f"/clinic/patients/{patient_id}/refill")
    except PermissionDeniedError as exc:
        return _render_refill(request, patient_id, "confirm", entry, proposal,
                              {"password": exc.one_line()}, status_code=422)
    except InputError as exc:
        field = (exc.where or "password").split(".")[-1]
        return _render_refill(request, patient_id, _step_of_field(field) if field in
                              sum(_STEP_FIELDS.values(), ()) else "confirm", entry, proposal,
                              {field if field in sum(_STEP_FIELDS.values(), ()) else "password":
                               exc.one_line()}, status_code=422)
    assert outcome.event is not None
    target = f"/clinic/patients/{patient_id}/refills/{outcome.event.event.id}"
    if outcome.status != "recorded":
        return render(request, "clinic/refill_pending.html",
                      {"title": "Refill recorded, concentration awaiting a second signature",
                       "h": pages.chart(clinic, user, patient_id).header,
                       "summary_url": target})
    if _dose_changed(proposal):
        target += "?" + urlencode({"dose": entry.daily_dose})
    return RedirectResponse(target, status_code=303)


def _dose_changed(proposal: RefillProposal) -> bool:
    new, old = proposal.new_program, proposal.old_program
    return new is not None and abs(new.daily_dose_mcg - old.daily_dose_mcg) > 1e-9


def _step_of_field(field: str) -> str:
    for key, fields in _STEP_FIELDS.items():
        if field in fields:
            return key
    return "residual"


@router.get("/patients/{patient_id}/refills/{event_id}.pdf")
def refill_summary_pdf(request: Request, patient_id: str, event_id: str) -> Response:
    """The refill printout as a PDF (the same page, drawn by WeasyPrint, nothing fetched)."""
    page = refill_summary(request, patient_id, event_id)
    return Response(printout.pdf_of(bytes(page.body).decode()), media_type="application/pdf",
                    headers={"Content-Disposition":
                             f'inline; filename="refill-{patient_id}-{event_id}.pdf"'})


@router.get("/patients/{patient_id}/refills/{event_id}")
def refill_summary(request: Request, patient_id: str, event_id: str) -> Response:
    user = require_clinician(request)
    summary = pages.refill_record(clinic_of(request), user, patient_id, event_id)
    return render(request, "clinic/refill_summary.html",
                  {"title": f"Refill summary · {summary.record.patient.display_name}",
                   "r": summary.record, "p": summary.proposal, "b": summary.bridge_bolus,
                   "dose_change": request.query_params.get("dose", "")[:40]})


def _pending_page(request: Request, patient_id: str, pending_id: str,
                  errors: dict[str, str], status_code: int = 200,
                  values: dict[str, str] | None = None) -> Response:
    user = require_clinician(request)
    chart = pages.chart(clinic_of(request), user, patient_id)
    item = next((p for p in chart.pending if p.pending_id == pending_id), None)
    if item is None:
        raise NotFoundError("this confirmation was already decided",
                            fix="open the patient's chart: the decision is on the timeline")
    return render(request, "clinic/pending.html", {
        "title": f"Second signature · {chart.header.name}", "h": chart.header, "item": item,
        "errors": errors, "values": values or {}}, status_code=status_code)


@router.get("/patients/{patient_id}/pending/{pending_id}")
def pending_form(request: Request, patient_id: str, pending_id: str) -> Response:
    return _pending_page(request, patient_id, pending_id, {})


@router.post("/patients/{patient_id}/pending/{pending_id}")
def pending_confirm(request: Request, patient_id: str, pending_id: str, csrf_token: Text = "",
                    password: Text = "") -> Response:
    """A second clinician confirms a concentration change with their own password."""
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    try:
        event_id = pages.confirm_refill(clinic_of(request), user, pending_id, password)
    except (InputError, PermissionDeniedError) as exc:
        return _pending_page(request, patient_id, pending_id, {"password": exc.one_line()},
                             status_code=422)
    return RedirectResponse(f"/clinic/patients/{patient_id}/refills/{event_id}",
                            status_code=303)


@router.post("/patients/{patient_id}/pending/{pending_id}/reject")
def pending_reject(request: Request, patient_id: str, pending_id: str, csrf_token: Text = "",
                   password: Text = "", reason: Text = "", corrective_action: Text = ""
                   ) -> Response:
    """A second signer rejects it: the reason and the corrective action go on the record."""
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    values = {"reason": reason, "corrective_action": corrective_action}
    try:
        pages.reject_refill(clinic_of(request), user, pending_id, password, reason,
                            corrective_action)
    except (InputError, PermissionDeniedError) as exc:
        return _pending_page(request, patient_id, pending_id, {"reject": exc.one_line()},
                             status_code=422, values=values)
    return RedirectResponse(f"/clinic/patients/{patient_id}?saved=rejection", status_code=303)


# --- program change -------------------------------------------------------------------------

def _program_page(request: Request, patient_id: str, daily_dose: str, override_reason: str,
                  fragment: bool = False, errors: dict[str, str] | None = None,
                  status_code: int = 200, shown_version: str = "") -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    proposal = None
    errors = dict(errors or {})
    if daily_dose.strip():
        try:
            proposal = pages.propose_program(clinic, user, patient_id, daily_dose.strip())
            errors.update(proposal.errors)
        except InputError as exc:
            errors["daily_dose"] = exc.one_line()
    context = {"title": f"Program change · {header.name}", "h": header, "p": proposal,
               "daily_dose": daily_dose, "override_reason": override_reason, "errors": errors,
               "shown_version": stale.shown_version(shown_version)}
    template = "clinic/program_check.html" if fragment else "clinic/program.html"
    return render(request, template, context, status_code=status_code)


@router.get("/patients/{patient_id}/program")
def program_form(request: Request, patient_id: str, daily_dose: str = "") -> Response:
    return _program_page(request, patient_id, daily_dose[:40], "")


@router.post("/patients/{patient_id}/program/check")
def program_check(request: Request, patient_id: str, csrf_token: Text = "",
                  daily_dose: Text = "", override_reason: Text = "",
                  shown_version: Text = "") -> Response:
    """The live check beside the form (htmx) or the whole page (no script)."""
    require_clinician(request)
    check_csrf(request, csrf_token or request.headers.get("X-CSRF-Token", ""))
    fragment = bool(request.headers.get("HX-Request"))
    return _program_page(request, patient_id, daily_dose, override_reason, fragment=fragment,
                         shown_version=shown_version)


@router.post("/patients/{patient_id}/program")
def program_send(request: Request, patient_id: str, csrf_token: Text = "",
                 daily_dose: Text = "", override_reason: Text = "",
                 password: Text = "", shown_version: Text = "", second_username: Text = "",
                 second_password: Text = "") -> Response:
    user = require_clinician(request)
    check_csrf(request, csrf_token)
    clinic = clinic_of(request)
    shown = stale.shown_version(shown_version)
    if not authz.allowed(user.actor, authz.PROGRAM_PROPOSE):
        # the form is not shown to her; a hand-made post is refused before any password
        raise PermissionDeniedError(f"a {user.actor.role} may not send a program change",
                                    fix="a physician sends it")

    def page(errors: dict[str, str] | None = None) -> Response:
        return _program_page(request, patient_id, daily_dose, override_reason, errors=errors,
                             status_code=422, shown_version=shown_version)

    try:
        version = stale.check(request, patient_id, shown)  # before the checks that read it
        proposal = pages.propose_program(clinic, user, patient_id, daily_dose.strip())
        if proposal.errors or proposal.decision == "refused":
            return page()
        if proposal.needs_override_reason and not override_reason.strip():
            return page({"override_reason": "This step is beyond the recommended bounds: write "
                                            "the reason before sending."})
        if proposal.needs_second_clinician and not (second_username.strip()
                                                    and second_password):
            return page({"second_username": "This step is beyond the recommended titration "
                                            "step: a second clinician enters their user name "
                                            "and password to co-sign it."})
        if not password:
            return page({"password": "Enter your password to sign this change."})
        pages.confirm_program(clinic, user, patient_id, daily_dose.strip(),
                              override_reason.strip(), password, shown_version=version,
                              second_username=second_username,
                              second_password=second_password)
    except ConflictError:
        return stale.conflict_page(request, patient_id, shown, "program change",
                                   f"/clinic/patients/{patient_id}/program")
    except PermissionDeniedError as exc:
        field = (exc.where or "password").split(".")[-1]
        return page({field if field in {"second_username", "second_password"} else "password":
                     exc.one_line()})
    except InputError as exc:
        field = (exc.where or "password").split(".")[-1]
        field = field if field in {"daily_dose", "override_reason", "password",
                                   "second_username"} else "password"
        return page({field: exc.one_line()})
    return RedirectResponse(f"/clinic/patients/{patient_id}?saved=program", status_code=303)


# --- assessment -----------------------------------------------------------------------------

# the form's table: one row per muscle, a grade for each side (the timeline's groups)
ASSESSMENT_ROWS = tuple((muscle, words, tuple(f"{muscle}-{side}" for side in SIDES))
                        for muscle, words in MUSCLE_WORDS.items())


def _assessment_page(request: Request, patient_id: str, values: dict[str, str],
                     errors: dict[str, str], shown: int | None = None,
                     status_code: int = 200) -> Response:
    user = require_clinician(request)
    header = pages.chart(clinic_of(request), user, patient_id).header
    return render(request, "clinic/assessment.html", {
        "title": f"Assessment · {header.name}", "h": header, "rows": ASSESSMENT_ROWS,
        "sides": SIDES, "values": values, "errors": errors,
        **({"shown_version": shown} if shown is not None else {})}, status_code=status_code)


@router.get("/patients/{patient_id}/assessment")
def assessment_form(request: Request, patient_id: str) -> Response:
    return _assessment_page(request, patient_id, {}, {})


@router.post("/patients/{patient_id}/assessment")
async def assessment_send(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    check_csrf(request, values.get("csrf_token", ""))
    clinic = clinic_of(request)
    # only the groups examined: a blank grade is "not examined"
    mas = {group: values[f"mas_{group}"] for _, _, groups in ASSESSMENT_ROWS for group in groups
           if values.get(f"mas_{group}", "")}
    shown = stale.shown_version(values.get("shown_version", ""))
    try:
        version = stale.check(request, patient_id, shown)
        pages.record_assessment(clinic, user, patient_id, mas,
                                values.get("penn_frequency", ""),
                                values.get("penn_severity", ""), values.get("notes", ""),
                                shown_version=version)
    except ConflictError:
        return stale.conflict_page(request, patient_id, shown, "assessment",
                                   f"/clinic/patients/{patient_id}/assessment")
    except InputError as exc:
        field = (exc.where or "notes").split(".")[-1]
        return _assessment_page(request, patient_id, values,
                                {field: exc.one_line(), "_": exc.one_line()}, shown,
                                status_code=422)
    return RedirectResponse(f"/clinic/patients/{patient_id}?saved=assessment", status_code=303)


# --- triage inbox, checklists, team ---------------------------------------------------------

@router.get("/triage")
def triage_inbox(request: Request) -> Response:
    user = require_clinician(request)
    items = service.triage_inbox(clinic_of(request), user.actor)
    return render(request, "clinic/triage.html", {
        "title": "Triage inbox", "items": items,
        "confirmations": pages.confirmations(clinic_of(request), user)})


def _checklist_page(request: Request, patient_id: str, which: str,
                    answers: dict[str, str]) -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    checklist = (service.screening_checklist if which == "screening"
                 else service.eligibility_checklist)(clinic, user.actor,
                                                     pages.patient_id_of(patient_id), answers)
    return render(request, "clinic/checklist.html", {
        "title": f"{checklist.title} · {header.name}", "h": header, "c": checklist,
        "which": which, "answers": answers})


@router.get("/patients/{patient_id}/screening")
def screening_page(request: Request, patient_id: str) -> Response:
    return _checklist_page(request, patient_id, "screening", {})


@router.get("/patients/{patient_id}/eligibility")
def eligibility_page(request: Request, patient_id: str) -> Response:
    return _checklist_page(request, patient_id, "eligibility", {})


@router.post("/patients/{patient_id}/screening")
async def screening_send(request: Request, patient_id: str) -> Response:
    return await _checklist_send(request, patient_id, "screening")


@router.post("/patients/{patient_id}/eligibility")
async def eligibility_send(request: Request, patient_id: str) -> Response:
    return await _checklist_send(request, patient_id, "eligibility")


async def _checklist_send(request: Request, patient_id: str, which: str) -> Response:
    require_clinician(request)
    form = await request.form()
    answers = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    check_csrf(request, str(form.get("csrf_token", "")))
    return _checklist_page(request, patient_id, which, answers)


@router.get("/team")
def site_team(request: Request) -> Response:
    user = require_clinician(request)
    members = service.site_care_team(clinic_of(request), user.actor)
    return render(request, "clinic/team.html", {"title": "Care team", "members": members,
                                                "h": None})


@router.get("/patients/{patient_id}/team")
def patient_team(request: Request, patient_id: str) -> Response:
    user = require_clinician(request)
    clinic = clinic_of(request)
    header = pages.chart(clinic, user, patient_id).header
    members = service.patient_care_team(clinic, user.actor, pages.patient_id_of(patient_id))
    return render(request, "clinic/team.html", {"title": f"Care team · {header.name}",
                                                "members": members, "h": header})

