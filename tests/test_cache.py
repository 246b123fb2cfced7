"""get_dataset: reuse a valid cache, rebuild a corrupt or mismatched one, write atomically."""
import numpy as np
import pytest

import mnist1d.data as data
from mnist1d.data import get_dataset, make_dataset

ARGS = {"num_samples": 200, "seed": 4}


@pytest.fixture
def count_builds(monkeypatch):
    calls = []
    real = data.make_dataset

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(data, "make_dataset", counting)
    return calls


def _same(a, b):
    for k in ("x", "x_test", "y", "y_test", "t"):
        np.testing.assert_array_equal(a[k], b[k])
    for k in ("x", "t", "y"):
        np.testing.assert_array_equal(a["templates"][k], b["templates"][k])


def test_builds_once_then_reuses(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    first = get_dataset(ARGS, path=path)
    second = get_dataset(ARGS, path=path)
    assert len(count_builds) == 1
    _same(first, make_dataset(ARGS))
    _same(second, first)
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]  # no temporary left behind


def test_default_path_is_keyed_by_args(count_builds):
    get_dataset(ARGS)
    get_dataset(ARGS | {"seed": 5})
    get_dataset(ARGS)
    get_dataset(ARGS, mode="fast")
    assert len(count_builds) == 3
    assert len(list(data.default_cache_dir().glob("*.npz"))) == 3


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "empty"])
def test_corrupt_cache_is_rebuilt(tmp_path, count_builds, damage):
    path = tmp_path / "d.npz"
    good = get_dataset(ARGS, path=path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a dataset" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # one flipped bit deep inside the stored arrays
        i = len(raw) // 2
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:])
    rebuilt = get_dataset(ARGS, path=path)
    assert len(count_builds) == 2
    _same(rebuilt, good)
    _same(get_dataset(ARGS, path=path), good)  # and the rebuilt file is valid again
    assert len(count_builds) == 2


def test_tampered_arrays_are_caught_by_checksum(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    good = get_dataset(ARGS, path=path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["x"] = arrays["x"] + 1.0
    np.savez(path, **arrays)
    _same(get_dataset(ARGS, path=path), good)
    assert len(count_builds) == 2


def test_cache_made_from_other_args_is_rebuilt(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    get_dataset(ARGS, path=path)
    other = get_dataset(ARGS | {"seed": 99}, path=path)
    assert len(count_builds) == 2
    _same(other, make_dataset(ARGS | {"seed": 99}))


def test_regenerate_forces_a_build(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    get_dataset(ARGS, path=path)
    get_dataset(ARGS, path=path, regenerate=True)
    assert len(count_builds) == 2


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(data.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        get_dataset(ARGS, path=path)
    assert list(tmp_path.iterdir()) == []


def test_default_args_reproduce_frozen_through_cache(frozen):
    d = get_dataset()
    np.testing.assert_allclose(d["x"], frozen["x"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(d["y_test"], frozen["y_test"])
