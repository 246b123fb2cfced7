"""An interactive explorer of the generator's parameters, and its static twin.

:func:`explorer` gives an ipywidgets control per parameter that redraws one
example of each digit. The HTML book has no kernel to redraw, so
:func:`sweep_animation` makes the same figure sweep each of those parameters in
turn, as a matplotlib animation that plays in the browser
(``HTML(animation_html(anim))``). Both draw through :func:`draw_examples` and
share the table :data:`PARAMS`, so every control has a twin.
"""

import textwrap
from dataclasses import dataclass

import numpy as np

from .data import get_dataset_args, make_dataset


@dataclass(frozen=True)
class Param:
    """A generator parameter as the explorer shows it: its range and the values
    a sweep visits."""

    name: str
    low: float
    high: float
    step: float
    is_range: bool = False  # padding is a [low, high] pair

    def sweep(self, frames):
        """Values a sweep visits: ``frames`` of them, from low to high."""
        values = np.linspace(self.low, self.high, frames)
        if self.step >= 1:
            values = np.round(values).astype(int)
        if self.is_range:
            return [[int(v * 0.6), int(v)] for v in values]
        return [v.item() for v in values]


PARAMS = [
    Param("padding", 0, 120, 1, is_range=True),
    Param("scale_coeff", 0.0, 1.5, 0.05),
    Param("max_translation", 1, 100, 1),
    Param("corr_noise_scale", 0.0, 1.0, 0.05),
    Param("iid_noise_scale", 0.0, 0.2, 0.01),
    Param("shear_scale", 0.0, 3.0, 0.05),
    Param("final_seq_length", 10, 120, 1),
    Param("seed", 0, 100, 1),
]


def examples(args=None):
    """One example of each digit made with ``args``.

    Returns
    -------
    x : ndarray, shape (10, final_seq_length)
    t : ndarray, shape (final_seq_length,)
    """
    a = get_dataset_args(as_dict=True) | dict(args or {})
    a.update(num_samples=100, train_split=0.5)
    # fast mode: leaves numpy's global random state alone
    d = make_dataset(a, mode="fast")
    first = [int(np.argmax(d["y"] == c)) for c in range(10)]
    return d["x"][first], d["t"]


def draw_examples(axes, args=None):
    """Draw one example of each digit into 10 axes."""
    from .plotting import plot_digits

    x, t = examples(args)
    return plot_digits(x, t, labels=range(10), axes=axes)


def _control(p, value):
    import ipywidgets as w

    common = dict(value=value, min=p.low, max=p.high, step=p.step)
    common.update(description=p.name, style={"description_width": "120px"})
    common.update(layout=w.Layout(width="420px"))
    if p.is_range:
        return w.IntRangeSlider(**common)
    cls = w.IntSlider if p.step >= 1 else w.FloatSlider
    return cls(**common, continuous_update=False)


def explorer():
    """An ipywidgets panel: a control per entry of :data:`PARAMS`, and the
    examples they make.

    Returns
    -------
    ipywidgets.interactive
        Display it in a notebook. ``.kwargs_widgets`` are the controls;
        each change redraws.
    """
    import ipywidgets as w
    import matplotlib.pyplot as plt

    defaults = get_dataset_args(as_dict=True)
    controls = {p.name: _control(p, defaults[p.name]) for p in PARAMS}

    def redraw(**values):
        fig, axes = plt.subplots(
            1, 10, figsize=(8.5, 2.6), layout="constrained"
        )
        values["padding"] = list(values["padding"])
        draw_examples(axes, values)
        fig.suptitle(
            textwrap.fill(
                ", ".join(f"{k}={v}" for k, v in values.items()), 110
            ),
            fontsize=9,
        )
        plt.show()
        return fig

    return w.interactive(redraw, **controls)


def sweep_animation(frames_per_param=6, interval_ms=400):
    """A matplotlib animation that sweeps each parameter of :data:`PARAMS` in
    turn.

    The other parameters stay at their defaults. Play it in HTML with
    ``IPython.display.HTML(animation_html(anim))``.

    Returns
    -------
    matplotlib.animation.FuncAnimation
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    frames = [(p.name, v) for p in PARAMS for v in p.sweep(frames_per_param)]
    # 70 dpi: frames small enough to store many, text still 9 px or more
    fig, axes = plt.subplots(
        1, 10, figsize=(8.5, 2.4), dpi=70, layout="constrained"
    )

    def update(i):
        name, value = frames[i]
        draw_examples(axes, {name: value})
        fig.suptitle(
            f"{name} = {value}   (others at their defaults)", fontsize=10
        )
        return list(axes)

    anim = FuncAnimation(
        fig, update, frames=len(frames), interval=interval_ms, blit=False
    )
    plt.close(fig)  # shown through to_jshtml, not as a static figure
    return anim


# matplotlib's player draws its buttons with Font Awesome icons loaded from a
# CDN; these characters need no network, so the animation works in an offline
# copy of the book.
_BUTTON_TEXT = {
    "fa fa-play fa-flip-horizontal": "&#9664;",
    "fa fa-minus": "&minus;",
    "fa fa-plus": "+",
    "fa fa-fast-backward": "|&#9664;&#9664;",
    "fa fa-step-backward": "|&#9664;",
    "fa fa-pause": "&#10074;&#10074;",
    "fa fa-play": "&#9654;",
    "fa fa-step-forward": "&#9654;|",
    "fa fa-fast-forward": "&#9654;&#9654;|",
}


def animation_html(anim, default_mode="loop"):
    """The animation as self-contained HTML (``IPython.display.HTML`` it):
    frames and player inline."""
    import re

    import matplotlib.pyplot as plt

    # the figure's own (small) dpi
    with plt.rc_context({"savefig.dpi": "figure"}):
        html = anim.to_jshtml(default_mode=default_mode)
    html = re.sub(
        r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">',
        "",
        html,
    )
    for cls, text in _BUTTON_TEXT.items():
        html = html.replace(f'<i class="{cls}"></i>', text)
    # names for the player's image and frame slider, which matplotlib leaves
    # unnamed (screen readers, axe-core's image-alt and label rules)
    html, n_img = re.subn(
        r'<img id="(_anim_img\w+)"',
        r'<img id="\1" alt="Animation: one example of each digit while one '
        r'generator parameter sweeps its range, the others at their defaults"',
        html,
    )
    html, n_slider = re.subn(
        r'<input id="(_anim_slider\w+)"',
        r'<input id="\1" aria-label="Animation frame"',
        html,
    )
    if (n_img, n_slider) != (1, 1):
        raise RuntimeError(
            "animation HTML: expected one image and one slider to name, found "
            f"{n_img} and {n_slider}; matplotlib's player changed"
        )
    if "https://" in html:
        raise RuntimeError(
            "animation HTML still refers to the network; matplotlib's player "
            "changed"
        )
    return html
