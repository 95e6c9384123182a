"""The one restricted unpickler through which every pickle the toolkit reads goes.

A pickle is a program: loading one with :func:`pickle.load` can run any code. FLAME models,
VOCASET ``templates.pkl`` and region masks only ever hold containers, numpy arrays, scipy sparse
matrices and (in the FLAME 2020 files) chumpy arrays, so the loader here resolves only those
classes and refuses everything else with an error that names the class.

chumpy does not import on Python 3.11 / numpy 2. Its classes are mapped to :class:`ChumpyStub`,
which keeps the pickled state; the array sits in the stub's ``x`` attribute, and
:func:`load_pickle` replaces every stub by that array.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import copyreg
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ptalker.errors import PtalkerError, UnsafePickleError

_BUILTINS = {
    "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray",
    "int", "float", "complex", "bool", "slice", "object",
}
_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray",
                  "numpy.core.numeric", "numpy._core.numeric")
_NUMPY_NAMES = {"ndarray", "dtype", "_reconstruct", "scalar", "_frombuffer"}
_SPARSE_NAMES = {"csc_matrix", "csr_matrix", "coo_matrix", "csc_array", "csr_array", "coo_array"}
_SPARSE_MODULES = ("scipy.sparse", "scipy.sparse.csc", "scipy.sparse.csr", "scipy.sparse.coo",
                   "scipy.sparse._csc", "scipy.sparse._csr", "scipy.sparse._coo")


class ChumpyStub:
    """Stand-in for any chumpy class: keeps the pickled state, the array in ``self.x``."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.state = state


def _resolve(module: str, name: str) -> Any | None:
    """Return the allowed object for ``module.name``, or None when it is not allowed."""
    if module == "builtins" and name in _BUILTINS:
        return getattr(__import__("builtins"), name)
    if module == "copyreg" and name == "_reconstructor":
        return copyreg._reconstructor
    if module == "_codecs" and name == "encode":  # how protocols 0-2 store bytes
        return codecs.encode
    if module in _NUMPY_MODULES and name in _NUMPY_NAMES:
        if name == "ndarray":
            return np.ndarray
        if name == "dtype":
            return np.dtype
        return _numpy_helper(name)
    if module == "numpy" and hasattr(np, name) and isinstance(getattr(np, name), type) \
            and issubclass(getattr(np, name), np.generic):
        return getattr(np, name)  # numpy scalar types such as numpy.float64
    if module.startswith("numpy.dtypes") and name.endswith("DType"):
        return getattr(np.dtypes, name, None)
    if module in _SPARSE_MODULES and name in _SPARSE_NAMES:
        import scipy.sparse  # here: every command imports this module, few read sparse matrices

        return getattr(scipy.sparse, name)
    if module == "chumpy" or module.startswith("chumpy."):
        return ChumpyStub
    return None


def _numpy_helper(name: str) -> Any:
    """numpy's private reconstruction helpers, wherever this numpy version keeps them."""
    from numpy._core import multiarray, numeric

    return getattr(multiarray, name, None) or getattr(numeric, name)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only allow-listed classes (see module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        # python 2 pickles (FLAME, VOCASET) name python 2 modules such as __builtin__
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _resolve(module, name)
        if found is None:
            raise UnsafePickleError(f"{module}.{name}")
        return found


def _replace_stubs(obj: Any) -> Any:
    """Replace every ChumpyStub inside containers by its numpy array."""
    if isinstance(obj, ChumpyStub):
        if "x" not in obj.__dict__:
            raise PtalkerError("a chumpy object in the pickle has no array 'x'")
        return np.asarray(obj.x)
    if isinstance(obj, dict):
        return {key: _replace_stubs(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_replace_stubs(value) for value in obj)
    return obj


def loads_pickle(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` through the allow-list; ``source`` names it in errors."""
    try:
        obj = RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as err:
        raise UnsafePickleError(
            f"{source}: refused to load: the pickle asks for '{err}', which is not an allowed "
            "data class (numpy arrays, scipy sparse matrices, chumpy arrays, builtin "
            "containers); only load files from sources you trust, or re-save the data as .npy"
        ) from None
    except PtalkerError:
        raise
    except Exception as err:  # truncated or corrupted data raises many types
        raise PtalkerError(
            f"{source}: not a readable pickle ({type(err).__name__}: {err}); "
            "the file is corrupted or truncated: re-download or re-create it"
        ) from None
    return _replace_stubs(obj)


def load_pickle(path: str | os.PathLike) -> Any:
    """Read the pickle at ``path`` through the allow-list.

    Returns:
        The unpickled object with chumpy arrays replaced by numpy arrays.

    Raises:
        UnsafePickleError: the pickle references a class outside the allow-list.
        PtalkerError: the file is missing or is not a readable pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: file not found; check the path")
    return loads_pickle(path.read_bytes(), source=str(path))
