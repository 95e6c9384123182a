"""Networks: one architecture per file; forward passes only (no dataset names, no decoding loops)."""
