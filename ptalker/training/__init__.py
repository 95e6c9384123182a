"""Training: the run's config (:mod:`.config`), the objective of each architecture
(:mod:`.objective`), training clips (:mod:`.clips`), the loop with validation, checkpoints and
resuming (:mod:`.loop`), and its CSV logs (:mod:`.logs`)."""
