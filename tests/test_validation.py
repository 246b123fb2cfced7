"""The engine's public API refuses bad input with a ValueError that names the parameter, and
a diverging run is stopped, or marked NaN, never reported as an accuracy."""
import numpy as np
import pytest
import torch

from mnist1d.data import make_dataset
from mnist1d.experiments import activation, architectures, double_descent, lottery, metalearn, ssl
from mnist1d.experiments.runs import train_stacks
from mnist1d.models import build
from mnist1d.train import DivergedError, TrainConfig, to_tensors, train

QUICK = TrainConfig(steps=20, eval_every=10)


@pytest.fixture(scope="module")
def small():
    return make_dataset({"num_samples": 300})


def _raises(call, *words):
    with pytest.raises(ValueError) as err:
        call()
    for w in words:
        assert w in str(err.value), f"{w!r} not in {str(err.value)!r}"


# The table, row by row.
def test_zero_copies():
    _raises(lambda: build("cnn", n_models=0), "n_models", ">= 1", "0")


def test_negative_width():
    _raises(lambda: build("mlp", width=-5), "width", ">= 1", "-5")


def test_fractional_channels():
    _raises(lambda: build("cnn", channels=2.5), "channels", "integer", "2.5")


def test_input_length_against_the_model(small):
    short = dict(small, x=small["x"][:, :30])
    _raises(lambda: train(build("cnn"), short, QUICK, device="cpu"), "data['x']", "(N, 40)", "(240, 30)")
    _raises(lambda: build("cnn")(torch.zeros(5, 30)), "input", "(B, 40)")


def test_labels_out_of_range(small):
    y = small["y"].copy()
    y[3] = 12
    _raises(lambda: train(build("mlp"), dict(small, y=y), QUICK, device="cpu"), "data['y']", "[0, 9]", "12")
    _raises(lambda: train(build("mlp"), dict(small, y_test=small["y_test"] - 1), QUICK, device="cpu"),
            "data['y_test']", "-1")


def test_batch_larger_than_the_training_set(small):
    fifty = dict(small, x=small["x"][:50], y=small["y"][:50])
    _raises(lambda: train(build("mlp"), fifty, TrainConfig(steps=5, batch_size=100), device="cpu"),
            "batch_size", "(50)", "100")


def test_inputs_full_of_nan(small):
    _raises(lambda: train(build("mlp"), dict(small, x=np.full_like(small["x"], np.nan)), QUICK, device="cpu"),
            "data['x']", "NaN")


# Divergence.
def test_divergence_stops_with_step_copies_and_last_finite_loss(small):
    with pytest.raises(DivergedError) as err:
        train(build("mlp", n_models=2), small, TrainConfig(steps=100, eval_every=25, lr=50.0, optimizer="sgd"),
              device="cpu")
    msg = str(err.value)
    assert "2 of 2 copies" in msg and "copy 0:" in msg and "copy 1:" in msg
    assert "at step" in msg and "last finite loss" in msg and "on_divergence='mark'" in msg


def _one_copy_blows_up(small):
    """Copy 1's inputs are 1e38: finite, but its first logits overflow, so its loss is NaN at step 1."""
    x = np.stack([small["x"], small["x"] * 0 + 1e38]).astype(np.float32)
    return {"x": x, "y": np.stack([small["y"]] * 2), "x_test": np.stack([small["x_test"]] * 2),
            "y_test": np.stack([small["y_test"]] * 2)}


def test_divergence_names_the_first_step(small):
    with pytest.raises(DivergedError, match=r"1 of 2 copies\):\n  copy 1: loss (nan|inf) at step 1; last finite loss none"):
        train(build("mlp", n_models=2), _one_copy_blows_up(small), QUICK, device="cpu")


def test_marked_copies_are_nan_and_the_others_train_as_alone(small):
    data = _one_copy_blows_up(small)
    cfg = TrainConfig(steps=20, eval_every=10, on_divergence="mark")
    both = train(build("mlp", n_models=2, seeds=[0, 1]), data, cfg, device="cpu")
    alone = train(build("mlp", n_models=1, seeds=[0]), small, cfg, device="cpu")
    for key in ("train_loss", "test_loss", "test_acc", "train_acc"):
        assert np.isnan(both[key][:, 1]).all(), key  # never an accuracy
        np.testing.assert_allclose(both[key][:, 0], alone[key][:, 0], rtol=1e-5)
    runs = train_stacks({"mlp": ("mlp", {})}, data, [("fine", 0), ("blown", 1)], cfg, device="cpu", log=None)
    assert runs["mlp"].diverged == [1] and np.isnan(runs["mlp"].final()["blown"]).all()


def test_descent_treats_missing_sizes_as_missing():
    test = np.array([30.0, 20.0, np.nan, 25.0, 15.0])
    d = double_descent.descent([1, 2, 3, 4, 5], [50, 10, np.nan, 0.5, 0.0], test)
    assert d["peak"] == 4 and d["max_rise"] == 5.0 and d["threshold"] == 4
    _raises(lambda: double_descent.descent([1, 2], [1, 1], [np.nan, np.nan]), "test_error")


