"""The care team: roles, what each is responsible for, and the permissions that follow.

Data for the clinic application (``service/`` enforces it). Permissions follow least privilege
(ASVS V4.1) and two-person checks for concentration changes (ISMP practice; PR-5): whoever
enters a concentration change may not also verify it. The administrator manages accounts but
reads no clinical record. Physicians carry a specialty; a general practitioner (``gp``) reads
and reports but does not program or sign pump prescriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from thecal.errors import InputError
from thecal.sources import check_source

PERMISSIONS: Final[dict[str, str]] = {
    "record.read-own": "read one's own record, refill dates and advice",
    "record.read-linked": "read the record of a patient one cares for",
    "record.read-clinic": "read the records of the clinic's patients",
    "symptoms.report": "report symptoms and answer check-ins",
    "triage.view": "see triage results and advice",
    "assessment.record": "record assessments (Ashworth, Penn)",
    "refill.record": "record a refill (withdrawn, added, concentration)",
    "program.propose": "propose a program change",
    "program.sign": "sign a program change or prescription",
    "concentration.verify": "second-person check of a concentration or dose entry",
    "prescription.dispense": "prepare and dispense the drug",
    "surgery.record": "record implant, revision, replacement or explant",
    "eligibility.assess": "assess eligibility and screening",
    "users.manage": "create and disable accounts, assign roles",
    "audit.read": "read the audit trail",
}

PHYSICIAN_SPECIALTIES: Final = ("neurologist", "rehabilitation", "gp")


@dataclass(frozen=True)
class Role:
    code: str
    title: str
    responsibilities: tuple[str, ...]
    permissions: frozenset[str]
    source: str = "ASSUMED"

    def __post_init__(self) -> None:
        check_source(self.source)
        unknown = self.permissions - PERMISSIONS.keys()
        if unknown:
            raise ValueError(f"role {self.code}: unknown permissions {sorted(unknown)}")

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "title": self.title,
                "responsibilities": list(self.responsibilities),
                "permissions": sorted(self.permissions), "source": self.source}


_CLINICAL_READ = frozenset({"record.read-clinic", "triage.view"})

ROLES: Final[dict[str, Role]] = {r.code: r for r in (
    Role("patient", "Patient",
         ("keep refill appointments and know the refill and alarm dates",
          "report symptoms early, especially returning stiffness, itching, fever",
          "carry the pump card; tell every doctor and the MRI department about the pump"),
         frozenset({"record.read-own", "symptoms.report", "triage.view"}), "B-DOSE"),
    Role("caregiver", "Caregiver",
         ("watch for withdrawal and overdose signs, especially if the patient cannot "
          "easily communicate", "help keep refill appointments", "call for help early"),
         frozenset({"record.read-linked", "symptoms.report", "triage.view"}), "FDA-LAB"),
    Role("physician", "Physician (neurologist or rehabilitation physician)",
         ("decide eligibility and run the screening trial", "prescribe the drug and dose",
          "titrate within the step limits and sign program changes",
          "lead the troubleshooting work-up"),
         _CLINICAL_READ | {"assessment.record", "program.propose", "program.sign",
                           "concentration.verify", "eligibility.assess", "refill.record"},
         "B-DOSE"),
    Role("surgeon", "Surgeon",
         ("implant, revise, replace and explant the pump and catheter",
          "wound and pocket care; manage infection and CSF leak"),
         _CLINICAL_READ | {"surgery.record", "assessment.record", "eligibility.assess"},
         "B-TROUBLE"),
    Role("itb-nurse", "ITB nurse",
         ("refill the pump and compare the withdrawn residual with the expected one",
          "program changes as ordered, with a second-person check of concentration",
          "teach the patient and carers; first contact for symptoms and alarms"),
         _CLINICAL_READ | {"refill.record", "program.propose", "assessment.record",
                           "concentration.verify"}, "SSN"),
    Role("pharmacist", "Pharmacist",
         ("prepare and check the drug and concentration",
          "second-person check of concentration and dose entries"),
         _CLINICAL_READ | {"prescription.dispense", "concentration.verify"}, "ISMP"),
    Role("administrator", "Administrator",
         ("manage accounts and roles", "review the audit trail"),
         frozenset({"users.manage", "audit.read"}), "ASVS"),
)}

_GP_PERMISSIONS: Final = _CLINICAL_READ | {"assessment.record"}


def permissions_for(role: str, specialty: str | None = None) -> frozenset[str]:
    """The permissions of ``role`` (and, for a physician, ``specialty``)."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", fix="use one of: " + ", ".join(ROLES))
    if specialty is not None:
        if role != "physician":
            raise InputError(f"only physicians have a specialty, not {role!r}",
                             fix="leave the specialty out")
        if specialty not in PHYSICIAN_SPECIALTIES:
            raise InputError(f"unknown specialty {specialty!r}",
                             fix="use one of: " + ", ".join(PHYSICIAN_SPECIALTIES))
        if specialty == "gp":
            return _GP_PERMISSIONS
    return ROLES[role].permissions


def may(role: str, permission: str, specialty: str | None = None) -> bool:
    """Whether ``role`` holds ``permission`` (deny by default)."""
    if permission not in PERMISSIONS:
        raise InputError(f"unknown permission {permission!r}",
                         fix="use one of: " + ", ".join(PERMISSIONS))
    return permission in permissions_for(role, specialty)
