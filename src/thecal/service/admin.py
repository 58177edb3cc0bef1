"""Administration: sites and their settings, users, caregiver links, care-team membership,
and de-provisioning (deactivate a user, revoke their tokens, unlink, take off a care team).

An administrator manages users and settings of the site it belongs to, and nothing else: a
user, patient, caregiver link, care team or site of another site answers as if it did not
exist (404), and the refusal is audited. New sites and cross-site work are done on the server
by ``thecal admin ...`` (acting as ``system``, audited like everything else). An administrator
is not a clinician: these use cases give no access to patient records. ``bootstrap_*``
functions act as ``system`` for the first administrator, the demo and tests.

Deactivating a user ends their sessions and API tokens in the same transaction; every later
request with them answers 401.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from thecal.clinical.care_team import ROLES as CARE_TEAM_ROLES
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError, ThecalError
from thecal.service import authz, passwords
from thecal.service.actors import ROLES, STAFF_ROLES, SYSTEM, Actor, Login
from thecal.service.clinic import Clinic
from thecal.service.twin import twin_settings
from thecal.store import access, records
from thecal.store.records import Row
from thecal.units import DURATION, VOLUME, parse_quantity

if TYPE_CHECKING:
    from thecal.service.patients import Patient

SiteSettings = dict[str, bool | str]  # the keys of SITE_SETTINGS

SITE_SETTINGS: Final[SiteSettings] = {
    # a concentration change needs a second clinician's confirmation (off by default)
    "require_second_clinician_for_concentration_change": False,
    # shown to patients (home page, implant card, calendar entries)
    "clinic_phone": "",
    "clinic_location": "",
    # the clinic's local time (IANA): the clinic pages show every date and time in it
    "timezone": "UTC",
    # the emergency number every piece of advice shows as a tel: link (patient pages, triage
    # answers, printouts, e-mails): digits, "+" and spaces; 112 is the EU-wide number (set 911,
    # 999, 000 … where the clinic is)
    "emergency_number": "112",
    # the address people reach this server at (https://itb.example-hospital.org): the base of
    # the links in e-mails; empty: the e-mails give the path and where to find it
    "public_url": "",
    # who is on call for emergency cases: a site rota, changed at each hand-over (a login's
    # username: the case lands in the inbox under their name; and an address for the e-mail,
    # which an overdue pending confirmation is escalated to as well)
    "on_call_user": "",
    "on_call_email": "",
    # the patient's calendar feed: reminders this many days before the refill-due date and
    # each booked appointment (comma-separated whole days, thecal.service.calendar)
    "calendar_reminder_days": "7,1",
    # issue 11: who may sign second (comma-separated roles: clinician = physician, nurse =
    # ITB nurse, pharmacist) and the absolute titration step as a multiple of the recommended
    # one (thecal.clinical.program)
    "second_signer_roles": "clinician, nurse",
    "titration_absolute_step_multiple": "2",
    # patients (and caregivers) may choose their own refill slot within their window
    "patients_choose_slot": False,
    # the twin (docs/twin.md): how long a SynchroMed waits after an MRI before delivering
    # again ("2 h"; "worst" = the longest reported, 24 h, M-MRI), and the reservoir volume
    # below which delivery is treated as unreliable ("4 mL", NSURG04); empty: the catalog's
    "synchromed_mri_resume_delay_h": "",
    "delivery_unreliable_below_ml": "",
}
# The roles a member of staff holds on a patient's care team: the clinical vocabulary
# (thecal.clinical.care_team), less the roles that are not clinical staff.
TEAM_ROLES: Final = tuple(code for code in CARE_TEAM_ROLES
                          if code not in ("patient", "caregiver", "administrator"))
# Care-team roles stored before the service used the clinical vocabulary, and what they are now.
LEGACY_TEAM_ROLES: Final = {"nurse": "itb-nurse"}


@dataclass(frozen=True)
class Site:
    id: int
    name: str
    settings: SiteSettings

    @classmethod
    def of(cls, row: Row) -> Site:
        return cls(int(row["id"]), str(row["name"]), dict(row["settings"]))


@dataclass(frozen=True)
class AccessEnded:
    """A login switched off or on, or its sessions and tokens ended (``active`` None: unchanged)."""

    user_id: int
    active: bool | None = None
    sessions_ended: int = 0
    tokens_revoked: int = 0


def _own_site(actor: Actor, site_id: int | None, what: str, where: str) -> None:
    """An administrator acts on its own site only (404, as if the thing did not exist)."""
    if actor.role == "system":
        return
    if actor.site_id is None or site_id is None or int(site_id) != int(actor.site_id):
        raise NotFoundError(f"{what} not found", where=where,
                            fix="administrators manage their own site; ask the server's "
                                "operator (thecal admin ...) for another site")


def _user_in_reach(conn: Connection, actor: Actor, user_id: int, where: str = "user_id") -> Row:
    user = records.get_user(conn, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found", where=where)
    site = user.get("site_id")
    if site is None and actor.role != "system":
        # a login made before logins had a site: the site of its patient(s)
        patient_ids = ([user["patient_id"]] if user.get("patient_id") is not None
                       else records.linked_patient_ids(conn, int(user_id)))
        sites = {int(p["site_id"]) for p in map(lambda i: records.get_patient(conn, int(i)),
                                                patient_ids) if p is not None}
        site = actor.site_id if actor.site_id is not None and int(actor.site_id) in sites \
            else None
    _own_site(actor, site, f"user {user_id}", where)
    return user


def _patient_in_reach(conn: Connection, actor: Actor, patient_id: int) -> Row:
    patient = records.get_patient(conn, patient_id)
    if patient is None:
        raise NotFoundError(f"patient {patient_id} not found", where="patient_id")
    _own_site(actor, patient["site_id"], f"patient {patient_id}", "patient_id")
    return patient


TWIN_SETTING_KINDS: Final = {"synchromed_mri_resume_delay_h": DURATION,
                              "delivery_unreliable_below_ml": VOLUME}


def _check_settings(settings: Mapping[str, object] | None) -> SiteSettings:
    merged = dict(SITE_SETTINGS)
    for key, value in (settings or {}).items():
        if key not in SITE_SETTINGS:
            raise InputError(f"unknown site setting {key!r}", where=f"settings.{key}",
                             fix=f"use: {', '.join(SITE_SETTINGS)}")
        if isinstance(SITE_SETTINGS[key], bool):
            if not isinstance(value, bool):
                raise InputError(f"{key} must be true or false", where=f"settings.{key}")
        elif not isinstance(value, str) or len(value) > 200:
            raise InputError(f"{key} must be text of at most 200 characters",
                             where=f"settings.{key}")
        elif any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            # these reach calendar files and headers: a CR or LF would start a new line there
            raise InputError(f"{key} must be one line without control characters",
                             where=f"settings.{key}", fix="remove line breaks and tabs")
        elif key == "timezone":
            value = check_timezone(value, where=f"settings.{key}")
        elif key == "emergency_number":
            value = check_phone_number(value, where=f"settings.{key}")
        elif key == "public_url":
            value = check_public_url(value, where=f"settings.{key}")
        elif key == "calendar_reminder_days":
            from thecal.service.calendar import parse_reminder_days

            value = ",".join(str(d) for d in parse_reminder_days(value, where=f"settings.{key}"))
        elif key == "second_signer_roles":
            roles = [r.strip() for r in value.split(",") if r.strip()]
            if not roles or any(r not in STAFF_ROLES for r in roles):
                raise InputError(f"{value!r} must list staff roles", where=f"settings.{key}",
                                 fix=f"e.g. 'clinician, nurse' (from {', '.join(sorted(STAFF_ROLES))})")
        elif key == "titration_absolute_step_multiple":
            try:
                ok = 1.0 <= float(value) <= 10.0
            except ValueError:
                ok = False
            if not ok:
                raise InputError(f"{value!r} must be a number from 1 to 10",
                                 where=f"settings.{key}", fix="e.g. 2 (twice the recommended step)")
        elif key in TWIN_SETTING_KINDS and value and value != "worst":
            kind = TWIN_SETTING_KINDS[key]
            try:
                parse_quantity(value, kind)
            except ThecalError as exc:
                raise InputError(exc.message, where=f"settings.{key}",
                                 fix=f"write e.g. {kind.example}"
                                 + (' or "worst"' if kind is DURATION else "")) from None
        merged[key] = value
    return merged


def check_timezone(name: str, *, where: str = "timezone") -> str:
    """``name`` if it is an IANA time zone this system knows (e.g. ``Europe/Berlin``)."""
    text = name.strip()
    try:
        if not text or text != name:
            raise ValueError(name)
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{name!r} is not an IANA time zone", where=where,
                         fix="write e.g. Europe/Berlin or UTC") from None
    return text


def check_phone_number(value: str, *, where: str = "emergency_number") -> str:
    """A number to dial: digits, a leading "+" and spaces (e.g. ``112``, ``+44 999``); nothing
    else, so no line break can reach a calendar file, an e-mail or a ``tel:`` link."""
    text = value.strip(" ")
    if not re.fullmatch(r"\+?[0-9][0-9 ]{0,29}", text):
        raise InputError(f"{value!r} is not a number to dial", where=where,
                         fix="digits, a leading + and spaces only, e.g. 112 or 911")
    return text


def check_public_url(value: str, *, where: str = "public_url") -> str:
    """The server's public address, ``http(s)://host[:port][/path]`` (no query, fragment,
    user or space), kept without a trailing slash; empty: none."""
    text = value.strip(" ")
    if not text:
        return ""
    parts = urlsplit(text)
    try:
        port_ok = parts.port is not None or ":" not in parts.netloc
    except ValueError:
        port_ok = False
    if (parts.scheme not in ("http", "https") or not parts.hostname or not port_ok
            or not re.fullmatch(r"https?://[A-Za-z0-9.:/_~%-]+", text)):
        raise InputError(f"{value!r} is not a web address of this server", where=where,
                         fix="write e.g. https://itb.example-hospital.org (http or https, no "
                             "query)")
    return text.rstrip("/")


def site_link(settings: Mapping[str, object] | None, path: str) -> str:
    """``path`` on this server as people reach it: the site's ``public_url`` + ``path``, or the
    path alone when the site has none."""
    return str((settings or {}).get("public_url") or "").rstrip("/") + path


def site_timezone(settings: Mapping[str, object] | None) -> str:
    """The site's ``timezone`` setting (UTC for a site stored before the setting existed)."""
    return str((settings or {}).get("timezone") or SITE_SETTINGS["timezone"])


