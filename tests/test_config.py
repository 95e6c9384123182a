"""YAML configs into typed dataclasses: unknown keys, type checks, overrides, file errors."""

from __future__ import annotations

import dataclasses
from typing import Optional

import pytest

from ptalker.config import apply_overrides, from_dict, load_config, load_yaml
from ptalker.errors import PtalkerError


@dataclasses.dataclass
class ModelConfig:
    width: int = 64
    dropout: float = 0.1
    layers: list[int] = dataclasses.field(default_factory=lambda: [1, 2])


@dataclasses.dataclass
class Config:
    name: str = "run"
    fps: int = 30
    lr: float = 0.001
    use_ema: bool = False
    speakers: list[str] = dataclasses.field(default_factory=list)
    sizes: tuple[int, ...] = (1,)
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    seed: Optional[int] = None
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)


@dataclasses.dataclass
class Required:
    path: str
    count: int = 1


def test_defaults():
    assert from_dict(Config, {}) == Config()


def test_full_mapping():
    data = {"name": "a", "fps": 25, "lr": 0.5, "use_ema": True, "speakers": ["F1", "M3"],
            "sizes": [3, 4], "weights": {"lips": 2.0}, "seed": 7,
            "model": {"width": 128, "dropout": 0.0, "layers": [4]}}
    cfg = from_dict(Config, data)
    assert cfg == Config("a", 25, 0.5, True, ["F1", "M3"], (3, 4), {"lips": 2.0}, 7,
                         ModelConfig(128, 0.0, [4]))
    assert type(cfg.model) is ModelConfig and type(cfg.sizes) is tuple and type(cfg.speakers) is list


def test_unknown_key_lists_allowed():
    with pytest.raises(PtalkerError) as info:
        from_dict(Config, {"fsp": 30, "name": "x"})
    message = str(info.value)
    assert "fsp" in message
    for key in ("name", "fps", "lr", "use_ema", "speakers", "model"):
        assert key in message.split("allowed keys:")[1], f"allowed key {key} missing: {message}"


def test_unknown_nested_key_names_section():
    with pytest.raises(PtalkerError, match=r"config\.model.*widht.*allowed keys: width, dropout, layers"):
        from_dict(Config, {"model": {"widht": 3}})


@pytest.mark.parametrize("data, where", [
    ({"fps": "thirty"}, "config.fps"),
    ({"fps": 1.5}, "config.fps"),
    ({"fps": True}, "config.fps"),  # bool is an int subclass but not a frame rate
    ({"lr": "fast"}, "config.lr"),
    ({"lr": True}, "config.lr"),
    ({"use_ema": "yes"}, "config.use_ema"),
    ({"use_ema": 1}, "config.use_ema"),
    ({"speakers": "F1"}, "config.speakers"),
    ({"speakers": ["F1", True]}, r"config.speakers\[1\]"),
    ({"sizes": [1, "x"]}, r"config.sizes\[1\]"),
    ({"weights": [1.0]}, "config.weights"),
    ({"weights": {"lips": "heavy"}}, "config.weights.lips"),
    ({"seed": "abc"}, "config.seed"),
    ({"model": 3}, "config.model"),
    ({"model": {"width": "wide"}}, "config.model.width"),
    ({"model": {"layers": [1, 2.5]}}, r"config.model.layers\[1\]"),
])
def test_type_errors(data, where):
    with pytest.raises(PtalkerError, match=where) as info:
        from_dict(Config, data)
    assert "expected" in str(info.value) and "\n" not in str(info.value)


def test_int_to_float():
    cfg = from_dict(Config, {"lr": 1, "model": {"dropout": 0}, "weights": {"a": 2}})
    assert type(cfg.lr) is float and cfg.lr == 1.0
    assert type(cfg.model.dropout) is float
    assert type(cfg.weights["a"]) is float


