"""Refills and program changes: propose (show everything), then record or confirm.

* Refill: :func:`propose_refill` gives the expected residual (the twin's reservoir now), the
  residual discrepancy check, the volume that fills the reservoir to capacity after the
  withdrawal (``suggested_added_ml``), the bridge bolus a concentration change needs, and the
  new alarm, empty and refill-due dates; :func:`record_refill` appends it. A concentration change
  needs the password again, and — where the site says so — a second clinician's confirmation
  (:func:`confirm_pending`). A flagged discrepancy needs a written reason.
* Program change: :func:`propose_program_change` shows old and new side by side with their
  24-hour totals and the guardrail/titration results and returns a confirmation token;
  :func:`confirm_program_change` appends it after the password is entered again (PR-1, PR-2).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import Connection

from thecal import units
from thecal.catalog import pump_model
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.program import assess_program_change
from thecal.clinical.projection import Projection, ReservoirViews, project
from thecal.clinical.refill import (
    BridgeBolus,
    FillVolume,
    MixingCheck,
    ResidualCheck,
    bridge_bolus,
    bridge_bolus_words,
    check_mixing,
    check_residual,
    dead_volume_ml,
    fill_volume,
    fill_volume_words,
    programmer_volume_words,
)
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.auth import token_hash, verify_password_again
from thecal.service.clinic import Clinic
from thecal.service.patients import append_in, digest_of
from thecal.service.twin import build_timeline, project_new, project_timeline, relocated
from thecal.store import auth as auth_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.timeline import (
    CatheterRevision,
    Event,
    Implant,
    Program,
    Refill,
    Timeline,
    event_to_dict,
    parse_event,
)

SECOND_CLINICIAN_SETTING = "require_second_clinician_for_concentration_change"


# ------------------------------------------------------------------ helpers

def _quantity(value: Any, kind: units.Kind, where: str) -> float:
    try:
        return units.parse_quantity(value, kind)
    except InputError as exc:
        raise exc.located(where) if not exc.where else exc from None


def _catheter_volume_ml(timeline: Timeline) -> float | None:
    volume = None
    for _, ev in timeline.effective_events():
        if isinstance(ev, Implant | CatheterRevision) and ev.catheter is not None:
            volume = ev.catheter.volume_ml
    return volume


def _current_program(timeline: Timeline) -> Program | None:
    current = None
    for _, ev in timeline.effective_events():
        if isinstance(ev, Program):
            current = ev
    return current


def _last_program_change(timeline: Timeline) -> datetime | None:
    program = _current_program(timeline)
    return program.at if program is not None else None


def _pump(projection: dict[str, Any]) -> dict[str, Any]:
    pump = projection.get("pump")
    if not isinstance(pump, dict) or not pump.get("model"):
        raise InputError("this patient has no implanted pump on record", where="patient_id",
                         fix="record the implant first")
    return pump


def _load(conn: Connection, clinic: Clinic, actor: Actor, action: str, patient_id: int
          ) -> tuple[dict[str, Any], Timeline]:
    patient = authz.patient_for(conn, actor, action, patient_id)
    rows = event_store.list_events(conn, patient_id)
    return patient, build_timeline(patient, rows)


def _refill_event(actor: Actor, at: datetime, withdrawn: str, added: str, concentration: str,
                  reason: str | None, aspiration: str | None = None,
                  estimated_residual: str | None = None) -> Refill:
    _quantity(withdrawn, units.VOLUME, "withdrawn")
    _quantity(added, units.VOLUME, "added")
    _quantity(concentration, units.CONCENTRATION, "concentration")
    data: dict[str, Any] = {"at": at.isoformat(), "type": "refill", "withdrawn": withdrawn,
                            "added": added, "concentration": concentration,
                            "by": actor.username, "id": f"ev-{uuid.uuid4().hex[:16]}"}
    if aspiration and aspiration != "complete":
        data["aspiration"] = aspiration
    if estimated_residual:
        _quantity(estimated_residual, units.VOLUME, "estimated_residual")
        data["estimated_residual"] = estimated_residual
    if reason:
        data["reason"] = reason
    try:
        event = parse_event(data, where="refill")
    except InputError as exc:
        where = (exc.where or "").removeprefix("refill.") or None
        raise type(exc)(exc.message, where=where, fix=exc.fix) from None
    assert isinstance(event, Refill)
    return event


@dataclass(frozen=True)
class RefillAnalysis:
    """Everything a refill would change, from the rules that decide it (the refill workflow).

    Built once per proposal from the twin's projection before the refill
    (``expected_residual_ml`` is the pump-calculated reservoir then) and after it (the new
    alarm, empty and refill-due dates), and from the calculators of
    :mod:`thecal.clinical.refill`: the residual check (``residual_check``), the fill volume
    (``filling``), the mixing check when drug is added to a residual (``mixing``) and the
    bridge bolus of a concentration change (``bridge_bolus``, None without a change). The
    pages read these attributes; the API writes :meth:`as_dict`. Times are aware instants;
    ``zone`` is the patient's (the JSON writes local offsets).
    """

    patient_id: int
    version: int  # the record's version the proposal was made on (expected_version to record)
    at: datetime
    zone: tzinfo
    pump_model: str
    capacity_ml: float
    expected_residual_ml: float
    withdrawn_ml: float
    added_ml: float
    residual_check: ResidualCheck
    filling: FillVolume
    mixing: MixingCheck | None
    old_concentration_mcg_per_ml: float | None
    new_concentration_mcg_per_ml: float
    bridge_bolus: BridgeBolus | None
    low_reservoir_alarm_at: datetime | None  # after the refill
    empty_at: datetime | None  # after the refill
    refill_due_by: datetime | None  # after the refill
    reservoir_after_ml: float | None
    daily_dose_mcg: float
    old_rate_ml_per_day: float | None
    new_rate_ml_per_day: float
    needs_second_clinician: bool
    # A refill is a measurement (docs/twin.md): the drained volume is what was left.
    aspiration: str = "complete"
    kept_residual_ml: float = 0.0  # stays in the reservoir (incomplete aspiration only)
    unaccounted_ml: float = 0.0  # what the twin believed inside beyond the measurement
    views_before: ReservoirViews | None = None
    views_after: ReservoirViews | None = None

    @property
    def programmer_reservoir_ml(self) -> float:
        """The volume to enter into the programmer as the new reservoir volume."""
        return self.kept_residual_ml + self.added_ml

    @property
    def views_differ(self) -> bool:
        """The pump-calculated view and the estimate disagree before the refill."""
        return self.views_before is not None and self.views_before.differ

    @property
    def discrepancy(self) -> bool:
        """The withdrawn residual differs from the expected one beyond the threshold (MAINO)."""
        return self.residual_check.flagged

    @property
    def concentration_change(self) -> bool:
        return self.bridge_bolus is not None

    @property
    def needs_password(self) -> bool:
        """A concentration change is signed with the password again (PR-6)."""
        return self.concentration_change

    def as_dict(self) -> dict[str, object]:
        """The JSON of the API's refill proposal (times in the patient's local offset)."""
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(self.zone).isoformat() if value is not None else None

        bridge = ({**self.bridge_bolus.as_dict(), "summary": bridge_bolus_words(self.bridge_bolus)}
                  if self.bridge_bolus is not None else None)
        return {
            "patient_id": self.patient_id, "version": self.version,
            "at": self.at.isoformat(), "pump_model": self.pump_model,
            "expected_residual_ml": self.expected_residual_ml,
            "withdrawn_ml": self.withdrawn_ml, "added_ml": self.added_ml,
            "capacity_ml": self.capacity_ml,
            "remaining_after_withdrawal_ml": self.filling.remaining_ml,
            "suggested_added_ml": self.filling.suggested_added_ml,
            "suggested_added": fill_volume_words(self.filling, self.capacity_ml),
            "residual_check": self.residual_check.as_dict(),
            "mixing": self.mixing.as_dict() if self.mixing is not None else None,
            "discrepancy": self.discrepancy,
            "concentration_change": self.concentration_change,
            "old_concentration_mcg_per_ml": self.old_concentration_mcg_per_ml,
            "new_concentration_mcg_per_ml": self.new_concentration_mcg_per_ml,
            "bridge_bolus": bridge,
            "bridge_bolus_needed": self.bridge_bolus is not None and self.bridge_bolus.needed,
            "after": {"low_reservoir_alarm_at": iso(self.low_reservoir_alarm_at),
                      "empty_at": iso(self.empty_at), "refill_due_by": iso(self.refill_due_by)},
            "reservoir_after_ml": self.reservoir_after_ml,
            "daily_dose_mcg": self.daily_dose_mcg,
            "old_rate_ml_per_day": self.old_rate_ml_per_day,
            "new_rate_ml_per_day": self.new_rate_ml_per_day,
            "needs_password": self.needs_password,
            "needs_second_clinician": self.needs_second_clinician,
            "aspiration": self.aspiration,
            "kept_residual_ml": self.kept_residual_ml,
            "unaccounted_ml": _round6(self.unaccounted_ml),
            "reservoir_views_before": (self.views_before.as_dict()
                                       if self.views_before is not None else None),
            "reservoir_views_after": (self.views_after.as_dict()
                                      if self.views_after is not None else None),
            "views_differ": self.views_differ,
            "programmer_reservoir_ml": _round6(self.programmer_reservoir_ml),
            "programmer_instruction": programmer_volume_words(self.programmer_reservoir_ml),
        }


@dataclass(frozen=True)
class RefillOutcome:
    """What recording a refill did: ``recorded`` (``event``: the stored event) or
    ``awaiting-confirmation`` (``pending_id``: a second clinician confirms it)."""

    status: str
    proposal: RefillAnalysis | None
    event: dict[str, Any] | None = None
    pending_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status}
        if self.pending_id is not None:
            out["pending_id"] = self.pending_id
        if self.event is not None:
            out["event"] = self.event
        if self.proposal is not None:
            out["proposal"] = self.proposal.as_dict()
        return out


def _refill_analysis(clinic: Clinic, patient: dict[str, Any], timeline: Timeline,
                     event: Refill) -> RefillAnalysis:
    before = _pump_now(timeline, event.at)
    state = before.state
    model = pump_model(str(state.pump_model))
    # The expected residual is the pump's own calculation (clinical-facts 9.1).
    expected = _round6(state.pump_calculated_ml)
    residual = check_residual(expected_residual_ml=expected, withdrawn_ml=event.withdrawn_ml,
                              reservoir_capacity_ml=model.reservoir_ml)
    old_conc: float | None = state.concentration_mcg_per_ml or None
    daily_dose = _round6(before.daily_total_mcg or 0.0)
    bridge = None
    if old_conc is not None and abs(old_conc - event.concentration_mcg_per_ml) > 1e-9:
        catheter_ml = _catheter_volume_ml(timeline) or 0.0
        bridge = bridge_bolus(old_concentration_mcg_per_ml=old_conc,
                              new_concentration_mcg_per_ml=event.concentration_mcg_per_ml,
                              old_daily_dose_mcg=daily_dose,
                              dead_volume_ml=dead_volume_ml(model, catheter_ml))
    after = _project_added(timeline, event)
    filling = fill_volume(capacity_ml=model.reservoir_ml, expected_residual_ml=expected,
                          withdrawn_ml=event.withdrawn_ml,
                          kept_residual_ml=event.kept_residual_ml)
    mixing = (check_mixing(remaining_ml=filling.remaining_ml,
                           remaining_concentration_mcg_per_ml=old_conc,
                           added_ml=event.added_ml,
                           added_concentration_mcg_per_ml=event.concentration_mcg_per_ml)
              if old_conc and event.added_ml > 0 and filling.remaining_ml > 0 else None)
    seen = next((rev for rev in reversed(after.replay.events) if rev.event.id == event.id), None)
    unaccounted = (seen.unaccounted_ml or 0.0) if seen is not None else 0.0
    site = patient.get("_site_settings") or {}
    return RefillAnalysis(
        patient_id=int(patient["id"]), version=int(patient["version"]), at=event.at,
        zone=timeline.patient.zone, pump_model=model.id,
        capacity_ml=model.reservoir_ml, expected_residual_ml=expected,
        withdrawn_ml=event.withdrawn_ml, added_ml=event.added_ml, residual_check=residual,
        filling=filling, mixing=mixing, old_concentration_mcg_per_ml=old_conc,
        new_concentration_mcg_per_ml=event.concentration_mcg_per_ml, bridge_bolus=bridge,
        low_reservoir_alarm_at=after.state.low_reservoir_alarm_at,
        empty_at=after.state.empty_at,
        refill_due_by=after.refill_plan.refill_due_by if after.refill_plan else None,
        reservoir_after_ml=_round6(after.state.reservoir_ml), daily_dose_mcg=daily_dose,
        old_rate_ml_per_day=rate_ml_per_day(daily_dose, old_conc) if old_conc else None,
        new_rate_ml_per_day=rate_ml_per_day(daily_dose, event.concentration_mcg_per_ml),
        needs_second_clinician=bridge is not None and bool(
            site.get(SECOND_CLINICIAN_SETTING, False)),
        aspiration=event.aspiration, kept_residual_ml=event.kept_residual_ml,
        unaccounted_ml=unaccounted, views_before=before.reservoir_views,
        views_after=after.reservoir_views)


def _round6(value: float) -> float:
    return round(float(value), 6)


def _pump_now(timeline: Timeline, at: datetime) -> Projection:
    """The twin's projection at ``at``; refused when no pump is implanted."""
    projection = project(timeline, at) if timeline.events else None
    if projection is None or projection.state is None or not projection.state.pump_model:
        raise InputError("this patient has no implanted pump on record", where="patient_id",
                         fix="record the implant first")
    return projection