def create_site(clinic: Clinic, actor: Actor, name: str,
                settings: Mapping[str, object] | None = None) -> Site:
    def body(conn: Connection) -> Site:
        if not authz.allowed(actor, authz.SITE_CREATE):
            raise PermissionDeniedError("a new site is made on the server",
                                        fix="run: thecal admin site-create NAME")
        if not isinstance(name, str) or not name.strip():
            raise InputError("a site needs a name", where="name")
        if records.site_by_name(conn, name.strip()) is not None:
            raise ConflictError(f"a site named {name!r} exists", where="name")
        site = Site.of(records.insert_site(conn, name.strip(), _check_settings(settings),
                                           clinic.now()))
        clinic.audit(conn, actor, "site.create", entity="site", entity_id=str(site.id),
                     new_value={"id": site.id, "name": site.name, "settings": site.settings})
        return site

    return clinic.run(actor, "site.create", body, entity="site")


def update_site_settings(clinic: Clinic, actor: Actor, site_id: int,
                         settings: Mapping[str, object]) -> Site:
    def body(conn: Connection) -> Site:
        authz.require(actor, authz.SITES_MANAGE)
        _own_site(actor, site_id, f"site {site_id}", "site_id")
        site = records.get_site(conn, site_id)
        if site is None:
            raise NotFoundError(f"site {site_id} not found", where="site_id")
        new = {**site["settings"], **_check_settings({**site["settings"], **settings})}
        records.update_site_settings(conn, site_id, new)
        clinic.audit(conn, actor, "site.settings", entity="site", entity_id=str(site_id),
                     field="settings", old_value=site["settings"], new_value=new)
        if twin_settings(new) != twin_settings(site["settings"]):
            from thecal.service.patients import resummarise_site

            count = resummarise_site(conn, site_id, clinic.now())
            clinic.audit(conn, actor, "site.settings", entity="site", entity_id=str(site_id),
                         field="projections", detail=f"the worklist summaries of {count} "
                         "patients projected again under the new twin settings")
        return Site(int(site_id), str(site["name"]), new)

    return clinic.run(actor, "site.settings", body, entity="site", entity_id=str(site_id))


