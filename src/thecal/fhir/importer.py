"""Import a FHIR R4 Bundle: thecal's own (read back losslessly) or a clinic EHR's (recognised).

:func:`import_bundle` validates every resource with the ``fhir.resources`` R4B models, finds the
one Patient, reads the Bundle with :mod:`thecal.fhir.readback` when thecal wrote it and with
:mod:`thecal.fhir.ehr` otherwise, and validates the timeline. A refusal names the resource (a
timeline rule broken by an event names the resource the event came from) and the fix.
"""

from __future__ import annotations

import re
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from thecal.errors import InputError, TimelineError
from thecal.fhir.common import Index, ref_name
from thecal.fhir.ehr import EhrReader
from thecal.fhir.readback import read_thecal_bundle, written_by_thecal
from thecal.fhir.records import Draft, ImportResult
from thecal.timeline import FORMAT, Timeline, parse_timeline

_EVENT_WHERE = re.compile(r"^events\[(\d+)\](.*)$")


def _validated_entries(bundle: Any, name: str) -> list[tuple[str | None, dict[str, Any]]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError("not a FHIR Bundle (resourceType must be Bundle)", where=name)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise InputError("Bundle.entry must be a list", where=name)
    out: list[tuple[str | None, dict[str, Any]]] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise InputError("an entry without a resource", where=f"{name}: entry[{i}]")
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except KeyError:
            raise InputError(f"{resource['resourceType']!r} is not an R4 resource type",
                             where=f"{name}: entry[{i}]") from None
        except Exception as exc:  # pydantic's ValidationError: say which resource and what
            detail = " ".join(line.strip() for line in str(exc).splitlines()[1:3])
            raise InputError(f"not valid FHIR R4: {detail}", where=f"{name}: {ref_name(resource)}",
                             fix="correct the resource: it must validate as FHIR R4") from None
        out.append((entry.get("fullUrl"), resource))
    try:
        get_fhir_model_class("Bundle").model_validate(bundle)
    except Exception as exc:
        raise InputError(f"not a valid FHIR R4 Bundle: {str(exc).splitlines()[0]}", where=name) from None
    return out


def import_bundle(bundle: Any, *, name: str = "bundle", timezone: str | None = None,
                  etiology: str | None = None) -> ImportResult:
    """Read a FHIR R4 Bundle into a validated timeline, the allergies, and a note per resource.

    ``timezone`` (IANA) and ``etiology`` stand in where an EHR's Bundle does not say them; a
    Bundle that says otherwise is refused rather than overridden.
    """
    entries = _validated_entries(bundle, name)
    resources = [r for _, r in entries]
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InputError(f"expected one Patient, found {len(patients)}", where=name,
                         fix="send one patient's record per Bundle")
    if written_by_thecal(resources):
        draft, source = read_thecal_bundle(patients[0], resources, name=name), "thecal"
    else:
        reader = EhrReader(patients[0], resources, Index(entries), name=name, timezone=timezone,
                           etiology=etiology)
        draft, source = reader.read(), "ehr"
    return ImportResult(_timeline(draft, name), tuple(draft.allergies), tuple(draft.notes),
                        source)  # type: ignore[arg-type]


def _timeline(draft: Draft, name: str) -> Timeline:
    try:
        return parse_timeline({"format": FORMAT, "patient": draft.block, "events": draft.events})
    except TimelineError as exc:
        match = _EVENT_WHERE.match(exc.where or "")
        if match is None:
            raise exc.located(f"{name}: Patient") from None
        index, rest = int(match[1]), match[2]
        source = draft.sources[index] if index < len(draft.sources) else "?"
        event = draft.events[index]["type"] if index < len(draft.events) else "event"
        raise InputError(f"as a {event} event: {exc.message}", where=f"{name}: {source}{rest}",
                         fix=exc.fix) from None


def bundle_to_timeline(bundle: Any, *, name: str = "bundle", timezone: str | None = None,
                       etiology: str | None = None) -> Timeline:
    """The timeline of :func:`import_bundle` alone."""
    return import_bundle(bundle, name=name, timezone=timezone, etiology=etiology).timeline
