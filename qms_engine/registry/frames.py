"""Which plugin's hook implementation a stack frame is running.

pluggy calls every implementation of a hook in one go, so to name the plugin that raised (or
that is registering a type) the engine looks at the frames on the stack or in the traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, TypeVar

Owner = TypeVar("Owner")


def runs_in(function: Callable[..., Any], frame: FrameType) -> bool:
    """Whether ``frame`` is a call of ``function`` (of that very object, for a bound method:
    two plugins may be instances of one class)."""
    if getattr(function, "__code__", None) is not frame.f_code:
        return False
    bound = getattr(function, "__self__", None)
    names = frame.f_code.co_varnames
    return bound is None or (bool(names) and frame.f_locals.get(names[0]) is bound)


def owner_of(
    frames: Iterable[FrameType], implementations: Iterable[tuple[Callable[..., Any], Owner]]
) -> Owner | None:
    """The owner of the last frame (in the order given) that runs one of ``implementations``."""
    implementations = list(implementations)
    found = None
    for frame in frames:
        for function, owner in implementations:
            if runs_in(function, frame):
                found = owner
    return found
