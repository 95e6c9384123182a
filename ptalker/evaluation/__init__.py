"""Evaluation: predict a split with a checkpoint and score it (:mod:`.evaluate`), score any folder of
predictions as the field does (:mod:`.score`), check a synthetic corpus (:mod:`.corpus_checks`), and
score lip sync without motion truth (:mod:`.sync`).

Importing this package is cheap: the CLI reads :data:`STYLES` and :data:`PHONES` from here for its choices.
"""

STYLES = ("reference", "identity", "other", "neutral")
"""How ``ptalker evaluate`` conditions each prediction (see :mod:`ptalker.evaluation.evaluate`)."""
PHONES = ("transcript", "timeline", "recognized", "none")
"""What a checkpoint with a phonetic channel reads in ``ptalker evaluate`` (see :mod:`ptalker.evaluation.evaluate`)."""
