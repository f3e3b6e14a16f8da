"""Slows down key guessing: a client address that keeps presenting bad API keys is refused a while.

After AUTH_FAILURE_LIMIT failed authentications within AUTH_FAILURE_WINDOW_SECONDS, requests from
that address that carry credentials are answered 429 with Retry-After, before any key is looked
up, until the oldest failure leaves the window. Other addresses, and requests that carry no
credentials (health checks, the docs, CORS preflights), are never held up.

The count lives in this API process: each process (or replica) keeps its own. The address is the
one uvicorn reports, so behind a reverse proxy set FORWARDED_ALLOW_IPS to the proxy's address, or
every client looks like the proxy and one guesser holds up everyone.
"""

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response

# Enough to remember every address seen in a window; the oldest are forgotten beyond it.
MAX_CLIENTS = 10_000


class FailedAuthLimiter:
    """Failed authentications per client address, in a sliding window."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self._max_clients, self._clock = (
            limit,
            window_seconds,
            max_clients,
            clock,
        )
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None if it may try now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window - self._clock()))

    def failed(self, client: str) -> None:
        failures = self._failures.setdefault(client, deque(maxlen=self.limit))
        failures.append(self._clock())
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        horizon = self._clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            self._failures.pop(client, None)
        return failures


class FailedAuthMiddleware:
    """Counts 401 answers to requests that carried credentials; refuses such requests once over."""

    def __init__(self, app: ASGIApp, limiter: FailedAuthLimiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_credentials(scope):
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        wait = self.limiter.retry_after(client)
        if wait is not None:
            refusal = problem_response(
                429,
                f"Too many failed authentications from this address; try again in {wait} s.",
                headers={"Retry-After": str(wait)},
            )
            await refusal(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.failed(client)
            await send(message)

        await self.app(scope, receive, counting_send)


def _has_credentials(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"])
