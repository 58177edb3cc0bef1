"""``thecal simulate --plot-from``: a plot window after the first event, refused when empty."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from thecal.cli.main import app

runner = CliRunner()


def test_plot_window_writes_a_png(tmp_path: Path) -> None:
    png = tmp_path / "mri.png"
    result = runner.invoke(app, ["simulate", "mri-stall-slow-resumption", "--every", "1 h",
                                 "--plot", str(png), "--plot-from", "55 day"])
    assert result.exit_code == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_window_after_the_end_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "mri-stall-slow-resumption", "--every", "1 h",
                                 "--plot", str(tmp_path / "x.png"), "--plot-from", "900 day"])
    assert result.exit_code == 2
    assert "--plot-from" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()
