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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field, computed_field
from sqlalchemy import Connection

from thecal import units
from thecal.catalog import pump_model
from thecal.clinical.confirmation import second_signer_refusal, second_signer_roles
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.program import (
    ABSOLUTE_STEP_MULTIPLE,
    ABSOLUTE_STEP_SETTING,
    ProgramChangeAssessment,
    assess_program_change,
    program_view,
)
from thecal.clinical.projection import Projection, ReservoirViews, TwinSettings, project
from thecal.clinical.refill import (
    BridgeBolus,
    FillVolume,
    MixingCheck,
    ResidualCheck,
    bridge_bolus,
    check_mixing,
    check_residual,
    dead_volume_ml,
    fill_volume,
    fill_volume_words,
    programmer_volume_words,
)
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.limits import Classification
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.auth import authenticate_user, token_hash, verify_password_again
from thecal.service.clinic import Clinic
from thecal.service.patients import (
    StoredEvent,
    add_event,
    digest_of,
    new_event,
    stored_event,
)
from thecal.service.results import Instant
from thecal.service.twin import (
    DatesAfter,
    build_timeline,
    project_new,
    rounded_views,
    site_settings,
    twin_settings,
)
from thecal.store import auth as auth_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.records import Row
from thecal.timeline import (
    Bolus,
    CatheterRevision,
    Event,
    Implant,
    Note,
    Program,
    Refill,
    Timeline,
    event_to_dict,
    parse_event,
)

SECOND_CLINICIAN_SETTING = "require_second_clinician_for_concentration_change"


# ------------------------------------------------------------------ helpers

def _quantity(value: str, kind: units.Kind, where: str) -> float:
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


def _load(conn: Connection, actor: Actor, action: str, patient_id: int
          ) -> tuple[Row, Timeline, Mapping[str, object]]:
    """The patient (if ``actor`` may do ``action``), the record and the site's settings."""
    patient = authz.patient_for(conn, actor, action, patient_id)
    rows = event_store.list_events(conn, patient_id)
    return (patient, build_timeline(patient, rows),
            site_settings(conn, int(patient["site_id"])))


@dataclass(frozen=True)
class DrugDetails:
    """The drug as dispensed: lot and expiry (every recorded refill), and for a compounded
    preparation the pharmacy that made it (its strength is the refill's concentration)."""

    lot: str | None = None
    expiry: str | None = None  # ISO date, e.g. "2027-06-30"
    compounded: bool = False
    pharmacy: str | None = None

    def fields(self) -> dict[str, str | bool]:
        """The refill event's drug fields (blank ones left out)."""
        out: dict[str, str | bool] = {}
        if self.lot and self.lot.strip():
            out["lot"] = self.lot.strip()
        if self.expiry and self.expiry.strip():
            out["expiry"] = self.expiry.strip()
        if self.compounded:
            out["compounded"] = True
        if self.pharmacy and self.pharmacy.strip():
            out["pharmacy"] = self.pharmacy.strip()
        return out


NO_DRUG_DETAILS = DrugDetails()


def _require_drug_details(drug: DrugDetails, at: datetime) -> None:
    """Every recorded refill names the drug's lot and expiry; a compounded one its pharmacy."""
    if not (drug.lot and drug.lot.strip()):
        raise InputError("the drug's lot number is missing", where="lot",
                         fix="copy the lot number from the vial or syringe label")
    if not (drug.expiry and drug.expiry.strip()):
        raise InputError("the drug's expiry date is missing", where="expiry",
                         fix="copy the expiry date from the label, e.g. 2027-06-30")
    if drug.compounded and not (drug.pharmacy and drug.pharmacy.strip()):
        raise InputError("a compounded preparation names the pharmacy that made it",
                         where="pharmacy", fix="write the compounding pharmacy")


def _refill_event(actor: Actor, at: datetime, withdrawn: str, added: str, concentration: str,
                  reason: str | None, aspiration: str | None = None,
                  estimated_residual: str | None = None,
                  drug: DrugDetails = NO_DRUG_DETAILS) -> Refill:
    _quantity(withdrawn, units.VOLUME, "withdrawn")
    _quantity(added, units.VOLUME, "added")
    _quantity(concentration, units.CONCENTRATION, "concentration")
    data: dict[str, object] = {"withdrawn": withdrawn, "added": added,
                               "concentration": concentration, **drug.fields()}
    if aspiration and aspiration != "complete":
        data["aspiration"] = aspiration
    if estimated_residual:
        _quantity(estimated_residual, units.VOLUME, "estimated_residual")
        data["estimated_residual"] = estimated_residual
    if reason:
        data["reason"] = reason
    event = new_event(actor, at, Refill, data)
    if event.expiry is not None and event.expiry < at.date():
        raise InputError(f"the drug expired on {event.expiry.isoformat()}", where="expiry",
                         fix="do not use an expired drug; take another lot")
    return event


