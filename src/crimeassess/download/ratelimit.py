"""A token bucket that keeps API calls within a publisher's rate limit (police.uk: 15 requests/s, burst 30)."""
from __future__ import annotations

import time
from collections.abc import Callable

#: Bounded waiting: after this many sleeps in one acquire() the call proceeds (the server's 429 handling
#: in HttpClient is the backstop); with a real or fake clock one sleep normally suffices.
_MAX_WAITS = 100


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (default: one second's worth, i.e. ``rate``).

    ``clock`` and ``sleep`` are injectable so tests can check the pacing without waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 requests per second, got {rate!r}")
        self.rate = float(rate)
        self.capacity = float(burst) if burst is not None else max(1.0, self.rate)
        if self.capacity < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.capacity
        self.last = clock()
        self.waited = 0.0  # total seconds slept, for reporting

    def _refill(self) -> None:
        now = self.clock()
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = max(self.last, now)

    def acquire(self) -> None:
        """Take one token, sleeping until one is available."""
        self._refill()
        for _ in range(_MAX_WAITS):
            if self.tokens >= 1:
                break
            wait = (1 - self.tokens) / self.rate
            self.sleep(wait)
            self.waited += wait
            self._refill()
        self.tokens -= 1
