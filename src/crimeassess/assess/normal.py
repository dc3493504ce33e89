"""The standard normal distribution function, bit for bit SciPy's ``scipy.special.ndtr`` (Cephes, as vendored by
SciPy in ``xsf/cephes/ndtr.h``), in plain Python.

Why not call SciPy: the default significance test (quasi-Poisson) needs only this function for every p-value a
command prints, and ``import scipy.special`` costs 0.15 s of a CLI command's start (of a 1.5 s target). The same
polynomials, constants and operations in the same order give the same doubles (Python's ``math.exp`` is the
same C library's ``exp``); ``tests/test_normal_cdf.py`` checks equality with SciPy on millions of points and with
hypothesis (on x86-64, where SciPy's wheels do not fuse multiply-adds; a build that did would differ in the last
bit, and that test would say so). Everything else SciPy gives (the exact binomial test) is still SciPy's.
"""
from __future__ import annotations

import math

# Cephes' coefficients (xsf/cephes/ndtr.h: ndtr_P, _Q, _R, _S, _T, _U); _Q, _S and _U omit a leading 1.0 (p1evl).
_P = (2.46196981473530512524E-10, 5.64189564831068821977E-1, 7.46321056442269912687E0, 4.86371970985681366614E1,
      1.96520832956077098242E2, 5.26445194995477358631E2, 9.34528527171957607540E2, 1.02755188689515710272E3,
      5.57535335369399327526E2)
_Q = (1.32281951154744992508E1, 8.67072140885989742329E1, 3.54937778887819891062E2, 9.75708501743205489753E2,
      1.82390916687909736289E3, 2.24633760818710981792E3, 1.65666309194161350182E3, 5.57535340817727675546E2)
_R = (5.64189583547755073984E-1, 1.27536670759978104416E0, 5.01905042251180477414E0, 6.16021097993053585195E0,
      7.40974269950448939160E0, 2.97886665372100240670E0)
_S = (2.26052863220117276590E0, 9.39603524938001434673E0, 1.20489539808096656605E1, 1.70814450747565897222E1,
      9.60896809063285878198E0, 3.36907645100081516050E0)
_T = (9.60497373987051638749E0, 9.00260197203842689217E1, 2.23200534594684319226E3, 7.00332514112805075473E3,
      5.55923013010394962768E4)
_U = (3.35617141647503099647E1, 5.21357949780152679795E2, 4.59432382970980127987E3, 2.26290000613890934246E4,
      4.92673942608635921086E4)
_MAXLOG = 7.09782712893383996843E2
_SQRT1_2 = 0.707106781186547524401


def _polevl(x: float, c: tuple[float, ...]) -> float:
    a = c[0]
    for v in c[1:]:
        a = a * x + v
    return a


def _p1evl(x: float, c: tuple[float, ...]) -> float:
    a = x + c[0]
    for v in c[1:]:
        a = a * x + v
    return a


def _erfc(a: float) -> float:
    x = -a if a < 0.0 else a
    if x < 1.0:
        return 1.0 - _erf(a)
    z = -a * a
    if z < -_MAXLOG:
        return 2.0 if a < 0 else 0.0
    z = math.exp(z)
    if x < 8.0:
        p, q = _polevl(x, _P), _p1evl(x, _Q)
    else:
        p, q = _polevl(x, _R), _p1evl(x, _S)
    y = (z * p) / q
    if a < 0:
        y = 2.0 - y
    if y != 0.0:
        return y
    return 2.0 if a < 0 else 0.0


def _erf(x: float) -> float:
    if x < 0.0:
        return -_erf(-x)
    if abs(x) > 1.0:
        return 1.0 - _erfc(x)
    z = x * x
    return x * _polevl(z, _T) / _p1evl(z, _U)


def ndtr(a: float) -> float:
    """P(Z <= a) for a standard normal Z: ``scipy.special.ndtr(a)``, the same double."""
    if math.isnan(a):
        return math.nan
    x = a * _SQRT1_2
    z = abs(x)
    if z < 1.0:
        y = 0.5 + 0.5 * _erf(x)
    else:
        y = 0.5 * _erfc(z)
        if x > 0:
            y = 1.0 - y
    return y
