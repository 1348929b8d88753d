"""Serving an ASGI app (the training-job API, the hosting endpoint) with uvicorn on a socket of our own.

The socket is bound before serving so that the address, port 0 included, can be printed first and
clients may connect at once.
"""

from __future__ import annotations

import socket
from typing import Any

from roost.errors import UserError


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on connections whose proto
    # says TCP; with the default 0 every answer after a connection's first waits ~40 ms for a delayed ACK.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(1024)  # clients may connect as soon as the address is printed
    return listener


def serve(app: Any, listener: socket.socket) -> None:
    """Run until SIGINT/SIGTERM; requests in flight get 5 s to finish."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[listener])