def _project_added(timeline: Timeline, event: Event) -> Projection:
    """The projection just after ``event``; a refusal names the event's own field."""
    try:
        return project(timeline.with_event(event), event.at)
    except InputError as exc:
        raise relocated(exc, "") from None


def _with_site(conn: Connection, patient: dict[str, Any]) -> dict[str, Any]:
    site = records.get_site(conn, int(patient["site_id"]))
    return {**patient, "_site_settings": (site or {}).get("settings") or {}}


# ------------------------------------------------------------------ refill

def propose_refill(clinic: Clinic, actor: Actor, patient_id: int, *, withdrawn: str,
                   added: str, concentration: str, at: datetime | None = None,
                   aspiration: str | None = None, estimated_residual: str | None = None
                   ) -> RefillAnalysis:
    """Everything a refill would change, computed without recording anything.

    ``withdrawn`` is the measured residual: the reservoir is drained, so after the refill it
    holds ``added`` (plus ``estimated_residual`` when ``aspiration`` is ``incomplete``).
    """
    def body(conn: Connection) -> RefillAnalysis:
        patient, timeline = _load(conn, clinic, actor, authz.REFILL_PROPOSE, patient_id)
        event = _refill_event(actor, at or clinic.now(), withdrawn, added, concentration, None,
                              aspiration, estimated_residual)
        result = _refill_analysis(clinic, _with_site(conn, patient), timeline, event)
        clinic.audit(conn, actor, "refill.propose", entity="patient",
                     entity_id=str(patient_id), patient_id=patient_id, field="refill",
                     new_value={"withdrawn": withdrawn, "added": added,
                                "concentration": concentration})
        return result

    return clinic.run(actor, "refill.propose", body, patient_id=patient_id, entity="refill")