def create_user(clinic: Clinic, actor: Actor, *, username: str, password: str, role: str,
                site_id: int | None = None, display_name: str | None = None,
                patient_id: int | None = None) -> Login:
    """Create a login. A ``patient`` user is linked to their patient record.

    An administrator creates logins of its own site only (each login it makes belongs to that
    site, so its user list shows everything it created)."""
    def body(conn: Connection) -> Login:
        authz.require(actor, authz.USERS_MANAGE)
        if not isinstance(username, str) or not username.strip() or len(username) > 100:
            raise InputError("a user name is 1–100 characters", where="username")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in username):
            raise InputError("a user name has no control characters", where="username")
        site = site_id
        if actor.role != "system":
            site = actor.site_id if site_id is None else site_id
            _own_site(actor, site, f"site {site_id}", "site_id")
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}", where="role",
                             fix=f"use one of: {', '.join(ROLES)}")
        if records.user_by_name(conn, username) is not None:
            raise ConflictError(f"user name {username!r} is taken", where="username")
        if site is not None and records.get_site(conn, site) is None:
            raise InputError(f"site {site} does not exist", where="site_id")
        if role == "patient":
            patient = records.get_patient(conn, patient_id) if patient_id is not None else None
            if patient is None:
                raise InputError("a patient login needs the patient's record",
                                 where="patient_id")
            _own_site(actor, patient["site_id"], f"patient {patient_id}", "patient_id")
        elif patient_id is not None:
            raise InputError("only a patient login is linked to a patient record",
                             where="patient_id")
        if role in ("clinician", "nurse", "pharmacist") and site is None:
            raise InputError(f"a {role} belongs to a site", where="site_id")
        row = records.insert_user(conn, username=username, role=role,
                                  display_name=display_name or username,
                                  password_hash=passwords.hash_password(
                                      password, username=username, display_name=display_name),
                                  at=clinic.now(), site_id=site, patient_id=patient_id)
        clinic.audit(conn, actor, "user.create", entity="user", entity_id=str(row["id"]),
                     patient_id=patient_id, new_value={"username": username, "role": role,
                                                       "site_id": site})
        return Login.of(row)

    return clinic.run(actor, "user.create", body, entity="user")


