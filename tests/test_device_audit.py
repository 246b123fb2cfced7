"""Device audit without a GPU: building blocks run on torch's ``meta`` device.

``meta`` tensors have shapes but no data, and torch refuses to mix them with CPU tensors
exactly as it refuses to mix CUDA and CPU ones, so a tensor created on the wrong device
fails here on a CPU-only machine. Covered: every model and pooling variant forward and
backward; the training loop (every step of it, for plain, shuffled, masked and padded
stacks) up to its evaluation, which reads numbers on the host and so is replaced here;
chapter 4's masks; chapter 6's learning-rate unroll and activation inner loop, forward and
meta-gradient; chapter 7's views, loss and encoders. Not audited: the host reads
outside the steps (the data check before training, evaluation, a round's mask counts, the
once-per-run check of the activation table), which ``meta`` cannot answer;
tests/test_cuda.py runs those on a GPU.
"""
import pytest
import torch
from torch.func import vmap

from mnist1d import train as train_mod
from mnist1d.experiments import activation, double_descent, lottery, metalearn, ssl
from mnist1d.experiments.runs import run_parallel
from mnist1d.models import build


def test_lottery_masks_follow_the_model_to_its_device():
    model = build("mlp", n_models=2)
    keep = lottery.keep_counts(lottery.layer_sizes(model), 0.5)
    # magnitude_masks reads one number on the host per layer (its check that enough
    # parameters survive), which meta cannot give; its masks are made on the CPU and moved.
    ticket = [tuple(t.to("meta") for t in pair) for pair in lottery.magnitude_masks(model, keep)]
    random = lottery.random_masks(model.to("meta"), keep, torch.Generator().manual_seed(0))
    for w, b in ticket + random:
        assert w.device.type == "meta" and b.device.type == "meta"
    stacked = lottery._stack(ticket, random)  # what find_tickets does each round
    assert stacked[0][0].shape[0] == 4


def test_random_masks_keep_k_per_copy_on_every_device():
    model = build("mlp", n_models=2)
    keep = lottery.keep_counts(lottery.layer_sizes(model), 0.3)
    on_cpu = lottery.random_masks(model, keep, torch.Generator().manual_seed(1))
    on_meta = lottery.random_masks(model.to("meta"), keep, torch.Generator().manual_seed(1))
    assert [tuple(t.shape) for pair in on_cpu for t in pair] == [tuple(t.shape) for pair in on_meta for t in pair]
    for (w, b), k in zip(on_cpu, keep):  # each copy keeps exactly k of the layer's parameters
        assert (w.flatten(1).sum(1) + b.flatten(1).sum(1)).tolist() == [k, k]


MODEL_CASES = [("linear", {}), ("mlp", {}), ("cnn", {}), ("gru", {})] + \
    [("pool_cnn", {"pool": p}) for p in ("none", "stride", "max", "avg", "l2")]


@pytest.mark.parametrize("name, kwargs", MODEL_CASES, ids=lambda v: str(v))
def test_every_model_runs_forward_and_backward_on_meta(name, kwargs):
    """Every family and pooling variant, with its custom autograd Functions (conv, ReLU-pool, GRU)."""
    model = build(name, n_models=3, **kwargs).to("meta")
    out = model(torch.randn(3, 8, 40, device="meta"))
    assert out.shape == (3, 8, 10) and out.device.type == "meta"
    out.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())


def test_ssl_views_loss_and_encoders_on_meta():
    cfg = ssl.SSLConfig()
    x = torch.randn(16, 40, device="meta")
    views = torch.cat([ssl.augment(x, cfg, torch.Generator()), ssl.augment(x, cfg, torch.Generator())])
    model = ssl.SimCLR(ssl.PROJECTORS, cfg.channels, 40, 0).to("meta")
    losses = torch.stack([ssl.nt_xent(*z.chunk(2), cfg.temperature) for z in model(views)])
    losses.sum().backward()
    assert views.device.type == "meta" and losses.shape == (len(model.names),)


def test_worker_threads_only_on_the_cpu():
    """On another device the jobs run one after another, with torch's thread count untouched."""
    threads = torch.get_num_threads()
    jobs = [torch.get_num_threads] * 2
    assert run_parallel(jobs, workers=2, device="cpu") == [1, 1]
    assert run_parallel(jobs, workers=2, device="meta") == [threads, threads]