def record_refill(clinic: Clinic, actor: Actor, patient_id: int, *, withdrawn: str, added: str,
                  concentration: str, expected_version: int, password: str | None = None,
                  reason: str | None = None, at: datetime | None = None,
                  idempotency_key: str | None = None, aspiration: str | None = None,
                  estimated_residual: str | None = None) -> RefillOutcome:
    """Record a refill (or open a second-clinician confirmation for a concentration change).

    A refill after a short aspiration filled to full is recorded in one go: the discrepancy
    is a finding (with the reason written), never a refusal.
    """
    when = at or clinic.now()

    def check(conn: Connection) -> RefillAnalysis:
        patient, timeline = _load(conn, clinic, actor, authz.REFILL_RECORD, patient_id)
        event = _refill_event(actor, when, withdrawn, added, concentration, reason, aspiration,
                              estimated_residual)
        return _refill_analysis(clinic, _with_site(conn, patient), timeline, event)

    analysis = clinic.run(actor, "refill.record", check, patient_id=patient_id, entity="refill")
    if analysis.needs_password:
        try:
            verify_password_again(clinic, actor, password)
        except (InputError, PermissionDeniedError) as exc:
            clinic.record_refusal(actor, "refill.record", exc, patient_id=patient_id,
                                  entity="refill")
            raise _reauth_error(exc) from None

    def body(conn: Connection) -> RefillOutcome:
        patient, timeline = _load(conn, clinic, actor, authz.REFILL_RECORD, patient_id)
        event = _refill_event(actor, when, withdrawn, added, concentration, reason, aspiration,
                              estimated_residual)
        result = _refill_analysis(clinic, _with_site(conn, patient), timeline, event)
        if result.discrepancy and not reason:
            raise InputError("the withdrawn residual differs from the expected one",
                             where="reason", fix="write why (and what was checked) in the reason")
        if result.needs_second_clinician:
            if int(patient["version"]) != expected_version:
                raise ConflictError("the record changed since you loaded it",
                                    where="expected_version", fix="reload and try again")
            token = secrets.token_urlsafe(32)
            pending_id = auth_store.insert_pending(
                conn, token_hash=token_hash(token), kind="refill", patient_id=patient_id,
                proposed_by=int(actor.user_id or 0), expected_version=expected_version,
                payload={"event": event_to_dict(event), "summary": _refill_summary(result)},
                at=clinic.now(), expires_at=clinic.now() + clinic.settings.pending_lifetime)
            clinic.audit(conn, actor, "refill.record", outcome="pending", entity="pending",
                         entity_id=str(pending_id), patient_id=patient_id,
                         new_value=event_to_dict(event), reason=reason,
                         detail="waiting for a second clinician")
            return RefillOutcome("awaiting-confirmation", result, pending_id=pending_id)
        stored = append_in(clinic, conn, actor, patient, event, expected_version,
                           action="refill.record", idempotency_key=idempotency_key,
                           request_digest=digest_of("refill.record", {
                               "withdrawn": withdrawn, "added": added,
                               "concentration": concentration, "reason": reason,
                               "at": at.isoformat() if at else None,
                               "expected_version": expected_version}))
        return RefillOutcome("recorded", result, event=stored)

    return clinic.run(actor, "refill.record", body, patient_id=patient_id, entity="refill")


