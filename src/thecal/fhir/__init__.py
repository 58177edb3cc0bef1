"""FHIR R4 exchange: a timeline as a Bundle of R4 resources and back (core: no database).

:func:`timeline_to_bundle` writes (:mod:`thecal.fhir.export`); :func:`import_bundle` reads a Bundle
thecal wrote, losslessly (:mod:`thecal.fhir.readback`), or one a clinic's EHR sent
(:mod:`thecal.fhir.ehr`). See ``docs/fhir.md``.
"""

from thecal.fhir.export import timeline_to_bundle
from thecal.fhir.importer import bundle_to_timeline, import_bundle
from thecal.fhir.records import AllergyRecord, AppointmentRecord, ImportNote, ImportResult

__all__ = ["AllergyRecord", "AppointmentRecord", "ImportNote", "ImportResult", "bundle_to_timeline",
           "import_bundle", "timeline_to_bundle"]
