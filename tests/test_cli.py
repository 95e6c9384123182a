"""The command line's entry points: ``python -m ptalker`` lists every command."""

import subprocess
import sys


def test_module_entry_point_shows_help():
    result = subprocess.run([sys.executable, "-m", "ptalker", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("flame", "data", "score", "demo", "train", "animate", "evaluate"):
        assert command in result.stdout


def test_cli_encoder_paths_are_the_fast_encoder_paths():
    from ptalker.cli import ENCODER_PATHS
    from ptalker.pipelines.fast_encoder import ENCODERS

    assert ENCODER_PATHS == ENCODERS
