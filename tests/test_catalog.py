"""The catalog: every figure sourced, lookups refuse unknown ids with the known ones."""

import pytest

from thecal.catalog import (
    CATHETERS,
    FORMULATIONS,
    PUMPS,
    catheter_model,
    formulation_for,
    pump_model,
)
from thecal.errors import CatalogError
from thecal.sources import SOURCES


def test_required_pumps_present() -> None:
    for pid in ("synchromed-ii-20", "synchromed-ii-40", "prometra-ii-20", "prometra-ii-40"):
        assert pid in PUMPS
    assert any(pump_model(p).family == "constant-flow" for p in PUMPS)


def test_synchromed_figures_match_the_reference() -> None:
    pump = pump_model("synchromed-ii-40")
    assert pump.reservoir_ml == 40
    assert pump.low_reservoir_alarm_ml == 2  # NSURG04
    assert pump.max_flex_steps_per_day == 13  # M-UK
    assert pump.eri_to_eos_days == 90  # M-REPL
    assert pump.tubing_volume_ml == pytest.approx(0.14)  # TGA-TUBING
    assert pump.mri_behaviour == "motor-stall"
    assert pump_model("prometra-ii-20").mri_behaviour == "valve-shutoff"  # PROM 8.2
    assert pump.mri_resume_delay_worst_h == 24  # M-MRI: 2–24 h reported


def test_prometra_plans_at_3_ml_with_its_labelled_accuracy() -> None:
    # PTC (2.11): the controller plans the refill at 3.0 mL; PROM (9.10): 85–115 %.
    for pid in ("prometra-ii-20", "prometra-ii-40"):
        pump = pump_model(pid)
        assert pump.low_reservoir_alarm_ml == 3.0
        assert pump.figures["low_reservoir_alarm_ml"].source == "PTC"
        assert pump.accuracy_fraction == pytest.approx(0.15)
        assert pump.figures["accuracy_fraction"].source == "PROM"
    assert pump_model("synchromed-ii-20").accuracy_fraction == pytest.approx(0.145)  # ANZCA


def test_every_figure_has_a_known_source_and_status() -> None:
    for pid in PUMPS:
        for fig in pump_model(pid).figures.values():
            assert fig.source in SOURCES
    for cid in CATHETERS:
        for fig in catheter_model(cid).figures.values():
            assert fig.source in SOURCES
    assert catheter_model("ascenda").figures["volume_ml_per_cm"].verified is False  # assumed
    assert catheter_model("prometra").figures["volume_ml_per_cm"].verified is True


def test_formulary_and_compounded_flag() -> None:
    assert {formulation_for(c).concentration_mcg_per_ml for c in (50, 500, 1000, 2000)} == {
        50, 500, 1000, 2000}
    assert len(FORMULATIONS) == 7
    with pytest.raises(CatalogError, match="not an approved"):
        formulation_for(1500)
    assert formulation_for(1500, compounded=True).compounded


def test_unknown_pump_lists_known_ones() -> None:
    with pytest.raises(CatalogError) as err:
        pump_model("synchromed-iii")
    assert "synchromed-ii-40" in err.value.one_line()
