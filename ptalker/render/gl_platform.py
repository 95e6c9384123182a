"""Choosing the OpenGL platform for offscreen rendering and importing pyrender safely.

PyOpenGL fixes its platform when ``OpenGL.platform`` is first imported, from
``$PYOPENGL_PLATFORM``; pyrender reads the same variable to pick its context. So the choice
is made once per process, before anything imports OpenGL:

- a ``PYOPENGL_PLATFORM`` the user set is kept as it is;
- otherwise the platforms in :data:`PLATFORM_ORDER` are tried in a short-lived subprocess
  (EGL first, then OSMesa) and the first one that creates a context is used. A failed
  attempt cannot poison this process: a platform cannot be switched after OpenGL is loaded.
  A probe takes about a second; :func:`probe_ahead` starts the first one early, in the
  background, for callers with other work to do before they render.

pyrender 0.1.45 also uses ``np.infty``, which numpy 2 removed: it is aliased before import.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from types import ModuleType

import numpy as np

from ptalker.errors import PtalkerError

PLATFORM_ENV = "PYOPENGL_PLATFORM"
PLATFORM_ORDER = ("egl", "osmesa")
"""Tried in this order; with Mesa's llvmpipe both render at the same speed once multisampling
is off (benchmarks/render_speed.py), and EGL can also use a GPU."""
PROBE_TIMEOUT_S = 60.0
_PROBE = ("import numpy as np; np.infty = np.inf; import pyrender; "
          "r = pyrender.OffscreenRenderer(8, 8); r.delete()")
_PYOPENGL_NAMES = {"EGLPlatform": "egl", "OSMesaPlatform": "osmesa"}


_AHEAD: dict[str, subprocess.Popen] = {}
"""Probes started by :func:`probe_ahead`, by platform, until :func:`_context_works` collects them."""


def _start_probe(platform: str) -> subprocess.Popen:
    """The subprocess that tries a ``platform`` context (exit status 0: it works)."""
    return subprocess.Popen([sys.executable, "-c", _PROBE], env={**os.environ, PLATFORM_ENV: platform},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _context_works(platform: str) -> bool:
    """Whether pyrender can create an offscreen context with ``platform`` (in a subprocess)."""
    try:
        probe = _AHEAD.pop(platform, None) or _start_probe(platform)
    except OSError:
        return False
    try:
        return probe.wait(timeout=PROBE_TIMEOUT_S) == 0
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.wait()
        return False


def probe_ahead() -> None:
    """Start probing the first platform of :data:`PLATFORM_ORDER` in the background, unless the
    platform is set or being probed already: :func:`choose_gl_platform` then finds the answer
    ready. For callers that render after seconds of other work on one core (``ptalker animate
    --video`` loads its model meanwhile)."""
    if os.environ.get(PLATFORM_ENV) or "OpenGL.platform" in sys.modules or _AHEAD:
        return
    try:
        _AHEAD[PLATFORM_ORDER[0]] = _start_probe(PLATFORM_ORDER[0])
    except OSError:
        pass  # choose_gl_platform tries again and reports


def _loaded_platform() -> str | None:
    """The platform of an already imported PyOpenGL (None: not imported yet)."""
    if "OpenGL.platform" not in sys.modules:
        return None
    loaded = type(sys.modules["OpenGL.platform"].PLATFORM).__name__
    if loaded not in _PYOPENGL_NAMES:
        raise PtalkerError(f"OpenGL was imported with the {loaded} platform before ptalker could choose an "
                           f"offscreen one; set {PLATFORM_ENV}=egl (or osmesa) before starting Python")
    return _PYOPENGL_NAMES[loaded]


@functools.lru_cache(maxsize=1)
def choose_gl_platform() -> str:
    """Set ``$PYOPENGL_PLATFORM`` (unless already set) and return it: ``egl`` or ``osmesa``.

    Raises:
        PtalkerError: no platform creates a context here.
    """
    chosen = os.environ.get(PLATFORM_ENV) or _loaded_platform()
    if chosen is None:
        chosen = next((name for name in PLATFORM_ORDER if _context_works(name)), None)
    if chosen is None:
        raise PtalkerError("rendering: no offscreen OpenGL platform works here (tried EGL and OSMesa); "
                           "install libegl1 libgl1-mesa-dri (EGL) or libosmesa6 (OSMesa), "
                           f"or set {PLATFORM_ENV} yourself")
    os.environ[PLATFORM_ENV] = chosen
    return chosen


def import_pyrender() -> ModuleType:
    """pyrender, imported after choosing the GL platform and restoring ``np.infty``.

    Raises:
        PtalkerError: pyrender is not installed, or no platform works.
    """
    choose_gl_platform()
    if not hasattr(np, "infty"):
        np.infty = np.inf  # removed in numpy 2, still used by pyrender 0.1.45
    try:
        import pyrender
    except ImportError as err:
        raise PtalkerError(f"rendering: pyrender is not installed ({err}); pip install pyrender") from None
    return pyrender
