"""Figures in one house style. Imports matplotlib, so ``import mnist1d`` does
not load it.

Figures are drawn for the book's column, about 684 CSS px at a 1280 px wide
window: at most ``MAX_WIDTH`` inches wide at 100 px per inch, so the page
shows them at their own size, and stored at twice that resolution (200 dpi,
"retina" PNGs that say their display width), so text is sharp on any screen.
Text is 11 points or more. Colours come from the Okabe-Ito palette, which stays
distinct under the common colour-vision deficiencies; a plot with more than
four series also varies its line styles (:data:`LINESTYLES`).
"""

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler

MAX_WIDTH = 6.8  # inches, at figure.dpi 100: the column's 684 CSS px

# Okabe & Ito (2008), "Color Universal Design": blue, vermillion, bluish
# green, orange, reddish purple, sky blue, yellow, black. The order puts the
# pairs most often compared (C0/C1) far apart in every kind of colour vision.
OKABE_ITO = [
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#E69F00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1))]

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "figure.figsize": (MAX_WIDTH, 3.4),
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 11,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}


def use_style():
    """Apply the course's matplotlib style to every later figure.

    In IPython, inline figures are also stored as retina PNGs (twice the
    pixels, displayed at the figure's size), which is what makes them 200 dpi
    on the page.
    """
    plt.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: plain matplotlib, nothing to configure
        return
    shell = get_ipython()
    if shell is not None:
        # Through the inline backend's own setting: it re-applies its formats
        # when it is activated, which can happen after this call.
        shell.run_line_magic(
            "config", "InlineBackend.figure_formats = ['retina']"
        )


def draw_digit(ax, x, t=None, color="k", label=None):
    """Draw one MNIST-1D signal upright, as the paper does: value across, time
    down.

    Parameters
    ----------
    ax : matplotlib Axes
    x : ndarray, shape (length,)
        The signal.
    t : ndarray, shape (length,), optional
        Its time axis (default: evenly spaced over [-1, 1]).
    """
    t = np.linspace(-1, 1, len(x)) if t is None else t
    ax.plot(x, t, color=color, lw=2)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    if label is not None:
        ax.set_title(str(label))


def plot_digits(xs, t=None, labels=None, ncols=10, size=0.85, axes=None):
    """A grid of signals, one per axes.

    Parameters
    ----------
    xs : ndarray, shape (n, length)
    t : ndarray, shape (length,), optional
    labels : sequence of n titles, optional
    ncols : int
    size : float
        Width of one panel in inches (height is 2.4 times it).

    Returns
    -------
    matplotlib Figure
    """
    if axes is None:
        nrows = -(-len(xs) // ncols)
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(ncols * size, nrows * 2.4 * size),
            squeeze=False,
            layout="constrained",
        )
    else:
        fig = np.ravel(axes)[0].figure
    axes = np.ravel(axes)
    for i, ax in enumerate(axes):
        ax.clear()
        if i < len(xs):
            draw_digit(
                ax, xs[i], t, label=None if labels is None else labels[i]
            )
        else:
            ax.axis("off")
    return fig


def plot_steps(steps, size=1.7, height=3.0, previous=True, dots=40):
    """One panel per generator step, all on the same scale.

    Parameters
    ----------
    steps : dict
        Step name -> signal (1-D array), in the order applied, as
        ``data.trace_sample`` returns.
    size : float
        Width of one panel in inches; the figure is at most ``MAX_WIDTH``
        wide, so with many steps the panels are narrower.
    height : float
        Height of the figure in inches.
    previous : bool
        Draw the previous step's signal in light grey behind each panel after
        the first, so that what the step changed stands out.
    dots : int
        Mark every point of a signal with at most this many points.

    Returns
    -------
    matplotlib Figure

    Notes
    -----
    All panels share one value range (across) and one time axis (down, from
    the signal's first point to its last, whatever its number of points), so
    a scaling shows as a narrower trace and a translation as a lower one.
    """
    names = list(steps)
    xs = [np.asarray(x, dtype=float) for x in steps.values()]
    lo = min(x.min() for x in xs)
    hi = max(x.max() for x in xs)
    margin = 0.06 * (hi - lo or 1.0)
    fig, axes = plt.subplots(
        1,
        len(xs),
        figsize=(min(len(xs) * size, MAX_WIDTH), height),
        layout="constrained",
        squeeze=False,
    )
    for i, (ax, name, x) in enumerate(zip(axes[0], names, xs)):
        if previous and i > 0:
            before = xs[i - 1]
            ax.plot(
                before, np.linspace(-1, 1, len(before)), color="0.78", lw=3
            )
        draw_digit(ax, x)
        if len(x) <= dots:
            ax.plot(x, np.linspace(-1, 1, len(x)), "o", color="k", ms=3)
        ax.set_xlim(lo - margin, hi + margin)
        ax.set_ylim(1.04, -1.04)
        ax.set_title(name.replace(" ", "\n"))
    return fig


def plot_band(ax, steps, values, label=None, color=None, ls="-", percent=True):
    """Mean over runs as a line, with the band from the lowest to the highest
    run.

    Parameters
    ----------
    ax : matplotlib Axes
    steps : ndarray, shape (T,)
    values : ndarray, shape (T, runs)
        For example one dataset's columns of a training history's ``test_acc``.
    percent : bool
        Multiply by 100 (accuracies stored as fractions).
    """
    v = np.asarray(values, dtype=float) * (100 if percent else 1)
    (line,) = ax.plot(steps, v.mean(1), ls=ls, color=color, label=label)
    ax.fill_between(
        steps, v.min(1), v.max(1), color=line.get_color(), alpha=0.2, lw=0
    )
    return line


def plot_confusion(ax, cm, title=None, classes=None):
    """A confusion matrix as a heat map, rows true class, columns predicted, as
    row percentages.

    Parameters
    ----------
    ax : matplotlib Axes
    cm : ndarray, shape (C, C)
        Counts, ``cm[i, j]`` = examples of class i predicted as j.
    """
    cm = np.asarray(cm, dtype=float)
    pct = 100 * cm / cm.sum(1, keepdims=True)
    ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    classes = range(len(cm)) if classes is None else classes
    ax.set_xticks(range(len(cm)), classes)
    ax.set_yticks(range(len(cm)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(cm)):
        for j in range(len(cm)):
            if pct[i, j] >= 1:
                ax.text(
                    j,
                    i,
                    f"{pct[i, j]:.0f}",
                    ha="center",
                    va="center",
                    fontsize=11,
                    color="white" if pct[i, j] > 50 else "black",
                )
    if title:
        ax.set_title(title)
