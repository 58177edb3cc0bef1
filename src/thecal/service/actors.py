"""Who is acting: the :class:`Actor` every use case receives, and the roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

ROLES: Final = ("clinician", "nurse", "patient", "caregiver", "administrator", "pharmacist")
STAFF_ROLES: Final = frozenset({"clinician", "nurse", "pharmacist"})


@dataclass(frozen=True)
class Actor:
    """An authenticated person (or ``system`` for bootstrap work)."""

    user_id: int | None
    username: str
    role: str
    display_name: str = ""
    site_id: int | None = None
    patient_id: int | None = None  # the patient record of a ``patient`` user
    via: str = "session"  # "session", "token" or "system"

    @classmethod
    def from_user(cls, user: dict[str, Any], via: str) -> Actor:
        return cls(user_id=int(user["id"]), username=str(user["username"]),
                   role=str(user["role"]), display_name=str(user.get("display_name") or ""),
                   site_id=user.get("site_id"), patient_id=user.get("patient_id"), via=via)

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username, "role": self.role,
                "display_name": self.display_name, "site_id": self.site_id,
                "patient_id": self.patient_id}


SYSTEM: Final = Actor(user_id=None, username="system", role="system", via="system")
