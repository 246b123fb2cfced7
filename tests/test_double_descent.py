"""Chapter 5's machinery: label noise, size grouping, padded stacks that train like the
small models they hold, the sweep's bookkeeping, and the peak statistics."""
import itertools

import numpy as np
import pytest
import torch

from mnist1d.data import make_dataset
from mnist1d.experiments import double_descent as dd
from mnist1d.models import build
from mnist1d.train import TrainConfig, train

CFG = TrainConfig(steps=60, lr=0.01, optimizer="sgd", momentum=0.9, shuffle=True, eval_every=30)


@pytest.fixture(scope="module")
def small():
    return make_dataset({"num_samples": 1000})


def test_noisy_labels():
    y = np.repeat(np.arange(10), 2000)
    before = y.copy()
    noisy = dd.noisy_labels(y, 0.15, seed=1)
    np.testing.assert_array_equal(y, before)  # a new array; the clean labels stay clean
    assert abs((noisy != y).mean() - 0.15 * 0.9) < 0.01  # a redraw keeps its label 1 time in 10
    np.testing.assert_array_equal(noisy, dd.noisy_labels(y, 0.15, seed=1))
    assert (noisy != dd.noisy_labels(y, 0.15, seed=2)).any()
    assert np.bincount(noisy[noisy != y], minlength=10).min() > 200  # redraws cover every class
    np.testing.assert_array_equal(dd.noisy_labels(y, 0.0), y)
    with pytest.raises(ValueError, match="fraction"):
        dd.noisy_labels(y, 1.5)


def test_size_macs_counts_the_weights():
    for h in (2, 47, 300):  # an MLP's multiply-adds per example are its weights
        mlp = build("mlp", width=h, **dd.MODEL_ARGS["mlp"])
        assert dd.size_macs("mlp", h) == sum(layer.weight[0].numel() for layer in [mlp.inp, *mlp.hidden, mlp.out])
    cnn = build("cnn", channels=7)
    lengths, n = [], 40
    for conv in cnn.convs:
        n = conv.out_length(n)
        lengths.append(n)
    assert lengths == [19, 10, 5]
    assert dd.size_macs("cnn", 7) == sum(c.weight[0].numel() * n for c, n in zip(cnn.convs, lengths)) \
        + cnn.out.weight[0].numel()
    with pytest.raises(ValueError, match="name"):
        dd.size_macs("gru", 3)


def test_plan_groups_is_optimal():
    sizes = [2, 3, 5, 9, 20, 21, 60]
    cost = lambda s: s * s  # noqa: E731
    assert dd.plan_groups(sizes, cost, 0) == [[s] for s in sizes]
    assert dd.plan_groups(sizes, cost, 1e9) == [sizes]

    def total(groups, overhead, copies):
        return sum(overhead + sum(copies[s] for s in g) * cost(g[-1]) for g in groups)

    for copies in ({s: 1 for s in sizes}, {s: 4 if s < 10 else 1 for s in sizes}):
        for overhead in (10, 100, 1000):
            groups = dd.plan_groups(sizes[::-1], cost, overhead, copies)  # any order in, sorted groups out
            assert sum(groups, []) == sizes
            best = min(total([sizes[i:j] for i, j in zip((0,) + cuts, cuts + (len(sizes),))], overhead, copies)
                       for r in range(len(sizes)) for cuts in itertools.combinations(range(1, len(sizes)), r))
            assert total(groups, overhead, copies) == best
    # Many copies of the 20 make padding it to 21 dearer than a stack of its own.
    assert [20] in dd.plan_groups(sizes, cost, 100, {**{s: 1 for s in sizes}, 20: 50})


@pytest.mark.parametrize("name,sizes", [("mlp", [3, 7, 12]), ("cnn", [2, 5])])
def test_padded_copies_train_like_small_models(small, name, sizes):
    seeds = [4, 5, 6][:len(sizes)]
    big = dd.padded_stack(name, sizes, seeds)
    together = train(big, small, CFG, device="cpu")
    for j, (size, seed) in enumerate(zip(sizes, seeds)):
        alone = train(build(name, seeds=[seed], **{dd.SIZE_KEYS[name]: size}, **dd.MODEL_ARGS[name]), small, CFG,
                      device="cpu")
        np.testing.assert_allclose(together["test_loss"][:, j], alone["test_loss"][:, 0], rtol=1e-5)
    # The padding outside each copy's own block is still exactly zero after training.
    for j, size in enumerate(sizes):
        fresh = dd._blocks(build(name, **{dd.SIZE_KEYS[name]: size}, **dd.MODEL_ARGS[name]))
        for view, s in zip(dd._blocks(big), fresh):
            outside = view[j].clone()
            outside[tuple(slice(0, n) for n in s.shape[1:])] = 0
            assert not outside.any()


