"""FHIR R4 exchange: a timeline as a Bundle of R4 resources and back (core: no database).

See :mod:`thecal.fhir.mapping` and ``docs/fhir.md``.
"""

from thecal.fhir.mapping import AppointmentRecord, bundle_to_timeline, timeline_to_bundle

__all__ = ["AppointmentRecord", "bundle_to_timeline", "timeline_to_bundle"]