def _refill_summary(result: RefillAnalysis) -> str:
    return (f"refill {units.format_number(result.added_ml)} mL at "
            f"{units.format_number(result.new_concentration_mcg_per_ml)} mcg/mL "
            f"(concentration was {result.old_concentration_mcg_per_ml} mcg/mL)")


def _reauth_error(exc: Exception) -> Exception:
    if isinstance(exc, InputError):
        return exc
    return PermissionDeniedError("the password is wrong", where="password",
                                 fix="enter your own password to confirm")


def confirm_pending(clinic: Clinic, actor: Actor, pending_id: int, password: str | None
                    ) -> RefillOutcome:
    """A second clinician confirms a pending concentration change (their own password)."""
    def check(conn: Connection) -> int:
        authz.require(actor, authz.CONFIRM_SECOND)
        row = auth_store.get_pending(conn, pending_id=pending_id)
        if row is None or row["kind"] != "refill":
            raise NotFoundError(f"confirmation {pending_id} not found", where="pending_id")
        authz.patient_for(conn, actor, authz.CONFIRM_SECOND, int(row["patient_id"]))
        if row["proposed_by"] == actor.user_id:
            raise PermissionDeniedError("the second confirmation must come from another "
                                        "clinician", fix="ask a colleague to confirm")
        return int(row["patient_id"])

    patient_id = clinic.run(actor, "pending.confirm", check, entity="pending",
                            entity_id=str(pending_id))
    try:
        verify_password_again(clinic, actor, password)
    except (InputError, PermissionDeniedError) as exc:
        clinic.record_refusal(actor, "pending.confirm", exc, patient_id=patient_id)
        raise _reauth_error(exc) from None

    def body(conn: Connection) -> RefillOutcome:
        row = auth_store.get_pending(conn, pending_id=pending_id)
        assert row is not None
        patient = authz.patient_for(conn, actor, authz.CONFIRM_SECOND, patient_id)
        if row["status"] != "open" or row["expires_at"] <= clinic.now():
            raise ConflictError("this confirmation is no longer open (decided or expired)",
                                where="pending_id", fix="record the refill again")
        event = parse_event(row["payload"]["event"], where="pending.event")
        stored = append_in(clinic, conn, actor, patient, event, int(row["expected_version"]),
                           action="refill.record",
                           extra_audit={"detail": f"second clinician confirmed pending "
                                                  f"{pending_id} proposed by user "
                                                  f"{row['proposed_by']}"})
        auth_store.decide_pending(conn, pending_id, "confirmed", int(actor.user_id or 0),
                                  clinic.now())
        return RefillOutcome("recorded", None, event=stored)

    return clinic.run(actor, "pending.confirm", body, patient_id=patient_id, entity="pending",
                      entity_id=str(pending_id))


