"""Request bodies of the JSON API (pydantic; unknown fields are refused).

Quantities are text with units (``"38 mL"``, ``"2000 mcg/mL"``); the service parses them
strictly and answers 422 naming the field when one is ambiguous or of the wrong dimension.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)


class TokenBody(LoginBody):
    name: str = Field(default="api", min_length=1, max_length=100)


class PatientBody(Body):
    mrn: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=200)
    born: str = Field(examples=["1979-04-02"])
    sex: Literal["female", "male", "other"] | None = None
    weight_kg: float | None = None
    timezone: str = Field(examples=["Europe/Berlin"])
    etiology: str = Field(examples=["multiple-sclerosis"])


class AppendBody(Body):
    event: dict[str, Any] = Field(examples=[{"at": "2026-03-01T09:00:00+01:00",
                                             "type": "note", "text": "phone call"}])
    expected_version: int = Field(ge=0)


class RefillBody(Body):
    """A refill is a measurement: ``withdrawn`` is what was drained (all that was left)."""

    withdrawn: str = Field(examples=["11.8 mL"])
    added: str = Field(examples=["38 mL"])
    concentration: str = Field(examples=["2000 mcg/mL"])
    aspiration: Literal["complete", "incomplete"] = Field(
        default="complete", description="incomplete: the reservoir could not be drained")
    estimated_residual: str | None = Field(
        default=None, examples=["2 mL"],
        description="with an incomplete aspiration: what is estimated to stay in the reservoir")
    lot: str | None = Field(default=None, max_length=100, examples=["LB2093"],
                            description="the drug's lot number (required to record)")
    expiry: str | None = Field(default=None, max_length=20, examples=["2027-06-30"],
                               description="the drug's expiry date (required to record)")
    compounded: bool = Field(default=False,
                             description="a compounded preparation (strength = concentration)")
    pharmacy: str | None = Field(default=None, max_length=200, examples=["St Mary's pharmacy"],
                                 description="the compounding pharmacy (compounded only)")


class InterrogationBody(Body):
    """The pump's own readings at an interrogation (each optional; a measurement)."""

    expected_version: int = Field(ge=0)
    reservoir: str | None = Field(default=None, examples=["3 mL"])
    daily_dose: str | None = Field(default=None, examples=["300 mcg/day"])
    concentration: str | None = Field(default=None, examples=["500 mcg/mL"])
    alarms: list[str] = Field(default_factory=list, examples=[["low-reservoir"]])
    alarm_date: str | None = Field(default=None, examples=["2026-03-01T09:00:00+01:00"])
    battery: Literal["ok", "eri", "eos"] | None = None
    pump_state: Literal["running", "stopped", "stalled"] | None = None


class RefillRecordBody(RefillBody):
    expected_version: int = Field(ge=0)
    password: str | None = Field(default=None, max_length=256)
    reason: str | None = Field(default=None, max_length=2000)
    performed_at: datetime | None = Field(
        default=None, examples=["2026-12-01T09:30:00+01:00"],
        description="a late entry: when the refill was done (the entry time is kept beside it)")
    bridge_bolus: bool = Field(
        default=False,
        description="the bridge bolus this concentration change needs was programmed with the "
                    "refill: a `bolus` event (`kind: bridge`, same time, same person) is recorded "
                    "in the same transaction (`bridge_bolus_event` in the answer); refused when "
                    "the concentration does not change. A bolus given later is appended as its "
                    "own event (`POST …/timeline`)")


class ConfirmBody(Body):
    password: str = Field(min_length=1, max_length=256)


class RejectBody(Body):
    password: str = Field(min_length=1, max_length=256)
    reason: str = Field(min_length=1, max_length=2000)
    corrective_action: str = Field(min_length=1, max_length=2000)


class ProgramProposalBody(Body):
    program: dict[str, Any] = Field(examples=[{"mode": "continuous",
                                               "daily_dose": "300 mcg/day"}])
    expected_version: int = Field(ge=0)
    reason: str | None = Field(default=None, max_length=2000)


class ProgramConfirmBody(Body):
    confirmation_token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=256)
    reason: str | None = Field(default=None, max_length=2000)
    second_username: str | None = Field(
        default=None, max_length=100,
        description="a step beyond the recommended titration step: the co-signing clinician")
    second_password: str | None = Field(default=None, max_length=256)


class AssessmentBody(Body):
    expected_version: int = Field(ge=0)
    mas: str | None = Field(default=None, examples=["1+"],
                            description="the overall grade; left out with mas_by_muscle: the "
                                        "highest group grade")
    mas_by_muscle: dict[str, str] | None = Field(
        default=None, examples=[{"hip-adductors-left": "2", "knee-extensors-right": "1+"}],
        description="the Modified Ashworth grade per muscle group examined: the timeline's "
                    "groups (muscle-left / muscle-right, docs/events.md), grades 0, 1, 1+, 2, 3, "
                    "4 as text")
    penn_frequency: int | None = None
    penn_severity: int | None = None
    notes: str | None = Field(default=None, max_length=4000)


class SymptomsBody(Body):
    codes: list[str] = Field(min_length=1, examples=[["itching", "increased-spasticity"]])
    modifiers: list[str] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=2000)
    expected_version: int | None = Field(default=None, ge=0)


class TitrationBody(Body):
    report: Literal["too-tight", "about-right", "too-loose"]
    side_effects: list[str] = Field(default_factory=list)


class ScreeningBody(Body):
    small_patient: bool = False
    first_dose_at: str | None = None


class SiteBody(Body):
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, bool | str] = Field(default_factory=dict)


class SiteSettingsBody(Body):
    settings: dict[str, bool | str]


class UserBody(Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=12, max_length=128)
    role: Literal["clinician", "nurse", "patient", "caregiver", "administrator", "pharmacist"]
    site_id: int | None = None
    display_name: str | None = Field(default=None, max_length=200)
    patient_id: int | None = None


class CaregiverLinkBody(Body):
    caregiver_user_id: int
    patient_id: int


class CareTeamBody(Body):
    user_id: int
    team_role: str = Field(examples=["physician"])