@dataclass(frozen=True)
class RefillAnalysis:
    """Everything a refill would change, from the rules that decide it (the refill workflow).

    Built once per proposal from the twin's projection before the refill
    (``expected_residual_ml`` is the pump-calculated reservoir then) and after it (the new
    alarm, empty and refill-due dates, ``after``), and from the calculators of
    :mod:`thecal.clinical.refill`: the residual check (``residual_check``), the fill volume
    (``filling``), the mixing check when drug is added to a residual (``mixing``) and the
    bridge bolus of a concentration change (``bridge_bolus``, None without a change). The
    pages read these attributes and the API answers with the analysis itself (its response
    model): what the rules derive are computed fields, ``filling`` is written as its figures.
    """

    patient_id: int
    version: int  # the record's version the proposal was made on (expected_version to record)
    at: Instant
    pump_model: str
    capacity_ml: float
    expected_residual_ml: float
    withdrawn_ml: float
    added_ml: float
    residual_check: ResidualCheck
    filling: Annotated[FillVolume, Field(exclude=True)]
    mixing: MixingCheck | None
    old_concentration_mcg_per_ml: float | None
    new_concentration_mcg_per_ml: float
    bridge_bolus: BridgeBolus | None
    after: DatesAfter  # the twin's dates after the refill (the patient's zone)
    reservoir_after_ml: float | None
    daily_dose_mcg: float
    old_rate_ml_per_day: float | None
    new_rate_ml_per_day: float
    needs_second_clinician: bool
    # A refill is a measurement (docs/twin.md): the drained volume is what was left.
    aspiration: str = "complete"
    kept_residual_ml: float = 0.0  # stays in the reservoir (incomplete aspiration only)
    unaccounted_ml: float = 0.0  # what the twin believed inside beyond the measurement
    views_before: Annotated[ReservoirViews | None,
                            Field(serialization_alias="reservoir_views_before")] = None
    views_after: Annotated[ReservoirViews | None,
                           Field(serialization_alias="reservoir_views_after")] = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining_after_withdrawal_ml(self) -> float:
        return self.filling.remaining_ml

    @computed_field  # type: ignore[prop-decorator]
    @property
    def suggested_added_ml(self) -> float:
        return self.filling.suggested_added_ml

    @computed_field  # type: ignore[prop-decorator]
    @property
    def suggested_added(self) -> str:
        return fill_volume_words(self.filling, self.capacity_ml)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def programmer_reservoir_ml(self) -> float:
        """The volume to enter into the programmer as the new reservoir volume."""
        return _round6(self.kept_residual_ml + self.added_ml)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def programmer_instruction(self) -> str:
        return programmer_volume_words(self.programmer_reservoir_ml)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def views_differ(self) -> bool:
        """The pump-calculated view and the estimate disagree before the refill."""
        return self.views_before is not None and self.views_before.differ

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discrepancy(self) -> bool:
        """The withdrawn residual differs from the expected one beyond the threshold (MAINO)."""
        return self.residual_check.flagged

    @computed_field  # type: ignore[prop-decorator]
    @property
    def concentration_change(self) -> bool:
        return self.bridge_bolus is not None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def bridge_bolus_needed(self) -> bool:
        return self.bridge_bolus is not None and self.bridge_bolus.needed

    @computed_field  # type: ignore[prop-decorator]
    @property
    def needs_password(self) -> bool:
        """A concentration change is signed with the password again (PR-6)."""
        return self.concentration_change


@dataclass(frozen=True)
class RefillOutcome:
    """What recording a refill did: ``recorded`` (``event``: the stored event) or
    ``awaiting-confirmation`` (``pending_id``: a second clinician confirms it);
    ``bridge_bolus_event`` is the bridge bolus recorded with it, when the person said they
    programmed one. The API's answer itself."""

    status: str
    proposal: RefillAnalysis | None
    event: StoredEvent | None = None
    pending_id: int | None = None
    bridge_bolus_event: StoredEvent | None = None


