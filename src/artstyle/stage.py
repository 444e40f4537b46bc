"""The contract every stage script follows: parse params, call one library function, write outputs.

``@stage`` wraps a stage's Typer command so that a mistake the user can fix (a bad value in
params.yaml, a missing or malformed input; :class:`artstyle.errors.UserError` and
``FileNotFoundError``) prints one line on stderr, ``error: <key or file>: <what is wrong>; allowed:
...``, and exits with code 2, instead of a traceback whose last line is the message. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import typer

from artstyle.errors import UserError

F = TypeVar("F", bound=Callable[..., object])
EXIT_USER_ERROR = 2


def stage(fn: F) -> F:
    """Turn user errors raised inside ``fn`` into one ``error:`` line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UserError, FileNotFoundError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(EXIT_USER_ERROR) from None

    return wrapper  # type: ignore[return-value]


def stage_app() -> typer.Typer:
    """The Typer app of one stage script (no shell completion, no rich tracebacks of locals)."""
    return typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
