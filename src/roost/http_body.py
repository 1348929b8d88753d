"""Reading an HTTP request body with a bound, for every roost server (the API and the hosting endpoint).

No more than `limit` bytes are ever kept in memory. A larger body is refused: at once when it is declared
or read past `drain`, or once read to its end below `drain`, so that a client still sending gets the
server's answer instead of a connection reset in the middle of its upload.
"""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body is over the limit; `size` is its size as far as it is known ("7340032", "over 67108864")."""

    def __init__(self, size: str) -> None:
        super().__init__(f"the request body is {size} bytes")
        self.size = size


async def read_body(request: Request, limit: int, *, drain: int | None = None) -> bytes:
    """The whole body, or BodyTooLarge past `limit` bytes (read on up to `drain`, default `limit`)."""
    drain = limit if drain is None else drain
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > drain:
        raise BodyTooLarge(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > drain:
            raise BodyTooLarge(f"over {size}")
        else:
            chunks.clear()
    if size > limit:
        raise BodyTooLarge(str(size))
    return b"".join(chunks)
