"""The MNIST-1D generator: the digit templates, the dataset arguments, and
the steps that turn templates into signals, on whole batches at once.

Users import these names from :mod:`mnist1d.data`, the paper's API.
"""

import os
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import transform as T
from . import validate

__all__ = [
    "MODES",
    "DatasetArgs",
    "Draws",
    "get_dataset_args",
    "get_templates",
    "make_dataset",
    "trace_sample",
    "transform_batch",
    "validate_args",
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
    validate.integer("num_samples", a.num_samples, 10)
    validate.integer("template_len", a.template_len, 1)
    validate.integer("max_translation", a.max_translation, 1)
    validate.integer("final_seq_length", a.final_seq_length, 1)
    validate.integer("seed", a.seed, 0, 2**32 - 1)
    for name in (
        "scale_coeff",
        "corr_noise_scale",
        "iid_noise_scale",
        "shear_scale",
    ):
        validate.number(name, getattr(a, name), low=0)
    a.padding = list(validate.interval("padding", a.padding, 0))
    validate.number("train_split", a.train_split, 0, 1, True, True)
    total = 10 * (a.num_samples // 10)
    if not 0 < int(total * a.train_split) < total:
        raise ValueError(
            f"train_split={a.train_split} with num_samples={a.num_samples} "
            "leaves the train "
            "or test set empty; train_split * num_samples must be in [1, "
            "num_samples - 1]"
        )
    # numpy's bool is no subclass of bool, but is as good a flag
    validate.flag("shuffle_seq", _plain(a.shuffle_seq))
    if not isinstance(a.url, str):
        raise ValueError(
            f"url must be a string (the paper's download address, unused "
            f"here), got {a.url!r}"
        )
    return a


def _plain(flag):
    """numpy's bool as a Python bool; anything else unchanged."""
    return bool(flag) if isinstance(flag, np.bool_) else flag


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
class Draws:
    """The random quantities of a block of n samples, as
    :func:`transform_batch` takes them; u_* uniform in [0, 1).
    """

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
    return Draws(u[:, 0], u[:, 1], shift, corr, iid, u[:, 2])


def _draw_fast(rng, n, a, length):
    """Draw the same distributions in bulk from a numpy Generator."""
    u = rng.random((3, n))
    return Draws(
        u[0],
        u[1],
        rng.integers(0, a.max_translation, n),
        rng.standard_normal((n, length)),
        rng.standard_normal((n, length)),
        u[2],
    )


def transform_batch(templates, labels, d, a, length, steps=None):
    """Steps 1-8 of the generator, on a whole batch of samples at once.

    Parameters
    ----------
    templates : ndarray, float64 (10, template_len)
        The digit templates (``get_templates()["x"]``).
    labels : ndarray, int (n,)
        The digit of each sample.
    d : Draws
        The samples' random numbers, drawn beforehand (n of each).
    a : DatasetArgs
        Validated generator arguments.
    length : int
        The padded length, ``template_len + padding[1]``.
    steps : dict, optional
        If given, the signal after each step is stored in it, by step name.

    Returns
    -------
    ndarray, float64 (n, final_seq_length)
        The signals, not yet standardised (that needs the whole dataset).
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
    validate.integer("label", label, 0, 9)
    length = a.template_len + a.padding[1]
    steps = {}
    d = _draw_fast(np.random.default_rng(seed), 1, a, length)
    transform_batch(
        get_templates()["x"], np.array([label]), d, a, length, steps
    )
    return {name: x[0] for name, x in steps.items()}


def _chunk_slices(n):
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
    for b in _chunk_slices(len(labels)):
        xs[b] = transform_batch(
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
    blocks = _chunk_slices(len(labels))
    seeds = np.random.SeedSequence(a.seed).spawn(len(blocks) + 1)
    xs = np.empty((len(labels), a.final_seq_length))

    def make_block(i):
        b = blocks[i]
        d = _draw_fast(
            np.random.default_rng(seeds[i]), b.stop - b.start, a, length
        )
        xs[b] = transform_batch(templates, labels[b], d, a, length)

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