def refill_analysis(patient: Row, timeline: Timeline, event: Refill,
                    settings: Mapping[str, object]) -> RefillAnalysis:
    """What ``event`` does to the record ``timeline`` (the site's ``settings`` say whether a
    concentration change needs a second clinician)."""
    twin = twin_settings(settings)
    before = _pump_now(timeline, event.at, twin)
    state = before.state
    model = pump_model(str(state.pump_model))
    # The expected residual is the pump's own calculation (clinical-facts 9.1).
    expected = _round6(state.pump_calculated_ml)
    residual = check_residual(expected_residual_ml=expected, withdrawn_ml=event.withdrawn_ml,
                              reservoir_capacity_ml=model.reservoir_ml)
    old_conc: float | None = state.concentration_mcg_per_ml or None
    daily_dose = _round6(before.daily_total_mcg or 0.0)
    bridge = None
    if old_conc is not None and not units.same_concentration(old_conc,
                                                               event.concentration_mcg_per_ml):
        catheter_ml = _catheter_volume_ml(timeline) or 0.0
        bridge = bridge_bolus(old_concentration_mcg_per_ml=old_conc,
                              new_concentration_mcg_per_ml=event.concentration_mcg_per_ml,
                              old_daily_dose_mcg=daily_dose,
                              dead_volume_ml=dead_volume_ml(model, catheter_ml))
    after = project_new(timeline, event, event.at, "", twin)[1]
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
    return RefillAnalysis(
        patient_id=int(patient["id"]), version=int(patient["version"]), at=event.at,
        pump_model=model.id,
        capacity_ml=model.reservoir_ml, expected_residual_ml=expected,
        withdrawn_ml=event.withdrawn_ml, added_ml=event.added_ml, residual_check=residual,
        filling=filling, mixing=mixing, old_concentration_mcg_per_ml=old_conc,
        new_concentration_mcg_per_ml=event.concentration_mcg_per_ml, bridge_bolus=bridge,
        after=DatesAfter.of(after), reservoir_after_ml=_round6(after.state.reservoir_ml),
        daily_dose_mcg=daily_dose,
        old_rate_ml_per_day=rate_ml_per_day(daily_dose, old_conc) if old_conc else None,
        new_rate_ml_per_day=rate_ml_per_day(daily_dose, event.concentration_mcg_per_ml),
        needs_second_clinician=bridge is not None and bool(
            settings.get(SECOND_CLINICIAN_SETTING, False)),
        aspiration=event.aspiration, kept_residual_ml=event.kept_residual_ml,
        unaccounted_ml=_round6(unaccounted), views_before=rounded_views(before.reservoir_views),
        views_after=rounded_views(after.reservoir_views))


def _round6(value: float) -> float:
    return round(float(value), 6)


def _pump_now(timeline: Timeline, at: datetime, settings: TwinSettings) -> Projection:
    """The twin's projection at ``at``; refused when no pump is implanted."""
    projection = project(timeline, at, settings) if timeline.events else None
    if projection is None or projection.state is None or not projection.state.pump_model:
        raise InputError("this patient has no implanted pump on record", where="patient_id",
                         fix="record the implant first")
    return projection


# ------------------------------------------------------------------ refill

def propose_refill(clinic: Clinic, actor: Actor, patient_id: int, *, withdrawn: str,
                   added: str, concentration: str, at: datetime | None = None,
                   aspiration: str | None = None, estimated_residual: str | None = None,
                   drug: DrugDetails = NO_DRUG_DETAILS) -> RefillAnalysis:
    """Everything a refill would change, computed without recording anything.

    ``withdrawn`` is the measured residual: the reservoir is drained, so after the refill it
    holds ``added`` (plus ``estimated_residual`` when ``aspiration`` is ``incomplete``).
    """
    def body(conn: Connection) -> RefillAnalysis:
        patient, timeline, settings = _load(conn, actor, authz.REFILL_PROPOSE, patient_id)
        event = _refill_event(actor, _procedure_time(clinic, at), withdrawn, added,
                              concentration, None, aspiration, estimated_residual, drug)
        result = refill_analysis(patient, timeline, event, settings)
        clinic.audit(conn, actor, "refill.propose", entity="patient",
                     entity_id=str(patient_id), patient_id=patient_id, field="refill",
                     new_value={"withdrawn": withdrawn, "added": added,
                                "concentration": concentration})
        return result

    return clinic.run(actor, "refill.propose", body, patient_id=patient_id, entity="refill")