def list_users(clinic: Clinic, actor: Actor) -> list[Login]:
    def body(conn: Connection) -> list[Login]:
        authz.require(actor, authz.USERS_MANAGE)
        rows = records.list_users(conn, None if actor.role == "system" else actor.site_id)
        clinic.audit(conn, actor, "user.list", entity="user", detail=f"{len(rows)} users")
        return [Login.of(r) for r in rows]

    return clinic.run(actor, "user.list", body, entity="user")


def link_caregiver(clinic: Clinic, actor: Actor, caregiver_user_id: int, patient_id: int
                   ) -> None:
    def body(conn: Connection) -> None:
        authz.require(actor, authz.USERS_MANAGE)
        _patient_in_reach(conn, actor, patient_id)
        user = records.get_user(conn, caregiver_user_id)
        if user is not None and user.get("site_id") is not None:
            _own_site(actor, user["site_id"], f"user {caregiver_user_id}", "caregiver_user_id")
        if user is None or user["role"] != "caregiver":
            raise InputError("link a caregiver login", where="caregiver_user_id")
        if records.caregiver_linked(conn, caregiver_user_id, patient_id):
            return
        records.link_caregiver(conn, caregiver_user_id, patient_id, clinic.now())
        clinic.audit(conn, actor, "caregiver.link", entity="user",
                     entity_id=str(caregiver_user_id), patient_id=patient_id)

    clinic.run(actor, "caregiver.link", body, patient_id=patient_id, entity="user")


def _care_team_in_reach(conn: Connection, actor: Actor, patient_id: int) -> None:
    """A clinician manages the teams of its patients, an administrator those of its site."""
    authz.require(actor, authz.CARE_TEAM_MANAGE)
    if actor.role == "clinician":
        authz.patient_for(conn, actor, authz.CARE_TEAM_MANAGE, patient_id)
    elif actor.role == "administrator":
        _patient_in_reach(conn, actor, patient_id)


def add_care_team_member(clinic: Clinic, actor: Actor, patient_id: int, user_id: int,
                         team_role: str) -> None:
    """Put a clinician, nurse or pharmacist on a patient's care team."""
    def body(conn: Connection) -> None:
        _care_team_in_reach(conn, actor, patient_id)
        if actor.role == "administrator":
            _user_in_reach(conn, actor, user_id)
        if team_role not in TEAM_ROLES:
            raise InputError(f"unknown team role {team_role!r}", where="team_role",
                             fix=f"use one of: {', '.join(TEAM_ROLES)}")
        user = records.get_user(conn, user_id)
        if user is None or user["role"] not in ("clinician", "nurse", "pharmacist"):
            raise InputError("only clinicians, nurses and pharmacists join a care team",
                             where="user_id")
        if records.get_patient(conn, patient_id) is None:
            raise NotFoundError(f"patient {patient_id} not found", where="patient_id")
        if records.in_care_team(conn, patient_id, user_id):
            return
        records.add_care_team(conn, patient_id, user_id, team_role, clinic.now())
        clinic.audit(conn, actor, "care-team.add", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="care_team",
                     new_value={"user_id": user_id, "team_role": team_role})

    clinic.run(actor, "care-team.add", body, patient_id=patient_id, entity="care_team")


# ------------------------------------------------------------------ de-provisioning

