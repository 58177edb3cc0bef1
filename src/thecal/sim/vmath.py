"""``exp`` and ``log`` in plain arithmetic, for compiled loops that must vectorise (numba).

A call to the C library's ``exp`` or ``log`` inside a loop stops the compiler from running the
loop over several patients at once (there is no vector math library here), and the cohort
kernel's mean effect needs one power ``z^−h = e^{−h·ln z}`` per patient and sample. These two
functions are the classic fdlibm algorithms (``e_exp.c``, ``e_log.c``: argument reduction by
powers of two, a short polynomial on the remainder), written with bit operations and
arithmetic only, so the compiler turns a loop of them into vector instructions. Both are
within one unit in the last place of the correctly rounded result over the whole range
(``tests/sim/test_vmath.py`` checks them against numpy over 10⁶ arguments each).

They give the same bits whether the compiler runs a call in a vector lane or alone: no
reassociation and no implicit contraction (compiled without ``fastmath``); the polynomials use
:func:`fma` explicitly, which rounds once everywhere. So a patient's result does not depend on
its neighbours in the chunk — the cohort kernel's block-size independence rests on it.
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _bits(typingctx: Any, x: Any) -> Any:
    """The IEEE-754 bits of a float64 as an int64 (a bit cast, no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _from_bits(typingctx: Any, b: Any) -> Any:
    """The float64 whose IEEE-754 bits are the int64 ``b``."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a·b + c`` rounded once (LLVM's ``fma``: one instruction where the CPU has it, else the
    C library's exact ``fma``): the same bits in a vector lane or alone, on every machine."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return sig, codegen


# fdlibm constants (e_exp.c, e_log.c)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TINY = 2.2250738585072014e-308  # smallest normal float64
_TWO54 = 18014398509481984.0
_MANTISSA = 0x000FFFFFFFFFFFFF
_SQRT2_MANTISSA = 0x6A09E667F3BCD  # mantissa bits of √2
_ONE_BITS = 0x3FF0000000000000  # exponent field of [1, 2)
_HALF_BITS = 0x3FE0000000000000  # exponent field of [0.5, 1)


@njit(cache=True, inline="always", error_model="numpy")
def vlog(x: float) -> float:
    """Natural logarithm of a positive finite ``x`` (subnormals included), < 1 ulp.

    ``x = 2^k·m`` with ``m`` in [√½, √2); ``ln x = k·ln 2 + ln m``, ``ln m`` from
    ``s = (m−1)/(m+1)`` by fdlibm's degree-14 polynomial in ``s``. Not for ``x ≤ 0``.
    """
    small = x < _TINY
    xs = x * _TWO54 if small else x
    b = _bits(xs)
    k = (b >> 52) - (1023 + 54 if small else 1023)
    mb = b & _MANTISSA
    big = mb >= _SQRT2_MANTISSA  # m ≥ √2: use m/2 and k + 1
    k = k + 1 if big else k
    f = _from_bits(mb | (_HALF_BITS if big else _ONE_BITS)) - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    t2 = z * fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    r = t2 + t1
    hfsq = 0.5 * f * f
    dk = float(k)
    return dk * _LN2_HI - ((hfsq - fma(s, hfsq + r, dk * _LN2_LO)) - f)


@njit(cache=True, inline="always", error_model="numpy")
def vexp(x: float) -> float:
    """``e^x`` for any finite ``x`` (0 below −745.2, inf above 709.8), < 1 ulp.

    ``x = k·ln 2 + r`` with |r| ≤ ½ ln 2; ``e^r`` by fdlibm's rational form; the result is
    scaled by ``2^k`` in two exact halves so that subnormal and overflowing results round once.
    """
    xc = -746.0 if x < -746.0 else (710.0 if x > 710.0 else x)  # selects: min/max are calls
    kf = float(int(xc * _INV_LN2 + (0.5 if xc >= 0.0 else -0.5)))  # nearest integer
    hi = fma(-kf, _LN2_HI, xc)  # exact: k·ln2_hi has trailing zero bits
    lo = kf * _LN2_LO
    r = hi - lo
    t = r * r
    c = fma(-t, fma(t, fma(t, fma(t, fma(t, _P5, _P4), _P3), _P2), _P1), r)
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    k = int(kf)
    k1 = k >> 1
    k2 = k - k1
    return (y * _from_bits((k1 + 1023) << 52)) * _from_bits((k2 + 1023) << 52)
