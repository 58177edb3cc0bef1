"""``python -m thecal`` runs the ``thecal`` command."""

from thecal.cli.main import app

app()