def deactivate_user(clinic: Clinic, actor: Actor, user_id: int, *,
                    reason: str | None = None) -> AccessEnded:
    """Switch a login off: it cannot sign in, and its sessions and tokens end now."""
    def body(conn: Connection) -> AccessEnded:
        authz.require(actor, authz.USERS_MANAGE)
        user = _user_in_reach(conn, actor, user_id)
        if actor.user_id is not None and int(user_id) == int(actor.user_id):
            raise InputError("you cannot deactivate your own login", where="user_id",
                             fix="ask another administrator")
        now = clinic.now()
        access.set_user_active(conn, user_id, False)
        ended = access.revoke_user_sessions(conn, user_id, now)
        revoked = access.revoke_user_tokens(conn, user_id, now)
        clinic.audit(conn, actor, "user.deactivate", entity="user", entity_id=str(user_id),
                     field="active", old_value=bool(user["active"]), new_value=False,
                     reason=reason, detail=f"{ended} sessions ended, {revoked} tokens revoked")
        return AccessEnded(user_id, False, ended, revoked)

    return clinic.run(actor, "user.deactivate", body, entity="user", entity_id=str(user_id))


def reactivate_user(clinic: Clinic, actor: Actor, user_id: int) -> AccessEnded:
    def body(conn: Connection) -> AccessEnded:
        authz.require(actor, authz.USERS_MANAGE)
        user = _user_in_reach(conn, actor, user_id)
        access.set_user_active(conn, user_id, True)
        clinic.audit(conn, actor, "user.reactivate", entity="user", entity_id=str(user_id),
                     field="active", old_value=bool(user["active"]), new_value=True)
        return AccessEnded(user_id, True)

    return clinic.run(actor, "user.reactivate", body, entity="user", entity_id=str(user_id))


def revoke_user_tokens(clinic: Clinic, actor: Actor, user_id: int) -> AccessEnded:
    """End every API token and session of a user (e.g. a lost laptop); the login stays."""
    def body(conn: Connection) -> AccessEnded:
        if actor.user_id is None or int(user_id) != int(actor.user_id):
            authz.require(actor, authz.USERS_MANAGE)
            _user_in_reach(conn, actor, user_id)
        now = clinic.now()
        revoked = access.revoke_user_tokens(conn, user_id, now)
        ended = access.revoke_user_sessions(conn, user_id, now)
        clinic.audit(conn, actor, "token.revoke-all", entity="user", entity_id=str(user_id),
                     detail=f"{ended} sessions ended, {revoked} tokens revoked")
        return AccessEnded(user_id, None, ended, revoked)

    return clinic.run(actor, "token.revoke-all", body, entity="user", entity_id=str(user_id))


def unlink_caregiver(clinic: Clinic, actor: Actor, caregiver_user_id: int, patient_id: int
                     ) -> None:
    def body(conn: Connection) -> None:
        authz.require(actor, authz.USERS_MANAGE)
        _patient_in_reach(conn, actor, patient_id)
        if not access.unlink_caregiver(conn, caregiver_user_id, patient_id):
            raise NotFoundError("no such caregiver link", where="caregiver_user_id")
        clinic.audit(conn, actor, "caregiver.unlink", entity="user",
                     entity_id=str(caregiver_user_id), patient_id=patient_id)

    clinic.run(actor, "caregiver.unlink", body, patient_id=patient_id, entity="user")


def remove_care_team_member(clinic: Clinic, actor: Actor, patient_id: int, user_id: int
                            ) -> None:
    def body(conn: Connection) -> None:
        _care_team_in_reach(conn, actor, patient_id)
        if not access.remove_care_team(conn, patient_id, user_id):
            raise NotFoundError(f"user {user_id} is not on this care team", where="user_id")
        clinic.audit(conn, actor, "care-team.remove", entity="patient",
                     entity_id=str(patient_id), patient_id=patient_id, field="care_team",
                     old_value={"user_id": user_id})

    clinic.run(actor, "care-team.remove", body, patient_id=patient_id, entity="care_team")


# ------------------------------------------------------------------ bootstrap (system)

def bootstrap_site(clinic: Clinic, name: str, settings: Mapping[str, object] | None = None
                   ) -> Site:
    return create_site(clinic, SYSTEM, name, settings)


def bootstrap_user(clinic: Clinic, *, username: str, password: str, role: str,
                   site_id: int | None = None, display_name: str | None = None,
                   patient_id: int | None = None) -> Login:
    return create_user(clinic, SYSTEM, username=username, password=password, role=role,
                       site_id=site_id, display_name=display_name, patient_id=patient_id)


def bootstrap_patient(clinic: Clinic, site_id: int, data: Mapping[str, object]) -> Patient:
    from thecal.service.patients import register_patient

    return register_patient(clinic, SYSTEM, {**data, "site_id": site_id})
