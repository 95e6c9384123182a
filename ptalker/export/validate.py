"""Running the Khronos glTF validator (the npm package ``gltf-validator``) on a file.

The validator is a JavaScript library; ``validate_gltf.js`` beside this module runs it under
Node.js and prints its report. The package is looked up on $NODE_PATH and in
``<virtualenv>/node/node_modules``, where ``make`` installs it when npm exists
(``npm install --prefix .venv/node gltf-validator@2.0.0-dev.3.10``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ptalker.errors import PtalkerError

VALIDATOR_SCRIPT = Path(__file__).with_name("validate_gltf.js")
VALIDATOR_TIMEOUT_S = 300
EXIT_VALIDATOR_MISSING = 3  # what validate_gltf.js exits with when it cannot require gltf-validator
INSTALL_HINT = ("install Node.js and run `npm install --prefix {prefix} gltf-validator@2.0.0-dev.3.10` "
                "(make does this when npm exists)")
SEVERITIES = ("error", "warning", "info", "hint")


class ValidatorMissing(PtalkerError):
    """Node.js or the gltf-validator package is not installed."""


@dataclass(frozen=True)
class ValidationReport:
    """The validator's counts and its messages (dicts with code, message, severity, pointer)."""

    num_errors: int
    num_warnings: int
    num_infos: int
    num_hints: int
    messages: list[dict] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"{self.num_errors} errors, {self.num_warnings} warnings, {self.num_infos} infos, "
                f"{self.num_hints} hints")
        lines = [f"  {SEVERITIES[m.get('severity', 0)]} {m.get('code')}: {m.get('message')} ({m.get('pointer', '')})"
                 for m in self.messages]
        return "\n".join([text, *lines])


def node_path() -> str:
    """$NODE_PATH with the virtualenv's ``node/node_modules`` folder appended."""
    local = str(Path(sys.prefix) / "node" / "node_modules")
    return os.pathsep.join(part for part in (os.environ.get("NODE_PATH", ""), local) if part)


def validate_gltf(path: str | os.PathLike) -> ValidationReport:
    """Validate a .glb or .gltf file with the Khronos validator.

    Raises:
        ValidatorMissing: node or gltf-validator is not installed.
        PtalkerError: the file is missing or the validator failed to run.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: glTF file not found; check the path")
    node = shutil.which("node")
    hint = INSTALL_HINT.format(prefix=Path(sys.prefix) / "node")
    if node is None:
        raise ValidatorMissing(f"node: Node.js is not on PATH, so the glTF validator cannot run; {hint}")
    run = subprocess.run([node, str(VALIDATOR_SCRIPT), str(path)], capture_output=True, text=True,
                         timeout=VALIDATOR_TIMEOUT_S, env={**os.environ, "NODE_PATH": node_path()})
    if run.returncode == EXIT_VALIDATOR_MISSING:
        raise ValidatorMissing(f"gltf-validator: the npm package is not installed; {hint}")
    if run.returncode != 0:
        raise PtalkerError(f"{path}: the glTF validator failed ({run.stderr.strip()[-300:]})")
    issues = json.loads(run.stdout)
    return ValidationReport(issues["numErrors"], issues["numWarnings"], issues["numInfos"],
                            issues["numHints"], issues["messages"])
