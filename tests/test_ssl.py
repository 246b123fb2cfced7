"""Chapter 7's machinery: augmentations, the contrastive loss, the encoder with its
projector variants, and variants that train side by side exactly as they would alone."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist1d.data import make_dataset
from mnist1d.experiments import ssl


@pytest.fixture(scope="module")
def x():
    return torch.tensor(make_dataset()["x"][:300], dtype=torch.float32)


def test_detrend_removes_mean_and_slope(x):
    t = torch.arange(40.0) - 19.5
    out = ssl.detrend(x)
    torch.testing.assert_close(out.mean(1), torch.zeros(len(x)), atol=1e-5, rtol=0)
    torch.testing.assert_close(out @ t, torch.zeros(len(x)), atol=1e-3, rtol=0)
    torch.testing.assert_close(ssl.detrend(x + 2.0 + 0.1 * t), out, atol=1e-5, rtol=0)  # blind to a + b t


def test_augment_is_a_roll_plus_slope_and_offset(x):
    cfg = ssl.SSLConfig(slope_sd=0.0, offset_sd=0.0)
    view = ssl.augment(x[:50], cfg, torch.Generator().manual_seed(0))
    base = ssl.detrend(x[:50])
    for i in range(50):  # each view is its detrended signal rolled by 0..max_roll-1
        assert any(torch.allclose(view[i], base[i].roll(s)) for s in range(cfg.max_roll)), i
    cfg = ssl.SSLConfig()
    a, b = (ssl.augment(x, cfg, torch.Generator().manual_seed(3)) for _ in range(2))
    torch.testing.assert_close(a, b)
    slopes = (a @ (torch.arange(40.0) - 19.5)) / ((torch.arange(40.0) - 19.5) ** 2).sum()
    assert 0.02 < slopes.std().item() < 0.06  # the added slope's spread, N(0, 0.04)


def test_nt_xent_matches_the_formula():
    z1, z2 = torch.randn(5, 3), torch.randn(5, 3)
    a, b = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    total = 0.0
    for i in range(5):  # each view's positive is the other view of the same signal
        total += -(a[i] @ b[i] / 0.5 - torch.logsumexp(a[i] @ b.T / 0.5, 0))
        total += -(b[i] @ a[i] / 0.5 - torch.logsumexp(b[i] @ a.T / 0.5, 0))
    torch.testing.assert_close(ssl.nt_xent(z1, z2, 0.5), total / 10)
    same = F.normalize(torch.eye(5), dim=1)  # views that agree and are orthogonal to the rest
    assert ssl.nt_xent(same, same, 0.1) < 1e-3 < ssl.nt_xent(same, same.roll(1, 0), 0.1)


def test_encoder_matches_the_paper():
    model = ssl.SimCLR()
    heads = {name: sum(p.numel() for p in head.parameters()) for name, head in zip(model.names, model.heads)}
    encoder = sum(p[0].numel() for conv in model.convs for p in conv.parameters())
    assert encoder + heads["projector"] == 21_716  # the paper's count
    assert heads["none"] == 0
    reps = model.layers(torch.zeros(7, 40))
    dims = {name: [r.shape[1] for r in rep] for name, rep in zip(model.names, reps)}
    assert dims == {"projector": [40, 475, 250, 125, 125, 16], "none": [40, 475, 250, 125],
                    "deep": [40, 475, 250, 125, 125, 125, 125, 16]}
    for conv in model.convs:  # every variant starts from the same encoder
        assert torch.equal(conv.weight[0], conv.weight[2])


def test_variants_train_side_by_side_as_alone(x):
    cfg = ssl.SSLConfig(epochs=2)
    both = ssl.train_ssl(x, cfg, {"projector": (125, 16), "deep": (125, 125, 125, 16)}, device="cpu")
    alone = ssl.train_ssl(x, cfg, {"projector": (125, 16)}, device="cpu")
    np.testing.assert_allclose(both.loss[:, 0], alone.loss[:, 0], rtol=1e-4)
    assert both.loss.shape == (2, 2) and both.loss[1, 0] < both.loss[0, 0]
    again = ssl.train_ssl(x, cfg, {"projector": (125, 16)}, device="cpu")
    np.testing.assert_array_equal(again.loss, alone.loss)


def test_probes_and_config_validation():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    f = np.eye(3)[y] * 5 + rng.normal(0, 0.1, (60, 3))
    assert ssl.linear_probe(f, y, f, y) == 1
    assert ssl.cosine_knn_accuracy(f, y, f, y, k=5) == 1
    with pytest.raises(ValueError, match="temperature"):
        ssl.SSLConfig(temperature=0)
    with pytest.raises(ValueError, match="max_roll"):
        ssl.SSLConfig(max_roll=0)


def test_probe_layers_names_every_layer_of_every_variant():
    data = make_dataset()
    small = {k: data[k][:400] for k in ("x", "y", "x_test", "y_test")}
    model = ssl.SimCLR()
    probes, knn = ssl.probe_layers(model, small)
    for name, sizes in ssl.PROJECTORS.items():
        assert len(probes[name]) == len(ssl.layer_names(sizes))
        assert np.all((probes[name] >= 0) & (probes[name] <= 1)) and 0 <= knn[name] <= 1
    assert ssl.layer_names((125, 16)) == ["input", "conv1", "conv2", "H", "proj 1", "Z"]
    assert ssl.layer_names(()) == ["input", "conv1", "conv2", "H = Z"]
    # the input layer is the raw signal, so its probe is the same for every variant
    assert probes["projector"][0] == probes["none"][0] == probes["deep"][0]
    # identical untrained encoders: identical conv-layer probes
    np.testing.assert_array_equal(probes["projector"][:4], probes["deep"][:4])
