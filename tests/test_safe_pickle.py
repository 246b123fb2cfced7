"""Pickles are read with a restricted unpickler: what a dataset holds loads, anything else is refused unrun."""
import builtins
import collections
import hashlib
import io
import os
import pickle
import shlex

import numpy as np
import pytest

from mnist1d.data import get_dataset, make_dataset
from mnist1d.utils import (
    ObjectView,
    UnsafePickleError,
    from_pickle,
    safe_from_pickle,
    safe_load,
    to_pickle,
)

ARGS = {"num_samples": 200, "seed": 4}


class Payload:
    """Unpickled, it creates the file ``marker``: proof that the pickle ran."""

    def __init__(self, how, marker):
        self.how, self.marker = how, str(marker)

    def __reduce__(self):
        if self.how == "os.system":
            return os.system, ("touch " + shlex.quote(self.marker),)
        if self.how == "exec":
            return builtins.exec, (f"open({self.marker!r}, 'w').close()",)
        return builtins.open, (self.marker, "w")  # pickled as io.open


HOWS = ["os.system", "exec", "open"]


def dataset_with(extra):
    """A dataset pickle as the paper's package writes it, with one more entry."""
    d = make_dataset(ARGS)
    return pickle.dumps({**d, "extra": extra}, protocol=3)


@pytest.mark.parametrize("how", HOWS)
def test_the_payload_is_live(tmp_path, how):
    # the control: plain pickle runs it, so the refusals below are not vacuous
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(how, marker)))
    assert marker.exists()


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("hidden", [False, True])
def test_a_malicious_pickle_is_refused_without_running(tmp_path, how, hidden):
    marker = tmp_path / "ran"
    payload = Payload(how, marker)
    raw = dataset_with(payload) if hidden else pickle.dumps(payload)
    with pytest.raises(UnsafePickleError, match=r"refused to load \S+\.(system|exec|open)"):
        safe_load(io.BytesIO(raw))
    path = tmp_path / "mnist1d_data.pkl"
    path.write_bytes(raw)
    with pytest.raises(UnsafePickleError):
        safe_from_pickle(path)
    with pytest.raises(ValueError, match="a pickle that is not a dataset.*refused to load") as err:
        get_dataset(ARGS, path=path)
    assert str(path) in str(err.value) and "regenerate=True" in str(err.value)
    assert not marker.exists()
    assert path.read_bytes() == raw  # left as it was
    get_dataset(ARGS, path=path, regenerate=True)  # replaced when asked, still never run
    assert not marker.exists()


def test_object_arrays_in_an_npz_are_never_unpickled(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "d.npz"
    d = make_dataset(ARGS)
    np.savez(path, x=d["x"], y=np.array([Payload("exec", marker)], dtype=object))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="Object arrays cannot be loaded"):
        get_dataset(ARGS, path=path)
    assert not marker.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_what_a_dataset_holds_loads_with_every_protocol(protocol):
    thing = {
        "x": np.arange(12.0).reshape(3, 4)[:, ::2],  # not contiguous
        "y": np.arange(5, dtype=np.int64),
        "f32": np.ones(3, dtype=np.float32),
        "scalars": [np.float64(1.5), np.int32(3), np.bool_(True), 2**70, 1.5, 2j, None, True],
        "dtype": np.dtype("<f8"),
        "text": ("s", b"bytes", bytearray(b"ba")),
        "sets": [{1, 2}, frozenset({3})],
        "nested": {"templates": {"x": np.zeros((10, 12))}},
    }
    back = safe_load(io.BytesIO(pickle.dumps(thing, protocol=protocol)))
    assert back.keys() == thing.keys()
    for k in ("x", "y", "f32"):
        np.testing.assert_array_equal(back[k], thing[k])
        assert back[k].dtype == thing[k].dtype
    assert back["scalars"] == thing["scalars"] and back["dtype"] == thing["dtype"]
    assert back["text"] == thing["text"] and back["sets"] == thing["sets"]
    np.testing.assert_array_equal(back["nested"]["templates"]["x"], np.zeros((10, 12)))


@pytest.mark.parametrize("thing", [ObjectView({"seed": 1}), np.ma.masked_array([1, 2]),
                                   collections.OrderedDict(a=1), np.random.RandomState(0)], ids=type)
def test_other_objects_are_refused(thing):
    with pytest.raises(UnsafePickleError, match="refused to load"):
        safe_load(io.BytesIO(pickle.dumps(thing)))


def test_a_non_latin1_codec_is_refused():
    # protocol 2 rebuilds bytes with _codecs.encode; only its latin1 use is admitted
    raw = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x06\x00\x00\x00base64\x86R."
    with pytest.raises(UnsafePickleError, match="codec"):
        safe_load(io.BytesIO(raw))


def test_from_pickle_stays_the_papers_plain_reader(tmp_path):
    # the paper's notebooks keep their own results (torch models too) with to_pickle / from_pickle
    path = tmp_path / "results.pkl"
    to_pickle({"args": ObjectView({"seed": 1})}, path)
    assert from_pickle(path)["args"].seed == 1
    with pytest.raises(UnsafePickleError):
        safe_from_pickle(path)
    assert "safe_from_pickle" in from_pickle.__doc__
