"""The MNIST-1D transformations, each applied to a whole batch of signals at
once.

Every batch function takes signals as the rows of a float64 array of shape
``(n, length)`` and the per-sample random quantities as arrays of shape
``(n,)`` (or ``(n, length)`` for noise), so the same code makes one example for
a figure or a million for an experiment. The random draws themselves live in
:mod:`mnist1d.data`; no batch function touches a random generator.

The end of the module has the paper's per-signal functions (``pad``, ``shear``,
``translate``, ``corr_noise_like``, ``iid_noise_like``, ``interpolate``,
``transform``) with the paper's names, signatures and random draws, so code
written for the paper's package runs unchanged; they make one signal at a time,
and :mod:`mnist1d.data` does not use them.

The arithmetic follows the paper's per-sample generator step by step (Greydanus
& Kobak, ICML 2024), so that the batch version reproduces its numbers to
rounding error.
"""

import sys
import types

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import gaussian_filter, gaussian_filter1d

__all__ = [
    "interp_rows",
    "resample",
    "pad_and_stretch",
    "scale",
    "translate_rows",
    "correlated_noise",
    "fill_zeros",
    "shear_rows",
    "pad",
    "shear",
    "translate",
    "corr_noise_like",
    "iid_noise_like",
    "interpolate",
    "transform",
]


def interp_rows(xp, fp, x_new):
    """Linearly interpolate many signals sampled on one shared grid, as
    ``np.interp`` does.

    Parameters
    ----------
    xp : ndarray, shape (m,)
        Increasing sample positions of the input signals.
    fp : ndarray, shape (n, m)
        The signals, one per row.
    x_new : ndarray, shape (k,)
        Positions to evaluate, inside ``[xp[0], xp[-1]]``.

    Returns
    -------
    ndarray, shape (n, k)
    """
    if len(xp) == 1:
        return np.repeat(fp, len(x_new), axis=1)
    j = np.searchsorted(xp, x_new, side="right") - 1
    # np.interp returns a sample unchanged where a new position hits it
    # exactly. That matters here: step 5 replaces values that are exactly zero.
    exact = xp[j] == x_new
    lo = np.minimum(j, len(xp) - 2)
    slope = (fp[:, lo + 1] - fp[:, lo]) / (xp[lo + 1] - xp[lo])
    out = slope * (x_new - xp[lo]) + fp[:, lo]
    out[:, exact] = fp[:, j[exact]]
    return out


def resample(x, length):
    """Resample rows linearly to ``length`` points; both grids span [0, 1],
    ends included.

    Parameters
    ----------
    x : ndarray, shape (n, m)
    length : int

    Returns
    -------
    ndarray, shape (n, length)
    """
    x = np.atleast_2d(x)
    return interp_rows(
        np.linspace(0, 1, x.shape[1]), x, np.linspace(0, 1, length)
    )


def pad_and_stretch(x, pad_len, length, eps=1e-8):
    """Steps 1-2: add ``eps``, append ``pad_len[i]`` zeros to row i, resample
    to ``length``.

    The digit ends up squeezed into the first part of a longer signal, by an
    amount that depends on the padding: more padding, narrower digit.

    Parameters
    ----------
    x : ndarray, shape (n, m)
        Templates, one per sample.
    pad_len : ndarray of int, shape (n,)
        Number of zeros appended to each row.
    length : int
        Output length (``template_len + padding[1]`` in the generator).

    Returns
    -------
    ndarray, shape (n, length)
    """
    x = np.atleast_2d(x) + eps
    pad_len = np.asarray(pad_len)
    out = np.empty((len(x), length))
    # Rows with the same padding share a grid; there are few distinct paddings.
    for p in np.unique(pad_len):
        rows = pad_len == p
        padded = np.concatenate([x[rows], np.zeros((rows.sum(), p))], axis=1)
        out[rows] = resample(padded, length)
    return out


def scale(x, u, scale_coeff):
    """Step 3: multiply row i by ``1 + scale_coeff * (u[i] - 0.5)``, u uniform
    in [0, 1)."""
    return x * (1 + scale_coeff * (np.asarray(u) - 0.5))[:, None]


