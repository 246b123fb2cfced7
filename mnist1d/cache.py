"""The dataset's on-disk cache: where a file lives, how it is read without
trusting it, when it may be replaced, and how it is written.

A file holds a dataset dict (``x``, ``x_test``, ``y``, ``y_test``, ``t``,
``templates``) as a numpy archive (``.npz``) or as the paper's pickle (``.pkl``
/ ``.pickle``), plus this package's *record*: the JSON spec of the arguments
that made it and a checksum of its arrays. :func:`mnist1d.data.get_dataset`
reads a file when it holds the dataset wanted, and otherwise makes the
dataset and writes it.
"""

import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import atomic_write
from .generator import MODES, make_dataset, validate_args
from .utils import UnsafePickleError, safe_from_pickle

__all__ = [
    "get_dataset",
    "default_cache_dir",
    "cache_key",
    "cache_path",
    "file_format",
    "read_cache",
    "write_cache",
]

# 2: the record moved to the member/key RECORD_KEY (1 called it "meta" and
# wrote npz under every name), so files of format 1 are rebuilt once, in the
# format their name says
CACHE_FORMAT = 2
ARRAYS = ("x", "x_test", "y", "y_test", "t")
# The key (pickle) or member (npz) that holds the cache's record: the spec
# that made the dataset and its checksum. No dataset field has this name, and
# it is written first, so it also marks the start of every file this package
# writes, even a truncated one.
RECORD_KEY = "mnist1d_course_cache"
_FORMATS = {".npz": "npz", ".pkl": "pickle", ".pickle": "pickle"}


def default_cache_dir():
    """``$MNIST1D_CACHE`` if set, else ``~/.cache/mnist1d-course``."""
    return Path(
        os.environ.get(
            "MNIST1D_CACHE", Path.home() / ".cache" / "mnist1d-course"
        )
    )


def cache_key(args, mode):
    """The spec (a JSON string) of a dataset and its SHA-256 hex digest.

    Parameters
    ----------
    args : dict
        Validated dataset arguments (``DatasetArgs.as_dict()``).
    mode : str
        The generator's mode, ``"paper"`` or ``"fast"``.
    """
    # url is the paper's download address: it does not change the data
    args = {k: v for k, v in args.items() if k != "url"}
    spec = json.dumps(
        {"format": CACHE_FORMAT, "mode": mode, "args": args},
        sort_keys=True,
    )
    return spec, hashlib.sha256(spec.encode()).hexdigest()


def cache_path(path, key):
    """``path`` as a Path, or (None) the default file for spec digest
    ``key``."""
    if path is not None:
        return Path(path)
    return default_cache_dir() / f"mnist1d_{key[:16]}.npz"