# ------------------------------------------------------------------ program change

def _program_event(actor: Actor, at: datetime, program: Any, reason: str | None) -> Program:
    if not isinstance(program, dict):
        raise InputError("the program must be an object with a mode", where="program",
                         fix='e.g. {"mode": "continuous", "daily_dose": "300 mcg/day"}')
    allowed = {"mode", "daily_dose", "steps"}
    for key in program:
        if key not in allowed:
            raise InputError(f"unknown program field {key!r}", where=f"program.{key}",
                             fix="use mode, daily_dose or steps")
    data: dict[str, Any] = {"at": at.isoformat(), "type": "program", **program,
                            "by": actor.username, "id": f"ev-{uuid.uuid4().hex[:16]}"}
    if reason:
        data["reason"] = reason
    event = parse_event(data, where="program")
    assert isinstance(event, Program)
    return event


def _program_analysis(patient: dict[str, Any], timeline: Timeline, event: Program, *,
                      refuse_absolute: bool = True, concentration: float | None = None
                      ) -> dict[str, Any]:
    """Load what the rule needs and ask it (``clinical.program.assess_program_change``).

    With ``refuse_absolute`` a total outside the absolute bounds raises (propose/confirm);
    without it the refusal comes back for display (the live check).
    """
    projection = project_timeline(timeline, event.at)
    pump = _pump(projection)
    old = _current_program(timeline)
    conc = concentration if concentration is not None else pump.get("concentration_mcg_per_ml")
    last = _last_program_change(timeline)
    assessment = assess_program_change(
        old, event, concentration_mcg_per_ml=float(conc) if conc else None,
        etiology=patient["etiology"], age_years=timeline.patient.age_years(event.at),
        hours_since_last_change=(event.at - last).total_seconds() / 3600 if last else None)
    if not assessment.allowed and refuse_absolute:
        raise InputError(f"a 24-hour total of "
                         f"{units.format_number(assessment.new_daily_total_mcg)} mcg/day is "
                         "outside the absolute daily-dose bounds", where="program.daily_dose",
                         fix=f"stay within {assessment.absolute_min_mcg:g}–"
                             f"{assessment.absolute_max_mcg:g} mcg/day")
    return {**assessment.as_dict(), "concentration_mcg_per_ml": conc}


