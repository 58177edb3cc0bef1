"""What the pump's audible alarms mean, in words for patients and carers.

A SynchroMed pump sounds a *single tone* for a non-critical alarm (low reservoir, elective
replacement indicator, a non-critical memory error) and a *two-tone* alarm for a critical
one (empty reservoir, end of service, motor stall, critical memory error): the medicine is
no longer flowing (M-PUMP). The urgencies agree with the triage rules ``TR-D-SINGLE-TONE``
(soon) and ``TR-D-TWO-TONE`` (urgent, emergency with withdrawal signs) in
:mod:`thecal.clinical.triage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from thecal.sources import check_source


@dataclass(frozen=True)
class AlarmMeaning:
    sound: str  # "single tone" | "two-tone"
    symptom_code: str  # the code to report it with (thecal.clinical.symptoms)
    means: tuple[str, ...]
    what_to_do: tuple[str, ...]
    urgency: str  # triage urgency word
    source: str

    def __post_init__(self) -> None:
        check_source(self.source)

    def as_dict(self) -> dict[str, object]:
        return {"sound": self.sound, "symptom_code": self.symptom_code,
                "means": list(self.means), "what_to_do": list(self.what_to_do),
                "urgency": self.urgency, "source": self.source}


ALARM_MEANINGS: Final[tuple[AlarmMeaning, ...]] = (
    AlarmMeaning(
        "single tone", "pump-alarm-single-tone",
        ("The medicine in the pump is running low (low-reservoir alarm), or",
         "the pump's battery is nearing the time for a new pump (replacement indicator), or",
         "the pump found a problem that is not yet stopping the medicine."),
        ("Call your ITB clinic today or on the next working day and say the pump is beeping.",
         "Do not wait for the next appointment: a low reservoir needs a refill soon.",
         "Watch for returning stiffness, itching or fever; if they appear, call at once."),
        "soon", "M-PUMP"),
    AlarmMeaning(
        "two-tone", "pump-alarm-two-tone",
        ("The pump is empty, has stopped, or has reached the end of its life:",
         "the medicine is no longer flowing."),
        ("Call your ITB clinic now. If you cannot reach them, go to an emergency department "
         "and show the pump card.",
         "If stiffness, itching, fever or confusion appear, call emergency services: "
         "stopping baclofen suddenly can be life-threatening."),
        "urgent", "M-PUMP"),
)
