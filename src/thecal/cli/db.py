"""``thecal db``: where the clinic database is, and migrating it to this version's schema."""

from __future__ import annotations

import typer

from thecal.cli.common import console, guarded

DATABASE_HELP = ("Database URL (sqlite:///file or postgresql+psycopg://...); default "
                 "$THECAL_DATABASE_URL or a SQLite file in your data folder.")


def _safe(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The clinic database: location and migrations.",
                         no_args_is_help=True)

    @db_app.command("upgrade")
    @guarded
    def upgrade_cmd(database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                    ) -> None:
        """Migrate the database to the newest schema (also done by `thecal serve`)."""
        from thecal.store.db import database_url, make_engine  # loaded only when asked for
        from thecal.store.migrate import current_revision, upgrade

        url = database_url(database)
        engine = make_engine(url)
        try:
            upgrade(engine)
            console.print(f"{_safe(url)}: at revision {current_revision(engine)}",
                          markup=False)
        finally:
            engine.dispose()

    @db_app.command("current")
    @guarded
    def current_cmd(database: str = typer.Option(None, "--database", help=DATABASE_HELP)
                    ) -> None:
        """Print the database's schema revision and the newest one shipped."""
        from thecal.store.db import database_url, make_engine
        from thecal.store.migrate import current_revision, head_revision

        url = database_url(database)
        engine = make_engine(url)
        try:
            console.print(f"{_safe(url)}: revision {current_revision(engine) or 'none'} "
                          f"(newest {head_revision()})", markup=False)
        finally:
            engine.dispose()

    @db_app.command("grant-app-role")
    @guarded
    def grant_cmd(role: str = typer.Argument(..., help="The role the server connects as."),
                  database: str = typer.Option(None, "--database",
                                               help="The OWNER's URL. " + DATABASE_HELP)
                  ) -> None:
        """PostgreSQL: let ROLE (made if missing) read and append, never rewrite the log."""
        from thecal.store.db import database_url, make_engine
        from thecal.store.roles import grant_app_role

        engine = make_engine(database_url(database))
        try:
            with engine.begin() as conn:
                grant_app_role(conn, role)
        finally:
            engine.dispose()
        console.print(f"role {role}: SELECT/INSERT on events and audit, read/write on the "
                      "other tables; it owns nothing", markup=False)

    app.add_typer(db_app, name="db")
