"""Reading a real FLAME's expression-coefficient files (ptalker.flame.expressions.read_coefficients)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ptalker.errors import PtalkerError
from ptalker.flame.expressions import read_coefficients


def test_read_coefficients(tmp_path):
    path = tmp_path / "coefficients.json"
    with pytest.raises(PtalkerError, match="not found; blinks need"):
        read_coefficients(path, 3, "blinks need")
    path.write_text(json.dumps({"smile": [0.5, 0, 1], "blink": [0, 0, 0]}))
    data = read_coefficients(path, 3, "")
    assert sorted(data) == ["blink", "smile"] and np.array_equal(data["smile"], [0.5, 0.0, 1.0])
    for bad in ({"smile": [1, 2]}, {"smile": [1, 2, float("nan")]}, {"smile": [True, 0, 0]}, [1, 2, 3]):
        path.write_text(json.dumps(bad))
        with pytest.raises(PtalkerError, match="smile|JSON object"):
            read_coefficients(path, 3, "")
    path.write_text("{not json")
    with pytest.raises(PtalkerError, match="not readable JSON"):
        read_coefficients(path, 3, "")