def _procedure_time(clinic: Clinic, at: datetime | None) -> datetime:
    """When the refill was done: ``at`` for a late entry (never in the future), else now."""
    now = clinic.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise InputError("the time of the procedure has no time zone", where="performed_at",
                         fix="give the offset, e.g. 2026-12-01T09:30:00+01:00")
    if at > now + timedelta(minutes=1):
        raise InputError("the time of the procedure is in the future", where="performed_at",
                         fix="give the time the refill was done")
    return at


def record_refill(clinic: Clinic, actor: Actor, patient_id: int, *, withdrawn: str, added: str,
                  concentration: str, expected_version: int, password: str | None = None,
                  reason: str | None = None, at: datetime | None = None,
                  idempotency_key: str | None = None, aspiration: str | None = None,
                  estimated_residual: str | None = None,
                  drug: DrugDetails = NO_DRUG_DETAILS,
                  bridge_bolus: bool = False) -> RefillOutcome:
    """Record a refill when it happens; a concentration change that needs a second clinician
    opens a confirmation beside it (never instead of it).

    ``bridge_bolus``: the person programmed the bridge bolus the concentration change needs
    (B-DOSE); it is recorded in the same transaction, right after the refill, at the refill's
    time, by the same person (:func:`bridge_bolus_event`). Without it the record keeps the
    ``missing-bridge-bolus`` finding, which is then true. A refill that changes nothing is
    refused a bridge bolus.

    The pump holds the new drug from the moment of the refill, so the event is appended at
    once (``at`` is the time of the procedure for a late entry; the entry time is kept as the
    event's ``recorded_at``). The confirmation waits for a second signer and never expires:
    past its time it is escalated (:mod:`thecal.service.escalation`). A refill after a short
    aspiration filled to full is recorded in one go: the discrepancy is a finding (with the
    reason written), never a refusal.
    """
    when = _procedure_time(clinic, at)

    def analysed(conn: Connection) -> tuple[Row, Refill, RefillAnalysis]:
        patient, timeline, settings = _load(conn, actor, authz.REFILL_RECORD, patient_id)
        _require_drug_details(drug, when)
        event = _refill_event(actor, when, withdrawn, added, concentration, reason, aspiration,
                              estimated_residual, drug)
        return patient, event, refill_analysis(patient, timeline, event, settings)

    if clinic.run(actor, "refill.record", analysed, patient_id=patient_id,
                  entity="refill")[2].needs_password:
        _reauthenticate(clinic, actor, password, "refill.record", patient_id, entity="refill")

    def body(conn: Connection) -> RefillOutcome:
        patient, event, result = analysed(conn)
        if result.discrepancy and not reason:
            raise InputError("the withdrawn residual differs from the expected one",
                             where="reason", fix="write why (and what was checked) in the reason")
        if bridge_bolus and not result.concentration_change:
            raise InputError("this refill keeps the concentration: no bridge bolus is needed",
                             where="bridge_bolus",
                             fix="leave bridge_bolus out, or record the bolus as its own event")
        stored = add_event(clinic, conn, actor, patient, event, expected_version,
                           action="refill.record", idempotency_key=idempotency_key,
                           request_digest=digest_of("refill.record", {
                               "withdrawn": withdrawn, "added": added,
                               "concentration": concentration, "reason": reason,
                               "at": at.isoformat() if at else None,
                               "expected_version": expected_version,
                               "bridge_bolus": bridge_bolus}))
        if stored.event.id != event.id:  # an idempotent retry: everything was stored then
            return RefillOutcome("recorded", result, event=stored)
        bridge = None
        if bridge_bolus:
            bridge = add_event(clinic, conn, actor, records.get_patient(conn, patient_id) or {},
                               bridge_bolus_event(actor, event), stored.seq,
                               action="refill.record",
                               detail="bridge bolus programmed with the refill")
        if not result.needs_second_clinician:
            return RefillOutcome("recorded", result, event=stored, bridge_bolus_event=bridge)
        token = secrets.token_urlsafe(32)
        now = clinic.now()
        pending_id = auth_store.insert_pending(
            conn, token_hash=token_hash(token), kind="refill", patient_id=patient_id,
            proposed_by=int(actor.user_id or 0), expected_version=expected_version,
            payload={"event": event_to_dict(event), "summary": _refill_summary(result),
                     "old_concentration_mcg_per_ml": result.old_concentration_mcg_per_ml,
                     "new_concentration_mcg_per_ml": result.new_concentration_mcg_per_ml},
            at=now, expires_at=now + clinic.settings.pending_lifetime,
            event_id=str(event.id))
        clinic.audit(conn, actor, "refill.confirmation-open", outcome="pending",
                     entity="pending", entity_id=str(pending_id), patient_id=patient_id,
                     event_id=str(event.id), reason=reason,
                     detail="refill recorded; the concentration waits for a second signer")
        return RefillOutcome("awaiting-confirmation", result, event=stored,
                             pending_id=pending_id, bridge_bolus_event=bridge)

    return clinic.run(actor, "refill.record", body, patient_id=patient_id, entity="refill")


