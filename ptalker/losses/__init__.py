"""Training losses: reconstruction terms and the feature-alignment / disentanglement terms."""
