"""The explorer builds and redraws without a display; its static twin covers every control."""
import os
import re
import subprocess
import sys

import matplotlib
import numpy as np

matplotlib.use("Agg")

from mnist1d import widgets  # noqa: E402
from mnist1d.data import get_dataset_args  # noqa: E402

SPEC = ["padding", "scale_coeff", "max_translation", "corr_noise_scale", "iid_noise_scale",
        "shear_scale", "final_seq_length", "seed"]


def test_explorer_has_a_control_per_parameter_at_its_default():
    panel = widgets.explorer()
    controls = {c.description: c for c in panel.kwargs_widgets}
    assert list(controls) == SPEC
    defaults = get_dataset_args(as_dict=True)
    for name, control in controls.items():
        value = list(control.value) if name == "padding" else control.value
        assert value == defaults[name], name
        lo, hi = (control.min, control.max)
        assert lo <= np.min(defaults[name]) and np.max(defaults[name]) <= hi


def test_moving_a_control_redraws_with_its_value():
    panel = widgets.explorer()
    controls = {c.description: c for c in panel.kwargs_widgets}
    before = panel.result
    controls["final_seq_length"].value = 77
    after = panel.result
    assert after is not before
    lines = [ax.lines[0] for ax in after.axes if ax.lines]
    assert len(lines) == 10 and all(len(line.get_xdata()) == 77 for line in lines)
    assert "final_seq_length=77" in after._suptitle.get_text()


def test_examples_one_per_class():
    x, t = widgets.examples({"final_seq_length": 30})
    assert x.shape == (10, 30) and t.shape == (30,)


def test_static_twin_sweeps_every_control():
    swept = [p.name for p in widgets.PARAMS]
    assert swept == SPEC
    for p in widgets.PARAMS:
        values = p.sweep(4)
        assert len(values) == 4 and values[0] != values[-1]
    anim = widgets.sweep_animation(frames_per_param=2)
    html = widgets.animation_html(anim)
    assert "https://" not in html and "&#9654;" in html  # offline player buttons
    assert len(re.findall(r"frames\[\d+\] = ", html)) == 2 * len(widgets.PARAMS)


def test_import_is_light():
    code = "import sys, mnist1d; print(sorted({'matplotlib', 'ipywidgets', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "[]"


def test_fast_mode_million_samples_fits_in_2_gb():
    code = ("import resource; from mnist1d.data import make_dataset; "
            "d = make_dataset({'num_samples': 1_000_000}, mode='fast'); "
            "assert d['x'].shape == (800_000, 40); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) / 1024 < 2048