def bridge_bolus_event(actor: Actor, refill: Refill) -> Bolus:
    """The bridge bolus programmed with ``refill``: by the same person, at the refill's time
    (it follows the refill on the record; the twin runs the old drug in the line out at the
    old daily dose, its volume the pump's and catheter's dead volume, B-DOSE)."""
    return new_event(actor, refill.at, Bolus, {
        "kind": "bridge", "reason": "programmed with the refill (concentration change)"},
        prefix="bridge_bolus.")


def _refill_summary(result: RefillAnalysis) -> str:
    old = result.old_concentration_mcg_per_ml
    was = f"{units.format_number(old)} mcg/mL" if old is not None else "none"
    return (f"concentration {was} → "
            f"{units.format_number(result.new_concentration_mcg_per_ml)} mcg/mL "
            f"(refill of {units.format_number(result.added_ml)} mL)")


def _reauthenticate(clinic: Clinic, actor: Actor, password: str | None, action: str,
                    patient_id: int, entity: str | None = None) -> None:
    """The actor's password again (PR-6); a refusal is audited and says "wrong password"."""
    try:
        verify_password_again(clinic, actor, password)
    except (InputError, PermissionDeniedError) as exc:
        clinic.record_refusal(actor, action, exc, patient_id=patient_id, entity=entity)
        if isinstance(exc, InputError):
            raise
        raise PermissionDeniedError("the password is wrong", where="password",
                                    fix="enter your own password to confirm") from None


def _second_signer_check(conn: Connection, actor: Actor, row: Row) -> Row:
    """The patient, if ``actor`` may decide this confirmation (site setting of signers)."""
    patient = authz.patient_for(conn, actor, authz.CONFIRM_SECOND, int(row["patient_id"]))
    site = records.get_site(conn, int(patient["site_id"])) or {}
    refusal = second_signer_refusal(signer_id=actor.user_id, signer_role=actor.role,
                                    entered_by=int(row["proposed_by"]),
                                    allowed_roles=second_signer_roles(site.get("settings")))
    if refusal is not None:
        raise PermissionDeniedError(refusal, fix="ask a colleague who may sign second")
    if row["status"] != "open":
        raise ConflictError(f"this confirmation was already {row['status']}",
                            where="pending_id", fix="open the patient's chart")
    return patient


def _open_confirmation(conn: Connection, pending_id: int) -> Row:
    row = auth_store.get_pending(conn, pending_id=pending_id)
    if row is None or row["kind"] != "refill":
        raise NotFoundError(f"confirmation {pending_id} not found", where="pending_id")
    return row


def _second_signer(clinic: Clinic, actor: Actor, pending_id: int, password: str | None,
                   action: str) -> int:
    """The patient of a confirmation that ``actor`` may decide, after their password."""
    def check(conn: Connection) -> int:
        row = _open_confirmation(conn, pending_id)
        _second_signer_check(conn, actor, row)
        return int(row["patient_id"])

    patient_id = clinic.run(actor, action, check, entity="pending", entity_id=str(pending_id))
    _reauthenticate(clinic, actor, password, action, patient_id)
    return patient_id


