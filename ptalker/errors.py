"""User-facing errors.

Every error a user can cause (a missing file, a wrong shape, a corrupted pickle) is raised as a
:class:`PtalkerError` whose message is one line: what was received, what was expected and how to
fix it. The CLI prints that line and exits with status 2, without a traceback.
"""


class PtalkerError(Exception):
    """An error caused by the user's input, reported as one line."""


class UnsafePickleError(PtalkerError):
    """A pickle file asked for a class outside the allow-list."""
