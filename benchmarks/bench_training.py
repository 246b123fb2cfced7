"""Training speed: N models one after another versus N models at once.

    python benchmarks/bench_training.py [--models 8] [--steps 300] [--threads 2]

"One after another" is the ordinary way: the paper's model written with torch.nn layers
(nn.Conv1d, nn.GRU, nn.Linear), trained N times. "Together" is mnist1d.models' stacked
model holding N copies. Both go through the same loop here (batch 100 in order, Adam with
the fused kernel, no evaluation), so the ratio measures the stacking alone; everything is
measured in this run, with the same thread count.
"""
import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from mnist1d.data import make_dataset
from mnist1d.models import build
from mnist1d.train import _keep_freed_memory, to_tensors


class PaperGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(1, 6, batch_first=True, bidirectional=True)
        self.out = nn.Linear(480, 10)

    def forward(self, x):
        return self.out(self.rnn(x.unsqueeze(-1))[0].flatten(1))


def paper_pool_cnn(pool):
    """Chapter 3's CNN with torch.nn layers (pool: "none", "stride", "max", "avg" or "l2")."""
    stride = 2 if pool == "stride" else 1
    layers = [nn.Unflatten(1, (1, 40))]
    for c_in in (1, 20):
        layers += [nn.Conv1d(c_in, 20, 3, stride, 1), nn.ReLU()]
        layers += {"max": [nn.MaxPool1d(2)], "avg": [nn.AvgPool1d(2)], "l2": [nn.LPPool1d(2, 2)]}.get(pool, [])
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(800 if pool == "none" else 200, 10))


def paper_model(name, **kwargs):
    if name == "pool_cnn":
        return paper_pool_cnn(**kwargs)
    if name == "cnn":
        return nn.Sequential(nn.Unflatten(1, (1, 40)), nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(),
                             nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(),
                             nn.Flatten(), nn.Linear(125, 10))
    if name == "mlp":
        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.b, self.c = nn.Linear(40, 100), nn.Linear(100, 100), nn.Linear(100, 10)

            def forward(self, x):
                h = torch.relu(self.a(x))
                return self.c(h + torch.relu(self.b(h)))
        return MLP()
    return PaperGRU()


def steps_per_second(model, d, steps):
    """Training steps per second of ``model`` (plain: (B, C) logits; stacked: (M, B, C))."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=True)
    x, y = d["x"], d["y"]

    def step(i):
        start = (i * 100) % len(y)
        logits = model(x[start:start + 100])
        logits = logits.reshape(-1, 10)
        loss = F.cross_entropy(logits, y[start:start + 100].repeat(len(logits) // 100))
        opt.zero_grad()
        loss.backward()
        opt.step()

    for i in range(10):  # warm-up
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    _keep_freed_memory()  # as mnist1d.train does, for both sides
    d = to_tensors(make_dataset(), device=torch.device("cpu"))
    print(f"batch 100, {a.threads} threads, {a.steps} steps per measurement")
    cases = [("cnn", a.models, {}), ("mlp", a.models, {}), ("gru", 6, {})]
    cases += [("pool_cnn", 6, {"pool": pool}) for pool in ("none", "stride", "max", "avg", "l2")]  # chapter 3
    for name, n, kwargs in cases:
        steps = a.steps if name != "gru" else a.steps // 3
        one = steps_per_second(paper_model(name, **kwargs), d, steps)
        together = steps_per_second(build(name, n_models=n, **kwargs), d, steps)
        stacked_one = steps_per_second(build(name, n_models=1, **kwargs), d, steps)
        target = "  (target >= 4x)" if name == "cnn" else ""
        label = name + "".join(f" {v}" for v in kwargs.values())
        print(f"{label}: one torch.nn model {one:6.1f} steps/s; {n} in a row {one / n:6.1f} steps/s of all {n}; "
              f"{n} together {together:6.1f} steps/s -> {together / (one / n):.1f}x faster than in a row{target}; "
              f"(stacked engine with 1 copy: {stacked_one:6.1f} steps/s)")


if __name__ == "__main__":
    main()