def confirm_pending(clinic: Clinic, actor: Actor, pending_id: int, password: str | None
                    ) -> RefillOutcome:
    """A second signer confirms a recorded refill's concentration change (own password).

    Nothing is appended: the refill was recorded when it happened. The confirmation is
    decided (who, when) and audited; it is never refused for being late.
    """
    patient_id = _second_signer(clinic, actor, pending_id, password, "pending.confirm")

    def body(conn: Connection) -> RefillOutcome:
        row = _open_confirmation(conn, pending_id)
        _second_signer_check(conn, actor, row)
        now = clinic.now()
        late = now > row["expires_at"]
        auth_store.decide_pending(conn, pending_id, "confirmed", int(actor.user_id or 0), now)
        clinic.audit(conn, actor, "pending.confirm", entity="pending",
                     entity_id=str(pending_id), patient_id=patient_id,
                     event_id=str(row["event_id"]),
                     detail=f"second signer confirmed the refill entered by user "
                            f"{row['proposed_by']}" + (" (after escalation)" if late else ""))
        found = event_store.get_event(conn, patient_id, str(row["event_id"]))
        return RefillOutcome("recorded", None,
                             event=stored_event(found) if found is not None else None)

    return clinic.run(actor, "pending.confirm", body, patient_id=patient_id, entity="pending",
                      entity_id=str(pending_id))


def reject_pending(clinic: Clinic, actor: Actor, pending_id: int, password: str | None, *,
                   reason: str, corrective_action: str) -> RefillOutcome:
    """A second signer rejects a recorded refill's concentration with a reason and the
    corrective action taken; the action is appended to the record as a note."""
    if not (reason or "").strip():
        raise InputError("a rejection needs its reason", where="reason",
                         fix="write what is wrong with the concentration or program")
    if not (corrective_action or "").strip():
        raise InputError("a rejection needs the corrective action taken", where="corrective_action",
                         fix="write what was done (e.g. pump emptied and refilled at 500 mcg/mL, "
                             "program corrected, physician informed)")

    patient_id = _second_signer(clinic, actor, pending_id, password, "pending.reject")

    def body(conn: Connection) -> RefillOutcome:
        row = _open_confirmation(conn, pending_id)
        patient = _second_signer_check(conn, actor, row)
        now = clinic.now()
        note = new_event(actor, now, Note, {
            "text": f"Concentration confirmation rejected ({row['payload'].get('summary', '')})."
                    f" Reason: {reason.strip()}. Corrective action: {corrective_action.strip()}",
            "reason": reason.strip()})
        stored = add_event(clinic, conn, actor, patient, note, int(patient["version"]),
                           action="pending.reject")
        auth_store.decide_pending(conn, pending_id, "rejected", int(actor.user_id or 0), now,
                                  reason=reason.strip(),
                                  corrective_action=corrective_action.strip())
        clinic.audit(conn, actor, "pending.reject", entity="pending",
                     entity_id=str(pending_id), patient_id=patient_id,
                     event_id=str(row["event_id"]), reason=reason.strip(),
                     detail=f"corrective action: {corrective_action.strip()}")
        return RefillOutcome("rejected", None, event=stored)

    return clinic.run(actor, "pending.reject", body, patient_id=patient_id, entity="pending",
                      entity_id=str(pending_id))


# ------------------------------------------------------------------ program change

def _program_event(actor: Actor, at: datetime, program: object, reason: str | None) -> Program:
    if not isinstance(program, dict):
        raise InputError("the program must be an object with a mode", where="program",
                         fix='e.g. {"mode": "continuous", "daily_dose": "300 mcg/day"}')
    allowed = {"mode", "daily_dose", "steps"}
    for key in program:
        if key not in allowed:
            raise InputError(f"unknown program field {key!r}", where=f"program.{key}",
                             fix="use mode, daily_dose or steps")
    return new_event(actor, at, Program, {**program, **({"reason": reason} if reason else {})},
                     prefix="program.")


def _step_multiple(value: object) -> float:
    """The site's absolute-step multiple (text or number), else the default."""
    try:
        multiple = float(value) if isinstance(value, str | int | float) else 0.0
    except ValueError:
        return ABSOLUTE_STEP_MULTIPLE
    return multiple if multiple >= 1 else ABSOLUTE_STEP_MULTIPLE