def check_program_change(clinic: Clinic, actor: Actor, patient_id: int, program: Any, *,
                         concentration: str | None = None, at: datetime | None = None
                         ) -> dict[str, Any]:
    """The live check of a program change: nothing is written (no pending row, no audit row).

    Returns what :func:`propose_program_change` shows (old/new with 24-hour totals in
    ``comparison``, ``guardrail``, ``titration``, ``needs_reason``) plus ``allowed``. A total
    beyond the absolute bounds comes back as ``allowed: False`` with ``refusal`` words and the
    guardrail's reasons, for display; :func:`propose_program_change` still refuses it.
    ``concentration`` (e.g. ``"2000 mcg/mL"``) gives the volumes at a refill's new drug.
    """
    conc = (_quantity(concentration, units.CONCENTRATION, "concentration")
            if concentration else None)
    # read only; only a refused access is audited (by Clinic.run), never an input mistake
    patient, timeline = clinic.run(
        actor, "program.check",
        lambda conn: _load(conn, clinic, actor, authz.PROGRAM_CHECK, patient_id),
        patient_id=patient_id, entity="program")
    event = _program_event(actor, at or clinic.now(), program, None)
    project_new(timeline, event, event.at, "program.")
    analysis = _program_analysis(patient, timeline, event, refuse_absolute=False,
                                 concentration=conc)
    return {"patient_id": patient_id, "version": int(patient["version"]), **analysis}


