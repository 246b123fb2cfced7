"""Run the chapters as a Colab reader gets them: from a folder that holds only the notebooks.

    python .ci/colab_smoke.py NOTEBOOK_DIR

Run with the Python of the Colab-like environment (.ci/colab): every kernel is that
environment's, with the course installed from its wheel and no checkout on the path.
Chapter 1 runs top to bottom, checks included. Every other chapter runs its first cells
(the install cell, the parameters, the imports: whatever precedes its first experiment)
and then one small step of its experiment, :data:`SMOKE`, so that each chapter's imports
and its experiment's code path run on this stack. It does not check the other chapters'
numbers, figures or claims at this stack's versions: nbval does that on the pinned stack.
"""
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# One small step of each chapter's experiment, in the chapter's own names (its imports ran).
SMOKE = {
    "02": "r = architectures.train_families({'default': data.make_dataset()}, names=('gru', 'cnn', 'mlp', 'linear'),"
          " seeds=(0,), cfg=train.TrainConfig(steps=2, eval_every=2), device=DEVICE, log=None)",
    "03": "r = data_efficiency.train_over_sizes(dict(data_efficiency.POOL_SPECS),"
          " data_efficiency.make_sized_datasets((1000,)),"
          " cfg=train.TrainConfig(steps=2, eval_every=2, eval_train=False), device=DEVICE, log=None)",
    "04": "s = lottery.find_tickets(make_dataset(), [1.0, 0.5], cfg=replace(SEARCH_CFG, steps=2, eval_every=2),"
          " device=DEVICE, log=None)\n"
          "a = lottery.ablate(make_dataset(), *s.masks(1), seed=0, reinit_seed=1,"
          " cfg=replace(ABLATION_CFG, steps=2, eval_every=2), device=DEVICE, log=None)",
    "05": "d = dd.make_data()\n"
          "s = dd.sweep('mlp', (2, 4), d, {'clean': d['y']}, cfg=replace(MLP_CFG, steps=2, eval_every=2),"
          " device=DEVICE, log=None)",
    "06": "r = ml.learn_lr([1.5], ml.make_tensors(ml.LR_DATA_ARGS, device=DEVICE),"
          " replace(ml.LRConfig(), meta_steps=1, inner_steps=3))\n"
          "a = act.learn_activation(ml.make_tensors(device=DEVICE), act.ActConfig(meta_steps=1, inner_steps=3, last=2))",
    "07": "r = ssl.train_ssl(make_dataset()['x'][:200], replace(ssl.SSLConfig(), epochs=1), device=DEVICE)",
}


def first_cells(nb):
    """The code cells up to and including the one that imports the course's package."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            cells.append(cell)
            if "from mnist1d" in cell.source:
                return cells
    raise ValueError("no code cell imports mnist1d")


def run(nb, folder):
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()


def main(folder):
    folder = Path(folder)
    chapters = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    assert len(chapters) == 1 + len(SMOKE), [p.name for p in chapters]
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        if path.name.startswith("01"):
            run(nb, folder)
            what = "top to bottom"
        else:
            nb.cells = first_cells(nb) + [nbformat.v4.new_code_cell(SMOKE[path.name[:2]])]
            run(nb, folder)
            what = f"{len(nb.cells) - 1} first cells + one small step"
        print(f"{path.name}: {what}, {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