def translate_rows(x, shift, rows=None):
    """Step 4: roll rows right by ``shift[i]`` positions, wrapping around.

    As in the paper's ``concat(x[-k:], x[:-k])``, a shift of 0 or of at least
    the signal length leaves a row unchanged.

    Parameters
    ----------
    x : ndarray, shape (m, length)
    shift : ndarray of int, shape (n,)
    rows : ndarray of int, shape (n,), optional
        Output i is row ``rows[i]`` of x, rolled (default: row i, n = m). Lets
        many samples share one stretched digit without copying it first.

    Returns
    -------
    ndarray, shape (n, length)
    """
    length = x.shape[1]
    shift = np.asarray(shift)
    rows = np.arange(len(shift)) if rows is None else rows
    shift = np.where(shift < length, shift, 0)
    # Output i is the window of [x_r, x_r] starting at length - shift[i]: a
    # gather of contiguous windows, cheaper than an index array as large as the
    # output.
    windows = sliding_window_view(
        np.concatenate([x, x], axis=1), length, axis=1
    )
    return windows[rows, (length - shift) % length]


def correlated_noise(white, sigma=2.0):
    """Smooth white noise along each row with a Gaussian of ``sigma`` samples.

    scipy's defaults (reflect at the ends, kernel truncated at 4 sigma), as
    the paper.
    """
    return gaussian_filter1d(
        white, sigma, axis=-1, mode="reflect", truncate=4.0
    )


def fill_zeros(x, noise):
    """Step 5: replace the entries of x that are exactly zero (the padding) by
    noise.
    """
    return np.where(x != 0, x, noise)


def shear_rows(x, u, shear_scale):
    """Step 7: subtract a line of slope ``c = shear_scale * (u[i] - 0.5)`` from
    row i.
    """
    c = shear_scale * (np.asarray(u) - 0.5)
    return x - c[:, None] * np.linspace(-0.5, 0.5, x.shape[1])


# The paper's per-signal functions, with its names, signatures and random draws
# (numpy's global generator, in its order), for code written against the
# paper's package. They make one signal at a time; the batch functions above
# are the fast path that mnist1d.data uses.


def pad(x, padding):
    """Append between ``padding[0]`` and ``padding[1]`` zeros (one uniform
    draw) to x (n,) or each row of x (k, n)."""
    low, high = padding
    p = low + int(np.random.rand() * (high - low + 1))
    x = np.asarray(x)
    return np.concatenate([x, np.zeros(x.shape[:-1] + (p,))], axis=-1)


def shear(x, scale=10):
    """Subtract a line through zero with a random slope, ``scale * (U(0, 1) -
    0.5)`` over the signal.
    """
    return shear_rows(np.asarray(x)[None], np.random.rand(1), scale)[0]


def translate(x, max_translation):
    """Roll x (along its first axis) right by k, drawn by
    ``np.random.choice(max_translation)``.

    As the paper's, a k of at least the signal's length leaves it unchanged.
    """
    k = np.random.choice(max_translation)
    return x if k >= len(x) else np.roll(x, k, axis=0)


def corr_noise_like(x, scale):
    """Gaussian noise shaped like x, ``scale`` times N(0, 1), smoothed by a
    Gaussian filter of width 2.
    """
    return gaussian_filter(scale * np.random.randn(*np.shape(x)), 2)


def iid_noise_like(x, scale):
    """Independent Gaussian noise shaped like x, ``scale`` times N(0, 1)."""
    return scale * np.random.randn(*np.shape(x))


def interpolate(x, N):
    """Resample x (along its first axis) linearly to N points over the same
    span."""
    x = np.asarray(x, dtype=float)
    old, new = np.linspace(0, 1, len(x)), np.linspace(0, 1, N)
    flat = x.reshape(len(x), -1).T  # one row per signal
    return interp_rows(old, flat, new).T.reshape((N,) + x.shape[1:])


def transform(x, y, args, eps=1e-8):
    """The paper's whole pipeline for one template x (12,) and its positions y
    (12,).

    Returns the signal and its positions, both of length
    ``args.final_seq_length``.
    """
    new_x = pad(x + eps, args.padding)
    new_x = interpolate(new_x, args.template_len + args.padding[-1])
    new_y = interpolate(y, args.template_len + args.padding[-1])
    new_x *= 1 + args.scale_coeff * (np.random.rand() - 0.5)
    new_x = translate(new_x, args.max_translation)
    mask = new_x != 0
    new_x = mask * new_x + (1 - mask) * corr_noise_like(
        new_x, args.corr_noise_scale
    )
    new_x = new_x + iid_noise_like(new_x, args.iid_noise_scale)
    new_x = shear(new_x, args.shear_scale)
    return interpolate(new_x, args.final_seq_length), interpolate(
        new_y, args.final_seq_length
    )


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`transform`.

    The paper's package exports the function ``transform`` as
    ``mnist1d.transform``, where this package has its module, so ``from mnist1d
    import transform`` followed by ``transform(x, y, args)`` must work too;
    ``transform.pad`` and the rest still do.
    """

    def __call__(self, x, y, args, eps=1e-8):
        return transform(x, y, args, eps)


sys.modules[__name__].__class__ = _CallableModule
