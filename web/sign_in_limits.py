"""Sign-in requests per address and per client, in a sliding window (in this process)."""

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_KEYS = 10_000


class SlidingWindow:
    """At most `limit` hits per key within `window_seconds`; the oldest keys are forgotten."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self._clock = limit, window_seconds, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Counts a hit for `key`; False when it is over the limit (the hit is not counted)."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        while len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)
        return True
