"""ptalker: speech-driven, personalized FLAME head animation (PTalker, ACM MM 2025).

>>> import ptalker
>>> model = ptalker.load_model()                  # the shipped checkpoint (it holds its mesh)
>>> result = model.animate("speech.wav", style=ptalker.Style(speaker="S01"))
"""

__version__ = "0.1.0"

_LAZY = {name: "ptalker.pipelines.animator" for name in ("load_model", "Style", "Animation")}
"""The main API, imported on first use."""


def __getattr__(name: str):
    """The main API without importing torch on ``import ptalker``."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ptalker' has no attribute {name!r}")
