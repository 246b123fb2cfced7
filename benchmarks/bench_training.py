"""Training speed: one model, N models one after another, N models at once.

    python benchmarks/bench_training.py [--models 8] [--steps 300] [--threads 2]

The "one after another" baseline is the ordinary way: the paper's CNN written with
torch.nn.Conv1d layers, trained N times. "Together" is mnist1d.models' stacked CNN holding
N copies, trained by mnist1d.train in one loop. All measured in this run, same threads.
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from mnist1d.data import make_dataset
from mnist1d.models import build
from mnist1d.train import TrainConfig, to_tensors, train


def paper_cnn():
    return nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(),
                         nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(125, 10))


def steps_per_second_plain(d, steps):
    model = paper_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = d["x"][:, None, :], d["y"]
    t0 = time.perf_counter()
    for step in range(steps):
        i = (step * 100) % len(y)
        loss = F.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def steps_per_second_stacked(d, name, n_models, steps):
    cfg = TrainConfig(steps=steps, eval_every=steps)
    t0 = time.perf_counter()
    train(build(name, n_models=n_models), d, cfg, device=torch.device("cpu"))
    return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    d = to_tensors(make_dataset(), device=torch.device("cpu"))
    steps_per_second_plain(d, 20)  # warm-up
    one = steps_per_second_plain(d, a.steps)
    in_a_row = one / a.models  # N independent runs take N times as long
    together = steps_per_second_stacked(d, "cnn", a.models, a.steps)
    stacked_one = steps_per_second_stacked(d, "cnn", 1, a.steps)
    print(f"CNN, batch 100, {a.threads} threads, {a.steps} steps each:")
    print(f"  one model (nn.Conv1d):            {one:7.1f} steps/s")
    print(f"  {a.models} models one after another:      {in_a_row:7.1f} steps/s of all {a.models}")
    print(f"  {a.models} models together (stacked):     {together:7.1f} steps/s of all {a.models}"
          f"  -> {together / in_a_row:.1f}x faster than in a row (target >= 4x)")
    print(f"  stacked engine with 1 model:      {stacked_one:7.1f} steps/s "
          f"-> {a.models} together are {together / (stacked_one / a.models):.1f}x faster than this engine one by one")
    for name, m in (("mlp", a.models), ("gru", 6)):
        alone = steps_per_second_stacked(d, name, 1, a.steps // 3)
        many = steps_per_second_stacked(d, name, m, a.steps // 3)
        print(f"  {name}: 1 model {alone:6.1f} steps/s, {m} together {many:6.1f} steps/s "
              f"-> {many / (alone / m):.1f}x faster than {m} in a row")


if __name__ == "__main__":
    main()
