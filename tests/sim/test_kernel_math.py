"""The cohort kernel's exp and log (plain arithmetic, vectorisable) are within one unit in the
last place of numpy's over their whole range, and give the same bits in a vector lane or alone."""

from __future__ import annotations

import numpy as np
from numba import njit

from thecal.sim.kernel import _effect_v, vexp, vlog


@njit(cache=True, error_model="numpy")
def _apply(x: np.ndarray, which: int) -> np.ndarray:  # a loop the compiler vectorises
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = vexp(x[i]) if which == 0 else vlog(x[i])
    return out


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_log_is_within_one_ulp_everywhere() -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([
        np.exp(rng.uniform(-744.0, 709.0, 200_000)),  # every binade, subnormals included
        rng.uniform(0.5, 2.0, 50_000),  # around the reduction's seams (√½, 1, √2)
        1.0 + rng.uniform(-1e-6, 1e-6, 10_000),  # near 1, where ln x is tiny
        [5e-324, 1e-310, 2.2250738585072014e-308, 0.5, 1.0, 2.0, np.sqrt(2.0),
         np.sqrt(0.5), 1.7976931348623157e308],
    ])
    got = _apply(x, 1)
    want = np.log(x)
    assert got[x == 1.0] == 0.0
    assert np.max(_ulps(got, want)[want != 0.0]) <= 1.0


def test_exp_is_within_one_ulp_and_saturates_like_numpy() -> None:
    rng = np.random.default_rng(8)
    x = np.concatenate([
        rng.uniform(-760.0, 720.0, 200_000),
        rng.uniform(-1.0, 1.0, 50_000),
        rng.uniform(-1e-12, 1e-12, 5_000),
        [0.0, -0.0, -745.2, -745.0, -708.4, 709.78, 709.8, 710.0, -1e4, 1e4],
    ])
    got = _apply(x, 0)
    with np.errstate(over="ignore"):
        want = np.exp(x)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))  # overflow where numpy's
    np.testing.assert_array_equal(got == 0.0, want == 0.0)  # underflow where numpy's
    finite = np.isfinite(want) & (want > 0.0)
    normal = finite & (want >= 2.2250738585072014e-308)
    assert np.max(_ulps(got[normal], want[normal])) <= 1.0
    # subnormal results: within one step of the smallest subnormal (rounded once)
    tiny = finite & ~normal
    assert np.max(np.abs(got[tiny] - want[tiny])) <= 5e-324


def test_a_value_does_not_depend_on_its_neighbours() -> None:
    # the vectorised loop and its scalar remainder give the same bits: every element of a
    # long array equals the same element computed in an array of one
    x = np.exp(np.random.default_rng(9).uniform(-50.0, 50.0, 37))
    for which in (0, 1):
        arg = np.log(x) if which == 0 else x
        whole = _apply(arg, which)
        alone = np.array([_apply(arg[i:i + 1], which)[0] for i in range(arg.size)])
        np.testing.assert_array_equal(whole, alone)


@njit(cache=True, error_model="numpy")
def _effects(z: np.ndarray, hill: np.ndarray, emax: float) -> np.ndarray:
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        out[i] = _effect_v(z[i], hill[i], emax)
    return out


def test_the_effect_at_every_sample_is_the_readout_to_rounding() -> None:
    # Emax·zʰ/(1+zʰ), as thecal.physiology.model.readouts has it, over z from 0 to 1e30 and
    # the Hill exponent's whole range (0.5–8). Through e^{−h·ln z} the relative error is a few
    # units of rounding times |h·ln z| (the conditioning of a power: 1e-16 near z = 1, 1e-13
    # where the effect is 1e-200), or 3e-308 absolute where it underflows; below z = 1e-300
    # (the trimmed range) 1e-150 absolute
    rng = np.random.default_rng(10)
    z = np.concatenate([np.exp(rng.uniform(-700.0, 70.0, 100_000)), [0.0, 1e-320, 1.0, 1e300]])
    hill = rng.uniform(0.5, 8.0, z.size)
    got = _effects(z, hill, 0.9)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        zh = np.power(z, hill)
        want = np.where(np.isinf(zh), 0.9, 0.9 * zh / (1.0 + zh))
        bound = 2.3e-16 * (4.0 + np.abs(hill * np.log(z))) * want
    assert got[z == 0.0] == 0.0
    err = np.abs(got - want)
    normal = z >= 1e-300
    assert np.all(err[normal] <= bound[normal] + 3e-308)
    assert np.all(err[~normal] <= 1e-150)
    near_one = (z > 0.37) & (z < 2.7)  # the effect's working range (|ln z| < 1): to rounding
    assert np.max(err[near_one] / want[near_one]) <= 2e-15
