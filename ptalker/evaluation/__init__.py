"""Evaluation: predict a split with a checkpoint and score it (:mod:`.evaluate`), score any folder of
predictions as the field does (:mod:`.score`), and check a synthetic corpus (:mod:`.corpus_checks`).

Importing this package is cheap: the CLI reads :data:`STYLES` from here for its choices.
"""

STYLES = ("reference", "identity", "other", "neutral")
"""How ``ptalker evaluate`` conditions each prediction (see :mod:`ptalker.evaluation.evaluate`)."""
