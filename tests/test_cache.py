"""get_dataset: reuse a valid file, rebuild a corrupt or mismatched one that it wrote, write atomically in the
format the suffix names, and never replace a file it did not write."""
import hashlib
import json
import pickle
import shutil
import zipfile

import numpy as np
import pytest

import mnist1d.cache as cache
import mnist1d.data as data
from mnist1d.data import get_dataset, get_dataset_args, make_dataset
from mnist1d.utils import from_pickle

ARGS = {"num_samples": 200, "seed": 4}
KEYS = ("x", "x_test", "y", "y_test", "t")
RECORD = "mnist1d_course_cache"  # the package's own key in the files it writes
BOTH = ["d.npz", "d.pkl"]


@pytest.fixture
def count_builds(monkeypatch):
    calls = []
    real = cache.make_dataset

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(cache, "make_dataset", counting)
    return calls


def _same(a, b):
    for k in KEYS:
        np.testing.assert_array_equal(a[k], b[k])
    for k in ("x", "t", "y"):
        np.testing.assert_array_equal(a["templates"][k], b["templates"][k])


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", BOTH)
def test_builds_once_then_reuses(tmp_path, count_builds, name):
    path = tmp_path / name
    first = get_dataset(ARGS, path=path)
    second = get_dataset(ARGS, path=path)
    assert len(count_builds) == 1
    _same(first, make_dataset(ARGS))
    _same(second, first)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left behind


def test_default_path_is_keyed_by_args(count_builds):
    get_dataset(ARGS)
    get_dataset(ARGS | {"seed": 5})
    get_dataset(ARGS)
    get_dataset(ARGS, mode="fast")
    assert len(count_builds) == 3
    assert len(list(data.default_cache_dir().glob("*.npz"))) == 3


def test_the_suffix_names_the_format(tmp_path):
    want = make_dataset(ARGS)
    get_dataset(ARGS, path=tmp_path / "d.npz")
    assert zipfile.is_zipfile(tmp_path / "d.npz")
    for name in ("d.pkl", "d.pickle"):
        get_dataset(ARGS, path=tmp_path / name)
        raw = (tmp_path / name).read_bytes()
        assert raw[:2] == b"\x80\x03"  # protocol 3, as the paper's to_pickle writes
        for back in (pickle.loads(raw), from_pickle(tmp_path / name)):
            assert list(back) == [RECORD, *KEYS, "templates"]
            assert isinstance(back[RECORD], str)  # a plain string: any unpickler reads it
            assert all(type(back[k]) is np.ndarray for k in KEYS)
            _same(back, want)


@pytest.mark.parametrize("name", ["d.txt", "d", "d.npy", "d.pkl.gz"])
def test_an_unknown_suffix_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match=r"path must end in \.npz .* \.pkl / \.pickle") as err:
        get_dataset(ARGS, path=tmp_path / name)
    assert name in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", BOTH)
@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_file_it_wrote_is_rebuilt(tmp_path, count_builds, damage, name):
    path = tmp_path / name
    good = get_dataset(ARGS, path=path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":  # nothing in it to lose
        path.write_bytes(b"")
    else:  # one flipped bit deep inside the stored arrays
        i = len(raw) // 2
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1:])
    rebuilt = get_dataset(ARGS, path=path)
    assert len(count_builds) == 2
    _same(rebuilt, good)
    assert path.read_bytes() == raw  # the same file again
    _same(get_dataset(ARGS, path=path), good)
    assert len(count_builds) == 2


def test_garbage_in_the_packages_own_cache_folder_is_rebuilt(count_builds):
    good = get_dataset(ARGS)
    (path,) = data.default_cache_dir().glob("*.npz")
    path.write_bytes(b"not a dataset" * 100)
    _same(get_dataset(ARGS), good)
    assert len(count_builds) == 2


def _foreign_files(tmp_path):
    """Files a user might keep at the path: none of them written by this package."""
    other = tmp_path / "other"
    other.mkdir()
    d = make_dataset(ARGS)
    np.savez(other / "arrays.npz", x=d["x"], y=d["y"])  # an npz, not a dataset
    with open(other / "results.pkl", "wb") as f:
        pickle.dump({"accuracy": [0.5, 0.9], "x": np.zeros(3)}, f)  # someone's results
    (other / "notes.txt").write_text("my notes\n" * 50)
    (other / "binary").write_bytes(bytes(range(256)) * 10)
    return sorted(other.iterdir())


