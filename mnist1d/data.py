"""MNIST-1D: the templates, the dataset arguments, the generator and its
on-disk cache.

The public functions keep the names and signatures of the paper's ``mnist1d``
package (``get_dataset_args``, ``get_templates``, ``make_dataset``,
``get_dataset``), so code written for it runs unchanged. ``MNIST1D`` wraps a
split as a ``torch.utils.data.Dataset``; torch is imported only when it is
first used.
"""

import hashlib
import json
import math
import os
import pickle
import random
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import transform as T
from .utils import UnsafePickleError, safe_from_pickle

__all__ = [
    "DatasetArgs",
    "get_dataset_args",
    "get_templates",
    "make_dataset",
    "get_dataset",
    "validate_args",
    "trace_sample",
]

_DIGITS = [
    [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
    [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
    [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
    [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
    [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
    [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
    [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
    [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
    [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
]

MODES = ("paper", "fast")
PAPER_URL = "https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl"
# samples transformed at once: bounds memory for million-sample sets
_CHUNK = 20_000


@dataclass
class DatasetArgs:
    """The generator's parameters (the paper's defaults). Read and set them as
    attributes.

    ``url`` is the paper's download address of its frozen dataset, carried
    for code written against the paper's package and otherwise unused: this
    package makes the dataset instead of downloading it.
    """

    num_samples: int = 5000
    train_split: float = 0.8
    template_len: int = 12
    padding: list = field(default_factory=lambda: [36, 60])
    scale_coeff: float = 0.4
    max_translation: int = 48
    corr_noise_scale: float = 0.25
    iid_noise_scale: float = 2e-2
    shear_scale: float = 0.75
    shuffle_seq: bool = False
    final_seq_length: int = 40
    seed: int = 42
    # Where the paper's package downloads its frozen file from. Kept so that
    # code reading args.url runs; this package never downloads anything.
    url: str = PAPER_URL

    def as_dict(self):
        return asdict(self)


_KEYS = {f.name for f in fields(DatasetArgs)}


def get_dataset_args(as_dict=False):
    """The default arguments, as a :class:`DatasetArgs` or (``as_dict=True``) a
    dict.
    """
    args = DatasetArgs()
    return args.as_dict() if as_dict else args


def get_templates():
    """The ten 12-point digit templates.

    Returns
    -------
    dict
        ``x``: float64 (10, 12), each row standardised, shifted to start at 0,
        divided by 6; ``t``: float64 (12,), the time axis ``linspace(-5, 5, 12)
        / 6``; ``y``: int64 (10,), the labels 0-9.
    """
    x = np.asarray(_DIGITS, dtype=np.float64)
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return {
        "x": x / 6.0,
        "t": np.linspace(-5, 5, x.shape[1]) / 6.0,
        "y": np.arange(10, dtype=np.int64),
    }


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(
        v, (bool, np.bool_)
    )


def _is_real(v):
    return isinstance(
        v, (int, float, np.integer, np.floating)
    ) and not isinstance(v, (bool, np.bool_))


def _check_int(name, v, low, high=None):
    if not _is_int(v) or v < low or (high is not None and v > high):
        allowed = (
            f"an integer >= {low}"
            if high is None
            else f"an integer in [{low}, {high}]"
        )
        raise ValueError(f"{name} must be {allowed}, got {v!r}")


def _check_scale(name, v):
    if not _is_real(v) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")


def validate_args(args=None):
    """Check dataset arguments and return them as a new :class:`DatasetArgs`.

    Parameters
    ----------
    args : DatasetArgs, dict or object with attributes, optional
        Missing keys take their defaults; ``None`` means all defaults.

    Raises
    ------
    ValueError
        Naming the offending parameter and its allowed range.
    """
    given = _as_mapping(args)
    unknown = set(given) - _KEYS
    if unknown:
        raise ValueError(
            f"unknown dataset argument(s) {sorted(unknown)}; allowed: "
            f"{sorted(_KEYS)}"
        )
    a = DatasetArgs(**{k: v for k, v in given.items() if k in _KEYS})
    _check_int("num_samples", a.num_samples, 10)
    _check_int("template_len", a.template_len, 1)
    _check_int("max_translation", a.max_translation, 1)
    _check_int("final_seq_length", a.final_seq_length, 1)
    _check_int("seed", a.seed, 0, 2**32 - 1)
    for name in (
        "scale_coeff",
        "corr_noise_scale",
        "iid_noise_scale",
        "shear_scale",
    ):
        _check_scale(name, getattr(a, name))
    pad = a.padding
    if (
        not isinstance(pad, (list, tuple, np.ndarray))
        or len(pad) != 2
        or not all(_is_int(p) for p in pad)
        or not 0 <= pad[0] <= pad[1]
    ):
        raise ValueError(
            "padding must be two integers [low, high] with 0 <= low <= high, "
            f"got {pad!r}"
        )
    a.padding = [int(pad[0]), int(pad[1])]
    if not _is_real(a.train_split) or not 0 < a.train_split < 1:
        raise ValueError(
            "train_split must be a number in the open interval (0, 1), got "
            f"{a.train_split!r}"
        )
    total = 10 * (a.num_samples // 10)
    if not 0 < int(total * a.train_split) < total:
        raise ValueError(
            f"train_split={a.train_split} with num_samples={a.num_samples} "
            "leaves the train "
            "or test set empty; train_split * num_samples must be in [1, "
            "num_samples - 1]"
        )
    if not isinstance(a.shuffle_seq, (bool, np.bool_)):
        raise ValueError(
            f"shuffle_seq must be True or False, got {a.shuffle_seq!r}"
        )
    if not isinstance(a.url, str):
        raise ValueError(
            f"url must be a string (the paper's download address, unused "
            f"here), got {a.url!r}"
        )
    return a


def _as_mapping(args):
    if args is None:
        return {}
    if isinstance(args, DatasetArgs):
        return args.as_dict()
    if isinstance(args, dict):
        return dict(args)
    if hasattr(args, "__dict__"):  # e.g. the paper's ObjectView
        return dict(vars(args))
    raise ValueError(
        "args must be a DatasetArgs, a dict or None, got "
        f"{type(args).__name__}"
    )


@dataclass
class _Draws:
    """The random quantities of a block of samples; u_* uniform in [0, 1)."""

    u_pad: np.ndarray  # (n,)
    u_scale: np.ndarray  # (n,)
    shift: np.ndarray  # (n,) int, in [0, max_translation)
    corr: np.ndarray  # (n, L) standard normal
    iid: np.ndarray  # (n, L) standard normal
    u_shear: np.ndarray  # (n,)


def _draw_paper(n, a, length):
    """Draw from numpy's global legacy RandomState in the paper's per-sample
    order.
    """
    rand, randn, randint = np.random.rand, np.random.randn, np.random.randint
    u = np.empty((n, 3))
    shift = np.empty(n, dtype=np.int64)
    corr, iid = np.empty((n, length)), np.empty((n, length))
    m = a.max_translation
    # the stream is interleaved per sample, so only this loop is serial
    for i in range(n):
        u[i, 0] = rand()
        u[i, 1] = rand()
        shift[i] = randint(0, m)  # what RandomState.choice(m) draws
        corr[i] = randn(length)
        iid[i] = randn(length)
        u[i, 2] = rand()
    return _Draws(u[:, 0], u[:, 1], shift, corr, iid, u[:, 2])


def _draw_fast(rng, n, a, length):
    """Draw the same distributions in bulk from a numpy Generator."""
    u = rng.random((3, n))
    return _Draws(
        u[0],
        u[1],
        rng.integers(0, a.max_translation, n),
        rng.standard_normal((n, length)),
        rng.standard_normal((n, length)),
        u[2],
    )


def _transform(templates, labels, d, a, length, steps=None):
    """Steps 1-8 of the generator for samples of the given labels; returns (n,
    final_seq_length).

    If ``steps`` is a dict, the signal after each step is stored in it, by
    step name.
    """

    def keep(name, x):
        if steps is not None:
            steps[name] = x.copy()
        return x

    low, high = a.padding
    span = high - low + 1
    pad_len = low + (d.u_pad * span).astype(np.int64)
    # A padded, stretched digit depends only on (label, padding): make each
    # pair once.
    pairs, which = np.unique(
        labels * span + (pad_len - low), return_inverse=True
    )
    stretched = T.pad_and_stretch(
        templates[pairs // span], low + pairs % span, length
    )
    keep("padded and stretched", stretched[which])
    # Rolling and scaling commute exactly, so roll while gathering, then scale.
    x = keep("translated", T.translate_rows(stretched, d.shift, rows=which))
    x = keep("scaled", T.scale(x, d.u_scale, a.scale_coeff))
    x = keep(
        "correlated noise",
        T.fill_zeros(x, T.correlated_noise(a.corr_noise_scale * d.corr)),
    )
    x = keep("iid noise", x + a.iid_noise_scale * d.iid)
    x = keep("sheared", T.shear_rows(x, d.u_shear, a.shear_scale))
    return keep("resampled", T.resample(x, a.final_seq_length))


def trace_sample(label, args=None, seed=0):
    """One sample of class ``label`` made step by step, for figures.

    Parameters
    ----------
    label : int
        Digit, 0-9.
    args : DatasetArgs or dict, optional
        Generator parameters; ``seed`` is ignored in favour of the
        argument below.
    seed : int
        Seeds a private ``numpy.random.Generator`` for this sample's draws.

    Returns
    -------
    dict
        Step name -> signal, float64 (length,) before the last step and
        (final_seq_length,) after it; steps in the order the generator applies
        them. The signals are not standardised (that needs the whole dataset).
    """
    a = validate_args(args)
    if not (_is_int(label) and 0 <= label <= 9):
        raise ValueError(f"label must be an integer in [0, 9], got {label!r}")
    length = a.template_len + a.padding[1]
    steps = {}
    d = _draw_fast(np.random.default_rng(seed), 1, a, length)
    _transform(get_templates()["x"], np.array([label]), d, a, length, steps)
    return {name: x[0] for name, x in steps.items()}


def _blocks(n):
    return [
        slice(start, min(start + _CHUNK, n)) for start in range(0, n, _CHUNK)
    ]


def _signals_paper(templates, labels, a):
    """Signals in class order from the global RandomState, and its
    ``permutation``.
    """
    random.seed(a.seed)
    np.random.seed(a.seed)
    length = a.template_len + a.padding[1]
    xs = np.empty((len(labels), a.final_seq_length))
    for b in _blocks(len(labels)):
        xs[b] = _transform(
            templates,
            labels[b],
            _draw_paper(b.stop - b.start, a, length),
            a,
            length,
        )
    return xs, np.random.permutation


def _signals_fast(templates, labels, a):
    """Signals in class order, blocks made in parallel threads, and a
    ``permutation``.

    Each block draws from its own generator, spawned from ``seed`` by block
    index, so the numbers do not depend on how many threads run or in which
    order they finish. numpy releases the GIL in its random fills and array
    arithmetic, so threads do run in parallel.
    """
    length = a.template_len + a.padding[1]
    blocks = _blocks(len(labels))
    seeds = np.random.SeedSequence(a.seed).spawn(len(blocks) + 1)
    xs = np.empty((len(labels), a.final_seq_length))

    def make_block(i):
        b = blocks[i]
        d = _draw_fast(
            np.random.default_rng(seeds[i]), b.stop - b.start, a, length
        )
        xs[b] = _transform(templates, labels[b], d, a, length)

    with ThreadPoolExecutor(
        max_workers=min(len(blocks), os.cpu_count() or 1)
    ) as pool:
        list(pool.map(make_block, range(len(blocks))))
    return xs, np.random.default_rng(seeds[-1]).permutation


def make_dataset(args=None, template=None, *, mode="paper"):
    """Generate MNIST-1D.

    Parameters
    ----------
    args : DatasetArgs or dict, optional
        Generator parameters (see :func:`get_dataset_args`); missing
        keys take defaults.
    template : dict, optional
        Templates as returned by :func:`get_templates` (the default).
    mode : {"paper", "fast"}
        ``"paper"`` seeds python's ``random`` and numpy's global RandomState
        with ``args.seed`` and draws from it in the paper's order, so the
        arrays equal the paper's generator's. ``"fast"`` draws in bulk from
        ``numpy.random.default_rng(seed)``: the same distribution, other
        numbers, several times faster for large sets.

    Returns
    -------
    dict
        ``x`` float64 (n_train, final_seq_length), ``x_test`` float64 (n_test,
        ...), ``y``, ``y_test`` int64 labels, ``t`` float64 (final_seq_length,)
        time axis, ``templates``. Signals are standardised with one global mean
        and std.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    a = validate_args(args)
    templates = get_templates() if template is None else template
    n_classes = len(templates["y"])
    labels = np.repeat(np.arange(n_classes), a.num_samples // n_classes)
    make = _signals_paper if mode == "paper" else _signals_fast
    xs, shuffle = make(np.asarray(templates["x"], dtype=np.float64), labels, a)
    order = shuffle(len(labels))
    xs, ys = (
        xs[order],
        np.asarray(templates["y"])[labels][order].astype(np.int64),
    )
    if a.shuffle_seq:
        xs = xs[:, shuffle(a.final_seq_length)]
    t = T.resample(templates["t"], a.template_len + a.padding[1])
    mean, std = xs.mean(), xs.std()  # both of the raw signals, as in the paper
    t = T.resample(t, a.final_seq_length)[0] / std
    xs -= mean
    xs /= std
    split = int(len(ys) * a.train_split)
    return {
        "x": xs[:split],
        "x_test": xs[split:],
        "y": ys[:split],
        "y_test": ys[split:],
        "t": t,
        "templates": templates,
    }


# 2: the record moved to the member/key _META (1 called it "meta" and wrote
# npz under every name), so files of format 1 are rebuilt once, in the format
# their name says
_CACHE_FORMAT = 2
_ARRAYS = ("x", "x_test", "y", "y_test", "t")
# The key (pickle) or member (npz) that holds the cache's record: the spec
# that made the dataset and its checksum. No dataset field has this name, and
# it is written first, so it also marks the start of every file this package
# writes, even a truncated one.
_META = "mnist1d_course_cache"
_FORMATS = {".npz": "npz", ".pkl": "pickle", ".pickle": "pickle"}


def default_cache_dir():
    """``$MNIST1D_CACHE`` if set, else ``~/.cache/mnist1d-course``."""
    return Path(
        os.environ.get(
            "MNIST1D_CACHE", Path.home() / ".cache" / "mnist1d-course"
        )
    )


def _cache_key(a, mode):
    # url is the paper's download address: it does not change the data
    args = {k: v for k, v in a.as_dict().items() if k != "url"}
    spec = json.dumps(
        {"format": _CACHE_FORMAT, "mode": mode, "args": args},
        sort_keys=True,
    )
    return spec, hashlib.sha256(spec.encode()).hexdigest()


def _checksum(arrays):
    h = hashlib.sha256()
    for name in sorted(arrays):
        v = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{v.dtype.str}:{v.shape}".encode())
        h.update(v.tobytes())
    return h.hexdigest()


def _flatten(dataset):
    arrays = {k: dataset[k] for k in _ARRAYS}
    arrays.update(
        {f"templates_{k}": v for k, v in dataset["templates"].items()}
    )
    return arrays


def _file_format(path):
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
    out = {k: d[k] for k in _ARRAYS}
    out["templates"] = {k: d["templates"][k] for k in ("x", "t", "y")}
    for v in (*(out[k] for k in _ARRAYS), *out["templates"].values()):
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
            raise ValueError("a dataset field is not a numeric array")
    return out


def _read_file(path, head):
    """(dataset, record) from an npz archive or a pickle, by content."""
    if head.startswith(b"PK"):  # a zip archive: npz
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
        raw = stored.pop(_META, None)
        if raw is None:
            raw = stored.pop("meta", None)  # format 1's name for it
        d = {k: stored.get(k) for k in _ARRAYS}
        d["templates"] = {
            k[len("templates_") :]: v
            for k, v in stored.items()
            if k.startswith("templates_")
        }
    else:
        d = safe_from_pickle(path)
        raw = d.get(_META) if isinstance(d, dict) else None
    record = json.loads(str(raw)) if raw is not None else None
    if not (isinstance(record, dict) and {"spec", "checksum"} <= set(record)):
        record = None
    return _check_dataset(d), record


def _inspect(path):
    """Read ``path`` without trusting it; never raises for its content."""
    with open(path, "rb") as f:
        head = f.read(64)
    found = _Found(ours=_META.encode() in head, empty=not head)
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
    pairs = [(d[k], ref[k]) for k in _ARRAYS]
    pairs += [
        (d["templates"][k], ref["templates"][k]) for k in ("x", "t", "y")
    ]
    return all(
        a.shape == b.shape and np.allclose(a, b, rtol=0, atol=atol)
        for a, b in pairs
    )


def _accept(found, a, mode, spec):
    """The dataset in ``found`` if it is the one ``a`` and ``mode`` make, else
    None.
    """
    if found.data is None:
        return None
    rec = found.record
    if rec is not None:  # ours: trust the record and the checksum
        arrays = _flatten(found.data)
        ok = rec["spec"] == spec and rec["checksum"] == _checksum(arrays)
        return found.data if ok else None
    # Someone else's file, such as the paper's mnist1d_data.pkl: it carries
    # no arguments, so compare it with what they make (as fast as a miss).
    if _same_dataset(found.data, make_dataset(a, mode=mode)):
        return found.data
    found.problem = (
        "an MNIST-1D dataset, but not the one these arguments make (other "
        "arguments, another seed or mode)"
    )
    return None


def _read_cache(path, a, mode, spec, owned):
    """The dataset at ``path`` if it is the one wanted; None if the file may
    be replaced; ValueError if it may not.

    A file may be replaced when the package wrote it (its own cache folder,
    its record or signature in the file) or it is empty; anything else at a
    path the user chose is theirs.
    """
    found = _inspect(path)
    data = _accept(found, a, mode, spec)
    # an empty file holds nothing of the user's to lose
    if data is not None or owned or found.ours or found.empty:
        return data
    raise ValueError(
        f"path {str(path)!r} holds {found.problem}. It was not written by "
        "this package, so it is left unchanged: pass regenerate=True to "
        "replace it with the dataset, or choose another path."
    )


def _paper_dict(dataset, record):
    """The paper's pickle layout: plain arrays, the record under _META."""
    out = {_META: record}  # first, so that the file starts with it
    out.update({k: np.ascontiguousarray(dataset[k]) for k in _ARRAYS})
    out["templates"] = {
        k: np.ascontiguousarray(v) for k, v in dataset["templates"].items()
    }
    return out


def _write_cache(path, fmt, spec, dataset):
    """Write atomically: a temporary file in the same folder, then a rename.

    ``fmt`` is ``"npz"`` or ``"pickle"`` (protocol 3, as the paper's
    ``to_pickle`` writes, so its ``from_pickle`` reads it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _flatten(dataset)
    record = json.dumps({"spec": spec, "checksum": _checksum(arrays)})
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=path.name, suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            if fmt == "npz":
                np.savez(f, **{_META: np.array(record)}, **arrays)
            else:
                pickle.dump(_paper_dict(dataset, record), f, protocol=3)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


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
        As for :func:`make_dataset`.
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
        As for :func:`make_dataset`.

    Returns
    -------
    dict
        As :func:`make_dataset` returns.

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
    spec, key = _cache_key(a, mode)
    owned = path is None  # the package's own cache folder
    path = (
        Path(path)
        if path is not None
        else default_cache_dir() / f"mnist1d_{key[:16]}.npz"
    )
    fmt = _file_format(path)
    if not regenerate and path.exists():
        data = _read_cache(path, a, mode, spec, owned)
        if data is not None:
            if verbose:
                print(f"Loaded MNIST-1D from {path}")
            return data
    data = make_dataset(a, mode=mode)
    _write_cache(path, fmt, spec, data)
    if verbose:
        print(f"Made MNIST-1D and wrote it to {path}")
    return data


def _torch_dataset_class():
    """Build :class:`MNIST1D` on first use, so that ``import mnist1d.data``
    never imports torch.
    """
    import torch
    from torch.utils.data import Dataset

    class MNIST1D(Dataset):
        """MNIST-1D as a ``torch.utils.data.Dataset``, for ``DataLoader`` and
        course code alike.

        Parameters
        ----------
        train : bool
            The training split (4000 examples with the default
            arguments) or the test split (1000).
        args : DatasetArgs or dict, optional
            Generator arguments, as for :func:`make_dataset`
            (default: the paper's).
        transform, target_transform : callable, optional
            Applied to each signal (a float32 tensor of shape
            (final_seq_length,)) and label (an int64 tensor) when an item is
            read, as in torchvision's datasets.
        path : str or Path, optional
            Cache file for :func:`get_dataset` (default: one per argument set
            under :func:`default_cache_dir`); the dataset is made once and read
            back after that.

        Attributes
        ----------
        data : torch.Tensor, float32, (n, final_seq_length)
        targets : torch.Tensor, int64, (n,)
        t : numpy.ndarray, (final_seq_length,)
            The sample positions, for plotting.
        """

        def __init__(
            self,
            train=True,
            args=None,
            transform=None,
            target_transform=None,
            path=None,
        ):
            if not isinstance(train, bool):
                raise ValueError(f"train must be True or False, got {train!r}")
            for name, f in (
                ("transform", transform),
                ("target_transform", target_transform),
            ):
                if f is not None and not callable(f):
                    raise ValueError(
                        f"{name} must be callable or None, got {f!r}"
                    )
            d = get_dataset(args, path=path)
            x, y = (d["x"], d["y"]) if train else (d["x_test"], d["y_test"])
            self.train = train
            self.data = torch.as_tensor(np.asarray(x, dtype=np.float32))
            self.targets = torch.as_tensor(np.asarray(y, dtype=np.int64))
            self.t = d["t"]
            self.transform, self.target_transform = transform, target_transform

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            x, y = self.data[i], self.targets[i]
            if self.transform is not None:
                x = self.transform(x)
            if self.target_transform is not None:
                y = self.target_transform(y)
            return x, y

        def __repr__(self):
            split = "train" if self.train else "test"
            n, length = self.data.shape
            return f"MNIST1D({split}, {n} examples of length {length})"

    return MNIST1D


def __getattr__(name):
    # PEP 562: mnist1d.data.MNIST1D is built (and torch imported) on first
    # access only.
    if name == "MNIST1D":
        cls = globals()["MNIST1D"] = _torch_dataset_class()
        cls.__module__ = __name__
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
