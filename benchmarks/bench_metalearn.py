"""One outer step of chapter 6's activation search: the straightforward way versus ours.

    python benchmarks/bench_metalearn.py [--inner-steps 301] [--threads 2]

"Straightforward" is how the paper's notebook computes it: the learned activation's small
network g runs on every hidden pre-activation, and the inner gradient comes from
``torch.autograd.grad(..., create_graph=True)``, so the meta-gradient differentiates a
gradient. "Ours" is mnist1d.experiments.activation: g tabulated once per outer step and read
by cubic Hermite interpolation, and the inner gradient written out by hand. Both start from
the same weights and noise; the script prints each one's time, the memory its graph keeps,
and how far apart their meta-gradients are, all measured in this run.
"""
import argparse
import time

import torch
import torch.nn.functional as F

from mnist1d.experiments import activation as act
from mnist1d.experiments import metalearn as ml


def straightforward_meta_loss(gp, data, cfg):
    """The meta-loss as the paper's notebook computes it (same init, noise and updates as ours)."""
    x, y = data["x"], data["y"]
    params = ml.init_mlp((x.shape[1], cfg.hidden, 10), cfg.seed)
    params = {k: v.requires_grad_(True) for k, v in params.items()}
    avg_sq = {k: torch.ones_like(v) for k, v in params.items()}
    gen = torch.Generator().manual_seed(cfg.seed + 10_000)
    noise = (torch.rand(cfg.inner_steps, cfg.hidden, generator=gen) * 2 - 1) * cfg.noise

    def f(h):
        g = torch.tanh(h[..., None] * gp["w0"][0] + gp["b0"]) @ gp["w1"][:, 0] + gp["b1"][0]
        return F.elu(h) + cfg.g_scale * g

    losses = []
    for t in range(cfg.inner_steps):
        i = (t * cfg.batch_size) % len(x)
        xb, yb = x[i:i + cfg.batch_size], y[i:i + cfg.batch_size]
        logits = (f(xb @ params["w0"] + params["b0"]) + noise[t]) @ params["w1"] + params["b1"]
        loss = F.cross_entropy(logits, yb)
        grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()), create_graph=True)))
        for k in params:
            avg_sq[k] = cfg.rms_decay * avg_sq[k] + (1 - cfg.rms_decay) * grads[k] ** 2
            params[k] = params[k] - cfg.inner_lr * grads[k] / (avg_sq[k].sqrt() + 1e-8)
        losses.append(loss)
    return torch.stack(losses)[-cfg.last:].mean()


def ours_meta_loss(gp, data, cfg):
    return act.inner_train(act.learned(gp, cfg), data, cfg)[0][-cfg.last:].mean()


def outer_step(meta_loss, gp, data, cfg):
    t0 = time.perf_counter()
    nbytes, loss = ml.graph_bytes(lambda: meta_loss(gp, data, cfg))
    grads = torch.autograd.grad(loss, list(gp.values()))
    return time.perf_counter() - t0, nbytes, loss.item(), torch.cat([g.reshape(-1) for g in grads])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inner-steps", type=int, default=301)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = act.ActConfig(inner_steps=args.inner_steps, last=min(200, args.inner_steps))
    data = ml.make_tensors(device="cpu")
    gp = {k: v.requires_grad_(True) for k, v in ml.init_mlp((1, cfg.g_hidden, 1), cfg.g_seed).items()}
    outer_step(ours_meta_loss, gp, data, act.ActConfig(inner_steps=5, last=5))  # warm up
    results = {name: outer_step(fn, gp, data, cfg)
               for name, fn in (("straightforward", straightforward_meta_loss), ("ours", ours_meta_loss))}
    print(f"one outer step through {cfg.inner_steps} inner steps, {args.threads} thread(s)")
    for name, (seconds, nbytes, loss, _) in results.items():
        print(f"  {name:16s} {seconds:7.2f} s  {nbytes / 2**20:8.0f} MiB kept  meta-loss {loss:.6f}")
    (t_a, b_a, _, g_a), (t_b, b_b, _, g_b) = results.values()
    print(f"  ours is {t_a / t_b:.1f}x faster and keeps {b_a / b_b:.1f}x less memory")
    print(f"  meta-gradients: largest entry {g_a.abs().max():.2e}, largest difference {(g_a - g_b).abs().max():.2e}")


if __name__ == "__main__":
    main()