def test_numbers_as_str():
    """Names such as sentence '01' are often written without quotes."""
    cfg = from_dict(Config, {"name": 1, "speakers": [1, "F2", 3.5]})
    assert cfg.name == "1" and cfg.speakers == ["1", "F2", "3.5"]


def test_optional():
    assert from_dict(Config, {"seed": None}).seed is None
    assert from_dict(Config, {"seed": 3}).seed == 3


def test_missing_required_field():
    with pytest.raises(PtalkerError, match="path"):
        from_dict(Required, {"count": 2})
    assert from_dict(Required, {"path": "x"}) == Required("x")


def test_overrides():
    data = {"fps": 30, "model": {"width": 64}}
    out = apply_overrides(data, ["fps=25", "model.width=128", "model.dropout=0.5", "speakers=[F1, M2]",
                                 "name='01'", "use_ema=true", "seed=null", "weights={lips: 2}"])
    assert out is data  # in place
    assert data == {"fps": 25, "model": {"width": 128, "dropout": 0.5}, "speakers": ["F1", "M2"],
                    "name": "01", "use_ema": True, "seed": None, "weights": {"lips": 2}}
    cfg = from_dict(Config, data)
    assert cfg.model == ModelConfig(128, 0.5, [1, 2]) and cfg.weights == {"lips": 2.0}


def test_override_creates_sections():
    data = apply_overrides({}, ["model.width=8", "a.b.c=x"])
    assert data == {"model": {"width": 8}, "a": {"b": {"c": "x"}}}


def test_override_value_with_equals():
    assert apply_overrides({}, ["name=a=b"]) == {"name": "a=b"}


def test_override_errors():
    with pytest.raises(PtalkerError, match="fps30.*key=value"):
        apply_overrides({}, ["fps30"])
    with pytest.raises(PtalkerError, match="'fps' is not a section"):
        apply_overrides({"fps": 30}, ["fps.x=1"])


def test_override_invalid_yaml_value():
    with pytest.raises(PtalkerError, match=r"speakers=\[F1,"):
        apply_overrides({}, ["speakers=[F1,"])


def test_float_in_exponent_notation():
    cfg = load_config(Config, None, ["lr=1e-4"])
    assert cfg.lr == pytest.approx(1e-4)


def test_load_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("fps: 25\nmodel:\n  width: 16\n")
    assert load_yaml(path) == {"fps": 25, "model": {"width": 16}}
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_yaml(empty) == {}


@pytest.mark.parametrize("text", ["fps: [1, 2\n", "a: b: c\n", "model:\n  width: 1\n width: 2\n",
                                  "key: 'unclosed\n"])
def test_invalid_yaml(tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(PtalkerError) as info:
        load_yaml(path)
    message = str(info.value)
    assert str(path) in message and "YAML" in message and "\n" not in message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "3\n"])
def test_yaml_not_a_mapping(tmp_path, text):
    path = tmp_path / "list.yaml"
    path.write_text(text)
    with pytest.raises(PtalkerError, match="list.yaml.*mapping"):
        load_yaml(path)


def test_missing_yaml(tmp_path):
    with pytest.raises(PtalkerError, match="nope.yaml.*not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_load_config(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("name: base\nfps: 25\nmodel:\n  width: 16\n  dropout: 0\n")
    cfg = load_config(Config, path, ["model.width=32", "lr=2"])
    assert cfg == Config(name="base", fps=25, lr=2.0, model=ModelConfig(32, 0.0))
    assert load_config(Config) == Config()
    assert load_config(Config, overrides=("fps=60",)).fps == 60


def test_load_config_errors_name_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("fps: 25\nmodle:\n  width: 16\n")
    with pytest.raises(PtalkerError, match="run.yaml.*modle.*allowed keys"):
        load_config(Config, path)
    path.write_text("fps: 25\n")
    with pytest.raises(PtalkerError, match=r"run.yaml\.fps: expected int"):
        load_config(Config, path, ["fps=fast"])
