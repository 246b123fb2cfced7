"""Exercise answers as plain JSON, so a submission's results can leave its
process without pickle.

The grader runs a student's notebook in a process of its own, then reads the
answer variables back as JSON made by :func:`encode` and rebuilt by
:func:`decode`. Decoding runs no code from the submission (pickle would), so a
submission can only ever change its own answers.

Supported: None, bool, int, float (NaN and infinities too), str, list, tuple,
dict (any supported keys), numpy arrays and scalars, torch tensors (as numpy
arrays). Anything else becomes an :class:`Unsupported` marker that no test
accepts, and ``...`` (the stubs' placeholder) becomes :data:`NOT_ANSWERED`.
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["encode", "decode", "collect", "Unsupported", "NOT_ANSWERED"]

MAX_ELEMENTS = 1_000_000  # per array: answers are tables of numbers
MAX_DEPTH = 16


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value that could not be carried out of the submission."""

    why: str

    def __repr__(self):
        return f"<unsupported answer: {self.why}>"


NOT_ANSWERED = Unsupported("not answered yet (still `...`)")


def _float(x):
    return x if math.isfinite(x) else {"$float": repr(x)}


def encode(value, depth=0):
    """``value`` as JSON-ready data (see the module docstring for types)."""
    if depth > MAX_DEPTH:
        return {"$unsupported": f"nested deeper than {MAX_DEPTH} levels"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(
        value, np.bool_
    ):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value))
    if isinstance(value, np.bool_):
        return bool(value)
    if value is Ellipsis:
        return {"$unsupported": NOT_ANSWERED.why}
    if type(value).__module__ == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return {"$unsupported": f"an array of dtype {value.dtype}"}
        if value.size > MAX_ELEMENTS:
            return {"$unsupported": f"an array of {value.size:,} elements"}
        flat = [_float(float(v)) for v in value.ravel().tolist()]
        return {
            "$array": flat,
            "shape": list(value.shape),
            "dtype": value.dtype.str,
        }
    if isinstance(value, (list, tuple)):
        items = [encode(v, depth + 1) for v in value]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        return {
            "$dict": [
                [encode(k, depth + 1), encode(v, depth + 1)]
                for k, v in value.items()
            ]
        }
    return {"$unsupported": f"a value of type {type(value).__name__}"}


def _unfloat(x):
    return float(x["$float"]) if isinstance(x, dict) else x


def decode(data, depth=0):
    """The value :func:`encode` made ``data`` from.

    Raises
    ------
    ValueError
        If ``data`` is not something :func:`encode` writes (a tampered file).
    """
    if depth > MAX_DEPTH + 1:
        raise ValueError("answers nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) not in (1, 3):
        raise ValueError(f"not an encoded answer: {str(data)[:80]}")
    if "$float" in data:
        return float(data["$float"])
    if "$tuple" in data:
        return tuple(decode(v, depth + 1) for v in data["$tuple"])
    if "$dict" in data:
        return {
            _key(decode(k, depth + 1)): decode(v, depth + 1)
            for k, v in data["$dict"]
        }
    if "$array" in data:
        flat = [_unfloat(v) for v in data["$array"]]
        return np.array(flat, dtype=np.dtype(data["dtype"])).reshape(
            data["shape"]
        )
    if "$unsupported" in data:
        return Unsupported(str(data["$unsupported"]))
    raise ValueError(f"not an encoded answer: {str(data)[:80]}")


def _key(k):
    # lists are not hashable; an encoded key that was a list comes back as
    # one, so make it a tuple rather than fail
    return tuple(k) if isinstance(k, list) else k


def collect(namespace, names):
    """The encoded values of ``names`` in ``namespace`` (a notebook's
    globals); names not defined are left out."""
    out = {}
    for name in names:
        if name in namespace:
            try:
                out[name] = encode(namespace[name])
            except Exception as error:  # a student's object may raise
                out[name] = {"$unsupported": f"could not read it: {error!r}"}
    return out
