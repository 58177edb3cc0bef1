"""Clinical commands: ``triage``, ``eligibility``, ``screening``, ``titrate``, ``procedure``,
``recovery``. Each prints a readable Rich table by default and one JSON object with
``--json``; bad input exits 2 with one line. The rules live in :mod:`thecal.clinical`.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.panel import Panel
from rich.table import Table

from thecal import units
from thecal.cli.common import console, guarded, parse_at, print_json, reasons_table
from thecal.clinical.context import PumpContext, pump_context_from_mapping, pump_context_from_twin
from thecal.clinical.eligibility import assess_eligibility
from thecal.clinical.procedures import diathermy_checklist, implant_card_text, mri_checklist
from thecal.clinical.recovery import recovery_checklist
from thecal.clinical.screening import (
    assess_screening_response,
    observation_schedule,
    post_implant_start_dose,
    screening_plan,
)
from thecal.clinical.titration import DoseStep, check_titration_step, suggest_titration
from thecal.clinical.triage import triage as run_triage
from thecal.errors import InputError

_URGENCY_STYLE = {"emergency": "bold white on red", "urgent": "bold red", "soon": "yellow",
                  "routine": "green"}


def _load_mapping(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"not valid YAML or JSON{line}", where=str(path),
                         fix="check the file's syntax") from None


def _context_from_timeline(timeline_file: Path, at: datetime) -> PumpContext:
    from thecal.timeline import load_timeline

    try:
        from thecal.device.replay import replay
    except ImportError:
        raise InputError("the pump twin is not available in this build", where="--timeline",
                         fix="give the pump state with --context FILE instead") from None
    timeline = load_timeline(timeline_file)
    state = replay(timeline, until=at).state_at(at)
    return pump_context_from_twin(state, at)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date", where=option,
                         fix="write it as YYYY-MM-DD, e.g. 2026-01-05") from None


# --- triage ---------------------------------------------------------------------------------

@guarded
def triage(
    symptom: list[str] = typer.Option([], "--symptom", help="Symptom code (repeat)."),
    modifier: list[str] = typer.Option([], "--modifier", help="Risk modifier code (repeat)."),
    timeline_file: Path | None = typer.Option(None, "--timeline",
                                              help="Timeline file: read the pump state from "
                                              "the twin."),
    at: str | None = typer.Option(None, "--at", help="Time of the report (ISO 8601 with "
                                  "offset); default now."),
    context_file: Path | None = typer.Option(None, "--context", help="YAML/JSON pump context "
                                             "(reservoir_empty: true, …)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What a symptom report means given the risk modifiers and the pump's state."""
    if timeline_file is not None and context_file is not None:
        raise InputError("give --timeline or --context, not both",
                         fix="drop one of the two options")
    if at is not None and timeline_file is None:
        parse_at(at)  # validate even when unused
    context = PumpContext()
    if context_file is not None:
        context = pump_context_from_mapping(_load_mapping(context_file))
    if timeline_file is not None:
        context = _context_from_timeline(timeline_file, parse_at(at))
    result = run_triage(symptom, modifier, context)
    if as_json:
        print_json(result.as_dict())
        return
    style = _URGENCY_STYLE[result.urgency.value]
    console.print(Panel(f"[{style}]{result.urgency.value.upper()}[/]\n\n{result.advice_patient}",
                        title="thecal triage", title_align="left"))
    causes = Table(title="Causes to consider", title_justify="left")
    causes.add_column("cause", style="bold")
    causes.add_column("weight", justify="right")
    for cause in result.causes:
        causes.add_row(cause.code, f"{cause.weight:.2f}")
    console.print(causes)
    actions = Table(title="Actions", title_justify="left")
    actions.add_column("action", style="bold")
    actions.add_column("for the clinician")
    for action in result.actions:
        actions.add_row(action.code, action.clinician)
    console.print(actions)
    rules = Table(title=f"Rules fired ({result.ruleset_version})", title_justify="left")
    rules.add_column("rule", style="bold")
    rules.add_column("urgency")
    rules.add_column("why")
    rules.add_column("source")
    for rule in result.rules:
        rules.add_row(rule.id, rule.urgency.value, rule.description,
                      rule.source + ("" if rule.verified else " (secondary)"))
    console.print(rules)
    console.print(result.advice_clinician, markup=False)


# --- eligibility ----------------------------------------------------------------------------

