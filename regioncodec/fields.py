"""The fields of regioncodec's settings objects: how a field carries its command-line form, and the checks
every settings object makes of its values (OptionError says what is wrong)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import field
from typing import Any

import numpy as np

from .errors import OptionError


def option(
    default: Any, parse: Callable[[str], Any] | None, help: str, metavar: str | None = None, short: str | None = None
) -> Any:
    """A settings field: its default, how the command line reads it (None: a flag), what it does, its short flag."""
    return field(default=default, metadata={"parse": parse, "help": help, "metavar": metavar, "short": short})


def is_int(value: Any) -> bool:
    """True for ints (numpy's too), not bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(name: str, value: Any, low: int, high: float = math.inf) -> None:
    """OptionError unless value is an integer from low to high."""
    if not is_int(value) or not low <= value <= high:
        span = f"from {low} to {high}" if high < math.inf else f"of at least {low}"
        raise OptionError(f"{name} must be an integer {span}, not {value!r}")


def check_share(name: str, value: Any, *, optional: bool) -> None:
    """OptionError unless value is a real number from 0 to 1 (or None, if optional)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 <= value <= 1:
        raise OptionError(f"{name} must be a number from 0 to 1, not {value!r}")


def check_bool(name: str, value: Any) -> None:
    """OptionError unless value is True or False."""
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be True or False, not {value!r}")
