"""Settings of a clinic server: where the database is and the security knobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

SESSION_IDLE: Final = timedelta(minutes=30)  # ASVS 3.3.2 L2 / HIPAA automatic logoff
SESSION_ABSOLUTE: Final = timedelta(hours=12)  # ASVS 3.3.2 L2
API_TOKEN_LIFETIME: Final = timedelta(days=90)
LOGIN_WINDOW: Final = timedelta(minutes=15)  # ASVS 2.2.1 anti-automation
LOGIN_MAX_FAILURES: Final = 5
PENDING_LIFETIME: Final = timedelta(minutes=15)
MIN_PASSWORD_LENGTH: Final = 12  # ASVS 2.1.1


@dataclass(frozen=True)
class Settings:
    """What a :class:`thecal.service.Clinic` needs to know.

    ``database_url`` None means ``$THECAL_DATABASE_URL`` or the default SQLite file.
    ``cookie_secure`` stays True except for plain-http development on loopback (``thecal
    serve`` turns it off only when bound to 127.0.0.1/::1 without TLS).
    """

    database_url: str | None = None
    # PostgreSQL: the tables' owner, who runs the migrations; the server itself then connects
    # through ``database_url`` as a role that owns nothing (``thecal db grant-app-role``).
    # None: ``$THECAL_OWNER_DATABASE_URL``, else migrations use ``database_url`` too.
    owner_database_url: str | None = None
    migrate: bool = True
    cookie_secure: bool = True
    session_cookie_name: str = "thecal_session"
    session_idle: timedelta = SESSION_IDLE
    session_absolute: timedelta = SESSION_ABSOLUTE
    api_token_lifetime: timedelta = API_TOKEN_LIFETIME
    login_window: timedelta = LOGIN_WINDOW
    login_max_failures: int = LOGIN_MAX_FAILURES
    pending_lifetime: timedelta = PENDING_LIFETIME
    # bounded resources (thecal.api.limits): request body size, and token buckets as
    # (requests in a burst, requests per second) per source address, per credential, and for
    # the sign-in routes per source
    max_body_bytes: int = 1 << 20
    rate_per_source: tuple[float, float] = (600.0, 20.0)
    rate_per_credential: tuple[float, float] = (1200.0, 40.0)
    rate_sign_in: tuple[float, float] = (60.0, 1.0)
    # the mail server for notices (reminders; an overdue second signature to the site's
    # ``on_call_email``); None: nothing is e-mailed, the inbox still shows it
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "thecal@localhost"
