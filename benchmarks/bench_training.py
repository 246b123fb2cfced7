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
from mnist1d import paper_models
from mnist1d.data import make_dataset
from mnist1d.models import build
from mnist1d.train import TrainConfig, keep_freed_memory, to_tensors, train


def paper_model(name, **kwargs):
    """The plain torch.nn model (mnist1d.paper_models) for a stacked model's name."""
    return {"linear": paper_models.Linear, "mlp": paper_models.MLP, "cnn": paper_models.CNN,
            "gru": paper_models.GRU, "pool_cnn": paper_models.PoolCNN}[name](**kwargs)


def train_steps_per_second(model, d, steps):
    """Steps per second of mnist1d.train.train itself (argument checks, divergence watch, one
    evaluation at the end), for comparison with the bare loop above."""
    cfg = TrainConfig(steps=steps, eval_every=steps, eval_train=False)
    train(model, d, TrainConfig(steps=10, eval_every=10, eval_train=False), device="cpu")  # warm-up
    t0 = time.perf_counter()
    train(model, d, cfg, device="cpu")
    return steps / (time.perf_counter() - t0)


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
    keep_freed_memory()  # as the experiment runners do, for both sides
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
    print("mnist1d.train.train (checks, divergence watch, one evaluation) against the bare loop, same stack:")
    for name in ("cnn", "mlp", "gru"):
        steps = a.steps if name != "gru" else a.steps // 3
        bare = steps_per_second(build(name, n_models=a.models), d, steps)
        full = train_steps_per_second(build(name, n_models=a.models), d, steps)
        print(f"{name} x {a.models}: bare loop {bare:6.1f} steps/s, train() {full:6.1f} steps/s -> "
              f"train() takes {bare / full:.3f}x the bare loop's time")


if __name__ == "__main__":
    main()