@pytest.mark.parametrize("name", BOTH)
def test_a_file_it_did_not_write_is_refused_and_left_unchanged(tmp_path, count_builds, name):
    for source in _foreign_files(tmp_path):
        path = tmp_path / name
        shutil.copyfile(source, path)
        before = sha(path)
        with pytest.raises(ValueError) as err:
            get_dataset(ARGS, path=path)
        msg = str(err.value)
        assert str(path) in msg and "regenerate=True" in msg and "not written by this package" in msg
        assert sha(path) == before, source.name
        # asked for explicitly, the file is replaced
        _same(get_dataset(ARGS, path=path, regenerate=True), make_dataset(ARGS))
        assert sha(path) != before
        _same(get_dataset(ARGS, path=path), make_dataset(ARGS))


def test_tampered_arrays_are_caught_by_checksum(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    good = get_dataset(ARGS, path=path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["x"] = arrays["x"] + 1.0
    np.savez(path, **arrays)
    _same(get_dataset(ARGS, path=path), good)
    assert len(count_builds) == 2


def test_tampered_pickle_is_caught_by_checksum(tmp_path, count_builds):
    path = tmp_path / "d.pkl"
    good = get_dataset(ARGS, path=path)
    d = pickle.loads(path.read_bytes())
    d["y"] = d["y"][::-1].copy()
    path.write_bytes(pickle.dumps(d, protocol=3))
    _same(get_dataset(ARGS, path=path), good)
    assert len(count_builds) == 2


@pytest.mark.parametrize("name", BOTH)
def test_file_it_wrote_for_other_args_is_rebuilt(tmp_path, count_builds, name):
    path = tmp_path / name
    get_dataset(ARGS, path=path)
    other = get_dataset(ARGS | {"seed": 99}, path=path)
    assert len(count_builds) == 2
    _same(other, make_dataset(ARGS | {"seed": 99}))


def test_its_old_npz_under_a_pkl_name_becomes_a_pickle(tmp_path, count_builds):
    # what format 1 of this package wrote at a .pkl path: an npz with its record in "meta"
    path = tmp_path / "mnist1d_data.pkl"
    d = make_dataset(ARGS)
    arrays = {k: d[k] for k in KEYS} | {f"templates_{k}": v for k, v in d["templates"].items()}
    spec = json.dumps({"format": 1, "mode": "paper", "args": get_dataset_args(as_dict=True)})
    with open(path, "wb") as f:
        np.savez(f, meta=np.array(json.dumps({"spec": spec, "checksum": "0"})), **arrays)
    _same(get_dataset(ARGS, path=path), d)
    assert len(count_builds) == 1  # rebuilt: the file was its own
    _same(pickle.loads(path.read_bytes()), d)


def test_regenerate_forces_a_build(tmp_path, count_builds):
    path = tmp_path / "d.npz"
    get_dataset(ARGS, path=path)
    get_dataset(ARGS, path=path, regenerate=True)
    assert len(count_builds) == 2


@pytest.mark.parametrize("name,module,writer", [("d.npz", np, "savez"), ("d.pkl", pickle, "dump")])
def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch, name, module, writer):
    path = tmp_path / name
    get_dataset(ARGS | {"seed": 1}, path=path)
    before = sha(path)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(module, writer, boom)
    with pytest.raises(OSError, match="disk full"):
        get_dataset(ARGS, path=path)
    with pytest.raises(OSError, match="disk full"):
        get_dataset(ARGS, path=tmp_path / f"new{path.suffix}")
    assert [p.name for p in tmp_path.iterdir()] == [name] and sha(path) == before


def test_the_papers_frozen_pickle_is_read_and_left_unchanged(tmp_path, frozen):
    path = tmp_path / "mnist1d_data.pkl"
    shutil.copyfile(data_file(), path)
    before, mtime = sha(path), path.stat().st_mtime_ns
    for call in (lambda: get_dataset(get_dataset_args(), path=path, download=True),
                 lambda: get_dataset(path=str(path), verbose=True)):
        d = call()
        for k in KEYS:  # the file's own arrays
            np.testing.assert_array_equal(d[k], frozen[k])
        assert sha(path) == before and path.stat().st_mtime_ns == mtime
    # another dataset is wanted there: refused, the file kept, unless asked for
    for other in ({"seed": 43}, {"num_samples": 4000}):
        with pytest.raises(ValueError, match="not the one these arguments make") as err:
            get_dataset(other, path=path)
        assert str(path) in str(err.value) and sha(path) == before
    with pytest.raises(ValueError, match="not the one these arguments make"):
        get_dataset(path=path, mode="fast")
    assert sha(path) == before
    _same(get_dataset({"seed": 43}, path=path, regenerate=True), make_dataset({"seed": 43}))


def data_file():
    from conftest import DATA
    return DATA / "mnist1d_data.pkl"


def test_default_args_reproduce_frozen_through_cache(frozen):
    d = get_dataset()
    np.testing.assert_allclose(d["x"], frozen["x"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(d["y_test"], frozen["y_test"])
