"""Go's float text: strconv's shortest round-trip digits, laid out as fmt's %v and JSON want them.

fmt (`%v`, printf's `%g`) and encoding/json print the same shortest digits with different rules
for when to switch to an exponent, so both layouts are built from the digits made here.
"""

from __future__ import annotations

import math


def float_digits(x: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of abs(x) > 0 and the decimal point position."""
    mantissa, _, exp = repr(abs(x)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    dp = len(whole) + int(exp or 0) - (len(whole + frac) - len(digits))
    return digits.rstrip("0"), dp


def fixed_notation(digits: str, dp: int) -> str:
    """Digits laid out without an exponent (strconv's %f with shortest precision)."""
    if dp <= 0:
        return "0." + "0" * -dp + digits
    if dp >= len(digits):
        return digits + "0" * (dp - len(digits))
    return digits[:dp] + "." + digits[dp:]


def exponent_notation(digits: str, dp: int) -> str:
    """Digits in Go's %e layout with at least two exponent digits."""
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = dp - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def nonfinite(x: float) -> str | None:
    """Go's text for NaN and the infinities; None for a finite float."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return None


def go_float(x: float) -> str:
    """A float as Go's %v prints it: shortest digits, exponent form outside [1e-4, 1e6)."""
    special = nonfinite(x)
    if special:
        return special
    if x == 0:
        return "-0" if math.copysign(1, x) < 0 else "0"
    digits, dp = float_digits(x)
    sign = "-" if x < 0 else ""
    if dp - 1 < -4 or dp - 1 >= 6:
        return sign + exponent_notation(digits, dp)
    return sign + fixed_notation(digits, dp)
