"""Data sets in the standard layout, splits, batching and converters."""
