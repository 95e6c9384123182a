"""Audio loading and (later) speech encoders."""
