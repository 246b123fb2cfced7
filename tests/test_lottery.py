"""Chapter 4's lottery-ticket machinery: masks, pruning, rewinding, ablations, adjacency."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from mnist1d.data import make_dataset
from mnist1d.experiments import lottery as lt
from mnist1d.models import build, count_parameters
from mnist1d.train import train


@pytest.fixture(scope="module")
def data():
    return make_dataset(mode="fast")


def small(n=1, seeds=None, width=8):
    return build("mlp", n_models=n, seeds=seeds, width=width, depth=2, residual=True)


def test_paper_mlp_size():
    model = build("mlp", **lt.MLP_ARGS)
    assert count_parameters(model) == 276_010
    assert lt.layer_sizes(model) == [20_500, 250_500, 5_010]


def test_keep_counts():
    assert lt.keep_counts([20_500, 250_500, 5_010], 0.2) == [4100, 50100, 1002]
    for bad in (0, 1.5, -0.1):
        with pytest.raises(ValueError, match="density must be in"):
            lt.keep_counts([10], bad)


def test_masked_parameters_are_zero_and_never_move(data):
    model = small(2, seeds=[0, 1])
    masks = lt.random_masks(model, lt.keep_counts(lt.layer_sizes(model), 0.3), torch.Generator().manual_seed(0))
    lt.apply_masks(model, masks)
    cfg = replace(lt.SEARCH_CONFIG, steps=5, eval_every=5)
    before = [p.detach().clone() for p in model.parameters()]
    train(model, data, cfg, device="cpu")
    for layer, (wm, bm), w0, b0 in zip(lt.prunable(model), masks, before[0::2], before[1::2]):
        assert (layer.weight[~wm] == 0).all() and (layer.bias[~bm] == 0).all()
        assert not layer.weight[wm].eq(w0[wm]).all()  # the survivors did train
    assert all(torch.equal(a, b) for (a, b), (c, d) in zip(lt.get_masks(model), masks) for a, b in ((a, c), (b, d)))
    lt._check_masks(model)
    with torch.no_grad():
        model.out.bias[~masks[2][1]] = 1.0
    with pytest.raises(RuntimeError, match="masked parameter is no longer zero"):
        lt._check_masks(model)


def test_masks_train_as_torch_prune_does(data):
    """apply_masks builds the network torch.nn.utils.prune.custom_from_mask builds, and trains it the same way."""
    from torch.nn.utils import prune
    masks = lt.random_masks(small(2), lt.keep_counts(lt.layer_sizes(small(2)), 0.2), torch.Generator().manual_seed(1))
    ours = lt.apply_masks(small(2, seeds=[0, 1]), masks)
    theirs = small(2, seeds=[0, 1])
    for layer, (wm, bm) in zip(lt.prunable(theirs), masks):
        prune.custom_from_mask(layer, "weight", wm.float())
        prune.custom_from_mask(layer, "bias", bm.float())
    cfg = replace(lt.SEARCH_CONFIG, steps=40, eval_every=10)
    a, b = train(ours, data, cfg, device="cpu"), train(theirs, data, cfg, device="cpu")
    np.testing.assert_allclose(a["test_loss"], b["test_loss"], rtol=1e-4)
    for mine, layer in zip(lt.prunable(ours), lt.prunable(theirs)):
        torch.testing.assert_close(mine.weight, layer.weight, rtol=1e-4, atol=1e-5)


def test_magnitude_masks_keep_the_largest_survivors():
    model = small(2, seeds=[0, 1])
    keep = lt.keep_counts(lt.layer_sizes(model), 0.5)
    first = lt.magnitude_masks(model, keep)
    for layer, k, (wm, bm) in zip(lt.prunable(model), keep, first):
        values = torch.cat([layer.weight.flatten(1), layer.bias.flatten(1)], 1).abs()
        kept = torch.cat([wm.flatten(1), bm.flatten(1)], 1)
        assert (kept.sum(1) == k).all()
        for m in range(2):  # every kept magnitude >= every pruned one, per copy
            assert values[m][kept[m]].min() >= values[m][~kept[m]].max()
    # Once masked, a parameter can never come back, whatever its value.
    lt.apply_masks(model, first)
    with torch.no_grad():
        model.inp.weight[~first[0][0]] = 100.0
    second = lt.magnitude_masks(model, lt.keep_counts(lt.layer_sizes(model), 0.25))
    for (w2, b2), (w1, b1) in zip(second, first):
        assert not (w2 & ~w1).any() and not (b2 & ~b1).any()


def test_random_masks_have_exact_counts_and_follow_the_seed():
    model = small(3)
    keep = lt.keep_counts(lt.layer_sizes(model), 0.1)
    a = lt.random_masks(model, keep, torch.Generator().manual_seed(4))
    b = lt.random_masks(model, keep, torch.Generator().manual_seed(4), n_models=3)
    for (wa, ba), (wb, bb), k in zip(a, b, keep):
        assert torch.equal(wa, wb) and torch.equal(ba, bb)
        assert (wa.flatten(1).sum(1) + ba.flatten(1).sum(1) == k).all()
        assert not torch.equal(wa[0], wa[1])


def test_apply_masks_rejects_bad_shapes():
    model = small(2)
    masks = lt.get_masks(small(3))
    with pytest.raises(ValueError, match=r"weight mask must have shape \(2, 40, 8\)"):
        lt.apply_masks(model, masks)
    with pytest.raises(ValueError, match="one \\(weight, bias\\) pair per layer"):
        lt.apply_masks(model, masks[:2])


def test_search_rewinds_and_each_copy_trains_as_if_alone(data):
    cfg = replace(lt.SEARCH_CONFIG, steps=30, eval_every=30)
    search = lt.find_tickets(data, lt.geometric_schedule(0.5, 2), seeds=(3, 4), cfg=cfg, log=None)
    np.testing.assert_allclose(search.density, [1, 0.5, 0.25], atol=1e-4)
    assert search.ticket_acc.shape == search.random_acc.shape == (3, 2)
    np.testing.assert_array_equal(search.random_acc[0], search.ticket_acc[0])
    for r in (1, 2):  # masks are nested: a pruned parameter stays pruned
        for (w, b), (w0, b0) in zip(search.ticket_masks[r], search.ticket_masks[r - 1]):
            assert not (w & ~w0).any() and not (b & ~b0).any()
    # Round 1's ticket of seed 4, rebuilt by hand: dense training, magnitude pruning, the
    # same initial weights (seed 4) under the mask, trained alone.
    dense = build("mlp", seeds=[4], **lt.MLP_ARGS)
    train(dense, data, cfg, device="cpu")
    masks = lt.magnitude_masks(dense, lt.keep_counts(lt.layer_sizes(dense), 0.5))
    assert all(torch.equal(a, b) for pa, pb in zip(masks, search.masks(1, copy=1)[0]) for a, b in zip(pa, pb))
    ticket = lt.apply_masks(build("mlp", seeds=[4], **lt.MLP_ARGS), masks)
    alone = train(ticket, data, cfg, device="cpu")["test_acc"][-1, 0]
    assert search.ticket_acc[1, 1] == pytest.approx(alone, abs=2e-3)
    assert search.nearest(0.7) == 2 and search.nearest(0.1) == 0


def test_schedules_and_bad_input(data):
    np.testing.assert_allclose(lt.geometric_schedule(0.2, 3), [1, 0.8, 0.64, 0.512])
    with pytest.raises(ValueError, match="rate must be in"):
        lt.geometric_schedule(1.0, 3)
    with pytest.raises(ValueError, match="rounds must be"):
        lt.geometric_schedule(0.2, 0)
    for bad in ([1.0], [0.9, 0.5], [1.0, 0.5, 0.5], [1.0, 0.0]):
        with pytest.raises(ValueError, match="densities must start at 1"):
            lt.find_tickets(data, bad)


def test_input_orders():
    orders = lt.input_orders(40, seed=1, chunks=4)
    assert set(orders) == set(lt.ORDERS)
    for idx in orders.values():
        assert sorted(idx) == list(range(40))
    np.testing.assert_array_equal(orders["reversed"], np.arange(40)[::-1])
    np.testing.assert_array_equal(orders["baseline"], np.arange(40))
    chunks = orders["chunks"].reshape(4, 10)
    assert (np.diff(chunks, axis=1) == 1).all()         # order inside a chunk is kept
    assert (chunks[:, 0] != np.arange(0, 40, 10)).all()  # and no chunk stays in place
    assert not (orders["permuted"] == np.arange(40)).all()
    with pytest.raises(ValueError, match="chunks must divide length=40"):
        lt.input_orders(40, chunks=3)


def test_ablation_arms(data):
    ticket = lt.magnitude_masks(build("mlp", seeds=[0], **lt.MLP_ARGS), lt.keep_counts([20_500, 250_500, 5_010], 0.1))
    random = lt.random_masks(build("mlp", **lt.MLP_ARGS), lt.keep_counts([20_500, 250_500, 5_010], 0.1),
                             torch.Generator().manual_seed(0))
    cfg = replace(lt.ABLATION_CONFIG, steps=6, eval_every=6)
    ab = lt.ablate(data, ticket, random, seed=0, reinit_seed=9, cfg=cfg, log=None)
    assert ab.acc.shape == (5, 3)
    assert ab.advantage("permuted") == pytest.approx(ab.get("permuted", "ticket") - ab.get("permuted", "dense"))
    # The "permuted" row's dense arm is the dense network from seed 0 on permuted inputs;
    # the "reinit" row's is the dense network from the new seed.
    perm = ab.orders["permuted"]
    shuffled = dict(data, x=data["x"][:, perm], x_test=data["x_test"][:, perm])
    alone = train(build("mlp", seeds=[0], **lt.MLP_ARGS), shuffled, cfg, device="cpu")["test_acc"][-1, 0]
    assert ab.get("permuted", "dense") == pytest.approx(alone, abs=2e-3)
    alone = train(build("mlp", seeds=[9], **lt.MLP_ARGS), data, cfg, device="cpu")["test_acc"][-1, 0]
    assert ab.get("reinit", "dense") == pytest.approx(alone, abs=2e-3)


def test_adjacent_runs():
    mask = torch.zeros(6, 2, dtype=torch.bool)
    mask[[0, 1, 2], 0] = True   # unit 0: a run of three
    mask[[0, 2, 4], 1] = True   # unit 1: no neighbours
    runs = lt.adjacent_runs(mask, lengths=(1, 2, 3, 4))
    assert runs == {1: pytest.approx(6 / 12), 2: pytest.approx(2 / 10), 3: pytest.approx(1 / 8), 4: 0.0}
    # A random mask of density d has about d ** n of its windows full.
    random = np.random.RandomState(0).rand(40, 5000) < 0.3
    for n, freq in lt.adjacent_runs(random).items():
        assert freq == pytest.approx(random.mean() ** n, rel=0.1)
    with pytest.raises(ValueError, match="lengths must be between 1 and 6"):
        lt.adjacent_runs(mask, lengths=(7,))
