"""Argument checks for the public API: each failure is a ValueError that names
the parameter, the value received and what is allowed.

Students call the models, the training loop and the experiments directly, so a
wrong argument should say so in their words, up front, rather than surface as a
shape error deep inside torch, or not at all.
"""

import math
import numbers

__all__ = [
    "integer",
    "integers",
    "interval",
    "number",
    "choice",
    "flag",
    "seeds",
]


def integer(name, value, minimum=1, maximum=None):
    """``value`` as an int, if it is an integer (not a bool) in [minimum,
    maximum].
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and value >= minimum and (maximum is None or value <= maximum):
        return int(value)
    allowed = (
        f"an integer >= {minimum}"
        if maximum is None
        else f"an integer in [{minimum}, {maximum}]"
    )
    raise ValueError(f"{name} must be {allowed}, got {value!r}")


def number(name, value, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a finite float within the given bounds (closed unless
    ``*_open``).
    """
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )
    if ok:
        ok = (low is None or (value > low if low_open else value >= low)) and (
            high is None or (value < high if high_open else value <= high)
        )
    if ok:
        return float(value)
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high}")
    raise ValueError(
        f"{name} must be a finite "
        f"number{' ' + ' and '.join(bounds) if bounds else ''}, got {value!r}"
    )


def integers(name, value, minimum=0):
    """``value`` as a tuple of ints >= minimum, if it is a non-empty sequence
    of them."""
    allowed = f"a non-empty sequence of integers >= {minimum}"
    try:
        out = tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    if not out:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return tuple(
        integer(f"{name}[{i}]", v, minimum) for i, v in enumerate(out)
    )


def interval(name, value, minimum=0):
    """``value`` as a pair of ints ``(low, high)`` with ``minimum <= low <=
    high``, if it is a sequence of two integers so ordered."""
    try:
        pair = tuple(value)
    except TypeError:
        pair = ()
    ok = len(pair) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool)
        for v in pair
    )
    if ok and minimum <= pair[0] <= pair[1]:
        return int(pair[0]), int(pair[1])
    raise ValueError(
        f"{name} must be two integers [low, high] with {minimum} <= low <= "
        f"high, got {value!r}"
    )


def seeds(name, value):
    """``value`` as a tuple of seeds (ints >= 0), non-empty."""
    return integers(name, value, 0)


def choice(name, value, allowed):
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, str) and value in allowed:
        return value
    raise ValueError(
        f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got "
        f"{value!r}"
    )


def flag(name, value):
    """``value`` if it is True or False."""
    if isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be True or False, got {value!r}")
