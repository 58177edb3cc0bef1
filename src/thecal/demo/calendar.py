"""The demo clinic's calendar: refill sessions for the next 90 days and each patient's visit needs.

Added to the demo site (``thecal.demo``) by ``thecal demo`` and ``thecal serve --demo``; idempotent
(a site that already has sessions is left alone). In the site's time zone: a clinic room on Tuesday
and Thursday mornings (Thursday with the physician, for visits that need one), home-visit rounds on
Monday, Wednesday and Friday. Every third patient is visited at home (home refills took a median
of 26 minutes and every patient preferred them, GOUDMAN21), in one of three areas. The demo site
lets patients choose their own slot within their window (site setting ``patients_choose_slot``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select

from thecal.service import Clinic, admin
from thecal.service import scheduling as calendar
from thecal.service.actors import SYSTEM
from thecal.store.scheduling import clinic_sessions

DAYS: Final = 90
AREAS: Final = ("Mitte", "Pankow", "Neukölln")
NURSE: Final = "demo-nurse"
PHYSICIAN: Final = "demo-clinician"


def create_demo_calendar(clinic: Clinic, site_id: int, patient_ids: list[int], timezone: str) -> int:
    """Add the sessions and visit needs once; returns how many sessions were added."""
    with clinic.transaction() as conn:
        if conn.execute(select(clinic_sessions.c.id).where(clinic_sessions.c.site_id == site_id)).first():
            return 0
    actor = replace(SYSTEM, site_id=site_id)
    admin.update_site_settings(clinic, SYSTEM, site_id, {"patients_choose_slot": True})
    zone = ZoneInfo(timezone)
    today = clinic.now().astimezone(zone).date()
    added = 0
    for d in range(DAYS):
        day = today + timedelta(days=d)
        weekday = day.weekday()

        def at(h: int, m: int = 0, day: object = day) -> datetime:
            return datetime.combine(day, time(h, m), tzinfo=zone)  # type: ignore[arg-type]

        if weekday in (1, 3):
            staff = [NURSE, PHYSICIAN] if weekday == 3 else [NURSE]
            calendar.add_session(clinic, actor, kind="clinic", start=at(9), end=at(12, 30), staff=staff,
                                 place="Demo ITB clinic, room 2")
            added += 1
        elif weekday in (0, 2, 4):
            calendar.add_session(clinic, actor, kind="home", start=at(9), end=at(14), staff=[NURSE],
                                 place=f"home round {AREAS[d % len(AREAS)]}")
            added += 1
    for i, pid in enumerate(patient_ids):
        calendar.set_visit_needs(clinic, actor, pid, visit_minutes=30, home_visit=i % 3 == 1,
                                 area=AREAS[i % len(AREAS)] if i % 3 == 1 else "",
                                 needs_physician=i == 5, preferred_weekdays=(1, 3) if i % 4 == 0 else (),
                                 email=f"patient{pid}@patients.example")
    return added