def test_sweep_copies_match_models_trained_alone(small):
    labels = {"clean": small["y"], "noisy": dd.noisy_labels(small["y"], 0.3)}
    cfg = TrainConfig(**{**CFG.__dict__, "steps": 40, "eval_every": 20})
    s = dd.sweep("mlp", [9, 2, 3], small, labels, cfg=cfg, n_seeds=2, first_seed=7, overhead=400, log=None)
    assert list(s.sizes) == [2, 3, 9] and len(s.groups) == 2  # the overhead splits 9 off
    assert list(s.step) == [20, 40] and s.train_error["noisy"].shape == (2, 2, 3)
    assert list(s.parameters) == [41 * h + h * h + h + 10 * h + 10 for h in (2, 3, 9)]
    for k, y in labels.items():
        for r, j in [(0, 0), (1, 1), (1, 2)]:
            model = build("mlp", seeds=[7 + 3 * r + j], width=[2, 3, 9][j], **dd.MODEL_ARGS["mlp"])
            h = train(model, {**small, "y": y}, cfg, device="cpu")
            np.testing.assert_allclose(s.runs("test", k)[r, j], 100 * (1 - h["test_acc"][-1, 0]), atol=0.21)
            np.testing.assert_allclose(s.runs("train", k)[r, j], 100 * (1 - h["train_acc"][-1, 0]), atol=0.06)
    np.testing.assert_allclose(s.error("test", "noisy"), s.runs("test", "noisy").mean(0))
    with pytest.raises(ValueError, match="name"):
        dd.sweep("gru", [2], small, labels)


def test_sweep_seeds_per_size(small):
    cfg = TrainConfig(**{**CFG.__dict__, "steps": 20, "eval_every": 20})
    labels = {"clean": small["y"]}
    s = dd.sweep("mlp", [2, 3, 9], small, labels, cfg=cfg, n_seeds={2: 3, 3: 1, 9: 2}, first_seed=7, log=None)
    assert list(s.n_seeds) == [3, 1, 2] and s.test_error["clean"].shape == (1, 3, 3)
    runs = s.runs("test", "clean")
    assert np.isnan(runs).tolist() == [[False] * 3, [False, True, False], [False, True, True]]
    np.testing.assert_allclose(s.error("test", "clean"), [runs[:, 0].mean(), runs[0, 1], runs[:2, 2].mean()])
    # Replicate r of the i-th size starts from the same seed as with a uniform seed count.
    uniform = dd.sweep("mlp", [2, 3, 9], small, labels, cfg=cfg, n_seeds=3, first_seed=7, log=None)
    np.testing.assert_allclose(runs[~np.isnan(runs)], uniform.runs("test", "clean")[~np.isnan(runs)], atol=0.21)
    for bad in (0, {2: 1, 3: 1}, {2: 1, 3: 1, 9: 1.5}):
        with pytest.raises(ValueError, match="n_seeds"):
            dd.sweep("mlp", [2, 3, 9], small, labels, cfg=cfg, n_seeds=bad)


def test_descent_statistics():
    sizes = np.array([2, 4, 8, 16, 32, 64, 128])
    train_err = np.array([60, 40, 20, 5, 0.5, 0, 0])
    test_err = np.array([60, 45, 40, 44, 50, 46, 41])
    d = dd.descent(sizes, train_err, test_err)
    assert d == {"threshold": 32, "peak": 32, "peak_error": 50.0, "min_before": 40.0, "last": 41.0,
                 "max_rise": 10.0}
    monotone = dd.descent(sizes, train_err + 10, np.linspace(60, 30, 7))
    assert monotone["threshold"] is None and monotone["max_rise"] == 0
