"""Who is acting: the :class:`Actor` every use case receives, the :class:`Login` it signs in
with, and the roles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import Field

from thecal.store.records import Row

ROLES: Final = ("clinician", "nurse", "patient", "caregiver", "administrator", "pharmacist")
STAFF_ROLES: Final = frozenset({"clinician", "nurse", "pharmacist"})


@dataclass(frozen=True)
class Actor:
    """An authenticated person (or ``system`` for bootstrap work); the API's ``/me``."""

    user_id: int | None
    username: str
    role: str
    display_name: str = ""
    site_id: int | None = None
    patient_id: int | None = None  # the patient record of a ``patient`` user
    # "session", "token" or "system": how this request was signed in (not in its JSON)
    via: Annotated[str, Field(exclude=True)] = "session"

    @classmethod
    def from_user(cls, user: Row, via: str) -> Actor:
        return Login.of(user).actor(via)


@dataclass(frozen=True)
class Login:
    """A login as its site's administrator sees it (never its password hash)."""

    id: int
    username: str
    display_name: str | None
    role: str
    site_id: int | None
    patient_id: int | None
    active: bool

    @classmethod
    def of(cls, row: Row) -> Login:
        return cls(int(row["id"]), str(row["username"]), row.get("display_name"), str(row["role"]),
                   row.get("site_id"), row.get("patient_id"), bool(row.get("active", True)))

    def actor(self, via: str) -> Actor:
        return Actor(self.id, self.username, self.role, self.display_name or "", self.site_id,
                     self.patient_id, via)


SYSTEM: Final = Actor(user_id=None, username="system", role="system", via="system")