@guarded
def eligibility(
    record_file: Path = typer.Argument(..., metavar="FILE", help="Candidate record (YAML/JSON)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Is this person a candidate for ITB? Each criterion with its outcome and source."""
    record = _load_mapping(record_file)
    try:
        result = assess_eligibility(record)
    except InputError as exc:
        raise exc.located(str(record_file)) from None
    if as_json:
        print_json(result.as_dict())
        return
    console.print(Panel(f"[bold]{result.verdict.value}[/]", title="thecal eligibility",
                        title_align="left"))
    table = Table(title="Criteria", title_justify="left")
    table.add_column("criterion", style="bold")
    table.add_column("outcome")
    table.add_column("for the clinician")
    table.add_column("source")
    for c in result.criteria:
        table.add_row(c.code, c.outcome.value, c.clinician_words,
                      c.source + ("" if c.verified else " (secondary)"))
    console.print(table)


# --- screening ------------------------------------------------------------------------------

screening_app = typer.Typer(help="The screening trial: plan, response, start dose.",
                            no_args_is_help=True)


@screening_app.command("plan")
@guarded
def screening_plan_cmd(
    small: bool = typer.Option(False, "--small", help="Very small patient: 25 mcg first."),
    first_dose_at: str | None = typer.Option(None, "--start", help="Time of the first test "
                                             "dose (ISO 8601 with offset)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Test doses (50, 75, 100 mcg ≥ 24 h apart) and the observation schedule."""
    start = parse_at(first_dose_at, option="--start") if first_dose_at else None
    plan = screening_plan(small_patient=small, first_dose_at=start)
    schedule = observation_schedule(start)
    if as_json:
        print_json({**plan.as_dict(), "observations": [o.as_dict() for o in schedule]})
        return
    table = Table(title="Test doses", title_justify="left")
    for col in ("#", "dose", "volume at 50 mcg/mL", "not before"):
        table.add_column(col)
    for d in plan.doses:
        table.add_row(str(d.number), units.format_quantity(d.dose_mcg, units.DOSE),
                      units.format_quantity(d.volume_ml, units.VOLUME),
                      d.not_before.isoformat() if d.not_before else f"+{d.not_before_h:g} h")
    console.print(table)
    obs = Table(title="Observations after each test dose", title_justify="left")
    obs.add_column("after")
    obs.add_column("observe")
    for o in schedule:
        obs.add_row(f"{o.at_h * 60:g} min" if o.at_h < 1 else f"{o.at_h:g} h", "; ".join(o.what))
    console.print(obs)
    console.print(reasons_table(plan.reasons))


@screening_app.command("response")
@guarded
def screening_response_cmd(
    mas_before: str | None = typer.Option(None, "--mas-before",
                                          help="Modified Ashworth (MAS) grade before, e.g. 3"),
    mas_after: str | None = typer.Option(None, "--mas-after", help="MAS grade after, e.g. 1+"),
    spasm_before: int | None = typer.Option(None, "--spasm-before"),
    spasm_after: int | None = typer.Option(None, "--spasm-after"),
    required_fall: float = typer.Option(2.0, "--required-fall",
                                        help="Points of fall for a positive response."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Was the test dose a positive response (≥ 2-point fall in MAS or spasm score)?"""
    result = assess_screening_response(mas_before=mas_before,
                                       mas_after=mas_after, spasm_before=spasm_before,
                                       spasm_after=spasm_after, required_fall=required_fall)
    if as_json:
        print_json(result.as_dict())
        return
    console.print(Panel("[bold]positive[/]" if result.positive else "[bold]not positive[/]",
                        title="screening response", title_align="left"))
    console.print(reasons_table(result.reasons))


@screening_app.command("start-dose")
@guarded
def screening_start_dose_cmd(
    effective_dose: str = typer.Option(..., "--effective-dose",
                                       help="The test dose that worked, e.g. '50 mcg'."),
    effect_duration: str = typer.Option(..., "--effect-duration",
                                        help="How long it worked, e.g. '6 h'."),
    adverse: bool = typer.Option(False, "--adverse-reaction"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The daily dose to start with after implant."""
    advice = post_implant_start_dose(units.dose(effective_dose), units.duration(effect_duration),
                                     adverse_reaction=adverse)
    if as_json:
        print_json({"daily_dose_mcg": advice.value,
                    "reasons": [r.as_dict() for r in advice.reasons]})
        return
    console.print(Panel(units.format_quantity(advice.value, units.DAILY_DOSE),
                        title="start dose after implant", title_align="left"))
    console.print(reasons_table(advice.reasons))


# --- titration ------------------------------------------------------------------------------

def _step(text: str) -> DoseStep:
    if "=" not in text:
        raise InputError(f"{text!r} is not TIME=DOSE", where="--step",
                         fix="e.g. --step '2026-02-01T09:00:00+01:00=250 mcg/day'")
    when, dose = text.split("=", 1)
    return DoseStep(at=parse_at(when, option="--step"), daily_dose_mcg=units.daily_dose(dose))


@guarded
def titrate(
    dose: str = typer.Option(..., "--dose", help="Current daily dose, e.g. '300 mcg/day'."),
    etiology: str = typer.Option(..., "--etiology"),
    age: float | None = typer.Option(None, "--age", help="Age in years."),
    report: str = typer.Option("too-tight", "--report",
                               help="too-tight | about-right | too-loose"),
    side_effect: list[str] = typer.Option([], "--side-effect", help="Symptom code (repeat)."),
    step: list[str] = typer.Option([], "--step", help="Earlier change TIME=DOSE (repeat)."),
    to: str | None = typer.Option(None, "--to", help="Check this new daily dose instead of "
                                  "suggesting one."),
    at: str | None = typer.Option(None, "--at", help="Time (ISO 8601 with offset); default now."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Suggest the next daily dose within the titration limits (or check one with --to)."""
    current = units.daily_dose(dose)
    when = parse_at(at)
    steps = tuple(_step(s) for s in step)
    if to is not None:
        last = max((s.at for s in steps), default=None)
        hours = (when - last).total_seconds() / 3600.0 if last else None
        check = check_titration_step(current, units.daily_dose(to), hours, etiology, age)
        if as_json:
            print_json(check.as_dict())
            return
        verdict = "[bold green]allowed[/]" if check.allowed else "[bold red]not allowed[/]"
        ceiling = units.format_quantity(check.max_allowed_daily_dose_mcg, units.DAILY_DOSE,
                                        decimals=1)
        console.print(Panel(f"{verdict}: {check.change_fraction:+.1%}; at most {ceiling}",
                            title="titration check", title_align="left"))
        console.print(reasons_table(check.reasons))
        return
    result = suggest_titration(current, etiology, age, report, when, recent_steps=steps,
                               side_effects=tuple(side_effect))
    if as_json:
        print_json(result.as_dict())
        return
    body = (f"[bold]{result.action}[/]: "
            f"{units.format_quantity(result.next_daily_dose_mcg, units.DAILY_DOSE, decimals=1)} "
            f"({result.change_fraction:+.1%})")
    if result.not_before:
        body += f"\nnot before {result.not_before.isoformat()}"
    console.print(Panel(body, title="titration", title_align="left"))
    console.print(reasons_table(result.reasons))
    for item in result.workup:
        console.print(f"• {item}", markup=False)


# --- procedures -----------------------------------------------------------------------------

procedure_app = typer.Typer(help="Procedures around the pump: MRI, diathermy, implant card.",
                            no_args_is_help=True)


def _print_checklist(data: Any, as_json: bool) -> None:
    if as_json:
        print_json(data.as_dict())
        return
    table = Table(title=f"{data.procedure.upper()} — {data.pump} ({data.family})",
                  title_justify="left")
    table.add_column("when", style="bold")
    table.add_column("for the patient")
    table.add_column("for the clinician")
    table.add_column("source")
    for item in data.items:
        table.add_row(item.phase, item.patient, item.clinician,
                      item.source + ("" if item.verified else " (unverified)"))
    console.print(table)


@procedure_app.command("mri")
@guarded
def procedure_mri(
    pump: str = typer.Option(..., "--pump", help="Pump id, e.g. synchromed-ii-40."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Before, during and after an MRI scan."""
    _print_checklist(mri_checklist(pump), as_json)


@procedure_app.command("diathermy")
@guarded
def procedure_diathermy(
    pump: str = typer.Option(..., "--pump", help="Pump id, e.g. synchromed-ii-40."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Before and after diathermy (unverified: check the labelling)."""
    _print_checklist(diathermy_checklist(pump), as_json)


@procedure_app.command("card")
@guarded
def procedure_card(
    pump: str = typer.Option(..., "--pump", help="Pump id, e.g. synchromed-ii-40."),
    implant_date: str | None = typer.Option(None, "--implant-date"),
    concentration: str | None = typer.Option(None, "--concentration"),
    phone: str | None = typer.Option(None, "--phone", help="ITB clinic phone number."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The text of the patient's implant card."""
    conc = None
    if concentration is not None:
        conc = units.format_quantity(units.concentration(concentration), units.CONCENTRATION)
    text = implant_card_text(pump, implant_date=_date(implant_date, "--implant-date")
                             if implant_date else None, concentration=conc, clinic_phone=phone)
    if as_json:
        print_json({"pump": pump, "text": text})
        return
    console.print(Panel(text, title="implant card", title_align="left"), markup=False)


# --- recovery -------------------------------------------------------------------------------

@guarded
def recovery(
    implant_date: str = typer.Option(..., "--implant-date", help="YYYY-MM-DD"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """The recovery checklist after implant, with dates."""
    items = recovery_checklist(_date(implant_date, "--implant-date"))
    if as_json:
        print_json({"implant_date": implant_date, "items": [i.as_dict() for i in items]})
        return
    table = Table(title=f"Recovery after implant on {implant_date}", title_justify="left")
    table.add_column("from", style="bold")
    table.add_column("until")
    table.add_column("what")
    table.add_column("source")
    for item in items:
        words = ("[bold red]CALL AT ONCE:[/] " if item.call_at_once else "") + item.patient
        table.add_row(item.starts.isoformat(), item.ends.isoformat() if item.ends else "—",
                      words, item.source + ("" if item.verified else " (unverified)"))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the clinical commands to the ``thecal`` app."""
    app.command("triage")(triage)
    app.command("eligibility")(eligibility)
    app.add_typer(screening_app, name="screening")
    app.command("titrate")(titrate)
    app.add_typer(procedure_app, name="procedure")
    app.command("recovery")(recovery)
