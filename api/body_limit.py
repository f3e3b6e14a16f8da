"""Request bodies over the limit get 413 as a problem, whether announced or streamed.

Starlette's own limit (FastAPI's `max_body_size`) answers a body announced too long by
Content-Length in plain text, replacing whatever the app answers; this one answers in the problem
shape every other error has. An announced body is refused before any route runs; a streamed one
as soon as it passes the limit.
"""

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response

TOO_LARGE = "The body is larger than this service accepts ({limit} bytes)."


class BodyLimit:
    """`max_bytes` for every path, or more under the prefixes in `larger`."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int]) -> None:
        self.app, self.max_bytes, self.larger = app, max_bytes, dict(larger)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        detail = TOO_LARGE.format(limit=limit)
        announced = Headers(scope=scope).get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            await problem_response(413, detail)(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body read: the problem handlers answer it.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, receive_within_limit, send)
