"""The root of every error a user of gaincell can cause."""

from __future__ import annotations


class GaincellError(Exception):
    """Bad input, a missing or damaged file, or a failed simulation: something the user can fix.

    Subclasses also derive from the matching built-in where there is one (``ValueError``,
    ``FileNotFoundError``, ``RuntimeError``). The CLI prints these as one line (exit 2); any
    other exception is a bug and keeps its traceback.
    """


class InputError(GaincellError, ValueError):
    """Values, arrays or options a function cannot use (wrong shape, range or combination)."""
