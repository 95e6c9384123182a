"""The restricted unpickler: data round trips, python 2 and chumpy pickles, refusing code."""

from __future__ import annotations

import builtins
import collections
import os
import pickle
import struct
import subprocess
import sys
import types

import numpy as np
import pytest
import scipy.sparse

from ptalker.errors import PtalkerError, UnsafePickleError
from ptalker.safe_pickle import ChumpyStub, RestrictedUnpickler, load_pickle, loads_pickle

PROTOCOLS = list(range(0, pickle.HIGHEST_PROTOCOL + 1))


def assert_same(actual, expected, where="obj"):
    """Recursive equality that also checks container types, dtypes and sparse formats."""
    assert type(actual) is type(expected), f"{where}: type {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
        assert np.array_equal(actual, expected, equal_nan=actual.dtype.kind == "f"), where
    elif scipy.sparse.issparse(expected):
        assert actual.format == expected.format, f"{where}: format {actual.format} != {expected.format}"
        assert actual.shape == expected.shape and actual.dtype == expected.dtype, where
        assert (actual != expected).nnz == 0, f"{where}: sparse entries differ"
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype and actual == expected, f"{where}: {actual!r} != {expected!r}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def sample_data():
    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -3.25]])
    return {
        "float64": np.linspace(-1.0, 1.0, 12).reshape(3, 4),
        "float32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        "non_contiguous": np.arange(20, dtype=np.int16)[::3],
        "int64": np.arange(-5, 5, dtype=np.int64),
        "uint32": np.array([0, 1, 2**32 - 1], dtype=np.uint32),
        "int8": np.array([-128, 127], dtype=np.int8),
        "bool": np.array([True, False, True]),
        "nan": np.array([np.nan, np.inf, -np.inf]),
        "empty": np.zeros((0, 3)),
        "zero_dim": np.array(4.5),
        "scalar_f64": np.float64(2.5),
        "scalar_f32": np.float32(-0.125),
        "scalar_i64": np.int64(-7),
        "scalar_u8": np.uint8(200),
        "scalar_bool": np.bool_(True),
        "csc": scipy.sparse.csc_matrix(dense),
        "csr": scipy.sparse.csr_matrix(dense.astype(np.float32)),
        "list": [1, 2.5, "three", None, True, b"\x00\xffbytes"],
        "tuple": (1, (2, 3), "x"),
        "nested": {"a": {"b": [np.arange(3), {"c": np.ones(2)}]}},
        "set": {1, 2, 3},
        "frozenset": frozenset({"x"}),
        "complex": 1 + 2j,
        "big_int": 2**80,
        "unicode": "ü ∆ 字",
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip_every_protocol(protocol):
    data = sample_data()
    assert_same(loads_pickle(pickle.dumps(data, protocol=protocol)), data)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip_file(tmp_path, protocol):
    data = {"v": np.arange(9.0).reshape(3, 3), "J": scipy.sparse.csc_matrix(np.eye(3))}
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    assert_same(load_pickle(path), data)
    assert_same(load_pickle(str(path)), data)  # str paths too


def test_protocol_2_bytes_and_latin1():
    """Protocols 0-2 store bytes via _codecs.encode; latin1 decoding must keep them exact."""
    data = {"raw": bytes(range(256)), "arr": np.frombuffer(bytes(range(256)), dtype=np.uint8)}
    for protocol in (0, 1, 2):
        assert_same(loads_pickle(pickle.dumps(data, protocol=protocol)), data)


def _op_str(text: bytes) -> bytes:
    """SHORT_BINSTRING: a python 2 str."""
    return b"U" + bytes([len(text)]) + text


def python2_array_pickle(values: np.ndarray) -> bytes:
    """A pickle as Python 2 with numpy 1.x writes it: __builtin__, numpy.core, str array data.

    Encodes {'v': values (float64 1-D), 'ids': set([1, 2])}.
    """
    assert values.dtype == np.float64 and values.ndim == 1
    raw = values.astype("<f8").tobytes()
    array = (
        b"cnumpy.core.multiarray\n_reconstruct\n"
        b"cnumpy\nndarray\n" b"K\x00\x85" + _op_str(b"b") + b"\x87R"
        b"(K\x01" b"K" + bytes([len(values)]) + b"\x85"
        b"cnumpy\ndtype\n" + _op_str(b"f8") + b"K\x00K\x01\x87R"
        b"(K\x03" + _op_str(b"<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"\x89" + b"T" + struct.pack("<I", len(raw)) + raw + b"tb"
    )
    ids = b"c__builtin__\nset\n" b"]K\x01aK\x02a\x85R"
    return b"\x80\x02}(" + _op_str(b"v") + array + _op_str(b"ids") + ids + b"u."


def test_python2_pickle():
    values = np.array([0.5, -1.25, 3.0, 1e-300])
    data = python2_array_pickle(values)
    # the reference: the standard unpickler with latin1 reads it the same way
    reference = pickle.loads(data, encoding="latin1")
    out = loads_pickle(data)
    assert_same(out, reference)
    assert_same(out["v"], values)
    assert out["ids"] == {1, 2}


def test_python2_style_protocol_2_dump():
    """pickle.dumps(protocol=2) names __builtin__ for builtins (fix_imports) and uses latin1 bytes."""
    data = {"s": {1, 2}, "f": frozenset([3]), "a": np.arange(4.0)}
    blob = pickle.dumps(data, protocol=2, fix_imports=True)
    assert b"__builtin__" in blob  # the python 2 module name is really exercised
    assert_same(loads_pickle(blob), data)


# --- chumpy -----------------------------------------------------------------------------------


@pytest.fixture
def fake_chumpy(monkeypatch):
    """A fake chumpy.ch module with a Ch class whose instances keep the array in 'x'."""
    chumpy = types.ModuleType("chumpy")
    ch = types.ModuleType("chumpy.ch")

    class Ch:
        def __init__(self, x):
            self.x = x
            self.dterms = ("x",)  # chumpy keeps more state; it must not matter

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    ch.Ch = Ch
    chumpy.ch = ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    return Ch


def test_chumpy_pickle(fake_chumpy):
    v_template = np.random.default_rng(0).normal(size=(7, 3))
    shapedirs = np.random.default_rng(1).normal(size=(7, 3, 4))
    faces = np.array([[0, 1, 2], [2, 3, 4]], dtype=np.uint32)
    model = {"v_template": fake_chumpy(v_template), "shapedirs": fake_chumpy(shapedirs), "f": faces,
             "nested": [fake_chumpy(np.arange(3.0)), (fake_chumpy(np.ones(2)),)]}
    blobs = {protocol: pickle.dumps(model, protocol=protocol) for protocol in (2, 4)}
    del sys.modules["chumpy.ch"], sys.modules["chumpy"]  # as on a machine without chumpy
    for protocol, blob in blobs.items():
        assert b"chumpy.ch" in blob
        out = loads_pickle(blob)
        for key, expected in (("v_template", v_template), ("shapedirs", shapedirs), ("f", faces)):
            assert type(out[key]) is np.ndarray, f"protocol {protocol}: {key} is {type(out[key])}"
            assert_same(out[key], expected, f"protocol {protocol}: {key}")
        assert_same(out["nested"][0], np.arange(3.0))
        assert type(out["nested"][1]) is tuple
        assert_same(out["nested"][1][0], np.ones(2))


def test_chumpy_stub_without_x(fake_chumpy):
    obj = fake_chumpy(np.ones(2))
    del obj.x
    blob = pickle.dumps({"v": obj}, protocol=2)
    with pytest.raises(PtalkerError, match="'x'"):
        loads_pickle(blob)


def test_restricted_unpickler_maps_chumpy_to_stub():
    unpickler = RestrictedUnpickler(__import__("io").BytesIO(b""))
    assert unpickler.find_class("chumpy.ch", "Ch") is ChumpyStub
    assert unpickler.find_class("chumpy", "Ch") is ChumpyStub
    assert unpickler.find_class("numpy", "ndarray") is np.ndarray
    assert unpickler.find_class("scipy.sparse.csc", "csc_matrix") is scipy.sparse.csc_matrix
    assert unpickler.find_class("__builtin__", "set") is set  # python 2 name
    with pytest.raises(UnsafePickleError):
        unpickler.find_class("chumpyx", "Ch")  # a prefix is not the package
    with pytest.raises(UnsafePickleError):
        unpickler.find_class("numpy", "load")  # numpy functions are not data classes


# --- refusing code ----------------------------------------------------------------------------


class _Reduce:
    """Pickles as a call to ``func(*args)``."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


class Arbitrary:
    """A harmless class from a module outside the allow-list."""

    def __init__(self):
        self.value = 1


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_refuses_os_system(tmp_path, protocol):
    marker = tmp_path / "PWNED"
    blob = pickle.dumps({"v": _Reduce(os.system, (f"touch {marker}",))}, protocol=protocol)
    path = tmp_path / "evil.pkl"
    path.write_bytes(blob)
    with pytest.raises(UnsafePickleError, match="system") as info:
        load_pickle(path)
    assert not marker.exists(), "the pickle ran code"
    message = str(info.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_refuses_eval(tmp_path, protocol):
    marker = tmp_path / "EVAL"
    code = f"open({str(marker)!r}, 'w').close()"
    blob = pickle.dumps(_Reduce(builtins.eval, (code,)), protocol=protocol)
    with pytest.raises(UnsafePickleError, match="eval"):
        loads_pickle(blob, source="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("func", [builtins.exec, builtins.getattr, builtins.__import__, builtins.open])
def test_refuses_other_builtins(func):
    blob = pickle.dumps(_Reduce(func, ("x",)), protocol=2)
    with pytest.raises(UnsafePickleError, match=func.__name__):
        loads_pickle(blob)


def test_refuses_subprocess(tmp_path):
    marker = tmp_path / "POPEN"
    blob = pickle.dumps(_Reduce(subprocess.Popen, (["touch", str(marker)],)), protocol=4)
    with pytest.raises(UnsafePickleError, match="Popen"):
        loads_pickle(blob, source="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("obj, name", [(Arbitrary(), "Arbitrary"),
                                       (collections.OrderedDict(a=1), "OrderedDict")])
def test_refuses_arbitrary_class(obj, name):
    with pytest.raises(UnsafePickleError, match=name) as info:
        loads_pickle(pickle.dumps(obj, protocol=2), source="some.pkl")
    assert "some.pkl" in str(info.value)


def test_refuses_hand_written_global():
    """A GLOBAL opcode for posix.system followed by REDUCE, as an attacker writes it."""
    blob = b"cposix\nsystem\n(S'true'\ntR."
    with pytest.raises(UnsafePickleError, match="posix.system"):
        loads_pickle(blob)
    blob = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93."  # STACK_GLOBAL
    with pytest.raises(UnsafePickleError, match="system"):
        loads_pickle(blob)


def test_unsafe_error_is_a_ptalker_error():
    assert issubclass(UnsafePickleError, PtalkerError)


# --- broken files -----------------------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 10, 0.5, -1])
def test_truncated_pickle(tmp_path, cut):
    blob = pickle.dumps({"v": np.arange(100.0), "f": np.arange(30)}, protocol=2)
    size = int(len(blob) * cut) if isinstance(cut, float) else cut % len(blob)
    path = tmp_path / "model.pkl"
    path.write_bytes(blob[:size])
    with pytest.raises(PtalkerError) as info:
        load_pickle(path)
    assert not isinstance(info.value, UnsafePickleError)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x00\x01\x02"])
def test_garbage(tmp_path, content):
    path = tmp_path / "garbage.pkl"
    path.write_bytes(content)
    with pytest.raises(PtalkerError, match="garbage.pkl"):
        load_pickle(path)


def test_missing_file(tmp_path):
    with pytest.raises(PtalkerError, match="missing.pkl"):
        load_pickle(tmp_path / "missing.pkl")
    with pytest.raises(PtalkerError, match="not found"):
        load_pickle(tmp_path)  # a directory is not a file
