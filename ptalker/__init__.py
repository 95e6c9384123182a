"""ptalker: speech-driven, personalized FLAME head animation (PTalker, ACM MM 2025)."""

__version__ = "0.1.0"