@dataclass(frozen=True)
class ProgramCheck:
    """A program change as the rules see it (:func:`thecal.clinical.program.assess_program_change`)
    on the record at ``version``; a proposal adds the token that confirms it (valid until
    ``expires_at``)."""

    patient_id: int
    version: int
    assessment: ProgramChangeAssessment
    confirmation_token: str | None = None
    expires_at: datetime | None = None

    # as_dict stays: the answer is the rule's own JSON (ProgramChangeAssessment.as_dict, the
    # CLI's too) with the token; declared by api.responses.ProgramProposalOut
    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"patient_id": self.patient_id, "version": self.version,
                                  **self.assessment.as_dict()}
        if self.confirmation_token is not None and self.expires_at is not None:
            out.update(confirmation_token=self.confirmation_token,
                       expires_at=self.expires_at.isoformat())
            if self.assessment.needs_reason and not self.assessment.new.reason:
                out["reason_required"] = ("outside the recommended range or titration step: "
                                          "a written reason is needed to confirm")
        return out


def _program_analysis(patient: Row, timeline: Timeline, event: Program,
                      settings: Mapping[str, object], *, refuse_absolute: bool = True,
                      concentration: float | None = None) -> ProgramChangeAssessment:
    """Load what the rule needs and ask it (``clinical.program.assess_program_change``).

    With ``refuse_absolute`` a total outside the absolute bounds raises (propose/confirm);
    without it the refusal comes back for display (the live check).
    """
    state = _pump_now(timeline, event.at, twin_settings(settings)).state
    conc = concentration if concentration is not None else state.concentration_mcg_per_ml
    old = _current_program(timeline)
    assessment = assess_program_change(
        old, event, concentration_mcg_per_ml=conc or None, etiology=str(patient["etiology"]),
        age_years=timeline.patient.age_years(event.at),
        hours_since_last_change=(event.at - old.at).total_seconds() / 3600 if old else None,
        absolute_step_multiple=_step_multiple(settings.get(ABSOLUTE_STEP_SETTING)))
    if assessment.decision == "refused" and refuse_absolute:
        if assessment.classification in (Classification.ABOVE_ABSOLUTE,
                                         Classification.BELOW_ABSOLUTE):
            raise InputError(f"a 24-hour total of "
                             f"{units.format_number(assessment.new_daily_total_mcg)} mcg/day is "
                             "outside the absolute daily-dose bounds", where="program.daily_dose",
                             fix=f"stay within {assessment.absolute_min_mcg:g}–"
                                 f"{assessment.absolute_max_mcg:g} mcg/day")
        raise InputError(assessment.refusal or "the titration rules refuse this change",
                         where="program.daily_dose",
                         fix="choose a smaller step, or wait until 24 h after the last change")
    return assessment


def check_program_change(clinic: Clinic, actor: Actor, patient_id: int, program: object, *,
                         concentration: str | None = None, at: datetime | None = None
                         ) -> ProgramCheck:
    """The live check of a program change: nothing is written (no pending row, no audit row).

    The assessment is what :func:`propose_program_change` shows (old/new with 24-hour totals,
    guardrail, titration, whether a reason is needed). A total beyond the absolute bounds
    comes back with ``decision`` ``refused`` and its ``refusal`` words, for display;
    :func:`propose_program_change` still refuses it. ``concentration`` (e.g.
    ``"2000 mcg/mL"``) gives the volumes at a refill's new drug.
    """
    conc = (_quantity(concentration, units.CONCENTRATION, "concentration")
            if concentration else None)
    # read only; only a refused access is audited (by Clinic.run), never an input mistake
    patient, timeline, settings = clinic.run(
        actor, "program.check", lambda conn: _load(conn, actor, authz.PROGRAM_CHECK, patient_id),
        patient_id=patient_id, entity="program")
    event = _program_event(actor, at or clinic.now(), program, None)
    project_new(timeline, event, event.at, "program.")
    return ProgramCheck(patient_id, int(patient["version"]), _program_analysis(
        patient, timeline, event, settings, refuse_absolute=False, concentration=conc))