def _checksum(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        v = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{v.dtype.str}:{v.shape}".encode())
        h.update(v.tobytes())
    return h.hexdigest()


def _flatten(dataset):
    arrays = {k: dataset[k] for k in ARRAYS}
    arrays.update(
        {f"templates_{k}": v for k, v in dataset["templates"].items()}
    )
    return arrays


def file_format(path):
    """``"npz"`` or ``"pickle"``, from the suffix of ``path``."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"path must end in .npz (a numpy archive, this package's cache) "
            f"or .pkl / .pickle (the paper's pickle), got {str(path)!r}"
        )
    return fmt


@dataclass
class _Found:
    """What a file at the cache path holds."""

    data: dict = None  # the dataset's arrays, if it reads as one
    record: dict = None  # this package's record: spec and checksum
    ours: bool = False  # written by this package (its record or signature)
    empty: bool = False
    problem: str = ""  # why it is not the dataset wanted, for the error


def _check_dataset(d):
    """``d`` as a dataset dict of numeric arrays, or ValueError saying why
    not.
    """
    if not isinstance(d, dict) or not isinstance(d.get("templates"), dict):
        raise ValueError("no dict with the keys of a dataset")
    out = {k: d[k] for k in ARRAYS}
    out["templates"] = {k: d["templates"][k] for k in ("x", "t", "y")}
    for v in (*(out[k] for k in ARRAYS), *out["templates"].values()):
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
            raise ValueError("a dataset field is not a numeric array")
    return out


def _read_file(path, head):
    """(dataset, record) from an npz archive or a pickle, by content."""
    if head.startswith(b"PK"):  # a zip archive: npz
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
        raw = stored.pop(RECORD_KEY, None)
        if raw is None:
            raw = stored.pop("meta", None)  # format 1's name for it
        d = {k: stored.get(k) for k in ARRAYS}
        d["templates"] = {
            k[len("templates_") :]: v
            for k, v in stored.items()
            if k.startswith("templates_")
        }
    else:
        d = safe_from_pickle(path)
        raw = d.get(RECORD_KEY) if isinstance(d, dict) else None
    record = json.loads(str(raw)) if raw is not None else None
    if not (isinstance(record, dict) and {"spec", "checksum"} <= set(record)):
        record = None
    return _check_dataset(d), record


def _inspect(path):
    """Read ``path`` without trusting it; never raises for its content."""
    with open(path, "rb") as f:
        head = f.read(64)
    found = _Found(ours=RECORD_KEY.encode() in head, empty=not head)
    if found.empty:
        return found
    try:
        found.data, found.record = _read_file(path, head)
    except UnsafePickleError as e:
        found.problem = f"a pickle that is not a dataset ({e})"
    # truncated, not an archive or a pickle, not a dataset: unreadable
    except Exception as e:
        found.problem = (
            f"no MNIST-1D dataset this package can read ({type(e).__name__}:"
            f" {e})"
        )
    found.ours = found.ours or found.record is not None
    return found


def _same_dataset(d, ref, atol=1e-9):
    """True if dataset ``d`` holds the arrays of ``ref`` (floats within
    ``atol``).
    """
    pairs = [(d[k], ref[k]) for k in ARRAYS]
    pairs += [
        (d["templates"][k], ref["templates"][k]) for k in ("x", "t", "y")
    ]
    return all(
        a.shape == b.shape and np.allclose(a, b, rtol=0, atol=atol)
        for a, b in pairs
    )


def _accept(found, spec, make):
    """The dataset in ``found`` if it is the one ``spec`` names, else None."""
    if found.data is None:
        return None
    rec = found.record
    if rec is not None:  # ours: trust the record and the checksum
        arrays = _flatten(found.data)
        ok = rec["spec"] == spec and rec["checksum"] == _checksum(arrays)
        return found.data if ok else None
    # Someone else's file, such as the paper's mnist1d_data.pkl: it carries
    # no arguments, so compare it with what they make (as fast as a miss).
    if _same_dataset(found.data, make()):
        return found.data
    found.problem = (
        "an MNIST-1D dataset, but not the one these arguments make (other "
        "arguments, another seed or mode)"
    )
    return None


def read_cache(path, spec, owned, make):
    """The dataset at ``path`` if it is the one wanted; None if the file may
    be replaced; ValueError if it may not.

    A file may be replaced when the package wrote it (its own cache folder,
    its record or signature in the file) or it is empty; anything else at a
    path the user chose is theirs.

    Parameters
    ----------
    path : Path
        An existing file.
    spec : str
        From :func:`cache_key`: the dataset wanted.
    owned : bool
        ``path`` is in the package's own cache folder.
    make : callable
        No arguments; makes the dataset wanted, to compare with a file that
        carries no record (such as the paper's ``mnist1d_data.pkl``).
    """
    found = _inspect(path)
    data = _accept(found, spec, make)
    # an empty file holds nothing of the user's to lose
    if data is not None or owned or found.ours or found.empty:
        return data
    raise ValueError(
        f"path {str(path)!r} holds {found.problem}. It was not written by "
        "this package, so it is left unchanged: pass regenerate=True to "
        "replace it with the dataset, or choose another path."
    )


def _paper_dict(dataset, record):
    """The paper's pickle layout: plain arrays, the record under
    RECORD_KEY."""
    out = {RECORD_KEY: record}  # first, so that the file starts with it
    out.update({k: np.ascontiguousarray(dataset[k]) for k in ARRAYS})
    out["templates"] = {
        k: np.ascontiguousarray(v) for k, v in dataset["templates"].items()
    }
    return out


def write_cache(path, fmt, spec, dataset):
    """Write ``dataset`` and its record to ``path`` atomically.

    ``fmt`` is ``"npz"`` or ``"pickle"`` (protocol 3, as the paper's
    ``to_pickle`` writes, so its ``from_pickle`` reads it).
    """
    arrays = _flatten(dataset)
    record = json.dumps({"spec": spec, "checksum": _checksum(arrays)})
    with atomic_write(path, "wb") as f:
        if fmt == "npz":
            np.savez(f, **{RECORD_KEY: np.array(record)}, **arrays)
        else:
            pickle.dump(_paper_dict(dataset, record), f, protocol=3)


def get_dataset(
    args=None,
    path=None,
    verbose=False,
    download=None,
    regenerate=False,
    *,
    mode="paper",
):
    """Load the dataset from a file, or make it and write it there.

    Parameters
    ----------
    args : DatasetArgs or dict, optional
        As for :func:`mnist1d.data.make_dataset`.
    path : str or Path, optional
        The file; its suffix names the format: ``.npz`` (a numpy archive) or
        ``.pkl`` / ``.pickle`` (the paper's pickle: a dict of plain numpy
        arrays ``x``, ``y``, ``t``, ``x_test``, ``y_test``, ``templates``,
        plus this package's record under ``"mnist1d_course_cache"``). By
        default one ``.npz`` per (args, mode) under
        :func:`default_cache_dir`. A file there that holds the dataset these
        arguments make is read, whoever wrote it (the paper's
        ``mnist1d_data.pkl`` included), and left as it is. Any other file is
        replaced only if this package wrote it (or it is empty); pickles are
        read with :func:`mnist1d.utils.safe_load`.
    verbose : bool
        Say whether the file was used.
    download : ignored
        Accepted for compatibility with the paper's package; since the
        generator reproduces the published dataset exactly, nothing is ever
        downloaded.
    regenerate : bool
        Make the dataset and write it to ``path`` whatever is there.
    mode : {"paper", "fast"}
        As for :func:`mnist1d.data.make_dataset`.

    Returns
    -------
    dict
        As :func:`mnist1d.data.make_dataset` returns.

    Raises
    ------
    ValueError
        For bad arguments, a suffix other than the above, or a file at
        ``path`` that is not this dataset and was not written by this package
        (the message names the path and what to do).
    """
    a = validate_args(args)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    spec, key = cache_key(a.as_dict(), mode)
    owned = path is None  # the package's own cache folder
    path = cache_path(path, key)
    fmt = file_format(path)
    if not regenerate and path.exists():
        data = read_cache(
            path, spec, owned, lambda: make_dataset(a, mode=mode)
        )
        if data is not None:
            if verbose:
                print(f"Loaded MNIST-1D from {path}")
            return data
    data = make_dataset(a, mode=mode)
    write_cache(path, fmt, spec, data)
    if verbose:
        print(f"Made MNIST-1D and wrote it to {path}")
    return data