# Every other validated entry point.
@pytest.mark.parametrize("call, words", [
    (lambda: build("mlp", widht=10), ["widht", "allowed"]),
    (lambda: build("gru", seeds=[-1]), ["seeds[0]", "[0, "]),
    (lambda: build("gru", hidden=0), ["hidden"]),
    (lambda: build("linear", n_classes=1), ["n_classes", ">= 2"]),
    (lambda: build("mlp", residual="yes"), ["residual", "True or False"]),
    (lambda: build("cnn", length=2), ["length 2", "depth 3"]),
    (lambda: build("pool_cnn", pool="max", length=42), ["length", "multiple of 4"]),
    (lambda: build("pool_cnn", pool="median"), ["pool", "'max'"]),
    (lambda: TrainConfig(lr=float("inf")), ["lr", "finite"]),
    (lambda: TrainConfig(momentum=1.0), ["momentum", "< 1"]),
    (lambda: TrainConfig(steps=10.0), ["steps", "integer"]),
    (lambda: TrainConfig(on_divergence="ignore"), ["on_divergence", "'mark'"]),
    (lambda: to_tensors({"x": np.zeros((2, 40)), "y": np.zeros(2), "x_test": np.zeros((1, 40)),
                         "y_test": np.zeros(1, int)}), ["data['y']", "integer class labels"]),
    (lambda: to_tensors({"x": np.zeros((2, 40))}), ["'y'"]),
    (lambda: metalearn.LRConfig(meta_lr=0), ["meta_lr", "> 0"]),
    (lambda: metalearn.LRConfig(inner_steps=0), ["inner_steps"]),
    (lambda: activation.ActConfig(last=400), ["last", "[1, 301]"]),
    (lambda: activation.ActConfig(rms_decay=1.0), ["rms_decay"]),
    (lambda: activation.ActConfig(noise=-0.1), ["noise", ">= 0"]),
    (lambda: ssl.SSLConfig(temperature=0), ["temperature", "> 0"]),
    (lambda: ssl.SSLConfig(epochs=1.5), ["epochs", "integer"]),
    (lambda: double_descent.noisy_labels(np.zeros(5, int), fraction=1.5), ["fraction", "<= 1"]),
    (lambda: lottery.geometric_schedule(1.2, 3), ["rate"]),
    (lambda: lottery.keep_counts([10], 0), ["density"]),
], ids=lambda v: "" if callable(v) else v[0])
def test_bad_arguments(call, words):
    _raises(call, *words)


def test_experiment_entry_points(small):
    with pytest.raises(ValueError, match="columns"):
        train_stacks({"mlp": ("mlp", {})}, _one_copy_blows_up(small), [("a", 0)], QUICK, device="cpu", log=None)
    with pytest.raises(ValueError, match="specs"):
        train_stacks({}, _one_copy_blows_up(small), [("a", 0), ("b", 1)], QUICK, device="cpu", log=None)
    other = make_dataset({"num_samples": 400})
    _raises(lambda: architectures.train_families({"a": small, "b": other}, device="cpu", log=None),
            "every dataset", "'x'")
    _raises(lambda: architectures.train_families({"a": small}, seeds=(), device="cpu", log=None), "seeds")
    _raises(lambda: lottery.find_tickets(small, [1, 0.5], seeds=[0, -2], device="cpu", log=None), "seeds[1]")
    labels = {"clean": small["y"], "short": small["y"][:10]}
    _raises(lambda: double_descent.sweep("mlp", [4], small, labels, device="cpu", log=None), "label_sets['short']")
    _raises(lambda: double_descent.sweep("mlp", [0, 4], small, {"clean": small["y"]}, device="cpu", log=None),
            "sizes")
    data = metalearn.make_tensors({"num_samples": 300}, device="cpu")
    _raises(lambda: metalearn.learn_lr([0.1, -1.0], data), "initial_lrs", "> 0")
    _raises(lambda: metalearn.lr_landscape([], data), "lrs")
    _raises(lambda: ssl.train_ssl(np.zeros((5, 40)), device="cpu"), "x", "batch_size")
    _raises(lambda: ssl.train_ssl(np.full((200, 40), np.nan), device="cpu"), "x", "NaN")


def test_labels_per_copy_with_shared_inputs(small):
    """x shared by all copies, one label set per copy (chapter 5's sweeps): accepted; any
    other label shape is refused."""
    per_copy = dict(small, y=np.stack([small["y"], np.roll(small["y"], 1)]))
    h = train(build("mlp", n_models=2), per_copy, QUICK, device="cpu")
    assert h["test_acc"].shape == (2, 2)
    _raises(lambda: train(build("mlp", n_models=3), per_copy, QUICK, device="cpu"), "data['y']", "(3, 240)")
