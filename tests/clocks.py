"""A clock the test moves on itself, for code that takes a ``clock``/``sleep`` pair.

:class:`~qms_engine.ingest.watcher.Runner` reads the time from its ``clock`` and
``ingest_once`` waits with its ``sleep``.  Given a :class:`ManualClock`, settle periods and
back-offs pass exactly when the test says so: no test waits for real seconds, and none can be
outrun by a slow or busy machine.
"""

from __future__ import annotations

import threading


class ManualClock:
    """Monotonic seconds that move only by :meth:`advance` or :meth:`sleep` (thread-safe)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.slept: list[float] = []
        """Every :meth:`sleep` asked for, in order (the waits a caller chose)."""

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the time on by ``seconds``."""
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Like :func:`time.sleep` (negative lengths refused), but only moves the time on."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.slept.append(seconds)
        self.advance(seconds)