def propose_program_change(clinic: Clinic, actor: Actor, patient_id: int, program: Any,
                           expected_version: int, *, reason: str | None = None
                           ) -> dict[str, Any]:
    """Old and new program side by side and a token to confirm it with (valid 15 min)."""
    def body(conn: Connection) -> dict[str, Any]:
        patient, timeline = _load(conn, clinic, actor, authz.PROGRAM_PROPOSE, patient_id)
        if int(patient["version"]) != expected_version:
            raise ConflictError("the record changed since you loaded it",
                                where="expected_version", fix="reload and try again")
        event = _program_event(actor, clinic.now(), program, reason)
        project_new(timeline, event, event.at, "program.")  # the twin accepts it
        analysis = _program_analysis(patient, timeline, event)
        if analysis["needs_reason"] and not reason:
            analysis["reason_required"] = ("outside the recommended range or titration step: "
                                           "a written reason is needed to confirm")
        token = secrets.token_urlsafe(32)
        expires = clinic.now() + clinic.settings.pending_lifetime
        pending_id = auth_store.insert_pending(
            conn, token_hash=token_hash(token), kind="program", patient_id=patient_id,
            proposed_by=int(actor.user_id or 0), expected_version=expected_version,
            payload={"event": event_to_dict(event), "needs_reason": analysis["needs_reason"],
                     "summary": f"program {analysis['new']}"},
            at=clinic.now(), expires_at=expires)
        clinic.audit(conn, actor, "program.propose", entity="pending",
                     entity_id=str(pending_id), patient_id=patient_id, field="program",
                     old_value=analysis["old"], new_value=analysis["new"], reason=reason)
        return {"patient_id": patient_id, "version": expected_version, **analysis,
                "confirmation_token": token, "expires_at": expires.isoformat()}

    return clinic.run(actor, "program.propose", body, patient_id=patient_id, entity="program")


def confirm_program_change(clinic: Clinic, actor: Actor, patient_id: int,
                           confirmation_token: str, password: str | None, *,
                           reason: str | None = None) -> dict[str, Any]:
    """Append the proposed program after re-authentication (the proposer confirms)."""
    def check(conn: Connection) -> None:
        authz.patient_for(conn, actor, authz.PROGRAM_CONFIRM, patient_id)

    clinic.run(actor, "program.confirm", check, patient_id=patient_id, entity="program")
    try:
        verify_password_again(clinic, actor, password)
    except (InputError, PermissionDeniedError) as exc:
        clinic.record_refusal(actor, "program.confirm", exc, patient_id=patient_id)
        raise _reauth_error(exc) from None

    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.PROGRAM_CONFIRM, patient_id)
        row = auth_store.get_pending(conn, token_hash=token_hash(confirmation_token or ""))
        if (row is None or row["kind"] != "program" or int(row["patient_id"]) != patient_id
                or row["proposed_by"] != actor.user_id):
            raise NotFoundError("no such program proposal", where="confirmation_token",
                                fix="propose the change again")
        if row["status"] != "open" or row["expires_at"] <= clinic.now():
            raise ConflictError("the proposal expired or was already decided",
                                where="confirmation_token", fix="propose the change again")
        data = dict(row["payload"]["event"])
        final_reason = reason or data.get("reason")
        if row["payload"].get("needs_reason") and not final_reason:
            raise InputError("this program is outside the recommended range or titration "
                             "step", where="reason", fix="write the clinical reason")
        if final_reason:
            data["reason"] = final_reason
        event: Event = parse_event(data, where="program")
        stored = append_in(clinic, conn, actor, patient, event, int(row["expected_version"]),
                           action="program.confirm",
                           extra_audit={"detail": "confirmed with password"})
        auth_store.decide_pending(conn, int(row["id"]), "confirmed", int(actor.user_id or 0),
                                  clinic.now())
        return {"status": "recorded", "event": stored}

    return clinic.run(actor, "program.confirm", body, patient_id=patient_id, entity="program")
