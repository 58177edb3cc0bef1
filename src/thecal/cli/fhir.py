"""``thecal fhir export|import``: a timeline as a FHIR R4 Bundle and back (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from thecal.cli.common import console, guarded


def register(app: typer.Typer) -> None:
    fhir_app = typer.Typer(help="FHIR R4 exchange: export a timeline as a Bundle, import one back.",
                           no_args_is_help=True)

    @fhir_app.command("export")
    @guarded
    def export_cmd(
        timeline_file: Path = typer.Argument(..., metavar="TIMELINE", help="Timeline file (.yaml or .json)."),
        out: Path = typer.Option(..., "--out", help="Where to write the Bundle (JSON)."),
    ) -> None:
        """Write the timeline as a FHIR R4 collection Bundle (every resource validated)."""
        from thecal.fhir import timeline_to_bundle
        from thecal.timeline import load_timeline

        bundle = timeline_to_bundle(load_timeline(timeline_file), recorded_at=datetime.now(UTC))
        _write(out, json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
        console.print(f"{out}: Bundle with {len(bundle['entry'])} resources", markup=False)

    @fhir_app.command("import")
    @guarded
    def import_cmd(
        bundle_file: Path = typer.Argument(..., metavar="BUNDLE", help="A FHIR R4 Bundle (JSON)."),
        out: Path = typer.Option(..., "--out", help="Where to write the timeline (.yaml or .json)."),
        timezone: str = typer.Option(None, "--timezone",
                                     help="The patient's IANA time zone, when the Bundle does not say it."),
        etiology: str = typer.Option(None, "--etiology",
                                     help="The origin of the spasticity, when the Bundle's Conditions do not say it."),
        report: Path = typer.Option(None, "--report",
                                    help="Also write the import report (JSON): every resource and what became of it."),
    ) -> None:
        """Read a Bundle (written by `thecal fhir export` or by a clinic's EHR) into a timeline file.

        Every resource that did not become part of the timeline is listed, with the reason; the
        allergies are listed too (a timeline file has none: record them on the chart).
        """
        from thecal.errors import InputError
        from thecal.fhir import import_bundle
        from thecal.timeline import dumps

        if out.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise InputError("the timeline file ends in .yaml, .yml or .json", where="--out")
        try:
            data = json.loads(bundle_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} (line {exc.lineno})", where=str(bundle_file)) from None
        result = import_bundle(data, name=str(bundle_file), timezone=timezone, etiology=etiology)
        timeline = result.timeline
        _write(out, dumps(timeline, fmt="json" if out.suffix.lower() == ".json" else "yaml"))
        if report is not None:
            _write(report, json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
        console.print(f"{out}: timeline of {timeline.patient.id} with {len(timeline.events)} events "
                      f"(from a Bundle written by {'thecal' if result.source == 'thecal' else 'another system'})",
                      markup=False, soft_wrap=True)
        for allergy in result.allergies:
            what = "no known allergies" if allergy.kind == "no-known-allergies" else \
                f"allergy to {allergy.substance}" + (f" ({allergy.reaction})" if allergy.reaction else "")
            console.print(f"  allergy: {what} — not in the timeline file; record it on the chart", markup=False,
                          soft_wrap=True)
        for note in result.not_imported:
            console.print(f"  not imported: {note.resource} — {note.detail}", markup=False, soft_wrap=True)

    app.add_typer(fhir_app, name="fhir")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
