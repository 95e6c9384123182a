"""Numbers with units that are shared across the package."""

AUDIO_SAMPLE_RATE_HZ = 16_000
"""Every waveform inside the package is mono float32 at this rate."""

FLAME_NUM_SHAPE = 300
FLAME_NUM_EXPRESSION = 100
FLAME_NUM_JOINTS = 5
"""Joints: 0 global (root), 1 neck, 2 jaw, 3 left eye, 4 right eye."""
FLAME_JAW_JOINT = 2
FLAME_NUM_LANDMARKS = 51
FLAME_NUM_VERTICES = 5023
BIWI_NUM_VERTICES = 23370

VOCASET_CAPTURE_FPS = 60
VOCASET_FPS = 30
BIWI_FPS = 25

METRES_TO_MM = 1000.0

INT16_FULL_SCALE = 32768.0
"""int16 audio samples divided by this are floats in [-1, 1)."""