@pytest.fixture
def meta_log(monkeypatch):
    """Replace the training loop's host-side parts (the data check before training, and the
    evaluation with its divergence watch) by a record of what the evaluation was given."""
    seen = []
    monkeypatch.setattr(train_mod, "check_data", lambda model, data, cfg=None: None)
    monkeypatch.setattr(train_mod, "_watch_divergence", lambda *args: None)  # reads the logged losses

    def log(hist, step, train_loss, model, d):
        seen.append((step, train_loss.device.type, {p.device.type for p in model.parameters()}))
    monkeypatch.setattr(train_mod, "_log", log)
    return seen


def _meta_data(n=200, copies=None):
    lead = () if copies is None else (copies,)
    return {"x": torch.randn(*lead, n, 40, device="meta"), "y": torch.randint(0, 10, (*lead, n), device="meta"),
            "x_test": torch.randn(50, 40, device="meta"), "y_test": torch.randint(0, 10, (50,), device="meta")}


@pytest.mark.parametrize("shuffle, optimizer", [(False, "adam"), (True, "sgd")])
def test_training_loop_runs_on_meta(meta_log, shuffle, optimizer):
    cfg = train_mod.TrainConfig(steps=6, eval_every=3, batch_size=50, shuffle=shuffle, optimizer=optimizer)
    train_mod.train(build("cnn", n_models=2), _meta_data(copies=2), cfg, device="meta")
    assert meta_log == [(3, "meta", {"meta"}), (6, "meta", {"meta"})]


def test_masked_and_padded_stacks_train_on_meta(meta_log):
    """Chapter 4's pruned stack (gradient hooks on mask buffers) and chapter 5's padded stack."""
    cfg = train_mod.TrainConfig(steps=2, eval_every=2, batch_size=50)
    model = build("mlp", n_models=2, **lottery.MLP_ARGS)
    masks = lottery.random_masks(model, lottery.keep_counts(lottery.layer_sizes(model), 0.5),
                                 torch.Generator().manual_seed(0))
    train_mod.train(lottery.apply_masks(model, masks), _meta_data(), cfg, device="meta")
    padded = double_descent.padded_stack("mlp", [2, 5], [0, 1])
    train_mod.train(padded, _meta_data(), cfg, device="meta")
    assert [s for s, *_ in meta_log] == [2, 2] and all(d == "meta" for _, d, _ in meta_log)


def test_learning_rate_unroll_and_meta_gradient_on_meta():
    cfg = metalearn.LRConfig(hidden=8, inner_steps=3)
    data = _meta_data()
    params = {k: v.to("meta") for k, v in metalearn.init_mlp((40, 8, 10)).items()}
    lrs = torch.tensor([0.1, 0.2], device="meta", requires_grad=True)
    loss = vmap(metalearn._meta_loss, in_dims=(0, None, None, None, None))(lrs, params, data["x"], data["y"], cfg)
    (grad,) = torch.autograd.grad(loss.sum(), lrs)
    assert loss.device.type == grad.device.type == "meta"


@pytest.mark.parametrize("dense", [False, True], ids=["index_add", "one-hot"])
def test_activation_inner_loop_and_meta_gradient_on_meta(dense):
    """The inner loop runs with the table's deferred copy: it must never read the host."""
    cfg = activation.ActConfig(hidden=8, inner_steps=4, last=2, grid_points=101)
    gp = {k: v.to("meta").requires_grad_(True) for k, v in metalearn.init_mlp((1, 5, 1)).items()}
    act = activation.TableActivation(gp, cfg, dense=dense).deferred()
    data = _meta_data()
    losses, _ = activation._inner_run(act, data["x"], data["y"], cfg, 0)
    grads = torch.autograd.grad(losses[-cfg.last:].mean(), list(gp.values()))
    assert act.outside.device.type == "meta" and all(g.device.type == "meta" for g in grads)
    knots = torch.linspace(-3, 3, 7)
    activation.piecewise_linear(knots, knots.abs())(torch.randn(5, device="meta"))
