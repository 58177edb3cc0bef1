"""Recognise an EHR's Device as a catalog pump or catheter, or refuse it naming the known models.

Words come from ``deviceName``, ``modelNumber``, ``type``, ``udiCarrier.carrierHRF`` and
``manufacturer``. A device is recognised by (in order): a catalog id or full catalog name; a model
number from the catalog (the numbers in a catalog name's brackets, and the SynchroMed II "C"
model numbers of clinical-facts 1.1, M-IFP); or a family name with the reservoir volume
("SynchroMed II 40 mL"). Two different models, or a family without its volume, are ambiguous and
refused; so is a model thecal does not know. The UDI's deviceIdentifier (GTIN) is not matched: the
catalog holds no UDI-DI read from a public source.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from thecal import units
from thecal.catalog import CATHETERS, PUMPS, CatheterModel, PumpModel, catheter_model, pump_model
from thecal.errors import InputError, UnitError
from thecal.fhir.common import plain, words

DeviceRole = Literal["pump", "catheter"]

# Model numbers printed on the devices (clinical-facts 1.1, 1.33, 8.1); each names one catalog entry.
_PUMP_NUMBERS: Final = {"8637-20": "synchromed-ii-20", "8637c20": "synchromed-ii-20",
                        "8637-40": "synchromed-ii-40", "8637c40": "synchromed-ii-40",
                        "13827": "prometra-ii-20", "16827": "prometra-ii-40"}
_PUMP_FAMILIES: Final = {"synchromed": "synchromed", "prometra": "prometra"}
_CATHETER_WORDS: Final = {"ascenda": "ascenda", "8780": "ascenda", "8781": "ascenda", "indura": "indura-1p",
                          "8709sc": "indura-1p", "8731sc": "medtronic-8731sc", "prometra": "prometra"}
_PUMP_HINT: Final = re.compile(r"\b(pump|synchromed|prometra|8637|13827|16827|intrathecal|baclofen|itb)\b")
_VOLUME: Final = re.compile(r"\b(20|30|40)\s*-?\s*ml\b")
_SERIAL_AI: Final = re.compile(r"\(21\)([^()]+)")


def _text(device: dict[str, Any]) -> str:
    names = [n.get("name", "") for n in device.get("deviceName", []) if isinstance(n, dict)]
    udi = [u.get("carrierHRF", "") for u in device.get("udiCarrier", []) if isinstance(u, dict)]
    return words(*names, str(device.get("modelNumber", "")), device.get("type"), *udi,
                 str(device.get("manufacturer", "")))


def role(device: dict[str, Any]) -> DeviceRole | None:
    """``catheter``, ``pump`` (an implantable drug pump), or None for a device thecal does not model."""
    text = _text(device)
    if "catheter" in text:
        return "catheter"
    if "insulin" not in text and _PUMP_HINT.search(text):
        return "pump"
    return None


def _pumps() -> list[PumpModel]:
    return [pump_model(p) for p in PUMPS]


def _catheters() -> list[CatheterModel]:
    return [catheter_model(x) for x in CATHETERS]


def _known(kind: str) -> str:
    models: list[PumpModel] | list[CatheterModel] = _pumps() if kind == "pump" else _catheters()
    return "; ".join(f"{m.name} [{m.id}]" for m in models)


def _refuse(kind: str, what: str, where: str) -> InputError:
    return InputError(what, where=where,
                      fix=f"known {kind} models: {_known(kind)}; name one in Device.modelNumber (its catalog id or "
                          f"model number), or add the {kind} to the thecal catalog")


def pump_model_of(device: dict[str, Any], where: str) -> str:
    """The catalog id of the pump the Device describes (refused when unknown or ambiguous)."""
    text = _text(device)
    found = {m.id for m in _pumps() if re.search(rf"(?<![\w-]){re.escape(m.id)}(?![\w-])", text)
             or m.name.lower() in text}
    found |= {pid for number, pid in _PUMP_NUMBERS.items() if re.search(rf"(?<![\w-]){number}(?![\w-])", text)}
    if not found:
        volumes = {float(v) for v in _VOLUME.findall(text)}
        for word, family in _PUMP_FAMILIES.items():
            if word in text:
                members = [m for m in _pumps() if m.family == family]
                matching = {m.id for m in members if m.reservoir_ml in volumes}
                if not matching:
                    sizes = " or ".join(f"{m.reservoir_ml:g} mL" for m in members)
                    raise _refuse("pump", f"{word} pump {text!r}: which reservoir, {sizes}?", where)
                found |= matching
    if len(found) > 1:
        raise _refuse("pump", f"the Device names more than one pump model ({', '.join(sorted(found))})", where)
    if not found:
        raise _refuse("pump", f"pump {text!r} is not in the catalog", where)
    return found.pop()


def catheter_of(device: dict[str, Any], where: str) -> dict[str, Any]:
    """The timeline's ``catheter`` block ({model, length_cm}) from a catheter Device."""
    text = _text(device)
    found = {m.id for m in _catheters() if m.id in text.split() or m.name.lower() in text}
    found |= {cid for word, cid in _CATHETER_WORDS.items() if re.search(rf"(?<![\w-]){word}(?![\w-])", text)}
    if len(found) > 1:
        raise _refuse("catheter", f"the Device names more than one catheter model ({', '.join(sorted(found))})",
                      where)
    if not found:
        raise _refuse("catheter", f"catheter {text!r} is not in the catalog", where)
    lengths = [p for p in device.get("property", []) if isinstance(p, dict) and "length" in words(p.get("type"))]
    values = [q for p in lengths for q in p.get("valueQuantity", []) if isinstance(q, dict)]
    if len(values) != 1:
        raise InputError("the implanted length of the catheter is not given" if not values else
                         "the catheter has more than one length", where=where,
                         fix="give one Device.property with type 'length' and a valueQuantity in cm "
                             "(the length after trimming): the twin needs the catheter's volume")
    q = values[0]
    try:
        length_cm = units.parse_quantity(f"{plain(float(q['value']))} {q.get('code') or q.get('unit')}",
                                         units.LENGTH, allow_zero=False)
    except (UnitError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the catheter length is not a length ({exc})", where=where,
                         fix="write it in cm, e.g. value 52, unit cm") from None
    return {"model": found.pop(), "length_cm": length_cm}


def serial_of(device: dict[str, Any]) -> str | None:
    """``serialNumber``, else the serial (AI 21) in a GS1 UDI's human-readable form."""
    if isinstance(device.get("serialNumber"), str) and device["serialNumber"].strip():
        return str(device["serialNumber"]).strip()
    for udi in device.get("udiCarrier", []):
        match = _SERIAL_AI.search(str(udi.get("carrierHRF", ""))) if isinstance(udi, dict) else None
        if match:
            return match[1].strip()
    return None
