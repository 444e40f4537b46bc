"""The errors a user can cause and fix: a stage reports them as one line (``error: ...``), exit code 2."""

from __future__ import annotations


class UserError(ValueError):
    """A problem with what the user gave (params, input files, checkpoints); the message is one line."""


class InputError(UserError):
    """An input file or directory that is missing, empty or malformed; the message names it."""