def propose_program_change(clinic: Clinic, actor: Actor, patient_id: int, program: object,
                           expected_version: int, *, reason: str | None = None
                           ) -> ProgramCheck:
    """Old and new program side by side and a token to confirm it with (valid 15 min)."""
    def body(conn: Connection) -> ProgramCheck:
        patient, timeline, settings = _load(conn, actor, authz.PROGRAM_PROPOSE, patient_id)
        if int(patient["version"]) != expected_version:
            raise ConflictError("the record changed since you loaded it",
                                where="expected_version", fix="reload and try again")
        event = _program_event(actor, clinic.now(), program, reason)
        project_new(timeline, event, event.at, "program.")  # the twin accepts it
        assessment = _program_analysis(patient, timeline, event, settings)
        token = secrets.token_urlsafe(32)
        expires = clinic.now() + clinic.settings.pending_lifetime
        total = units.format_number(assessment.new_daily_total_mcg)
        pending_id = auth_store.insert_pending(
            conn, token_hash=token_hash(token), kind="program", patient_id=patient_id,
            proposed_by=int(actor.user_id or 0), expected_version=expected_version,
            payload={"event": event_to_dict(event), "needs_reason": assessment.needs_reason,
                     "needs_second_clinician": assessment.needs_second_clinician,
                     "summary": f"program change to {total} mcg/day in 24 h"},
            at=clinic.now(), expires_at=expires)
        clinic.audit(conn, actor, "program.propose", entity="pending",
                     entity_id=str(pending_id), patient_id=patient_id, field="program",
                     old_value=program_view(assessment.old),
                     new_value=program_view(assessment.new), reason=reason)
        return ProgramCheck(patient_id, expected_version, assessment, token, expires)

    return clinic.run(actor, "program.propose", body, patient_id=patient_id, entity="program")


@dataclass(frozen=True)
class ProgramConfirmed:
    """A confirmed program change: the stored event, and who co-signed a large step (the API's
    answer itself)."""

    event: StoredEvent
    co_signed_by: str | None = None
    status: str = "recorded"



def _co_signer(clinic: Clinic, actor: Actor, patient_id: int, username: str | None,
               password: str | None) -> Actor:
    """The second clinician who co-signs a step beyond the recommended titration step."""
    if not (username or "").strip():
        raise InputError("this step is beyond the recommended titration step: a second "
                         "clinician co-signs it", where="second_username",
                         fix="ask a colleague to enter their user name and password")
    try:
        user = authenticate_user(clinic, str(username).strip(), password or "", "co-sign")
    except (InputError, PermissionDeniedError):
        raise PermissionDeniedError("the second clinician's user name or password is wrong",
                                    where="second_password",
                                    fix="the second clinician enters their own password") from None
    signer = Actor.from_user(user, "session")

    def check(conn: Connection) -> None:
        patient = authz.patient_for(conn, signer, authz.READ, patient_id)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        refusal = second_signer_refusal(signer_id=signer.user_id, signer_role=signer.role,
                                        entered_by=actor.user_id,
                                        allowed_roles=second_signer_roles(site.get("settings")))
        if refusal is not None:
            raise PermissionDeniedError(refusal, where="second_username",
                                        fix="ask a colleague who may sign second")

    clinic.run(actor, "program.co-sign", check, patient_id=patient_id, entity="program")
    return signer


def confirm_program_change(clinic: Clinic, actor: Actor, patient_id: int,
                           confirmation_token: str, password: str | None, *,
                           reason: str | None = None, second_username: str | None = None,
                           second_password: str | None = None) -> ProgramConfirmed:
    """Append the proposed program after re-authentication (the proposer confirms); a step
    beyond the recommended titration step also needs a second clinician's co-signature."""
    def check(conn: Connection) -> Row:
        authz.patient_for(conn, actor, authz.PROGRAM_CONFIRM, patient_id)
        return auth_store.get_pending(conn, token_hash=token_hash(confirmation_token or "")) or {}

    proposal = clinic.run(actor, "program.confirm", check, patient_id=patient_id,
                          entity="program")
    _reauthenticate(clinic, actor, password, "program.confirm", patient_id)
    co_signer: Actor | None = None
    if (proposal.get("payload") or {}).get("needs_second_clinician"):
        try:
            co_signer = _co_signer(clinic, actor, patient_id, second_username, second_password)
        except (InputError, PermissionDeniedError) as exc:
            clinic.record_refusal(actor, "program.co-sign", exc, patient_id=patient_id)
            raise

    def body(conn: Connection) -> ProgramConfirmed:
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
        detail = "confirmed with password"
        if co_signer is not None:
            detail += f"; co-signed by {co_signer.username} (step beyond the recommended step)"
        stored = add_event(clinic, conn, actor, patient, event, int(row["expected_version"]),
                           action="program.confirm", detail=detail)
        auth_store.decide_pending(conn, int(row["id"]), "confirmed", int(actor.user_id or 0),
                                  clinic.now())
        return ProgramConfirmed(stored, (co_signer.display_name or co_signer.username)
                                if co_signer is not None else None)

    return clinic.run(actor, "program.confirm", body, patient_id=patient_id, entity="program")
